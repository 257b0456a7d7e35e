"""The order-level fulfilment policy (decision 55): `ship_available` (the default) allocates what
is on hand and backorders the rest; `ship_complete` allocates nothing until every line can be.

A short `ship_complete` order must be visibly waiting (every unit backordered), must not sit on
stock other orders could ship, and must be allocated in full the moment stock covers it. Each
check makes stock happen through the driver and reads the order and the SKUs' inventory back
through the ERP-facing API.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import REPLAY_STATUSES, Stock, body_of, error_code, get_order, new_key

COMPLETE = "ship_complete"
AVAILABLE = "ship_available"


def create(
    factory: TestData, stock: tuple[int, ...], quantities: tuple[int, ...], **extra: Any
) -> tuple[dict[str, Any], list[str]]:
    """An order with one line per quantity, each of a fresh SKU stocked with the matching
    `stock` units at the first warehouse; returns (order, its SKUs)."""
    warehouse = factory.warehouse_ids[0]
    skus = [factory.sku(stock={warehouse: on_hand}) for on_hand in stock]
    items = [{"sku": sku, "quantity": q} for sku, q in zip(skus, quantities, strict=True)]
    order: dict[str, Any] = factory.create_order(warehouse_id=warehouse, items=items, **extra)
    return order, skus


def held(api: ApiClient, factory: TestData, sku: str) -> dict[str, Any]:
    """The SKU's on_hand, allocated and available at the first warehouse."""
    return Stock(api, sku).numbers(factory.warehouse_ids[0])


def waiting(order: dict[str, Any]) -> list[Any]:
    return [line.get("backordered_quantity") for line in order.get("items") or []]


def patch(api: ApiClient, order: dict[str, Any], body: dict[str, Any]) -> ApiResponse:
    headers = {"If-Match": f'"{order.get("version")}"'}
    return api.request("PATCH", f"/orders/{order.get('id')}", json=body, headers=headers)


@requirement("POL-001")
def test_an_order_echoes_its_policy(api: ApiClient, factory: TestData) -> None:
    """Creates an order with fulfillment_policy ship_complete and one without (both in stock):
    each reads its policy (ship_available for the one without) on create and on GET."""
    for sent, expected in ((COMPLETE, COMPLETE), (None, AVAILABLE)):
        extra = {} if sent is None else {"fulfillment_policy": sent}
        order, _ = create(factory, (5,), (1,), **extra)
        read, resp = get_order(api, order["id"])
        got = (order.get("fulfillment_policy"), read.get("fulfillment_policy"))
        assert got == (expected, expected), (
            f"expected fulfillment_policy {expected!r} on create and on GET for an order sent "
            f"with {sent!r}, got {got} ({resp.describe()})"
        )


@requirement("POL-002")
def test_a_short_ship_complete_order_is_backordered_in_full(
    api: ApiClient, factory: TestData
) -> None:
    """A ship_complete order for 2 of a SKU with 5 on hand and 3 of a SKU with 1 on hand:
    status backordered and every line's backordered_quantity its whole quantity."""
    order, _ = create(factory, (5, 1), (2, 3), fulfillment_policy=COMPLETE)
    read, resp = get_order(api, order["id"])
    got = (read.get("status"), waiting(read))
    assert got == ("backordered", [2, 3]), (
        f"expected status backordered with backordered_quantity [2, 3] (nothing allocated to a "
        f"short ship_complete order), got {got} ({resp.describe()})"
    )


