"""Serve an ASGI app on a free loopback port for the length of a `with` block.

Tests that need a real HTTP server (the kit speaks HTTP, not ASGI) use this instead of a fixed
port: the server binds 127.0.0.1:0, so parallel runs never collide, and it is always stopped.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: Any, *, startup_timeout: float = 15.0) -> Iterator[str]:
    """Run `app` under uvicorn in a thread; yield its base URL (no trailing slash)."""
    # The socket is bound here and handed to uvicorn, so no other process (the suite runs in
    # several workers) can take the port between choosing it and listening on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    # Keep-alive 75 s, not uvicorn's 5: on a loaded machine a kit thread can sit idle past 5 s
    # and then reuse a pooled connection just as the server closes it ("connection reset by
    # peer" on a POST). Real gateways keep connections longer too (nginx: 75 s).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="auto",
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"live-server-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"test server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
