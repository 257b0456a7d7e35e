"""Cancelling an order (guide §1 Orders, POST /orders/{id}/cancel; decisions 13 and 14).

A cancel caught in time answers 200 with status cancelled, and again on a repeat; once picking
has started it is a 409 the ERP can act on (too_late_to_cancel, or already_shipped after a
shipment), carrying order_status and leaving the order as it was. A cancel gives the order's
stock back. The warehouse side (pick, hold, ship) is driven through the kit's driver.
"""

from __future__ import annotations

import time
from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import (
    assert_unchanged,
    create_id,
    error_code,
    get_order,
    in_stock_body,
    new_order,
    parse_time,
)

# Inventory may be updated a moment after the cancel on a real warehouse system: poll this long
# before deciding the allocation was not released.
RELEASE_WAIT_SECONDS = 5.0


def cancel(api: ApiClient, order_id: str) -> ApiResponse:
    return api.request("POST", f"/orders/{order_id}/cancel")


def assert_cancelled(api: ApiClient, order_id: str, what: str) -> None:
    """POSTs the cancel: expects 200 with status cancelled, and reads back status cancelled."""
    resp = cancel(api, order_id)
    assert resp.status == 200, f"expected 200 for {what}, got {resp.status} ({resp.describe()})"
    status = (resp.json or {}).get("status")
    assert status == "cancelled", (
        f"expected status cancelled in the answer to {what}, got {status!r} ({resp.describe()})"
    )
    now, read = get_order(api, order_id)
    assert now.get("status") == "cancelled", (
        f"expected the order to read back cancelled after {what}, got {now.get('status')!r} "
        f"({read.describe()})"
    )


def assert_refused(api: ApiClient, order: dict[str, Any], code: str, after_what: str) -> None:
    """POSTs the cancel: expects 409 `code` with order_status, and the order unchanged."""
    resp = cancel(api, order["id"])
    assert resp.status == 409, (
        f"expected 409 for a cancel {after_what}, got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == code, (
        f"expected error code {code}, got {error_code(resp)!r} ({resp.describe()})"
    )
    order_status = ((resp.json or {}).get("error") or {}).get("order_status")
    assert order_status == order.get("status"), (
        f"expected order_status {order.get('status')!r} in the error, got {order_status!r} "
        f"({resp.describe()})"
    )
    assert_unchanged(api, order["id"], order, f"a refused cancel {after_what}")


def stock_of(api: ApiClient, sku: str, warehouse: str) -> dict[str, Any] | None:
    """The WarehouseStock of `sku` at `warehouse` from GET /inventory?sku=..., or None."""
    resp = api.request("GET", "/inventory", params={"sku": sku})
    assert resp.status == 200, f"expected 200 from GET /inventory, got {resp.status}"
    for item in (resp.json or {}).get("data") or []:
        if not isinstance(item, dict) or item.get("sku") != sku:
            continue
        for stock in item.get("warehouses") or []:
            if isinstance(stock, dict) and stock.get("warehouse_id") == warehouse:
                return stock
    return None


def is_utc(value: str) -> bool:
    try:
        offset = parse_time(value).utcoffset()
    except ValueError:
        return False
    return offset is not None and offset.total_seconds() == 0


def available(api: ApiClient, sku: str, warehouse: str) -> tuple[Any, Any]:
    """(available, allocated) of `sku` at `warehouse`; allocated is optional in the spec."""
    stock = stock_of(api, sku, warehouse) or {}
    return stock.get("available"), stock.get("allocated")


