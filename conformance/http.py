"""The only way a check talks to the target: a polite, recording HTTP client.

Real sandboxes are shared and rate limited, and the anchors' issue trackers are full of runs
killed by rate limits and timeouts. So every request goes through
one `HttpSession` that times it out, caps the request rate, slows down when
`X-RateLimit-Remaining` hits 0, honours `Retry-After` on 429 (bounded), never follows a redirect
(the token must never travel to another host), caps the body it reads, counts every request, and
records every exchange with the spec operation it belongs to, for the cross-cutting response
checks. `ApiClient` is that session plus one partner's token.

A 429 (or a 503 with Retry-After) is the server saying "not now", not its answer to the request:
it is waited out and the request sent again, up to MAX_429_RETRIES times. A request still refused
after that raises `RateLimited`, which ends the check as `not_exercised` instead of handing it a
429 to judge as if it were the answer. Every attempt is recorded, so the rate-limit rules
(RATE-001/002) still judge every 429 the run met.

Likewise a 403 `insufficient_scope` to the client's own token (decision 43: a server may issue
permission-scoped tokens) says the token may not make that request, not what the server does
with it: it raises `ScopeMissing`, which ends the check as `not_exercised` naming the operation.
The security checks ask for the 403 instead (`scope_refusal_ends_check=False`): another partner's
resource is 404 whatever the token's scopes (SEC-001), so there a 403 is a finding.
"""

from __future__ import annotations

import email.utils
import functools
import json as jsonlib
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx

from conformance import redaction
from conformance.errors import CheckFailure
from conformance.outcomes import NotExercised

__all__ = [
    "DEFAULT",
    "MAX_BODY_BYTES",
    "ApiClient",
    "ApiResponse",
    "HttpSession",
    "OperationIndex",
    "RateLimited",
    "RequestFailed",
    "ScopeMissing",
    "is_rate_limited",
]

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_429_RETRIES = 5
MAX_WAIT_SECONDS = 60.0
DEFAULT_429_WAIT = 1.0
MAX_RECORDED = 20_000
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()
"""`token=DEFAULT`: the client's own token. `token=None`: no Authorization header. A string: sent
as the bearer token instead (for 401 checks: `token="not-a-valid-token"`)."""


# A request whose connection broke before any answer may or may not have reached the server. It
# is sent again, once, on a fresh connection, only where repeating it cannot do anything twice:
# an idempotent method (RFC 9110 section 9.2.2) or a request carrying an Idempotency-Key (whose
# point that is). An ERP client does the same, and a partner must not fail certification over a
# connection a load balancer or an idle timeout reset between two requests.
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
LOST_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def repeatable(method: str, headers: Mapping[str, str]) -> bool:
    """Whether sending the request a second time can change nothing on the server."""
    keyed = any(name.lower() == "idempotency-key" for name in headers)
    return method.upper() in REPEATABLE_METHODS or keyed


class RequestFailed(CheckFailure):
    """No usable response (timeout, connection refused). A check failure (an AssertionError), so
    the check fails with this one-line message instead of an httpx traceback."""


class RateLimited(NotExercised, RequestFailed):
    """Still 429 (or 503 with Retry-After) after MAX_429_RETRIES waits: the server never answered.

    Uncaught, it ends the check as `not_exercised` with its message (the rule was never put to
    the server). It is also a `RequestFailed`, so code that copes with a lost request (cleanup,
    best-effort set-up) copes with this one the same way. `response` is the last refusal.
    """

    def __init__(self, message: str, response: ApiResponse) -> None:
        super().__init__(message)
        self.response = response


class ScopeMissing(NotExercised, RequestFailed):
    """403 `insufficient_scope` to the client's own token: the token may not make this request,
    so the rule the check judges was never put to the server (`not_exercised`). Also a
    `RequestFailed`, so best-effort set-up and cleanup cope with it as with a lost request."""

    def __init__(self, message: str, response: ApiResponse) -> None:
        super().__init__(message)
        self.response = response


INSUFFICIENT_SCOPE = "insufficient_scope"


def is_scope_refusal(response: ApiResponse) -> bool:
    """A 403 whose envelope says `insufficient_scope` (AUTH-006)."""
    body = response.json if response.status == 403 else None
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("code") == INSUFFICIENT_SCOPE


def is_rate_limited(status: int, retry_after: str | None) -> bool:
    """A refusal to be waited out: any 429, or a 503 that says when to come back."""
    return status == 429 or (status == 503 and retry_after is not None)


