"""Webhook delivery latency on loopback while a secret rotation's overlap window is open (two v1
signatures per delivery), for a first delivery and for a retry made due at once.

Starts `python -m fulfillment_sandbox` on a free 127.0.0.1 port with a temporary database,
subscribes a receiver that answers at once, rotates the subscription's secret, then measures, one
after another: a fresh event (the API call that causes it -> its arrival), and a retry (the
receiver answered 500; POST /sandbox/webhook-deliveries/retry -> the retry's arrival). Prints the
median and p95 of each. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from bench_delivery import client, sandbox, subscribe


class Receiver(ThreadingHTTPServer):
    """Answers 204 (500 while `failing` is set) and notes when each delivery arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.arrived = threading.Condition()
        self.failing = False
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 60) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise TimeoutError(f"delivery {count} did not arrive within {timeout} s")
            return self.arrivals[count - 1]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.arrived:
            self.server.arrivals.append(time.perf_counter())
            status = 500 if self.server.failing else 204
            self.server.arrived.notify_all()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def adjust(http: httpx.Client, sku: str) -> None:
    change = {"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 1, "reason": "found"}
    response = http.post("/sandbox/inventory-adjustments", json=change)
    assert response.status_code == 201, response.text


def figures(name: str, values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)
    return (
        f"{name:<36} median {statistics.median(values) * 1000:7.1f} ms  "
        f"p95 {p95 * 1000:7.1f} ms  ({len(values)} deliveries)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="deliveries measured of each kind")
    args = parser.parse_args()
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    fresh: list[float] = []
    retried: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(Path(tmp) / "bench.sqlite3") as base,
        client(base, "acme") as http,
    ):
        hook_id = subscribe(http, receiver.url, ["inventory.adjusted"])
        rotated = http.post(f"/webhooks/{hook_id}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
        stock = {"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 1000}
        assert http.post("/sandbox/inventory", json=stock).status_code == 200
        for n in range(1, args.rounds + 1):
            started = time.perf_counter()
            adjust(http, sku)
            fresh.append(receiver.wait_for(n) - started)
        for n in range(args.rounds + 1, 3 * args.rounds + 1, 2):
            receiver.failing = True
            adjust(http, sku)
            receiver.wait_for(n)  # answered 500: a retry is due in 10 s
            receiver.failing = False
            started = time.perf_counter()
            assert http.post("/sandbox/webhook-deliveries/retry").status_code == 200
            retried.append(receiver.wait_for(n + 1) - started)
    receiver.shutdown()
    print("webhook delivery during a secret rotation's overlap (two v1 signatures), loopback")
    print(figures("first attempt (change -> arrival)", fresh))
    print(figures("retry now (control call -> arrival)", retried))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
