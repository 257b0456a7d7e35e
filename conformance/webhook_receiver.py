"""The kit's own webhook receiver: a threaded HTTP server that records deliveries.

The webhooks checks subscribe a URL of this receiver through the API, make events happen and
then read what arrived: the raw body bytes exactly as sent (the signature is verified over
them, never over re-serialized JSON), the headers, the arrival time and the status the receiver
answered. `fail_next(n)` makes it answer 500 to the next `n` deliveries of one path,
to see the retry. Each subscription gets its own path, so deliveries are told apart by path.

It binds 127.0.0.1 on a free port unless told otherwise (`--webhook-listen HOST:PORT`). A target
on another machine delivers to a public URL (`--webhook-url`: a tunnel, a routable host) that
forwards to the listen address; subscriptions then name that URL, and a path prefix the URL
carries is removed again on arrival, whether or not the forwarder keeps it. Nothing here logs
bodies or headers (a body may carry data; the secret never travels in a delivery, but the kit
keeps quiet anyway).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_LISTEN",
    "DELIVERY_DEADLINE",
    "Delivery",
    "WebhookReceiver",
    "check_webhook_options",
    "parse_listen",
    "public_url",
]

MAX_BODY = 5 * 1024 * 1024
# WHK-024: the first delivery attempt of an event is made within this many seconds of the change
# that caused it. The kit's default --webhook-timeout, so by default a missing delivery is late.
DELIVERY_DEADLINE = 30.0
DEFAULT_LISTEN = ("127.0.0.1", 0)  # loopback, a free port
# A wildcard bind has no address to subscribe: a target on this machine reaches it on loopback.
_WILDCARD_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


# -- the options --webhook-listen and --webhook-url -----------------------------------------------


def _config_error(message: str) -> Exception:
    # Imported here, not at the top: conformance.config may import this module to validate.
    from conformance.config import ConfigError

    return ConfigError(message)


def parse_listen(value: str | None) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets: `[::1]:8080`; port 0 = a free port) -> (host, port).

    None or empty -> DEFAULT_LISTEN. Raises ConfigError with one sentence when unusable.
    """
    if not value:
        return DEFAULT_LISTEN
    host, sep, port_text = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address without brackets: its last group would pass for the port
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise _config_error(
            f"--webhook-listen {value!r} is not HOST:PORT (for example 127.0.0.1:8080, "
            f"0.0.0.0:8080 or [::1]:8080; port 0 picks a free port)"
        )
    return host, int(port_text)


