"""The ERP's webhook endpoint during the day: a loopback HTTP server that hands each delivery, raw
bytes and signature header, to the adapter's `receive_webhook` and answers the status it returns.

It records what happened to every delivery (the event, the answer, whether the client applied
it), so the judge can tell a lost event from a duplicate one. One delivery is handed over at a
time (the client's webhook side may keep its own state connection, not a thread-safe one).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Handled:
    event: dict[str, Any]
    status: int
    applied: bool
    at: float


class ClientWebhooks:
    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.secret = ""
        self.handled: list[Handled] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/erp-webhooks"

    def __enter__(self) -> ClientWebhooks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_quiet(self, quiet: float = 2.5, limit: float = 15.0) -> None:
        """Until no delivery came for `quiet` seconds (late duplicates too), at most `limit`."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self._lock:
                last = self.handled[-1].at if self.handled else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.2)

    def _handle(self, body: bytes, signature: str | None) -> int:
        with self._lock:
            try:
                status, applied = self.adapter.receive_webhook(body, signature, self.secret)
            except Exception as exc:  # the client's crash is a 500 to the warehouse
                self.errors.append(f"{type(exc).__name__}: {exc}")
                status, applied = 500, False
            try:
                event = json.loads(body)
            except ValueError:
                event = {}
            self.handled.append(Handled(event, int(status), bool(applied), time.monotonic()))
            return int(status)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                status = hooks._handle(body, self.headers.get("X-Webhook-Signature"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
