"""Reasons on orders (decisions 52 and 53): why and by whom an order was cancelled, and why the
warehouse holds one.

An ERP that sees an order cancelled must know whether it did so itself and why (refund, reorder,
re-route), and one that sees an order on hold must know whether an address needs fixing or stock
is awaited. Each check makes the step happen (the ERP's cancel, or the warehouse's cancel and
hold through the driver) and reads the order back through the ERP-facing API.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import Stock, body_of, get_order, new_order

NO_REASON = {"reason_code": None, "cancelled_by": "erp", "message": None}


def cancel(api: ApiClient, order_id: str, body: dict[str, Any] | None = None) -> ApiResponse:
    return api.request("POST", f"/orders/{order_id}/cancel", json=body)


def defined_members(value: Any, expected: Any) -> Any:
    """`value` cut down to the members `expected` names, when both are objects: a legal server
    may add members the contract does not define (API-009), and those are not compared."""
    if isinstance(value, dict) and isinstance(expected, dict):
        return {key: value.get(key, "<absent>") for key in expected}
    return value


def assert_member(
    order: dict[str, Any], name: str, expected: Any, where: str, resp: ApiResponse
) -> None:
    got = defined_members(order.get(name, "<absent>"), expected)
    assert got == expected, f"expected {name} {expected!r} {where}, got {got!r} ({resp.describe()})"


def assert_cancelled(resp: ApiResponse, expected: dict[str, Any], where: str) -> dict[str, Any]:
    order = body_of(resp)
    assert resp.status == 200 and order.get("status") == "cancelled", (
        f"expected 200 cancelled {where}, got {resp.status} {order.get('status')!r} "
        f"({resp.describe()})"
    )
    assert_member(order, "cancellation", expected, where, resp)
    return order


@requirement("RSN-001")
def test_a_cancel_records_the_erp_and_its_reason(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """A new order reads `cancellation: null`; cancelled with a reason code and message, it
    answers and reads back `cancellation` with them and `cancelled_by: erp`; another cancelled
    with no body reads `reason_code` and `message` null."""
    order = new_order(api, factory, run_id)
    _, read = get_order(api, order["id"])
    assert_member(order, "cancellation", None, "on an order that is not cancelled", read)
    reason = {"reason_code": "customer_request", "message": "Customer called to cancel."}
    expected = {**reason, "cancelled_by": "erp"}
    assert_cancelled(cancel(api, order["id"], reason), expected, f"for a cancel with {reason}")
    after, read = get_order(api, order["id"])
    assert_member(after, "cancellation", expected, "when the cancelled order is read back", read)
    bare = new_order(api, factory, run_id)
    assert_cancelled(cancel(api, bare["id"]), NO_REASON, "for a cancel with no body")


@requirement("RSN-002")
def test_a_repeated_cancel_keeps_the_first_reason(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Cancels an order for `customer_request`, then again for `fraud_suspected`: the second
    answer still carries the first cancellation."""
    order = new_order(api, factory, run_id)
    first = {"reason_code": "customer_request", "message": "First."}
    cancel(api, order["id"], first)
    again = cancel(api, order["id"], {"reason_code": "fraud_suspected", "message": "Second."})
    assert_cancelled(again, {**first, "cancelled_by": "erp"}, "for a repeated cancel")


@requirement("RSN-003")
def test_a_warehouse_cancel_records_the_warehouse(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """The warehouse cancels an in-stock order for `out_of_stock`: it reads back cancelled with a
    cancelled_at, `cancellation` naming the warehouse and the reason, and the SKU's allocation
    released."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 5})
    order = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 2}])
    message = "Last units found damaged at pick."
    driver.cancel(order["id"], "out_of_stock", message)
    after, read = get_order(api, order["id"])
    assert after.get("status") == "cancelled" and after.get("cancelled_at"), (
        f"expected the order cancelled with a cancelled_at after the warehouse cancelled it, got "
        f"{after.get('status')!r} {after.get('cancelled_at')!r} ({read.describe()})"
    )
    expected = {"reason_code": "out_of_stock", "cancelled_by": "warehouse", "message": message}
    assert_member(after, "cancellation", expected, "after a warehouse cancel", read)
    allocated = Stock(api, sku).numbers(warehouse).get("allocated")
    assert allocated == 0, f"expected the allocation released (allocated 0), got {allocated!r}"


@requirement("RSN-004")
def test_a_remainder_cancel_is_the_erps(api: ApiClient, factory: TestData) -> None:
    """A backordered order (2 units, none on hand) whose remainder is cancelled carries
    `cancellation` with `cancelled_by: erp` and no reason."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 0})
    order = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 2}])
    resp = api.request("POST", f"/orders/{order['id']}/cancel-remainder")
    assert_cancelled(resp, NO_REASON, "for a remainder cancel of a backordered order")


@requirement("RSN-005")
def test_a_hold_says_why_until_it_ends(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, run_id: str
) -> None:
    """A new order reads `hold: null`; held for `address_problem` it reads `hold` with that code
    and message; once picked, `hold: null` again."""
    order = new_order(api, factory, run_id)
    _, read = get_order(api, order["id"])
    assert_member(order, "hold", None, "on an order never held", read)
    message = "Street number missing; awaiting the customer."
    driver.hold_with_reason(order["id"], "address_problem", message)
    held, read = get_order(api, order["id"])
    expected = {"reason_code": "address_problem", "message": message}
    assert_member(held, "hold", expected, "on the held order", read)
    driver.pick(order["id"])
    picked, read = get_order(api, order["id"])
    assert_member(picked, "hold", None, "once the held order is picked", read)