@requirement("POL-003")
def test_a_ship_complete_order_is_allocated_once_covered(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """A ship_complete order for 3 of a SKU with 1 on hand; stock is set to 3: the order reads
    received with no backorder, and the SKU's allocated is 3."""
    order, [sku] = create(factory, (1,), (3,), fulfillment_policy=COMPLETE)
    driver.set_stock(sku, factory.warehouse_ids[0], 3)
    read, resp = get_order(api, order["id"])
    got = (read.get("status"), waiting(read))
    assert got == ("received", [0]), (
        f"expected status received with backordered_quantity [0] once stock covers the order, "
        f"got {got} ({resp.describe()})"
    )
    allocated = held(api, factory, sku).get("allocated")
    assert allocated == 3, f"expected allocated 3 for the covered order, got {allocated!r}"


@requirement("POL-004")
def test_a_short_ship_complete_order_holds_no_stock(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """A ship_complete order for 2 of SKU A (5 on hand) and 3 of SKU B (none): A keeps
    allocated 0 and available 5. A younger ship_available order waits for 2 of B; B's stock
    rises to 2 (not enough for the first): the younger order gets them (received, B allocated
    2) and A still holds nothing."""
    first, [sku_a, sku_b] = create(factory, (5, 0), (2, 3), fulfillment_policy=COMPLETE)
    before = held(api, factory, sku_a)
    assert (before.get("allocated"), before.get("available")) == (0, 5), (
        f"expected SKU A untouched by the short ship_complete order (allocated 0, available 5), "
        f"got {before}"
    )
    warehouse = factory.warehouse_ids[0]
    younger = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku_b, "quantity": 2}])
    driver.set_stock(sku_b, warehouse, 2)
    read, resp = get_order(api, younger["id"])
    assert read.get("status") == "received", (
        f"expected the younger ship_available order allocated from the 2 units the short "
        f"ship_complete order cannot use (received), got {read.get('status')!r} "
        f"({resp.describe()})"
    )
    now = (held(api, factory, sku_b).get("allocated"), held(api, factory, sku_a).get("allocated"))
    assert now == (2, 0), (
        f"expected allocated 2 of SKU B (the younger order) and 0 of SKU A (the ship_complete "
        f"order still short), got (B, A) {now}"
    )
    still, resp = get_order(api, first["id"])
    assert still.get("status") == "backordered", (
        f"expected the ship_complete order still backordered, got {still.get('status')!r} "
        f"({resp.describe()})"
    )


@requirement("POL-005")
def test_amending_the_policy_redoes_the_allocation(api: ApiClient, factory: TestData) -> None:
    """A ship_available order for 5 of a SKU with 2 on hand (2 allocated); amended to
    ship_complete: policy echoed, backordered_quantity 5, allocated 0; amended back to
    ship_available: backordered_quantity 3, allocated 2."""
    order, [sku] = create(factory, (2,), (5,))
    steps = ((COMPLETE, "backordered", [5], 0), (AVAILABLE, "backordered", [3], 2))
    for policy, status, backorder, allocated in steps:
        resp = patch(api, order, {"fulfillment_policy": policy})
        order = body_of(resp)
        got = (resp.status, order.get("fulfillment_policy"), order.get("status"), waiting(order))
        assert got == (200, policy, status, backorder), (
            f"expected 200 with fulfillment_policy {policy}, status {status} and "
            f"backordered_quantity {backorder} after amending the policy, got {got} "
            f"({resp.describe()})"
        )
        now = held(api, factory, sku).get("allocated")
        assert now == allocated, (
            f"expected allocated {allocated} after amending to {policy}, got {now!r}"
        )


@requirement("POL-006")
def test_the_default_policy_written_out_is_the_same_body(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order without a policy, retries under the same key with
    fulfillment_policy ship_available (a replay, same id), then with ship_complete (422
    idempotency_key_reused)."""
    body = factory.order_body()
    key = new_key(run_id)
    headers = {"Idempotency-Key": key}
    first = api.request("POST", "/orders", json=body, headers=headers)
    assert first.status == 201, f"expected 201 for a new create, got {first.describe()}"
    spelled = {**body, "fulfillment_policy": AVAILABLE}
    retry = api.request("POST", "/orders", json=spelled, headers=headers)
    got = (retry.status, body_of(retry).get("id"))
    assert retry.status in REPLAY_STATUSES and got[1] == body_of(first).get("id"), (
        f"expected a replay of order {body_of(first).get('id')} for the retry that writes out "
        f"the default policy, got (status, id) {got} ({retry.describe()})"
    )
    other = api.request(
        "POST", "/orders", json={**body, "fulfillment_policy": COMPLETE}, headers=headers
    )
    assert (other.status, error_code(other)) == (422, "idempotency_key_reused"), (
        f"expected 422 idempotency_key_reused for a retry asking ship_complete, got "
        f"{other.describe()}"
    )
