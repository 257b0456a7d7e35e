"""kill -9 in the middle of a write load loses no acknowledged order (synchronous=FULL, WAL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.live_server import free_port

from .conftest import ACME, order_body


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fulfillment_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            str(db),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/v1/warehouses",
                timeout=0.5,
                headers={"Authorization": f"Bearer {ACME}"},
                trust_env=False,
            )
            return process
        except httpx.HTTPError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.05)
    process.kill()
    raise AssertionError("sandbox did not start")


def test_acknowledged_orders_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "durable.sqlite3"
    port = free_port()
    process = _start(db, port)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    base = f"http://127.0.0.1:{port}/v1"

    def load() -> None:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {ACME}"}, timeout=5, trust_env=False
        ) as client:
            while not stop.is_set():
                body = order_body(items=[{"sku": "WIDGET-RED-S", "quantity": 1}])
                try:
                    r = client.post(
                        "/orders", json=body, headers={"Idempotency-Key": body["reference"]}
                    )
                except httpx.HTTPError:
                    return  # the server died under us: this one was never acknowledged
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(r.json()["id"])

    threads = [threading.Thread(target=load) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)  # kill while the writers are mid-flight
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        if process.poll() is None:
            process.kill()
    assert len(acknowledged) > 20, "the load produced too few orders to mean anything"
    port = free_port()
    process = _start(db, port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}/v1",
            trust_env=False,
            headers={"Authorization": f"Bearer {ACME}"},
        ) as client:
            stored: set[str] = set()
            params: dict[str, str | int] = {"limit": 200}
            while True:
                page = client.get("/orders", params=params).json()
                stored.update(order["id"] for order in page["data"])
                if not page["pagination"]["has_more"]:
                    break
                params = {"limit": 200, "cursor": page["pagination"]["next_cursor"]}
    finally:
        process.terminate()
        process.wait(10)
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged orders were lost"
    print(f"\nkill -9: {len(acknowledged)} acknowledged, {len(stored)} stored, 0 lost")
