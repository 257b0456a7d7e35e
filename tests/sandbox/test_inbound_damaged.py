"""Damaged units on inbound receipts (decision 54): counted as received, reported per line,
never stock; more damaged than received is refused and receives nothing."""

from __future__ import annotations

import uuid
from typing import Any

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient
from .test_events import logged


def new_asn(acme: SpecClient, items: dict[str, int]) -> dict[str, Any]:
    body = {
        "reference": f"ASN-{uuid.uuid4().hex[:8]}",
        "warehouse_id": "wh_syd_1",
        "items": [{"sku": sku, "expected_quantity": qty} for sku, qty in items.items()],
    }
    created = acme.post(
        "/inbound-shipments", json=body, headers={"Idempotency-Key": body["reference"]}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def receive(acme: SpecClient, asn_id: str, items: list[dict[str, Any]], complete: bool) -> Any:
    return acme.post(
        f"/sandbox/inbound-shipments/{asn_id}/receive", json={"items": items, "complete": complete}
    )


def test_damaged_units_count_as_received_but_never_become_stock(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 0})
    waiting = acme.create_order(order_body(items=[{"sku": sku, "quantity": 5}])).json()
    asn = new_asn(acme, {sku: 10})
    line = {"sku": sku, "received_quantity": 6, "damaged_quantity": 2}
    partial = receive(acme, asn["id"], [line], complete=False)
    assert partial.status_code == 200, partial.text
    [got] = partial.json()["items"]
    assert (got["received_quantity"], got["damaged_quantity"], got["discrepancy"]) == (6, 2, -4)
    level = stock_of(acme, sku)
    # 4 whole units: the backordered order of 5 stays waiting for the fifth.
    assert (level["on_hand"], level["incoming"], level["allocated"]) == (4, 4, 4)
    assert acme.get(f"/orders/{waiting['id']}").json()["status"] == "backordered"
    done = receive(acme, asn["id"], [{**line, "received_quantity": 4, "damaged_quantity": 1}], True)
    [got] = done.json()["items"]
    assert (got["received_quantity"], got["damaged_quantity"], got["discrepancy"]) == (10, 3, 0)
    assert (stock_of(acme, sku)["on_hand"], stock_of(acme, sku)["incoming"]) == (7, 0)
    read = acme.get(f"/inbound-shipments/{asn['id']}").json()
    assert read["items"][0]["damaged_quantity"] == 3
    fired = [
        e["data"]["items"][0]["damaged_quantity"]
        for e in logged(acme)
        if e["event_type"] == "inbound.received" and e["data"]["id"] == asn["id"]
    ]
    assert fired == [2, 3]


def test_a_receipt_without_damaged_units_reads_zero(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 0})
    asn = new_asn(acme, {sku: 3})
    assert asn["items"][0]["damaged_quantity"] == 0
    done = receive(acme, asn["id"], [{"sku": sku, "received_quantity": 3}], True).json()
    assert done["items"][0]["damaged_quantity"] == 0
    assert stock_of(acme, sku)["on_hand"] == 3


def test_more_damaged_than_received_is_refused_and_receives_nothing(acme: SpecClient) -> None:
    sku, other = new_sku(acme, {"wh_syd_1": 1}), new_sku(acme, {"wh_syd_1": 0})
    asn = new_asn(acme, {sku: 5, other: 5})
    items = [
        {"sku": sku, "received_quantity": 2},
        {"sku": other, "received_quantity": 2, "damaged_quantity": 3},
    ]
    r = receive(acme, asn["id"], items, complete=True)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert (error["code"], error["field"]) == (
        "damaged_exceeds_received",
        "items[1].damaged_quantity",
    )
    read = acme.get(f"/inbound-shipments/{asn['id']}").json()
    assert read["status"] == "expected"
    assert [i["received_quantity"] for i in read["items"]] == [0, 0]
    assert stock_of(acme, sku)["on_hand"] == 1
