"""The ASGI plumbing of every gallery server (broken, legal variant, hostile): a wrapper around the
reference sandbox buffers a request, may rewrite it or answer it itself, may call the sandbox
(also on the caller's behalf, with its token), and may rewrite the answer.

`Request` and `Response` are buffered views (header names lower case; a query parameter or header
given twice keeps its last value, as the sandbox reads them); `Middleware` is the pass-through
wrapper the galleries subclass. With `prefix` set (e.g. "/v1"), `handle` sees the paths under it
relative to it ("/orders") and every other path goes to the sandbox untouched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode

Scope = dict[str, Any]


def _latin1(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Request:
    """A buffered request as the wrapper saw it (header names lower case)."""

    scope: Scope
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def json(self) -> Any:
        return _loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def token(self) -> str | None:
        """The bearer token, or None."""
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def with_json(self, payload: Any) -> Request:
        return replace(self, body=json.dumps(payload).encode())

    def with_query(self, **changes: str | None) -> Request:
        """The request with these parameters set (None removes one)."""
        query = {k: v for k, v in {**self.query, **changes}.items() if v is not None}
        return replace(self, query=query)

    def with_header(self, name: str, value: str | None) -> Request:
        """The request with this header set (None removes it)."""
        headers = {k: v for k, v in self.headers.items() if k != name.lower()}
        if value is not None:
            headers[name.lower()] = value
        return replace(self, headers=headers)


@dataclass
class Response:
    """A buffered response; the `with_*` methods keep the other headers (X-Request-Id, rate
    limits) and drop Content-Length, which is recomputed when the answer is sent."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def json(self) -> Any:
        return _loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def code(self) -> Any:
        """The error envelope's `code`, or None."""
        body = self.json
        error = body.get("error") if isinstance(body, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    def with_json(
        self, payload: Any, status: int | None = None, *, indent: int | None = None
    ) -> Response:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        body = json.dumps(payload, indent=indent).encode()
        return Response(status or self.status, headers, body)

    def with_body(self, body: bytes, content_type: str) -> Response:
        dropped = ("content-length", "content-type")
        headers = [(k, v) for k, v in self.headers if k.lower() not in dropped]
        return Response(self.status, [*headers, ("content-type", content_type)], body)

    def with_header(self, name: str, value: str | None) -> Response:
        """The response with this header set (None removes it)."""
        headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            headers.append((name.lower(), value))
        return Response(self.status, headers, self.body)

    def without_headers(self, predicate: Callable[[str], bool]) -> Response:
        kept = [(k, v) for k, v in self.headers if not predicate(k)]
        return Response(self.status, kept, self.body)


class Middleware:
    """Pass-through ASGI wrapper around the sandbox: subclasses override `handle` and use `call`
    (the sandbox, buffered) and `api` (the sandbox on the caller's behalf)."""

    # Paths under `prefix` reach `handle` relative to it; the others pass straight through.
    prefix: ClassVar[str] = ""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        path = scope["path"]
        inside = not self.prefix or path.startswith(self.prefix + "/")
        request = Request(
            scope=scope,
            method=scope["method"],
            path=path[len(self.prefix) :] if inside else path,
            query=dict(
                parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            ),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=b"".join(chunks),
        )
        response = await (self.handle(request) if inside else self.call(request, raw_path=True))
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        headers.append(("content-length", str(len(response.body))))
        start = {"type": "http.response.start", "status": response.status}
        await send({**start, "headers": _latin1(headers)})
        await send({"type": "http.response.body", "body": response.body})

    async def handle(self, request: Request) -> Response:
        return await self.call(request)

    async def call(self, request: Request, *, raw_path: bool = False) -> Response:
        """Runs `request` through the sandbox and buffers its answer (`raw_path`: the path is
        already absolute, not relative to `prefix`)."""
        path = request.path if raw_path else self.prefix + request.path
        headers = [(k, v) for k, v in request.headers.items() if k != "content-length"]
        if "transfer-encoding" not in request.headers:  # a chunked request stays chunked
            headers.append(("content-length", str(len(request.body))))
        scope = {
            **request.scope,
            "state": dict(request.scope.get("state") or {}),  # the sandbox writes into it
            "method": request.method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(request.query, quote_via=quote).encode(),
            "headers": _latin1(headers),
        }
        done = asyncio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        response = Response(500)
        body: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                response.headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, capture)
        finally:
            done.set()
        response.body = b"".join(body)
        return response

    async def api(
        self,
        like: Request,
        method: str,
        path: str,
        payload: Any = None,
        token: str | None = None,
        **params: str,
    ) -> Response:
        """Calls the sandbox on the caller's behalf (same token unless `token` is given)."""
        auth = f"Bearer {token}" if token else like.headers.get("authorization", "")
        headers = {"authorization": auth}
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["content-type"] = "application/json"
        return await self.call(Request(like.scope, method, path, dict(params), headers, body))
