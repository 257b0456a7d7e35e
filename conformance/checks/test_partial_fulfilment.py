"""Partial fulfilment (decision 47): per-line backordered and cancelled units, and closing an
order short with `POST /orders/{id}/cancel-remainder`.

An order for more than the warehouse holds ships what there is and owes the rest; the ERP must
see per line what is owed and be able to say "ship nothing more". Each check makes the warehouse
side happen through the driver (stock, ship, pick, hold) and reads the result back through the
ERP-facing API. Which of an order's lines of one SKU carries its backorder is the server's
choice, so the checks judge the sum over those lines.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import Stock, body_of, error_code, error_of, get_order

CUT = "cancel-remainder"


def short_order(factory: TestData, on_hand: int, quantities: tuple[int, ...]) -> dict[str, Any]:
    """A new order with one line per quantity (ids 10, 20, ...) of one fresh SKU stocked with
    `on_hand` units: demand beyond it is backordered."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: on_hand})
    items = [
        {"line_id": str(10 * (n + 1)), "sku": sku, "quantity": q} for n, q in enumerate(quantities)
    ]
    order: dict[str, Any] = factory.create_order(warehouse_id=warehouse, items=items)
    return order


def cut(api: ApiClient, order_id: str) -> ApiResponse:
    return api.request("POST", f"/orders/{order_id}/{CUT}")


def numbers(order: dict[str, Any], field: str) -> dict[Any, Any]:
    return {line.get("line_id"): line.get(field) for line in order.get("items") or []}


def total(order: dict[str, Any], field: str) -> Any:
    values = list(numbers(order, field).values())
    return sum(values) if all(isinstance(v, int) for v in values) else values


def allocated(api: ApiClient, factory: TestData, order: dict[str, Any]) -> Any:
    sku = order["items"][0]["sku"]
    return Stock(api, sku).numbers(factory.warehouse_ids[0]).get("allocated")


def assert_closed(resp: ApiResponse, status: str, cancelled: dict[Any, int]) -> dict[str, Any]:
    order = body_of(resp)
    got = (resp.status, order.get("status"), numbers(order, "cancelled_quantity"))
    assert got == (200, status, cancelled), (
        f"expected 200, status {status} and cancelled_quantity per line {cancelled}, got {got} "
        f"({resp.describe()})"
    )
    waiting = numbers(order, "backordered_quantity")
    assert set(waiting.values()) == {0}, (
        f"expected backordered_quantity 0 on every line of a closed order, got {waiting} "
        f"({resp.describe()})"
    )
    return order