class OperationIndex:
    """Maps a request (method, path relative to the base URL) to its spec operation."""

    def __init__(self, spec: Mapping[str, Any] | None) -> None:
        self._routes: list[tuple[int, re.Pattern[str], str, str, str]] = []
        for template, item in ((spec or {}).get("paths") or {}).items():
            if not isinstance(item, Mapping):
                continue
            pattern = re.compile(
                "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "/?$"
            )
            for method, operation in item.items():
                if method in HTTP_METHODS and isinstance(operation, Mapping):
                    operation_id = str(operation.get("operationId") or f"{method} {template}")
                    params = template.count("{")
                    self._routes.append((params, pattern, method.upper(), template, operation_id))
        # Literal segments win over parameters (`/inventory` before a hypothetical `/{x}`).
        self._routes.sort(key=lambda route: route[0])

    def match(self, method: str, path: str) -> tuple[str, str] | None:
        """(operationId, path template) of the request, or None when the spec has no such one."""
        path = path.split("?", 1)[0] or "/"
        method = method.upper()
        for _params, pattern, route_method, template, operation_id in self._routes:
            if route_method == method and pattern.match(path):
                return operation_id, template
        return None


# How a request was authorised: this client's token, none, another string as the bearer token,
# or an Authorization header the caller wrote itself (a curl line says $CONFORMANCE_TOKEN for
# the first alone).
Auth = Literal["token", "none", "other", "header"]


@functools.cache
def tls_context(*, trust_env: bool = True) -> ssl.SSLContext:
    """The verifying TLS context every HTTP client of the process shares (`verify=`).

    httpx builds a new one for each client it makes, and building one reads the whole CA bundle:
    about 30-60 ms of CPU, paid by every kit run four times (preflight, the checks' session, the
    sandbox driver, the clean-up). The context is the one httpx would build (same CA bundle, same
    `SSL_CERT_FILE`/`SSL_CERT_DIR` handling under `trust_env`); sharing one across clients and
    threads is what `ssl.SSLContext` is for."""
    return httpx.create_ssl_context(trust_env=trust_env)


@dataclass(repr=False)
class ApiResponse:
    """One response and the request that produced it; `.json` is None for a non-JSON body."""

    method: str
    path: str
    status: int
    headers: httpx.Headers
    content: bytes
    url: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes | None = None
    auth: Auth = "token"
    operation_id: str | None = None
    path_template: str | None = None
    truncated: bool = False
    elapsed: float = 0.0
    received_at: float = field(default_factory=time.time)  # epoch seconds, for X-RateLimit-Reset
    _json: Any = field(default=None, repr=False)
    _json_parsed: bool = field(default=False, repr=False)

    @property
    def json(self) -> Any:
        if not self._json_parsed:
            self._json_parsed = True
            self._json = None
            if self.content and not self.truncated:
                try:
                    self._json = jsonlib.loads(self.content)
                except ValueError:
                    self._json = None
        return self._json

    @property
    def is_json(self) -> bool:
        """True when the body parsed as JSON (whatever its value)."""
        if not self.content or self.truncated:
            return False
        try:
            jsonlib.loads(self.content)
        except ValueError:
            return False
        return True

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def rate_limited(self) -> bool:
        """A 429, or a 503 with Retry-After: "not now", which no rule but RATE-* judges."""
        return is_rate_limited(self.status, self.headers.get("retry-after"))

    @property
    def content_type(self) -> str | None:
        """The media type without parameters, lower case (`application/json`)."""
        raw = self.headers.get("content-type")
        return raw.split(";", 1)[0].strip().lower() if raw else None

    @property
    def request_id(self) -> str | None:
        """X-Request-Id, or the error envelope's request_id when the header is missing."""
        header = self.headers.get("x-request-id")
        if header:
            return header
        body = self.json
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            value = body["error"].get("request_id")
            return str(value) if value else None
        return None

    def describe(self) -> str:
        """`POST /orders -> 422 (request_id req_123)`: the tail of every failure message."""
        request_id = self.request_id
        rid = f"request_id {request_id}" if request_id else "no request_id"
        return redaction.scrub(f"{self.method} {self.path} -> {self.status} ({rid})")

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:  # short in pytest's assertion introspection
        return f"<ApiResponse {self.describe()}>"


