"""Servers broken in exactly one way each, for the property-based checks to catch.

Each is an ASGI middleware around the reference sandbox that rewrites responses after the fact,
so the sandbox itself stays correct and flag-free (outline: broken servers live in tests/).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tests.kit import asgi

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (scope, status, body) -> (status, body); headers follow (Content-Length is recomputed).
Rewrite = Callable[[Scope, int, Any], tuple[int, Any]]

_UTC_Z = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z$")


class JsonRewriter:
    """Buffers each JSON response, hands it to `rewrite`, sends what comes back."""

    def __init__(self, app: ASGIApp, rewrite: Rewrite) -> None:
        self.app = app
        self.rewrite = rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await self._send(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _send(self, scope: Scope, start: Message, raw: bytes, send: Send) -> None:
        status = int(start["status"])
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = _NOT_JSON
        if body is not _NOT_JSON:
            status, body = self.rewrite(scope, status, body)
            raw = b"" if body is None else json.dumps(body).encode()
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


_NOT_JSON = object()


def _map_strings(value: Any, func: Callable[[str, str], Any], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _map_strings(v, func, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, func, key) for v in value]
    if isinstance(value, str):
        return func(key, value)
    return value


def offset_timestamps(app: ASGIApp) -> ASGIApp:
    """Writes every UTC timestamp as `+00:00` instead of `Z` (valid `format: date-time`)."""

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        return status, _map_strings(body, lambda _key, s: _UTC_Z.sub(r"\1+00:00", s))

    return JsonRewriter(app, rewrite)


_MILLIS_Z = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z$")


def nanosecond_timestamps(app: ASGIApp) -> ASGIApp:
    """Writes every millisecond UTC timestamp with nine fractional digits (`.123000000Z`): valid
    RFC 3339, but more than the 3 to 6 digits the Timestamp pattern allows."""

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        return status, _map_strings(body, lambda _key, s: _MILLIS_Z.sub(r"\g<1>000000Z", s))

    return JsonRewriter(app, rewrite)


def float_money(app: ASGIApp) -> ASGIApp:
    """Sends money amounts (`amount`, `unit_price`) as JSON numbers instead of decimal strings."""

    def to_float(key: str, value: str) -> Any:
        if key in ("amount", "unit_price") and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        return value

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        return status, _map_strings(body, to_float)

    return JsonRewriter(app, rewrite)


def bare_errors(app: ASGIApp) -> ASGIApp:
    """Every 4xx body becomes {"message": ...}: no `error` envelope, no code, no request_id."""

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        if 400 <= status < 500:
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else "bad request"
            return status, {"message": message}
        return status, body

    return JsonRewriter(app, rewrite)


def error_in_200(app: ASGIApp) -> ASGIApp:
    """A 404 comes back as 200 with the error envelope inside (the classic 200-with-error)."""

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        if status == 404 and isinstance(body, dict) and "error" in body:
            return 200, body
        return status, body

    return JsonRewriter(app, rewrite)


def server_error_on_big_limit(app: ASGIApp) -> ASGIApp:
    """Crashes (500, envelope `internal_error`) on any list request with `limit` above 150.

    The coverage phase always tries the documented maximum (200), so this is found every run.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            match = re.search(r"(?:^|&)limit=(\d+)(?:&|$)", query)
            if match and 150 < int(match.group(1)) <= 200:
                body = json.dumps(
                    {"error": {"code": "internal_error", "message": "boom", "request_id": "req_x"}}
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"x-request-id", b"req_x"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return wrapped


def camel_case_codes(app: ASGIApp) -> ASGIApp:
    """Error codes come back as CamelCase (`NotFound`) instead of snake_case."""

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            error["code"] = "".join(part.title() for part in error["code"].split("_"))
        return status, body

    return JsonRewriter(app, rewrite)


def mismatched_request_id(app: ASGIApp) -> ASGIApp:
    """error.request_id is a fresh id, not the one sent in X-Request-Id."""

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            error["request_id"] = "req_somewhere_else"
        return status, body

    return JsonRewriter(app, rewrite)


def no_request_id_header(app: ASGIApp) -> ASGIApp:
    """Drops the X-Request-Id header from every response."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def strip(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
            await send(message)

        await app(scope, receive, strip)

    return wrapped


class _PlainNamesOnly(asgi.Middleware):
    """createOrder validates ship_to.name against `^[A-Za-z .'-]+$` (a "name" regex copied from a
    web form) and refuses every other name, José and Zürich included, with 422
    `validation_failed`: a schema-valid order refused as malformed (API-010)."""

    PLAIN = re.compile(r"[A-Za-z .'-]+")

    async def handle(self, request: asgi.Request) -> asgi.Response:
        body = request.json
        ship_to = body.get("ship_to") if isinstance(body, dict) else None
        name = ship_to.get("name") if isinstance(ship_to, dict) else None
        create = request.method == "POST" and request.path == "/v1/orders"
        if create and isinstance(name, str) and not self.PLAIN.fullmatch(name):
            request_id = f"req_{uuid.uuid4().hex[:16]}"
            error = {
                "code": "validation_failed",
                "message": "ship_to.name may hold letters only",
                "field": "ship_to.name",
                "request_id": request_id,
            }
            headers = [("content-type", "application/json"), ("x-request-id", request_id)]
            return asgi.Response(422, headers, json.dumps({"error": error}).encode())
        return await self.call(request)


def plain_names_only(app: ASGIApp) -> ASGIApp:
    """createOrder refuses every ship_to.name outside plain ASCII letters with 422."""
    return _PlainNamesOnly(app)


class _LenientListQueries(asgi.Middleware):
    """A list ignores query values it cannot use (a `limit` of "abc", 0 or 900, an over-long
    cursor) and answers the first page with its defaults instead of 400: schema-invalid input
    accepted (ERR-008). The lenient parsing of many web frameworks' query binders."""

    async def handle(self, request: asgi.Request) -> asgi.Response:
        response = await self.call(request)
        refused = response.status == 400 and response.code == "validation_failed"
        if request.method == "GET" and request.query and refused:
            return await self.call(request.with_query(**dict.fromkeys(request.query)))
        return response


def lenient_list_queries(app: ASGIApp) -> ASGIApp:
    """A list answers 200 with its defaults to a query value it should refuse with 400."""
    return _LenientListQueries(app)


class _BodyErrorsAs400(asgi.Middleware):
    """A create refuses a JSON body that breaks its schema with 400 `validation_failed` instead of
    422 (ERR-008): the status many frameworks' request binders give every invalid input. Bodies
    that are not JSON keep their 400 `invalid_json`; a write with a valid body is untouched."""

    async def handle(self, request: asgi.Request) -> asgi.Response:
        response = await self.call(request)
        invalid = response.status == 422 and response.code in ("validation_failed", "unknown_field")
        if request.method == "POST" and invalid:
            return response.with_json(response.json, status=400)
        return response


def body_errors_as_400(app: ASGIApp) -> ASGIApp:
    """A POST whose JSON body breaks its schema gets 400, not 422."""
    return _BodyErrorsAs400(app)


def _without_fields(payload: Any) -> Any:
    error = {k: v for k, v in payload["error"].items() if k != "field"}
    listed = payload.get("errors")
    if isinstance(listed, list):
        listed = [{k: v for k, v in entry.items() if k != "field"} for entry in listed]
        return {**payload, "error": error, "errors": listed}
    return {**payload, "error": error}


class _ValidationErrorsNameNoField(asgi.Middleware):
    """A 422 `validation_failed` or `unknown_field` says what is wrong only in its message: no
    `field` in the envelope nor in `errors[]` (ERR-008), so an ERP cannot point its user at the
    input to fix."""

    async def handle(self, request: asgi.Request) -> asgi.Response:
        response = await self.call(request)
        if response.status == 422 and response.code in ("validation_failed", "unknown_field"):
            return response.with_json(_without_fields(response.json))
        return response


def validation_errors_name_no_field(app: ASGIApp) -> ASGIApp:
    """A 422 for a body that breaks its schema names no field."""
    return _ValidationErrorsNameNoField(app)