@requirement("PART-001")
def test_lines_report_backordered_units(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Lines of 4 and 6 units of a SKU with 6 on hand: the lines' backordered_quantity sums to 4
    and their cancelled_quantity is 0; after stock rises to 10, every backordered_quantity is 0."""
    order = short_order(factory, 6, (4, 6))
    read, resp = get_order(api, order["id"])
    assert total(read, "backordered_quantity") == 4, (
        f"expected backordered_quantity summing to 4 over the lines (10 ordered, 6 on hand), got "
        f"{numbers(read, 'backordered_quantity')} ({resp.describe()})"
    )
    assert set(numbers(read, "cancelled_quantity").values()) == {0}, (
        f"expected cancelled_quantity 0 on every line, got {numbers(read, 'cancelled_quantity')} "
        f"({resp.describe()})"
    )
    driver.set_stock(order["items"][0]["sku"], factory.warehouse_ids[0], 10)
    read, resp = get_order(api, order["id"])
    assert set(numbers(read, "backordered_quantity").values()) == {0}, (
        f"expected backordered_quantity 0 on every line once stock covers the order, got "
        f"{numbers(read, 'backordered_quantity')} ({resp.describe()})"
    )


@requirement("PART-002")
def test_cutting_a_partially_shipped_order_closes_it_as_shipped(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Lines 10 (4 units) and 20 (6 units) with 8 on hand; 6 units ship; cancelling the remainder
    answers 200 with status shipped, each line's cancelled_quantity its unshipped units, no
    backorder, and the SKU's allocated back to 0."""
    order = short_order(factory, 8, (4, 6))
    driver.ship(order["id"], items=[{"sku": order["items"][0]["sku"], "quantity": 6}])
    before, resp = get_order(api, order["id"])
    assert before.get("status") == "partially_shipped", (
        f"expected the order partially_shipped after 6 of 10 units shipped, got "
        f"{before.get('status')!r} ({resp.describe()})"
    )
    unshipped = {
        line.get("line_id"): int(line.get("quantity") or 0) - int(line.get("shipped_quantity") or 0)
        for line in before.get("items") or []
    }
    assert_closed(cut(api, order["id"]), "shipped", unshipped)
    after = allocated(api, factory, order)
    assert after == 0, f"expected the cut units released (allocated 0), got allocated {after!r}"


@requirement("PART-003")
def test_cutting_a_backordered_order_cancels_it(api: ApiClient, factory: TestData) -> None:
    """A line of 3 units with 1 on hand (backordered, nothing shipped): cancelling the remainder
    answers 200 with status cancelled, a cancelled_at, cancelled_quantity 3, and the SKU's
    allocated back to 0."""
    order = short_order(factory, 1, (3,))
    resp = cut(api, order["id"])
    closed = assert_closed(resp, "cancelled", {"10": 3})
    assert closed.get("cancelled_at"), (
        f"expected cancelled_at on the cancelled order, got {closed.get('cancelled_at')!r} "
        f"({resp.describe()})"
    )
    after = allocated(api, factory, order)
    assert after == 0, f"expected the allocation released (allocated 0), got {after!r}"


@requirement("PART-004")
def test_cutting_again_changes_nothing(api: ApiClient, factory: TestData) -> None:
    """Cancels the remainder of a backordered order, then again: the second call answers 200 and
    the order keeps its status, version and lines."""
    order = short_order(factory, 0, (2,))
    first = cut(api, order["id"])
    assert first.status == 200, f"expected 200 for the first cut, got {first.describe()}"
    second = cut(api, order["id"])
    keys = ("status", "version", "items")
    was = {key: body_of(first).get(key) for key in keys}
    now = {key: body_of(second).get(key) for key in keys}
    assert second.status == 200 and now == was, (
        f"expected 200 and the order unchanged {was}, got {second.status} {now} "
        f"({second.describe()})"
    )


@requirement("PART-005")
def test_an_order_without_a_remainder_is_refused(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Cancelling the remainder of a received, an on_hold and a processing order: 409
    no_remainder, no_remainder and too_late_to_cancel, each with order_status, and each order
    keeps its status and version."""
    cases = (("received", None, "no_remainder"), ("on_hold", driver.hold, "no_remainder"))
    for status, step, code in (*cases, ("processing", driver.pick, "too_late_to_cancel")):
        order = short_order(factory, 5, (1,))
        if step is not None:
            step(order["id"])
        before, _ = get_order(api, order["id"])
        resp = cut(api, order["id"])
        got = (resp.status, error_code(resp), error_of(resp).get("order_status"))
        assert got == (409, code, status), (
            f"expected 409 {code} with order_status {status}, got {got} ({resp.describe()})"
        )
        after, read = get_order(api, order["id"])
        kept = {key: (before.get(key), after.get(key)) for key in ("status", "version")}
        assert all(was == now for was, now in kept.values()), (
            f"expected the {status} order unchanged, got (before, after) {kept} ({read.describe()})"
        )


@requirement("PART-006")
def test_a_void_reopens_an_order_closed_short(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Lines 10 (4 units) and 20 (6 units) with 8 on hand; two shipments of 3; the remainder
    is cancelled (shipped, 4 cut); the first shipment is voided: the order is partially_shipped
    again with 3 units shipped, and each line keeps the cancelled_quantity the cut recorded."""
    order = short_order(factory, 8, (4, 6))
    sku = order["items"][0]["sku"]
    first = driver.ship(order["id"], items=[{"sku": sku, "quantity": 3}])
    driver.ship(order["id"], items=[{"sku": sku, "quantity": 3}])
    closed = body_of(cut(api, order["id"]))
    assert closed.get("status") == "shipped", (
        f"expected the cut to close the order as shipped, got {closed.get('status')!r}"
    )
    driver.void(first["id"])
    read, resp = get_order(api, order["id"])
    got = (read.get("status"), total(read, "shipped_quantity"))
    assert got == ("partially_shipped", 3), (
        f"expected the order reopened as partially_shipped with 3 units shipped after the "
        f"void, got (status, shipped) {got} ({resp.describe()})"
    )
    kept = (numbers(closed, "cancelled_quantity"), numbers(read, "cancelled_quantity"))
    assert kept[0] == kept[1], (
        f"expected each line to keep the cancelled_quantity of the cut, got (cut, after the "
        f"void) {kept} ({resp.describe()})"
    )
