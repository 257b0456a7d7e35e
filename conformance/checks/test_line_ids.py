"""Order line ids (decision 46): the ERP's own id per line, or one the server assigns.

ERP invoicing, returns and EDI line numbers work by line, not by SKU: two lines of one SKU at
two prices are legal, so a shipment must say which line it fulfils. Each check reads the order
back through the ERP-facing API and makes the warehouse side happen through the driver, which
ships by SKU only (a vendor's driver need not know line ids).
"""

from __future__ import annotations

import re
from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import (
    body_of,
    create_id,
    error_code,
    error_field,
    error_of,
    get_order,
    orders_with_reference,
    poll,
)

FAR_PAST = "2000-01-01T00:00:00Z"


def line_ids_of(order: dict[str, Any]) -> list[Any]:
    return [line.get("line_id") for line in order.get("items") or [] if isinstance(line, dict)]


def keyed_lines(order: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    """(line_id, sku, quantity) per line, sorted: line order is not part of the contract."""
    found = [
        (line.get("line_id"), line.get("sku"), line.get("quantity"))
        for line in order.get("items") or []
        if isinstance(line, dict)
    ]
    return sorted(found, key=repr)


def two_price_lines(factory: TestData, first: str | None, second: str | None) -> dict[str, Any]:
    """An order body with two lines of one fresh SKU at two prices (legal, and the case that
    needs line ids), plus a line of another SKU; `first`/`second` are the line ids to send."""
    warehouse = factory.warehouse_ids[0]
    shared, other = factory.sku(stock={warehouse: 20}), factory.sku(stock={warehouse: 20})
    items: list[dict[str, Any]] = [
        {"sku": shared, "quantity": 2, "unit_price": "5.00", "currency": "AUD"},
        {"sku": shared, "quantity": 3, "unit_price": "4.50", "currency": "AUD"},
        {"sku": other, "quantity": 1},
    ]
    for line, line_id in zip(items, (first, second, None), strict=True):
        if line_id is not None:
            line["line_id"] = line_id
    if first is not None and second is not None:
        items[2]["line_id"] = "30"
    body: dict[str, Any] = factory.order_body(warehouse_id=warehouse, items=items)
    return body


def post_order(api: ApiClient, factory: TestData, body: dict[str, Any]) -> ApiResponse:
    headers = {"Idempotency-Key": factory.idempotency_key()}
    return api.request("POST", "/orders", json=body, headers=headers)


def patch(api: ApiClient, order: dict[str, Any], body: dict[str, Any]) -> ApiResponse:
    headers = {"If-Match": f'"{order.get("version")}"'}
    return api.request("PATCH", f"/orders/{order.get('id')}", json=body, headers=headers)


def shipments_of(api: ApiClient, order_id: str) -> list[dict[str, Any]]:
    return poll(api, "/shipments", {"order_id": order_id, "updated_since": FAR_PAST})


def assert_refused(resp: ApiResponse, code: str, field: str) -> None:
    assert (resp.status, error_code(resp), error_field(resp)) == (422, code, field), (
        f"expected 422 {code} naming {field}, got {resp.status} {error_code(resp)!r} "
        f"{error_field(resp)!r} ({resp.describe()})"
    )


# ---------------------------------------------------------------------------------------- checks
@requirement("LIN-001")
def test_line_ids_sent_are_echoed(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Creates an order whose lines carry the ids 10, 20 and 30 (two lines of one SKU at two
    prices): the create response and GET show each id on its line, with its sku and quantity."""
    body = two_price_lines(factory, "10", "20")
    want = keyed_lines(body)
    resp = post_order(api, factory, body)
    assert resp.status == 201, f"expected 201 for the order, got {resp.status} ({resp.describe()})"
    assert keyed_lines(body_of(resp)) == want, (
        f"expected lines (line_id, sku, quantity) {want}, got {keyed_lines(body_of(resp))} "
        f"({resp.describe()})"
    )
    read, got = get_order(api, str(body_of(resp).get("id")))
    assert keyed_lines(read) == want, (
        f"expected lines (line_id, sku, quantity) {want}, got {keyed_lines(read)} "
        f"({got.describe()})"
    )


@requirement("LIN-002")
def test_lines_without_ids_get_unique_stable_ones(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, spec: dict[str, Any], run_id: str
) -> None:
    """Creates an order whose three lines carry no line_id: each line comes back with a
    non-empty line_id of the request field's form, no two alike, and the same ids (per sku and
    quantity) on a second read and after a shipment."""
    pattern = spec["components"]["schemas"]["OrderLineInput"]["properties"]["line_id"]["pattern"]
    body = two_price_lines(factory, None, None)
    order_id = create_id(api, body, run_id)
    first, resp = get_order(api, order_id)
    ids = line_ids_of(first)
    bad = [i for i in ids if not (isinstance(i, str) and i and re.search(pattern, i))]
    assert len(ids) == 3 and not bad, (
        f"expected a line_id matching {pattern} on each of the 3 lines, got {ids} "
        f"({resp.describe()})"
    )
    assert len(set(ids)) == len(ids), (
        f"expected distinct line ids within the order, got {ids} ({resp.describe()})"
    )
    driver.ship(order_id, items=[{"sku": body["items"][0]["sku"], "quantity": 1}])
    for when in ("a second read", "a shipment"):
        again, resp = get_order(api, order_id)
        assert keyed_lines(again) == keyed_lines(first), (
            f"expected the line ids to stay {keyed_lines(first)} after {when}, got "
            f"{keyed_lines(again)} ({resp.describe()})"
        )


@requirement("LIN-003")
def test_a_repeated_line_id_is_refused_on_create(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order whose first two lines both carry line_id 10: 422 duplicate_line_id with
    field items[1].line_id, and no order with that reference afterwards."""
    body = two_price_lines(factory, "10", "10")
    resp = post_order(api, factory, body)
    assert_refused(resp, "duplicate_line_id", "items[1].line_id")
    made = [row.get("id") for row in orders_with_reference(api, body["reference"])]
    assert not made, f"expected no order with reference {body['reference']}, got {made}"


@requirement("LIN-003")
def test_a_repeated_line_id_is_refused_on_amend(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Amends an order's items to two lines both carrying line_id 20: 422 duplicate_line_id
    naming items[1].line_id, and the order's lines as they were."""
    body = two_price_lines(factory, "10", "20")
    order, _ = get_order(api, create_id(api, body, run_id))
    items = [{**line, "line_id": "20"} for line in body["items"][:2]]
    resp = patch(api, order, {"items": items})
    assert_refused(resp, "duplicate_line_id", "items[1].line_id")
    now, read = get_order(api, order["id"])
    assert keyed_lines(now) == keyed_lines(order), (
        f"expected the lines unchanged {keyed_lines(order)}, got {keyed_lines(now)} "
        f"({read.describe()})"
    )


def judge_credits(api: ApiClient, order_id: str, after: str) -> None:
    """Every shipment item names a line of the order with its sku, and each line's
    shipped_quantity is the sum of the non-voided items naming it."""
    order, resp = get_order(api, order_id)
    sku_of = {line.get("line_id"): line.get("sku") for line in order.get("items") or []}
    credited: dict[Any, int] = {}
    for shipment in shipments_of(api, order_id):
        for item in shipment.get("items") or []:
            line_id = item.get("line_id")
            assert line_id in sku_of and sku_of[line_id] == item.get("sku"), (
                f"expected shipment {shipment.get('id')}'s item {item} to name a line of order "
                f"{order_id} with its sku (lines {sku_of}), after {after}"
            )
            if not shipment.get("voided"):
                credited[line_id] = credited.get(line_id, 0) + int(item.get("quantity") or 0)
    got = {line.get("line_id"): line.get("shipped_quantity") for line in order.get("items") or []}
    want = {line_id: credited.get(line_id, 0) for line_id in sku_of}
    assert got == want, (
        f"expected shipped_quantity per line {want} (the non-voided shipment items naming each "
        f"line), got {got}, after {after} ({resp.describe()})"
    )


@requirement("LIN-004")
def test_shipment_items_credit_one_line_each(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, run_id: str
) -> None:
    """Two lines of one SKU (2 and 3 units) and a third line: ships 3 units of the shared SKU,
    then the rest, then voids the first shipment. After each step every shipment item names a
    line of the order with its sku, and each line's shipped_quantity is the sum of the
    non-voided items naming it."""
    body = two_price_lines(factory, "10", "20")
    order_id = create_id(api, body, run_id)
    first = driver.ship(order_id, items=[{"sku": body["items"][0]["sku"], "quantity": 3}])
    judge_credits(api, order_id, "shipping 3 units of the shared SKU")
    driver.ship(order_id)
    judge_credits(api, order_id, "shipping the rest")
    driver.void(str(first.get("id")))
    judge_credits(api, order_id, "voiding the first shipment")


@requirement("LIN-005")
def test_an_amend_keeps_the_line_ids_sent(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Creates lines 10, 20 and 30, then amends items to line 20 with 4 units and a new line 40:
    the amend response and GET show exactly lines 20 and 40 with their skus and quantities."""
    body = two_price_lines(factory, "10", "20")
    order, _ = get_order(api, create_id(api, body, run_id))
    shared = body["items"][1]
    items = [
        {**shared, "quantity": 4},
        {"line_id": "40", "sku": body["items"][2]["sku"], "quantity": 2},
    ]
    want = keyed_lines({"items": items})
    resp = patch(api, order, {"items": items})
    assert resp.status == 200, f"expected 200 for the amend, got {resp.status} ({resp.describe()})"
    assert keyed_lines(body_of(resp)) == want, (
        f"expected the amended lines {want}, got {keyed_lines(body_of(resp))} ({resp.describe()})"
    )
    now, read = get_order(api, order["id"])
    assert keyed_lines(now) == want, (
        f"expected the amended lines {want}, got {keyed_lines(now)} ({read.describe()})"
    )


@requirement("LIN-006")
def test_an_error_about_one_line_names_its_line_id(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """A repeated line id (10 twice) and an unknown SKU on line X9: each 422 carries the line's
    id as error.line_id."""
    repeated = post_order(api, factory, two_price_lines(factory, "10", "10"))
    unknown_body = two_price_lines(factory, "10", "20")
    unknown_body["items"].append(
        {"line_id": "X9", "sku": factory.unique("CK-UNKNOWN"), "quantity": 1}
    )
    unknown = post_order(api, factory, unknown_body)
    for resp, line_id in ((repeated, "10"), (unknown, "X9")):
        assert resp.status == 422, f"expected 422, got {resp.status} ({resp.describe()})"
        assert error_of(resp).get("line_id") == line_id, (
            f"expected error.line_id {line_id!r} for a {error_code(resp)} about that line, got "
            f"{error_of(resp).get('line_id', '<absent>')!r} ({resp.describe()})"
        )


@requirement("LIN-007")
def test_return_lines_keep_the_order_line_id(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, run_id: str
) -> None:
    """Ships an order with lines 10 and 20 of one SKU, announces a return of line 20 (201, the
    return line carries line_id 20) and one of a line Z9 the order has not (422 unknown_line_id
    naming items[0].line_id, and no second return listed)."""
    body = two_price_lines(factory, "10", "20")
    order_id = create_id(api, body, run_id)
    driver.ship(order_id)
    sku = body["items"][0]["sku"]

    def announce(line_id: str) -> ApiResponse:
        rma = {
            "order_id": order_id,
            "rma": factory.unique("RMA"),
            "items": [{"line_id": line_id, "sku": sku, "quantity": 1}],
        }
        headers = {"Idempotency-Key": factory.idempotency_key()}
        return api.request("POST", "/returns", json=rma, headers=headers)

    named = announce("20")
    got = [line.get("line_id") for line in body_of(named).get("items") or []]
    assert named.status == 201 and got == ["20"], (
        f"expected 201 with the return line's line_id '20', got {named.status} {got} "
        f"({named.describe()})"
    )
    unknown = announce("Z9")
    assert_refused(unknown, "unknown_line_id", "items[0].line_id")
    listed = poll(api, "/returns", {"order_id": order_id, "updated_since": FAR_PAST})
    assert len(listed) == 1, (
        f"expected only the one accepted return for order {order_id}, got "
        f"{[row.get('id') for row in listed]}"
    )
