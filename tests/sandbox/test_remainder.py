"""Partial fulfilment (decision 47): per-line backorders and closing an order short."""

from __future__ import annotations

from typing import Any

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient


def progress(order: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (
            line["line_id"],
            line["shipped_quantity"],
            line["backordered_quantity"],
            line["cancelled_quantity"],
        )
        for line in order["items"]
    ]


def test_a_partially_shipped_order_closes_short_as_shipped(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 6})
    items = [
        {"line_id": "10", "sku": sku, "quantity": 4},
        {"line_id": "20", "sku": sku, "quantity": 6},
    ]
    order = acme.create_order(order_body(items=items)).json()
    assert order["status"] == "backordered"
    assert progress(order) == [("10", 0, 0, 0), ("20", 0, 4, 0)]
    acme.post(f"/sandbox/orders/{order['id']}/ship", json={"items": [{"sku": sku, "quantity": 6}]})
    assert acme.get(f"/orders/{order['id']}").json()["status"] == "partially_shipped"
    closed = acme.post(f"/orders/{order['id']}/cancel-remainder")
    assert closed.status_code == 200
    assert closed.json()["status"] == "shipped"
    assert progress(closed.json()) == [("10", 4, 0, 0), ("20", 2, 0, 4)]
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["allocated"], level["backordered"]) == (0, 0, 0)
    again = acme.post(f"/orders/{order['id']}/cancel-remainder")
    assert again.status_code == 200 and again.json()["version"] == closed.json()["version"]
    # Stock arriving later is not allocated to the closed order.
    acme.post("/sandbox/inventory", json={"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 9})
    assert stock_of(acme, sku)["allocated"] == 0


def test_a_backordered_order_with_nothing_shipped_is_cancelled(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 1})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 3}])).json()
    closed = acme.post(f"/orders/{order['id']}/cancel-remainder").json()
    assert closed["status"] == "cancelled" and closed["cancelled_at"]
    assert progress(closed) == [("1", 0, 0, 3)]
    level = stock_of(acme, sku)
    assert (level["allocated"], level["backordered"]) == (0, 0)


def test_an_order_without_a_remainder_is_refused(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    refused = acme.post(f"/orders/{order['id']}/cancel-remainder")
    assert refused.status_code == 409
    assert (refused.json()["error"]["code"], refused.json()["error"]["order_status"]) == (
        "no_remainder",
        "received",
    )
    acme.post(f"/sandbox/orders/{order['id']}/pick")
    picking = acme.post(f"/orders/{order['id']}/cancel-remainder")
    assert picking.status_code == 409 and picking.json()["error"]["code"] == "too_late_to_cancel"
