"""One client check: the day against one sandbox, then the judge; a JSON-ready result."""

from __future__ import annotations

import tempfile
from typing import Any

from conformance.client.adapter import AdapterFactory
from conformance.client.day import Day
from conformance.client.judge import judge
from conformance.client.warehouse import Warehouse


def check_client(
    factory: AdapterFactory, base_url: str, token: str, *, orders: int = 10, seed: int = 0
) -> dict[str, Any]:
    """Run the day with a fresh client (its own state directory) and judge it. The figures say
    what happened: orders, shipments in the warehouse and rows the ERP was handed, duplicates,
    lost, seconds, and the faults the chaos mode injected."""
    warehouse = Warehouse(base_url, token)
    try:
        with tempfile.TemporaryDirectory(prefix="fulfillment-client-check-") as workdir:
            adapter = factory(base_url, token, workdir)
            try:
                log = Day(adapter, warehouse, orders=orders, seed=seed).run()
            finally:
                adapter.close()
        all_orders = warehouse.all_rows("/orders")
        shipments = warehouse.all_rows("/shipments")
        chaos = warehouse.chaos_report()
        outcomes = judge(log, all_orders, shipments, warehouse.all_rows("/inventory"), chaos)
    finally:
        warehouse.close()
    ours = {r["id"] for r in all_orders if r["reference"].startswith(log.prefix)}
    versions = [(row["id"], row["updated_at"]) for row in log.shipments_seen]
    seen = set(versions)
    figures = {
        "orders": len(log.orders),
        "shipments": sum(1 for s in shipments if s["order_id"] in ours),
        "shipment_rows_seen": len(versions),
        "duplicates": len(versions) - len(seen),
        "lost": sum(
            1 for s in shipments if s["order_id"] in ours and (s["id"], s["updated_at"]) not in seen
        ),
        "seconds": round(log.seconds, 1),
    }
    return {
        "chaos": chaos,
        "seed": seed,
        "verdict": "failed" if any(o.outcome == "failed" for o in outcomes) else "passed",
        "figures": figures,
        "outcomes": [o.as_dict() for o in outcomes],
    }