class Throttle:
    """A token bucket for --max-rps, plus a pause until reset when X-RateLimit-Remaining is 0."""

    def __init__(self, max_rps: float | None) -> None:
        self.max_rps = max_rps
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def wait(self, *, polite: bool = True) -> None:
        """Wait for this request's slot; `polite=False` ignores the X-RateLimit-Remaining pause."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._paused_until) if polite else now
            if self.max_rps:
                start = max(start, self._next_slot)
                self._next_slot = start + 1.0 / self.max_rps
        delay = start - now
        if delay > 0:
            time.sleep(delay)

    def pause_for(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def observe(self, headers: httpx.Headers) -> None:
        """Slow down until the window resets when the target says no requests remain."""
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is None or remaining.strip() != "0":
            return
        reset = _number(headers.get("x-ratelimit-reset"))
        if reset is None:
            self.pause_for(DEFAULT_429_WAIT)
        elif reset > 1e9:  # epoch seconds (decision 25)
            self.pause_for(reset - time.time())
        else:  # some servers send seconds until reset: accept that too
            self.pause_for(reset)


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


def retry_after_seconds(raw: str | None) -> float:
    """Retry-After as seconds (delta-seconds or an HTTP-date), bounded; a default when absent."""
    if raw is None:
        return DEFAULT_429_WAIT
    seconds = _number(raw)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return DEFAULT_429_WAIT
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)


class HttpSession:
    """What every client of one run shares: connection pool, throttle, request count, recording."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_rps: float | None = None,
        spec: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.index = OperationIndex(spec)
        self.throttle = Throttle(max_rps)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=tls_context(),
            follow_redirects=False,  # never: the token must not go to another host
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            headers={"User-Agent": "fulfillment-conformance"},
        )
        self._lock = threading.Lock()
        self._requests_made = 0
        self._recorded: list[ApiResponse] = []
        # Exchanges beyond MAX_RECORDED are counted, not kept (the report says how many).
        self.dropped_records = 0
        # Requests sent again after their connection broke (the report says how many).
        self.resent_after_lost_connection = 0
        # Called with every exchange as it is recorded (the plugin keeps each check's own, as
        # evidence for its report entry, however many the run has recorded in all).
        self.listeners: list[Callable[[ApiResponse], None]] = []

    @property
    def requests_made(self) -> int:
        return self._requests_made

    def count_external(self, requests: int) -> None:
        """Add requests made outside this session (the Schemathesis runs) to `requests_made`."""
        with self._lock:
            self._requests_made += max(0, int(requests))

    def recorded(self) -> list[ApiResponse]:
        """A snapshot of every exchange so far, in the order the responses arrived."""
        with self._lock:
            return list(self._recorded)

    def close(self) -> None:
        self._client.close()

    def _record(self, response: ApiResponse) -> None:
        with self._lock:
            self._requests_made += 1
            if len(self._recorded) < MAX_RECORDED:
                self._recorded.append(response)
            else:
                self.dropped_records += 1
        for listener in list(self.listeners):
            listener(response)

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        content: bytes | None,
        params: Mapping[str, Any] | None,
        auth: Auth,
        retry_on_429: bool,
        timeout: float | None,
        polite: bool = True,
        chunked: bool = False,
    ) -> ApiResponse:
        if path.startswith(("http://", "https://")):
            if not path.startswith(self.base_url + "/"):
                raise RequestFailed(f"refusing to send a request outside the base URL: {path}")
            path = path[len(self.base_url) :]
        if not path.startswith("/"):
            path = "/" + path
        url = self.base_url + path
        matched = self.index.match(method, path)
        attempts = 0
        while True:
            attempts += 1
            self.throttle.wait(polite=polite)
            response = self._send_once(
                method, url, path, headers, content, params, timeout, chunked=chunked
            )
            response.auth = auth
            if matched:
                response.operation_id, response.path_template = matched
            self._record(response)
            self.throttle.observe(response.headers)
            if not response.rate_limited or not retry_on_429:
                return response
            if attempts > MAX_429_RETRIES:
                raise RateLimited(_refused(response, attempts - 1), response)
            # A refused request was not processed (decision 7: a 429 is never stored), so
            # sending it again is safe whatever the method.
            time.sleep(retry_after_seconds(response.headers.get("retry-after")))

    def _send_once(
        self,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        content: bytes | None,
        params: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        chunked: bool = False,
    ) -> ApiResponse:
        started = time.monotonic()
        request_timeout = (
            httpx.Timeout(timeout) if timeout is not None else httpx.USE_CLIENT_DEFAULT
        )

        def exchange() -> ApiResponse:
            with self._client.stream(
                method,
                url,
                headers=headers,
                content=_in_chunks(content) if chunked and content is not None else content,
                params=_clean_params(params),
                timeout=request_timeout,
            ) as raw:
                body, truncated = self._read_capped(raw)
                return ApiResponse(
                    method=method,
                    path=path,
                    status=raw.status_code,
                    headers=raw.headers,
                    content=body,
                    url=redaction.scrub(str(raw.request.url)),
                    params=dict(_clean_params(params) or {}),
                    request_headers=_safe_headers(raw.request.headers),
                    request_body=content,
                    truncated=truncated,
                    elapsed=time.monotonic() - started,
                )

        try:
            try:
                return exchange()
            except LOST_CONNECTION:
                if not repeatable(method, headers):
                    raise
                with self._lock:
                    self.resent_after_lost_connection += 1
                return exchange()
        except httpx.TimeoutException:
            with self._lock:
                self._requests_made += 1
            wait = timeout if timeout is not None else self.timeout
            raise RequestFailed(
                f"expected a response within {wait:g} s, got none ({method} {path})"
            ) from None
        except httpx.HTTPError as exc:
            with self._lock:
                self._requests_made += 1
            reason = redaction.scrub(str(exc)) or type(exc).__name__
            raise RequestFailed(
                f"expected a response, got an error: {reason} ({method} {path})"
            ) from None

    def _read_capped(self, raw: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in raw.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_body_bytes:
                    return b"".join(chunks)[: self.max_body_bytes], True
        except httpx.DecodingError:
            # A body that claims gzip but is not: keep what arrived; validation reports it.
            return b"".join(chunks), True
        return b"".join(chunks), False


def _refused(response: ApiResponse, retries: int) -> str:
    """`rate limited: 429 after 5 retries on POST /orders` (the check's not_exercised reason)."""
    path = response.path.split("?", 1)[0]
    return redaction.scrub(
        f"rate limited: {response.status} after {retries} retries on {response.method} {path}"
    )


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop None values so `params={"cursor": None}` means "no cursor"."""
    if params is None:
        return None
    return {key: value for key, value in params.items() if value is not None}


def _safe_headers(headers: httpx.Headers) -> dict[str, str]:
    return {
        name: (redaction.MASK if name.lower() == "authorization" else redaction.scrub(value))
        for name, value in headers.items()
    }


class ApiClient:
    """One partner's view of the API. Thread-safe: checks may race requests (idempotency)."""

    def __init__(self, session: HttpSession, token: str | None) -> None:
        self.session = session
        self._token = token
        redaction.register_secret(token)

    def __repr__(self) -> str:  # never show the token, even under --showlocals
        return f"ApiClient({self.session.base_url!r})"

    @property
    def base_url(self) -> str:
        return self.session.base_url

    @property
    def requests_made(self) -> int:
        return self.session.requests_made

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        token: Any = DEFAULT,
        retry_on_429: bool = True,
        timeout: float | None = None,
        polite: bool = True,
        chunked: bool = False,
        scope_refusal_ends_check: bool = True,
    ) -> ApiResponse:
        """Send one request to `base_url + path`; `json` is encoded unless `content` is given.

        `token`: DEFAULT (this client's token), None (no Authorization header) or a string sent
        as the bearer token. An `Authorization` entry in `headers` wins over all three.
        `retry_on_429=False`: a 429 (or 503 with Retry-After) is returned, for a check that
        inspects it; otherwise it is waited out, and `RateLimited` raised when it persists.
        `polite=False`: no pause when X-RateLimit-Remaining says 0 (the rate-limit probe, which
        must reach the limit); --max-rps still applies.
        `chunked=True`: the body goes with `Transfer-Encoding: chunked` and no Content-Length (the
        framing checks: a server must read such a body as it reads a Content-Length one).
        `scope_refusal_ends_check=False`: a 403 `insufficient_scope` to this client's own token is
        returned to be judged (the security checks); otherwise it raises `ScopeMissing`.
        """
        final_headers: dict[str, str] = {"Accept": "application/json"}
        body: bytes | None = None
        if content is not None:
            body = content.encode("utf-8") if isinstance(content, str) else content
        elif json is not None:
            body = jsonlib.dumps(json).encode("utf-8")
            final_headers["Content-Type"] = "application/json"
        auth: Auth = "token"
        if token is DEFAULT:
            if self._token:
                final_headers["Authorization"] = f"Bearer {self._token}"
            else:
                auth = "none"
        elif token is None:
            auth = "none"
        else:
            final_headers["Authorization"] = f"Bearer {token}"
            auth = "other"
        for name, value in (headers or {}).items():
            for existing in [key for key in final_headers if key.lower() == name.lower()]:
                del final_headers[existing]
            final_headers[name] = value
            if name.lower() == "authorization":
                auth = "header"
        response = self.session.send(
            method.upper(),
            path,
            headers=final_headers,
            content=body,
            params=params,
            auth=auth,
            retry_on_429=retry_on_429,
            timeout=timeout,
            polite=polite,
            chunked=chunked,
        )
        if scope_refusal_ends_check and auth == "token" and is_scope_refusal(response):
            what = response.operation_id or f"{method.upper()} {path}"
            raise ScopeMissing(
                f"the kit's token has no permission for {what} (403 insufficient_scope,"
                f" {response.describe()}): the rule was not put to the server",
                response,
            )
        return response

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


CHUNK_BYTES = 64 * 1024


def _in_chunks(content: bytes) -> Iterator[bytes]:
    """The body as an iterator, so httpx frames it with Transfer-Encoding: chunked."""
    for start in range(0, len(content), CHUNK_BYTES):
        yield content[start : start + CHUNK_BYTES]


def base_path(base_url: str) -> str:
    """The path part of the base URL (`/v1`), for mapping absolute paths back to the spec."""
    return urlsplit(base_url).path.rstrip("/")