def public_url(value: str | None) -> str | None:
    """The --webhook-url deliveries go to, without a trailing slash (None when not given).

    Raises ConfigError with one sentence when it is not a plain http(s) base URL.
    """
    if not value:
        return None
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise _config_error(f"--webhook-url {value!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _config_error(f"--webhook-url {value!r} is not an http:// or https:// URL")
    if parts.username is not None or parts.query or parts.fragment:
        # Subscriptions and reports show this URL: it must carry no credentials or extras.
        raise _config_error(
            f"--webhook-url for host {parts.hostname!r} must have no user, query or fragment"
        )
    return value.strip().rstrip("/")


def check_webhook_options(listen: str | None, url: str | None) -> None:
    """Validate --webhook-listen and --webhook-url together; raises ConfigError."""
    parse_listen(listen)
    public_url(url)


def _url_host(host: str) -> str:
    host = _WILDCARD_TO_LOOPBACK.get(host, host)
    return f"[{host}]" if ":" in host else host


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got, as it arrived."""

    path: str
    method: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    arrived: float  # unix seconds (time.time()) when the request was read
    answered: int  # the status the receiver answered
    seq: int = 0

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def envelope(self) -> dict[str, Any]:
        value = self.json
        return value if isinstance(value, dict) else {}

    @property
    def event_id(self) -> Any:
        return self.envelope.get("event_id")

    @property
    def event_type(self) -> Any:
        return self.envelope.get("event_type")

    @property
    def data(self) -> dict[str, Any]:
        value = self.envelope.get("data")
        return value if isinstance(value, dict) else {}

    def describe(self) -> str:
        """A short, secret-free description for failure messages (never the whole body)."""
        return (
            f"delivery #{self.seq} {self.method} {self.path} answered {self.answered}, "
            f"event_type {self.event_type!r} event_id {self.event_id!r} "
            f"data.id {self.data.get('id')!r}"
        )


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    deliveries: list[Delivery] = field(default_factory=list)
    failures: dict[str, list[Any]] = field(default_factory=dict)  # path -> [count, match]
    prefix: str = ""  # the public URL's path, removed from arriving paths

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


class _Handler(BaseHTTPRequestHandler):
    server_version = "conformance-kit-receiver/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: never print deliveries

    def _read_body(self) -> bytes:
        """The raw body bytes as sent: Content-Length or chunked transfer encoding."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while len(body) <= MAX_BODY:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
            return body
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

    def _handle(self) -> None:
        state: _State = self.server.state  # type: ignore[attr-defined]
        body = self._read_body()
        arrived = time.time()
        path = self.path.split("?", 1)[0]
        if state.prefix and path.startswith(state.prefix + "/"):
            path = path[len(state.prefix) :]  # the forwarder kept the public URL's path
        with state.changed:
            delivery = Delivery(
                path=path,
                method=self.command,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                arrived=arrived,
                answered=200,
                seq=len(state.deliveries) + 1,
            )
            pending = state.failures.get(path)
            status = 200
            if pending and pending[0] > 0 and pending[1](delivery):
                pending[0] -= 1
                status = 500
                delivery = replace(delivery, answered=500)
            state.deliveries.append(delivery)
            state.changed.notify_all()
        payload = b'{"received":true}' if status == 200 else b'{"error":"kit says fail"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = _handle
    do_PUT = _handle
    do_GET = _handle


class WebhookReceiver:
    """`start()`, `url(new_path(name))` -> a fresh URL, `deliveries(path)`, `wait_for(...)`,
    `stop()`.

    `public` is the base URL subscriptions name when the target cannot reach the bind address
    itself; `timeout` is how long `wait_for` waits unless told otherwise.
    """

    def __init__(
        self,
        host: str = DEFAULT_LISTEN[0],
        port: int = DEFAULT_LISTEN[1],
        *,
        public: str | None = None,
        timeout: float = DELIVERY_DEADLINE,
        tag: str = "",
    ) -> None:
        # Every path starts with the run's tag, so the end-of-run sweep finds a subscription
        # even when the run was interrupted before it read the create call's answer.
        self.tag = tag
        self._state = _State(prefix=urlsplit(public).path.rstrip("/") if public else "")
        server_class = _Server6 if _is_ipv6(host) else _Server
        self._server = server_class((host, port), _Handler)
        self._server.state = self._state  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self.host = host
        self.port: int = self._server.server_address[1]
        self.public = public.rstrip("/") if public else None
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.base_url!r})"

    @property
    def listen_url(self) -> str:
        """The address the receiver itself is bound to (a wildcard shown as loopback)."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """What subscriptions name: the public URL when there is one, else the bind address."""
        return self.public or self.listen_url

    def start(self) -> WebhookReceiver:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"webhook-receiver-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def new_path(self, name: str = "hook") -> str:
        """A path no other subscription uses: `/<tag>/<name>/<random>`."""
        tag = f"/{self.tag}" if self.tag else ""
        return f"{tag}/{name}/{uuid.uuid4().hex[:12]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def fail_next(
        self,
        path: str,
        count: int = 1,
        match: Callable[[Delivery], bool] = lambda _d: True,
    ) -> None:
        """Answer 500 to the next `count` deliveries to `path` that satisfy `match`."""
        with self._state.lock:
            self._state.failures[path] = [count, match]

    def deliveries(self, path: str | None = None) -> list[Delivery]:
        """What arrived so far (to `path`, or anywhere), in arrival order."""
        with self._state.lock:
            return [d for d in self._state.deliveries if path is None or d.path == path]

    def wait_for(
        self,
        path: str,
        match: Callable[[Delivery], bool] = lambda _d: True,
        *,
        count: int = 1,
        timeout: float | None = None,
    ) -> list[Delivery]:
        """Block until `count` deliveries to `path` satisfy `match` (or `timeout` seconds, by
        default the receiver's, have passed); returns those that did, possibly fewer."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._state.changed:
            while True:
                found = [d for d in self._state.deliveries if d.path == path and match(d)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._state.changed.wait(timeout=min(remaining, 0.5))
