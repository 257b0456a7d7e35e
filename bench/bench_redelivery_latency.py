"""Redelivery latency on loopback: `POST /events/{event_id}/redeliver` -> the redelivery's arrival.

Starts `python -m fulfillment_sandbox` on a free 127.0.0.1 port with a temporary database,
subscribes a receiver that answers at once, causes one event (an inventory adjustment), then
redelivers it again and again, one after another, to the named subscription, and to every
subscription of the type (no body; the one subscription here). Also times the event log's answer
(`GET /events?type=...`, one page of 50). Prints the median and p95 of each. Asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench_delivery import client, sandbox, subscribe
from bench_rotation_latency import Receiver, adjust, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="redeliveries measured of each kind")
    args = parser.parse_args()
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    named: list[float] = []
    everyone: list[float] = []
    listed: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(Path(tmp) / "bench.sqlite3") as base,
        client(base, "acme") as http,
    ):
        hook_id = subscribe(http, receiver.url, ["inventory.adjusted"])
        sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
        stock = {"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 1000}
        assert http.post("/sandbox/inventory", json=stock).status_code == 200
        adjust(http, sku)
        receiver.wait_for(1)
        page = http.get("/events", params={"type": "inventory.adjusted"}).json()
        event_id = page["data"][-1]["event_id"]
        arrived = 1
        for body, into in (({"webhook_id": hook_id}, named), (None, everyone)):
            for _ in range(args.rounds):
                started = time.perf_counter()
                answer = http.post(f"/events/{event_id}/redeliver", json=body)
                assert answer.status_code == 202, answer.text
                arrived += 1
                into.append(receiver.wait_for(arrived) - started)
        for _ in range(args.rounds):
            started = time.perf_counter()
            assert http.get("/events", params={"type": "inventory.adjusted"}).status_code == 200
            listed.append(time.perf_counter() - started)
    receiver.shutdown()
    print("event redelivery on loopback (request -> arrival of the redelivery)")
    print(figures("redeliver to a named subscription", named))
    print(figures("redeliver to every subscription", everyone))
    print(figures("GET /events?type= (answer)", listed).replace("deliveries", "requests"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
