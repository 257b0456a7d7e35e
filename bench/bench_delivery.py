"""Webhook delivery latency of the reference sandbox while dead subscriptions have a huge backlog.

Starts `python -m fulfillment_sandbox` on a free 127.0.0.1 port with a temporary database, makes 50
subscriptions to dead receivers (most on a port nothing listens on, so refused at once; a few that
accept the connection and never answer) split between the two demo partners, and writes 30,000
deliveries to them, all due now, straight into the database. Once the sandbox is busy with that
backlog, a healthy receiver's subscription gets fresh events one at a time; prints how long each
took from the API call that caused it to its arrival. Asserts nothing; the goal is well under 2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sandbox_process import free_port, sandbox_process

TOKENS = {"acme": "wms_test_acme_token", "globex": "wms_test_globex_token"}


class HealthyReceiver(ThreadingHTTPServer):
    """Answers 204 to every delivery and notes when each arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.arrived = threading.Condition()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise TimeoutError(f"delivery {count} did not arrive within {timeout} s")
            return self.arrivals[count - 1]


class _Handler(BaseHTTPRequestHandler):
    server: HealthyReceiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()
        with self.server.arrived:
            self.server.arrivals.append(time.perf_counter())
            self.server.arrived.notify_all()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def silent_receivers(count: int) -> Iterator[list[str]]:
    """Ports that accept connections (the kernel's listen backlog) and never answer."""
    with contextlib.ExitStack() as stack:
        urls = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}/silent")
        yield urls


@contextlib.contextmanager
def sandbox(db_path: Path) -> Iterator[str]:
    # Every attempt is logged at INFO; thousands of them a second are not this benchmark's output.
    with sandbox_process(db_path, quiet_stderr=True) as (base, _pid):
        yield base


def client(base: str, partner: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[partner]}"}
    return httpx.Client(base_url=base, headers=headers, timeout=30, trust_env=False)


def subscribe(http: httpx.Client, url: str, events: list[str]) -> str:
    response = http.post(
        "/webhooks",
        json={"url": url, "events": events},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def seed_backlog(db_path: Path, hooks: dict[str, list[str]], total: int) -> None:
    """`total` deliveries, due now, spread evenly over the dead subscriptions (one event per
    round and partner)."""
    rounds = total // sum(len(ids) for ids in hooks.values())
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for partner, hook_ids in hooks.items():
            for n in range(rounds):
                event_id = f"evt_bench_{partner}_{n:06d}"
                body = json.dumps({"event_id": event_id, "event_type": "inventory.updated"})
                conn.execute(
                    "INSERT INTO events (id, partner, type, created_at, body) "
                    "VALUES (?, ?, 'inventory.updated', '2026-01-01T00:00:00.000Z', ?)",
                    (event_id, partner, body),
                )
                conn.executemany(
                    "INSERT INTO deliveries (event_id, webhook_id, state, attempts, "
                    "next_attempt_at) VALUES (?, ?, 'pending', 0, 0)",
                    [(event_id, hook_id) for hook_id in hook_ids],
                )
        conn.execute("COMMIT")
    finally:
        conn.close()


def backlog_progress(db_path: Path) -> tuple[int, int]:
    """(attempts made so far, subscriptions that have had an attempt)."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        row = conn.execute(
            "SELECT COALESCE(SUM(attempts), 0), COUNT(DISTINCT webhook_id) FROM deliveries "
            "WHERE attempts > 0"
        ).fetchone()
        return int(row[0]), int(row[1])
    finally:
        conn.close()


def measure(base: str, receiver: HealthyReceiver, rounds: int) -> list[float]:
    """Latency of each of `rounds` fresh inventory.adjusted deliveries, one after another."""
    latencies = []
    with client(base, "acme") as http:
        sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
        stock = {"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 1000}
        assert http.post("/sandbox/inventory", json=stock).status_code == 200
        for n in range(1, rounds + 1):
            change = {"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 1}
            started = time.perf_counter()
            response = http.post(
                "/sandbox/inventory-adjustments", json={**change, "reason": "found"}
            )
            assert response.status_code == 201, response.text
            latencies.append(receiver.wait_for(n, timeout=120) - started)
            time.sleep(0.2)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dead", type=int, default=50, help="dead subscriptions")
    parser.add_argument("--silent", type=int, default=5, help="of which accept and never answer")
    parser.add_argument("--backlog", type=int, default=30_000, help="deliveries due to them")
    parser.add_argument("--rounds", type=int, default=10, help="healthy deliveries measured")
    args = parser.parse_args()
    receiver = HealthyReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with (
        tempfile.TemporaryDirectory() as tmp,
        silent_receivers(args.silent) as silent,
        sandbox(Path(tmp) / "bench.sqlite3") as base,
    ):
        db_path = Path(tmp) / "bench.sqlite3"
        dead_urls = silent + [
            f"http://127.0.0.1:{free_port()}/refused" for _ in range(args.dead - args.silent)
        ]
        hooks: dict[str, list[str]] = {"acme": [], "globex": []}
        for n, url in enumerate(dead_urls):  # one in five is the healthy partner's own
            partner = "acme" if n % 5 == 0 else "globex"
            with client(base, partner) as http:
                hooks[partner].append(subscribe(http, url, ["inventory.updated"]))
        seed_backlog(db_path, hooks, args.backlog)
        with client(base, "acme") as http:
            subscribe(http, receiver.url, ["inventory.adjusted"])
        # A long-lived sandbox's dead subscriptions have failed before: wait until each has had an
        # attempt (the silent ones take the whole 5 s timeout).
        while backlog_progress(db_path)[1] < args.dead:
            time.sleep(0.1)
        before = backlog_progress(db_path)[0]
        latencies = measure(base, receiver, args.rounds)
        during = backlog_progress(db_path)[0] - before
    receiver.shutdown()
    print(
        f"webhook delivery with {args.dead} dead subscriptions ({args.silent} silent) and "
        f"{args.backlog} deliveries due to them (loopback)"
    )
    print(
        f"{'healthy delivery latency':<34} median {statistics.median(latencies):6.3f} s  "
        f"max {max(latencies):6.3f} s  ({len(latencies)} deliveries)"
    )
    print(f"{'dead attempts meanwhile':<34} {during:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