@requirement("CAN-001")
def test_cancel_of_a_received_order_answers_200_cancelled(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Cancels a new (received) order: expects 200 with status cancelled, read back cancelled."""
    order = new_order(api, factory, run_id)
    assert_cancelled(api, order["id"], "a cancel of a received order")


@requirement("CAN-002")
def test_cancel_of_a_cancelled_order_answers_200_again(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Cancels an order twice: the second cancel also answers 200 with status cancelled, and
    the order's version and cancelled_at read back as the first cancel left them."""
    order = new_order(api, factory, run_id)
    first = cancel(api, order["id"])
    assert first.status == 200, f"expected 200 for the first cancel, got {first.status}"
    after_first, _ = get_order(api, order["id"])
    assert_cancelled(api, order["id"], "a repeated cancel")
    now, read = get_order(api, order["id"])
    moved = {
        name: (after_first.get(name), now.get(name))
        for name in ("version", "cancelled_at", "status")
        if after_first.get(name) != now.get(name)
    }
    assert not moved, (
        f"expected a repeated cancel to change nothing, got changes (before, after): {moved} "
        f"({read.describe()})"
    )


@requirement("CAN-003")
def test_cancel_of_an_on_hold_order_answers_200_cancelled(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Puts an order on hold (driver.hold) and cancels it: expects 200 with status cancelled."""
    order = new_order(api, factory, run_id)
    driver.hold(order["id"])
    held, read = get_order(api, order["id"])
    assert held.get("status") == "on_hold", (
        f"expected the held order to read back on_hold, got {held.get('status')!r} "
        f"({read.describe()})"
    )
    assert_cancelled(api, order["id"], "a cancel of an on_hold order")


@requirement("CAN-004")
def test_cancel_of_a_backordered_order_answers_200_cancelled(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Orders a SKU with no stock (backordered) and cancels it: expects 200 status cancelled."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 0})
    body = factory.order_body(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 2}])
    order, read = get_order(api, create_id(api, body, run_id))
    assert order.get("status") == "backordered", (
        f"expected an order for a SKU without stock to be backordered, got "
        f"{order.get('status')!r} ({read.describe()})"
    )
    assert_cancelled(api, order["id"], "a cancel of a backordered order")


@requirement("CAN-005")
def test_cancel_after_picking_started_is_refused_with_409_too_late_to_cancel(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Starts picking an order (driver.pick) and cancels it: expects 409 too_late_to_cancel
    with order_status processing, and the order still processing (read back)."""
    order = new_order(api, factory, run_id)
    driver.pick(order["id"])
    picked, read = get_order(api, order["id"])
    assert picked.get("status") == "processing", (
        f"expected the picked order to read back processing, got {picked.get('status')!r} "
        f"({read.describe()})"
    )
    assert_refused(api, picked, "too_late_to_cancel", "after picking started")


@requirement("CAN-006")
def test_cancel_of_a_shipped_order_is_refused_with_409_already_shipped(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Ships a whole order (driver.ship) and cancels it: expects 409 already_shipped with
    order_status shipped, and the order unchanged (read back)."""
    order = new_order(api, factory, run_id)
    driver.ship(order["id"])
    shipped, read = get_order(api, order["id"])
    assert shipped.get("status") == "shipped", (
        f"expected shipped after shipping every line, got {shipped.get('status')!r} "
        f"({read.describe()})"
    )
    assert_refused(api, shipped, "already_shipped", "after the order shipped")


@requirement("CAN-008")
def test_cancel_of_a_partially_shipped_order_is_refused_with_409_already_shipped(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Ships one of two lines (partially_shipped) and cancels: expects 409 already_shipped with
    order_status partially_shipped, and the order unchanged (read back)."""
    warehouse = factory.warehouse_ids[0]
    first, second = (factory.sku(stock={warehouse: 10}) for _ in range(2))
    order = new_order(
        api,
        factory,
        run_id,
        warehouse_id=warehouse,
        items=[{"sku": first, "quantity": 1}, {"sku": second, "quantity": 1}],
    )
    driver.ship(order["id"], items=[{"sku": first, "quantity": 1}])
    partial, read = get_order(api, order["id"])
    assert partial.get("status") == "partially_shipped", (
        f"expected partially_shipped after shipping one line, got {partial.get('status')!r} "
        f"({read.describe()})"
    )
    assert_refused(api, partial, "already_shipped", "after a partial shipment")


@requirement("CAN-007")
def test_cancel_releases_the_allocated_stock(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Sets stock for a new SKU, orders 3 of it and cancels: `available` and `allocated` (when
    sent) at the warehouse (GET /inventory?sku=) return to their values before the order."""
    warehouse = factory.warehouse_ids[0]
    body = in_stock_body(factory, quantity=3, warehouse_id=warehouse)
    sku = body["items"][0]["sku"]
    before = available(api, sku, warehouse)
    assert before[0] is not None, f"expected SKU {sku} listed at {warehouse} in GET /inventory"
    resp = cancel(api, create_id(api, body, run_id))
    assert resp.status == 200, f"expected 200 for the cancel, got {resp.status} ({resp.describe()})"
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    after = available(api, sku, warehouse)
    while after != before and time.monotonic() < deadline:
        time.sleep(0.25)
        after = available(api, sku, warehouse)
    assert after == before, (
        f"expected (available, allocated) {before} for {sku} at {warehouse} after the cancel "
        f"(as before the order), got {after}"
    )


@requirement("CAN-009")
def test_a_cancelled_order_carries_cancelled_at(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Reads a new order (cancelled_at null), cancels it and reads it again: cancelled_at is a
    UTC date-time and updated_at is at or after it."""
    order = new_order(api, factory, run_id)
    assert order.get("cancelled_at") is None, (
        f"expected cancelled_at null on an order never cancelled, got {order.get('cancelled_at')!r}"
    )
    resp = cancel(api, order["id"])
    assert resp.status == 200, f"expected 200 for the cancel, got {resp.status} ({resp.describe()})"
    now, read = get_order(api, order["id"])
    cancelled_at, updated_at = now.get("cancelled_at"), now.get("updated_at")
    assert isinstance(cancelled_at, str) and is_utc(cancelled_at), (
        f"expected cancelled_at as a UTC date-time, got {cancelled_at!r} ({read.describe()})"
    )
    assert parse_time(updated_at) >= parse_time(cancelled_at), (
        f"expected updated_at at or after cancelled_at {cancelled_at}, got {updated_at!r} "
        f"({read.describe()})"
    )


@requirement("CAN-010")
def test_a_body_sent_with_cancel_is_ignored(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Cancels one order with `{}` (what a generic client sends on every POST) and another with
    a `reason`: cancel declares no body, so each is answered 200 cancelled as without one."""
    for body in ({}, {"reason": "customer changed their mind"}):
        order = new_order(api, factory, run_id)
        resp = api.request("POST", f"/orders/{order['id']}/cancel", json=body)
        status = (resp.json or {}).get("status") if isinstance(resp.json, dict) else None
        assert resp.status == 200 and status == "cancelled", (
            f"expected 200 cancelled for a cancel sent with the body {body} (ignored), got "
            f"{resp.status} {error_code(resp)!r} ({resp.describe()})"
        )
