"""Throughput of the reference sandbox: POST /orders and a GET /shipments page (limit 50).

Starts `python -m fulfillment_sandbox` on a free 127.0.0.1 port with a temporary database, sends
a bounded number of requests from a few client threads over keep-alive connections, prints
requests per second, and stops the server. Asserts nothing; figures depend on the machine (every
order commit is fsynced: synchronous=FULL).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sandbox_process import sandbox_process

TOKEN = "wms_test_acme_token"


def order_body() -> dict[str, object]:
    tag = uuid.uuid4().hex[:12]
    return {
        "order_number": f"SO-{tag}",
        "reference": f"F-{tag}",
        "warehouse_id": "wh_syd_1",
        "shipping_method_id": "sm_auspost_express",
        "ship_to": {"name": "Jane Doe", "address1": "1 Main St", "city": "Sydney", "country": "AU"},
        "items": [{"sku": "BENCH-SKU", "quantity": 1, "unit_price": "9.99", "currency": "AUD"}],
    }


def client(base: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30, trust_env=False
    )


def run(label: str, base: str, total: int, threads: int, call) -> None:
    per_thread = total // threads

    def worker(_: int) -> int:
        with client(base) as http:
            for _ in range(per_thread):
                response = call(http)
                assert response.status_code < 300, response.text
        return per_thread

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {done:>6} requests  {elapsed:6.2f} s  {done / elapsed:8.1f} req/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400, help="POST /orders requests")
    parser.add_argument("--pages", type=int, default=400, help="GET /shipments pages")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(Path(tmp) / "bench.sqlite3") as (base, _pid),
    ):
        with client(base) as http:
            http.post(
                "/sandbox/inventory",
                json={"sku": "BENCH-SKU", "warehouse_id": "wh_syd_1", "on_hand": 1_000_000},
            )
            for _ in range(60):  # enough shipments for a full page of 50
                order = http.post(
                    "/orders", json=order_body(), headers={"Idempotency-Key": str(uuid.uuid4())}
                ).json()
                http.post(f"/sandbox/orders/{order['id']}/ship")
        print(f"sandbox benchmark ({args.threads} client threads, loopback)")
        run(
            "POST /orders",
            base,
            args.orders,
            args.threads,
            lambda h: h.post(
                "/orders", json=order_body(), headers={"Idempotency-Key": str(uuid.uuid4())}
            ),
        )
        run(
            "GET /shipments?limit=50",
            base,
            args.pages,
            args.threads,
            lambda h: h.get("/shipments", params={"limit": 50}),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
