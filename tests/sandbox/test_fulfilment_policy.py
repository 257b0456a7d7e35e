"""The order-level fulfilment policy (decision 55) and a void on an order closed short
(decision 56)."""

from __future__ import annotations

from typing import Any

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient

WH = "wh_syd_1"


def backorders(order: dict[str, Any]) -> list[int]:
    return [line["backordered_quantity"] for line in order["items"]]


def set_stock(client: SpecClient, sku: str, on_hand: int) -> None:
    resp = client.post(
        "/sandbox/inventory", json={"sku": sku, "warehouse_id": WH, "on_hand": on_hand}
    )
    assert resp.status_code == 200, resp.text


def test_an_order_without_a_policy_reads_ship_available(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    assert order["fulfillment_policy"] == "ship_available"


def test_a_short_ship_complete_order_holds_nothing_until_every_line_is_covered(
    acme: SpecClient,
) -> None:
    on_hand, short = new_sku(acme, {WH: 5}), new_sku(acme, {WH: 1})
    items = [{"sku": on_hand, "quantity": 2}, {"sku": short, "quantity": 3}]
    body = order_body(items=items, fulfillment_policy="ship_complete")
    order = acme.create_order(body).json()
    assert (order["status"], order["fulfillment_policy"]) == ("backordered", "ship_complete")
    assert backorders(order) == [2, 3]
    assert (stock_of(acme, on_hand)["allocated"], stock_of(acme, on_hand)["available"]) == (0, 5)
    assert stock_of(acme, short)["allocated"] == 0
    # The warehouse cannot ship any of it while it is short.
    refused = acme.post(f"/sandbox/orders/{order['id']}/ship", json={})
    assert refused.status_code == 409
    set_stock(acme, short, 2)  # still short by one: nothing changes
    assert acme.get(f"/orders/{order['id']}").json()["status"] == "backordered"
    set_stock(acme, short, 3)
    covered = acme.get(f"/orders/{order['id']}").json()
    assert (covered["status"], backorders(covered)) == ("received", [0, 0])
    assert (stock_of(acme, on_hand)["allocated"], stock_of(acme, short)["allocated"]) == (2, 3)


def test_a_rise_that_cannot_complete_it_goes_to_a_younger_order(acme: SpecClient) -> None:
    sku = new_sku(acme, {WH: 0})
    complete = order_body(items=[{"sku": sku, "quantity": 5}], fulfillment_policy="ship_complete")
    waiting = acme.create_order(complete).json()
    younger = acme.create_order(order_body(items=[{"sku": sku, "quantity": 3}])).json()
    set_stock(acme, sku, 4)
    assert acme.get(f"/orders/{younger['id']}").json()["status"] == "received"
    assert acme.get(f"/orders/{waiting['id']}").json()["status"] == "backordered"
    assert stock_of(acme, sku)["allocated"] == 3


def test_amending_the_policy_redoes_the_allocation(acme: SpecClient) -> None:
    sku = new_sku(acme, {WH: 2})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 5}])).json()
    assert stock_of(acme, sku)["allocated"] == 2
    amended = acme.patch(f"/orders/{order['id']}", json={"fulfillment_policy": "ship_complete"})
    assert amended.status_code == 200, amended.text
    assert (amended.json()["fulfillment_policy"], backorders(amended.json())) == (
        "ship_complete",
        [5],
    )
    assert stock_of(acme, sku)["allocated"] == 0
    back = acme.patch(f"/orders/{order['id']}", json={"fulfillment_policy": "ship_available"})
    assert backorders(back.json()) == [3] and stock_of(acme, sku)["allocated"] == 2


def test_the_default_policy_written_out_is_the_same_body(acme: SpecClient) -> None:
    body = order_body()
    first = acme.create_order(body, key="policy-default")
    spelled = acme.create_order(
        {**body, "fulfillment_policy": "ship_available"}, key="policy-default"
    )
    assert spelled.status_code in (200, 201) and spelled.json()["id"] == first.json()["id"]
    other = acme.create_order({**body, "fulfillment_policy": "ship_complete"}, key="policy-default")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_void_reopens_an_order_closed_short_and_keeps_the_cut(acme: SpecClient) -> None:
    sku = new_sku(acme, {WH: 8})
    items = [
        {"line_id": "10", "sku": sku, "quantity": 4},
        {"line_id": "20", "sku": sku, "quantity": 6},
    ]
    order = acme.create_order(order_body(items=items)).json()
    ship = {"items": [{"sku": sku, "quantity": 3}]}
    first = acme.post(f"/sandbox/orders/{order['id']}/ship", json=ship).json()
    acme.post(f"/sandbox/orders/{order['id']}/ship", json=ship)
    closed = acme.post(f"/orders/{order['id']}/cancel-remainder").json()
    assert closed["status"] == "shipped"
    cut = [line["cancelled_quantity"] for line in closed["items"]]
    assert cut == [0, 4]
    voided = acme.post(f"/sandbox/shipments/{first['id']}/void")
    assert voided.status_code == 200, voided.text
    reopened = acme.get(f"/orders/{order['id']}").json()
    assert reopened["status"] == "partially_shipped"
    assert [line["cancelled_quantity"] for line in reopened["items"]] == cut
    assert [line["shipped_quantity"] for line in reopened["items"]] == [1, 2]
    assert stock_of(acme, sku)["allocated"] == 3
