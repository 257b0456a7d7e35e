"""Hostile servers: what a kit meets in the wild when the target is down, wrong or misbehaving.

Two kinds:
- raw TCP servers (`RawServer`) that write exactly the bytes a test wants (a truncated body, a
  connection that never answers), where an HTTP framework would refuse to misbehave;
- ASGI apps and wrappers around the reference sandbox (HTML instead of JSON, garbage bytes, a
  10 MB body, a redirect to another host, a static page server) served with `tests.live_server`.

`HOSTILE` is the gallery: each entry says how to build the server and how the kit must end
(`config`: exit 2 with one sentence on stderr; `report`: exit 1 with a clean report).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from tests.kit.variants import Request, Response, Variant

App = Callable[..., Any]


# -- raw TCP --------------------------------------------------------------------------------------
class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to `handler(conn, request_bytes)`."""

    def __init__(self, handler: Callable[[socket.socket, bytes], None]) -> None:
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.handler(conn, data)
        except OSError:
            pass

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()
        for conn in self.connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@contextmanager
def raw_server(handler: Callable[[socket.socket, bytes], None]) -> Iterator[str]:
    server = RawServer(handler)
    server.thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def truncated_body(conn: socket.socket, _request: bytes) -> None:
    """Promises 5000 bytes of JSON, sends 20, closes the connection."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n"
        b'X-Request-Id: req_trunc\r\n\r\n{"data": [{"id": "wh'
    )
    conn.close()


def never_answers(conn: socket.socket, _request: bytes) -> None:
    """Reads the request, then says nothing until the test stops the server."""
    conn.settimeout(None)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def garbage_bytes(conn: socket.socket, _request: bytes) -> None:
    """Not HTTP at all: random bytes, then close."""
    conn.sendall(os.urandom(4096))
    conn.close()


# -- ASGI ------------------------------------------------------------------------------------------
async def _send(send: Any, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


HTML = b"<!doctype html><html><head><title>Welcome</title></head><body><h1>Hi</h1></body></html>"


async def html_everywhere(scope: Any, receive: Any, send: Any) -> None:
    """A web site, not an API: 200 text/html for every path."""
    if scope["type"] != "http":
        return
    await _drain(receive)
    await _send(send, 200, HTML, [("content-type", "text/html; charset=utf-8")])


async def static_site(scope: Any, receive: Any, send: Any) -> None:
    """A plain static file server: / is a page, everything else 404 text/html."""
    if scope["type"] != "http":
        return
    await _drain(receive)
    if scope["path"] in ("/", "/index.html"):
        await _send(send, 200, HTML, [("content-type", "text/html")])
    else:
        await _send(send, 404, b"<h1>404 Not Found</h1>", [("content-type", "text/html")])


async def json_garbage(scope: Any, receive: Any, send: Any) -> None:
    """Says application/json, sends bytes that are not JSON (nor UTF-8)."""
    if scope["type"] != "http":
        return
    await _drain(receive)
    body = b"\xff\xfe{\x00garbage\x9c\x80" + bytes(range(256))
    await _send(send, 200, body, [("content-type", "application/json")])


def ten_megabytes() -> bytes:
    filler = "x" * 1000
    rows = ",".join(json.dumps({"id": f"wh_{n}", "name": filler}) for n in range(10_500))
    return (
        '{"data": [' + rows + '], "pagination": {"next_cursor": null, "has_more": false}}'
    ).encode()


_TEN_MB = b""


async def huge_body(scope: Any, receive: Any, send: Any) -> None:
    """Every answer is a 10 MB JSON document."""
    global _TEN_MB
    if scope["type"] != "http":
        return
    await _drain(receive)
    if not _TEN_MB:
        _TEN_MB = ten_megabytes()
    await _send(send, 200, _TEN_MB, [("content-type", "application/json")])


class RedirectEverywhere:
    """Every request gets 307 to the same path on another host (the recorder)."""

    def __init__(self, target: str) -> None:
        self.target = target

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await _drain(receive)
        location = self.target + scope["path"]
        await _send(send, 307, b"", [("location", location)])


class AuthRecorder:
    """The other host: records every Authorization header (and every request) it receives."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await _drain(receive)
        self.requests += 1
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                self.authorizations.append(value.decode("latin-1"))
        await _send(send, 200, b'{"data": []}', [("content-type", "application/json")])


