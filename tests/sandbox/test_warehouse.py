"""Allocation arithmetic (decisions 21-22) and the shipment state machine (decision 20)."""

from __future__ import annotations

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient


def test_allocation_backorder_and_release(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 5})
    first = acme.create_order(order_body(items=[{"sku": sku, "quantity": 3}])).json()
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["allocated"], level["available"]) == (5, 3, 2)
    second = acme.create_order(order_body(items=[{"sku": sku, "quantity": 4}])).json()
    assert second["status"] == "backordered"
    level = stock_of(acme, sku)
    assert (level["allocated"], level["available"], level["backordered"]) == (5, 0, 2)
    refused = acme.post(
        "/sandbox/inventory", json={"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 4}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "stock_allocated"
    before = stock_of(acme, sku)["updated_at"]
    acme.post("/sandbox/inventory", json={"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 10})
    level = stock_of(acme, sku)
    assert (level["allocated"], level["available"], level["backordered"]) == (7, 3, 0)
    assert level["updated_at"] > before
    assert acme.get(f"/orders/{second['id']}").json()["status"] == "received"
    shipment = acme.post(f"/sandbox/orders/{first['id']}/ship").json()
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["allocated"], level["available"]) == (7, 4, 3)
    acme.post(f"/orders/{second['id']}/cancel")
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["allocated"], level["available"]) == (7, 0, 7)
    assert shipment["items"] == [{"line_id": "1", "sku": sku, "quantity": 3}]


def test_adjustments_change_on_hand_and_are_listed(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 5})
    acme.create_order(order_body(items=[{"sku": sku, "quantity": 4}]))
    r = acme.post(
        "/sandbox/inventory-adjustments",
        json={"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": -2, "reason": "damaged"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_stock"
    r = acme.post(
        "/sandbox/inventory-adjustments",
        json={
            "sku": sku,
            "warehouse_id": "wh_syd_1",
            "quantity_delta": -1,
            "reason": "damaged",
            "note": "Water damage, pallet 12",
        },
    )
    assert r.status_code == 201 and r.json()["quantity_delta"] == -1
    assert stock_of(acme, sku)["on_hand"] == 4
    listed = acme.get("/inventory-adjustments", params={"sku": sku}).json()["data"]
    assert [a["id"] for a in listed] == [r.json()["id"]]
    zero = acme.post(
        "/sandbox/inventory-adjustments",
        json={"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 0, "reason": "found"},
    )
    assert zero.status_code == 422


def test_partial_shipments_parcels_and_order_status(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 10})
    order = acme.create_order(
        order_body(items=[{"sku": sku, "quantity": 2}, {"sku": "WIDGET-RED-S", "quantity": 1}])
    ).json()
    oid = order["id"]
    part = acme.post(
        f"/sandbox/orders/{oid}/ship", json={"parcels": 2, "items": [{"sku": sku, "quantity": 2}]}
    )
    assert part.status_code == 201
    parcels = part.json()["parcels"]
    assert len(parcels) == 2 and len({p["tracking_number"] for p in parcels}) == 2
    current = acme.get(f"/orders/{oid}").json()
    assert current["status"] == "partially_shipped"
    assert [line["shipped_quantity"] for line in current["items"]] == [2, 0]
    too_many = acme.post(
        f"/sandbox/orders/{oid}/ship", json={"items": [{"sku": sku, "quantity": 1}]}
    )
    # A data-dependent refusal has its own code, never the schema's validation_failed (API-010).
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "quantity_exceeds_unshipped"
    rest = acme.post(
        f"/sandbox/orders/{oid}/ship", json={"cost": {"amount": "3.10", "currency": "AUD"}}
    )
    assert rest.json()["items"] == [{"line_id": "2", "sku": "WIDGET-RED-S", "quantity": 1}]
    assert rest.json()["cost"] == {"amount": "3.10", "currency": "AUD"}
    final = acme.get(f"/orders/{oid}").json()
    assert final["status"] == "shipped" and len(final["shipments"]) == 2
    again = acme.post(f"/sandbox/orders/{oid}/ship")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    by_order = acme.get("/shipments", params={"order_id": oid}).json()["data"]
    assert {s["id"] for s in by_order} == {part.json()["id"], rest.json()["id"]}


def test_shipment_statuses_and_void(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 3})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 2}])).json()
    delivered = acme.post(f"/sandbox/orders/{order['id']}/ship").json()
    sid = delivered["id"]
    for status in ("in_transit", "exception", "out_for_delivery", "delivered"):
        r = acme.post(f"/sandbox/shipments/{sid}/advance", json={"status": status})
        assert r.status_code == 200 and r.json()["status"] == status
        assert r.json()["updated_at"] > delivered["updated_at"]
        delivered = r.json()
    assert (
        acme.post(f"/sandbox/shipments/{sid}/advance", json={"status": "in_transit"}).status_code
        == 409
    )
    assert acme.post(f"/sandbox/shipments/{sid}/void").status_code == 409

    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 1}])).json()
    shipment = acme.post(f"/sandbox/orders/{order['id']}/ship").json()
    assert stock_of(acme, sku)["on_hand"] == 0
    voided = acme.post(f"/sandbox/shipments/{shipment['id']}/void").json()
    assert voided["status"] == "voided" and voided["voided"] is True
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["allocated"]) == (1, 1)
    again = acme.get(f"/orders/{order['id']}").json()
    assert again["status"] == "processing"
    assert again["items"][0]["shipped_quantity"] == 0
    assert acme.get(f"/shipments/{shipment['id']}").json()["voided"] is True


def test_pick_and_hold_transitions(acme: SpecClient) -> None:
    oid = acme.create_order(order_body()).json()["id"]
    assert acme.post(f"/sandbox/orders/{oid}/hold").json()["status"] == "on_hold"
    assert acme.post(f"/sandbox/orders/{oid}/hold").status_code == 409
    assert acme.post(f"/sandbox/orders/{oid}/pick").json()["status"] == "processing"
    r = acme.post(f"/sandbox/orders/{oid}/pick")
    assert r.status_code == 409 and r.json()["error"]["order_status"] == "processing"


def test_a_sold_out_sku_stays_listed_at_zero(acme: SpecClient) -> None:
    """INV-013: the last units shipped leave the row listed at 0, with a newer updated_at."""
    sku = new_sku(acme, {"wh_syd_1": 2})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 2}])).json()
    before = stock_of(acme, sku)["updated_at"]
    acme.post(f"/sandbox/orders/{order['id']}/ship")
    polled = acme.get("/inventory", params={"sku": sku, "updated_since": before}).json()["data"]
    [entry] = polled[0]["warehouses"]
    assert (entry["on_hand"], entry["available"]) == (0, 0)
    assert polled[0]["updated_at"] > before
