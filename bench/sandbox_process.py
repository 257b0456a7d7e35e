"""The sandbox as its own process for a benchmark: on a free loopback port, stopped at the end.

Shared by the bench scripts (they run as `python bench/bench_x.py`, so this folder is on their
path). A separate process, as a vendor runs it: the benchmark's client threads never share its GIL.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def sandbox_process(
    db_path: Path, *, startup_timeout: float = 20.0, quiet_stderr: bool = False
) -> Iterator[tuple[str, int]]:
    """`fulfillment-sandbox` over `db_path`: (base URL ending in /v1, server pid).

    `startup_timeout`: opening a big database may first build a new index. `quiet_stderr`: the
    sandbox logs every webhook attempt, thousands a second in a delivery benchmark.
    """
    port = free_port()
    command = [sys.executable, "-m", "fulfillment_sandbox", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(db_path), "--log-level", "warning"]
    stderr = subprocess.DEVNULL if quiet_stderr else None
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                httpx.get(base + "/warehouses", timeout=2, trust_env=False)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(30)