# -- wrappers around the sandbox: broken on some endpoints only ------------------------------------
ORDER = re.compile(r"^/v1/orders/[^/]+$")


def _is_get_order(req: Request) -> bool:
    return req.method == "GET" and bool(ORDER.match(req.path))


class HtmlOnOrders(Variant):
    """GET /orders/{id} answers an HTML error page (a proxy in front of the API, say)."""

    async def handle(self, req: Request) -> Response:
        if _is_get_order(req):
            return Response(502, [("content-type", "text/html")], b"<h1>502 Bad Gateway</h1>")
        return await super().handle(req)


class GarbageOnOrders(Variant):
    """GET /orders/{id} answers bytes that are neither JSON nor UTF-8."""

    async def handle(self, req: Request) -> Response:
        if _is_get_order(req):
            body = b"\xff\xfe\x00\x9c" + os.urandom(512)
            return Response(200, [("content-type", "application/json")], body)
        return await super().handle(req)


class HugeOrderList(Variant):
    """GET /orders answers its page plus 10 MB of padding."""

    async def handle(self, req: Request) -> Response:
        resp = await super().handle(req)
        if req.method == "GET" and req.path == "/v1/orders" and resp.status == 200:
            payload = resp.json
            payload["padding"] = "x" * (10 * 1024 * 1024)
            return Response(resp.status, resp.headers, json.dumps(payload).encode())
        return resp


class HangsOnOrders(Variant):
    """GET /orders/{id} never answers (until the kit's --timeout gives up)."""

    async def handle(self, req: Request) -> Response:
        if _is_get_order(req):
            await asyncio.sleep(3600)
        return await super().handle(req)


class RedirectsOrders(Variant):
    """GET /orders/{id} answers 307 to the same path on another host."""

    def __init__(self, app: App, target: str) -> None:
        super().__init__(app)
        self.target = target

    async def handle(self, req: Request) -> Response:
        if _is_get_order(req):
            return Response(307, [("location", self.target + req.path), ("x-request-id", "req_r")])
        return await super().handle(req)


@dataclass(frozen=True)
class Hostile:
    name: str
    behaviour: str
    ends: str  # "config" (exit 2, one sentence) or "report" (exit 1, failed requirements)
    kind: str  # "raw", "asgi", "wrapper", "redirect", "redirect-wrapper"

    def __str__(self) -> str:
        return self.name


HOSTILE: list[Hostile] = [
    Hostile("html-everywhere", "200 text/html for every request", "config", "asgi"),
    Hostile("static-site", "a static web site: / is a page, the rest 404", "config", "asgi"),
    Hostile("json-garbage", "application/json bodies that are not JSON", "config", "asgi"),
    Hostile("not-http", "random bytes instead of an HTTP response", "config", "raw"),
    Hostile("truncated-body", "Content-Length 5000, 20 bytes sent, closed", "config", "raw"),
    Hostile("never-answers", "accepts the connection, never answers", "config", "raw"),
    Hostile("ten-megabytes", "every answer is a 10 MB JSON body", "config", "asgi"),
    Hostile("redirect-elsewhere", "307 to another host for every request", "config", "redirect"),
    Hostile("html-on-orders", "GET /orders/{id} answers 502 text/html", "report", "wrapper"),
    Hostile("garbage-on-orders", "GET /orders/{id} answers non-JSON bytes", "report", "wrapper"),
    Hostile("huge-order-list", "GET /orders carries 10 MB of padding", "report", "wrapper"),
    Hostile("hangs-on-orders", "GET /orders/{id} never answers", "report", "wrapper"),
    Hostile(
        "redirects-orders",
        "GET /orders/{id} redirects to another host",
        "report",
        "redirect-wrapper",
    ),
]

RAW_HANDLERS = {
    "not-http": garbage_bytes,
    "truncated-body": truncated_body,
    "never-answers": never_answers,
}
ASGI_APPS: dict[str, App] = {
    "html-everywhere": html_everywhere,
    "static-site": static_site,
    "json-garbage": json_garbage,
    "ten-megabytes": huge_body,
}
WRAPPERS: dict[str, type[Variant]] = {
    "html-on-orders": HtmlOnOrders,
    "garbage-on-orders": GarbageOnOrders,
    "huge-order-list": HugeOrderList,
    "hangs-on-orders": HangsOnOrders,
}
