"""The kit's own webhook receiver: a threaded HTTP server on 127.0.0.1 that records deliveries.

The webhooks checks subscribe a URL of this receiver through the API, make events happen and
then read what arrived (conformance-kit.md): the raw body bytes exactly as sent (the signature is
verified over them, never over re-serialized JSON), the headers, the arrival time and the status
the receiver answered. `fail_next(n)` makes it answer 500 to the next `n` deliveries of one path,
to see the retry. Each subscription gets its own path, so deliveries are told apart by path.

Only the loopback interface is served: a target must be able to reach 127.0.0.1 (the reference
sandbox, or a vendor server on the same machine). Nothing here logs bodies or headers (a body may
carry data; the secret never travels in a delivery, but the kit keeps quiet anyway).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Delivery", "WebhookReceiver"]

MAX_BODY = 5 * 1024 * 1024


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
    """`start()`, `url_for(name)` -> a fresh URL, `deliveries(path)`, `wait_for(...)`, `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._state = _State()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.state = self._state  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self.host = host
        self.port: int = self._server.server_address[1]

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.base_url!r})"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
        """A path no other subscription uses: `/<name>/<random>`."""
        return f"/{name}/{uuid.uuid4().hex[:12]}"

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
        timeout: float = 15.0,
    ) -> list[Delivery]:
        """Block until `count` deliveries to `path` satisfy `match` (or `timeout` seconds have
        passed); returns those that did, possibly fewer than `count`."""
        deadline = time.monotonic() + timeout
        with self._state.changed:
            while True:
                found = [d for d in self._state.deliveries if d.path == path and match(d)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._state.changed.wait(timeout=min(remaining, 0.5))
