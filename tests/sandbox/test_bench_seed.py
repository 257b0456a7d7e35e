"""The history bench_scale seeds straight into SQLite is one the sandbox could have written.

bench/bench_scale.py bypasses the API to seed a million orders fast, writing rows in the
sandbox's own shapes. When those shapes grow (line ids, decision 46), a stale seed serves bodies
the spec forbids, and the kit's run against the seeded sandbox fails for the seed's fault (it
did: every shipment item lacked `line_id`). Here a small seeded history is served and every
body read back is checked against the spec (SpecClient).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfillment_sandbox.app import create_app

from tests.live_server import serve

from .conftest import ACME
from .spec_client import SpecClient

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_seeded_history_reads_back_valid_against_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_scale

    db_path = tmp_path / "seeded.sqlite3"
    info = bench_scale.seed(db_path, 150)
    order_id, reference = info["sample"][len(info["sample"]) // 2]
    with serve(create_app(str(db_path))) as base, SpecClient(base, ACME) as client:
        orders = client.get("/orders", params={"limit": 100}).json()["data"]
        shipments = client.get("/shipments", params={"limit": 100}).json()["data"]
        one = client.get(f"/orders/{order_id}").json()
        by_reference = client.get("/orders", params={"reference": reference}).json()["data"]
        client.get("/inventory", params={"limit": 100})
    assert len(orders) == 100 and len(shipments) == 100
    assert all(item["line_id"] for shipment in shipments for item in shipment["items"])
    assert [order["id"] for order in by_reference] == [one["id"]] == [order_id]
