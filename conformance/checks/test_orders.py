"""Creating, reading and listing orders (guide §1 Orders; decisions 19 and 23).

The ERP stores the id the create returns "forever", reads the order back by it, and searches by
its own order_number and reference. Invalid creates must be refused with a 422 that names the
offending field and must leave no order behind.
"""

from __future__ import annotations

import json
from typing import Any

from conformance import refs
from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import read_rows
from conformance.scenarios import (
    colliding,
    create_id,
    error_code,
    error_fields,
    get_order,
    in_stock_body,
    lines,
    new_key,
    orders_with_reference,
    probes,
)

MAX_PAGES = 5


def post_order(api: ApiClient, body: dict[str, Any], run_id: str) -> ApiResponse:
    return api.request("POST", "/orders", json=body, headers={"Idempotency-Key": new_key(run_id)})


def list_orders(api: ApiClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of GET /orders with these filters, following next_cursor (bounded)."""
    return read_rows(api, "/orders", params, max_pages=MAX_PAGES)


@requirement("ORD-001")
def test_create_returns_201_with_id_status_received_and_version(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an in-stock order: expects 201 with a non-empty string id, status received, a
    string version, created_at and updated_at, and the order_number and reference sent."""
    body = in_stock_body(factory)
    resp = post_order(api, body, run_id)
    assert resp.status == 201, (
        f"expected 201 for a new order, got {resp.status} ({resp.describe()})"
    )
    order = resp.json if isinstance(resp.json, dict) else {}
    assert isinstance(order.get("id"), str) and order["id"], (
        f"expected a non-empty string id, got {order.get('id')!r} ({resp.describe()})"
    )
    assert order.get("status") == "received", (
        f"expected status received, got {order.get('status')!r} ({resp.describe()})"
    )
    assert isinstance(order.get("version"), str) and order["version"], (
        f"expected version as a non-empty string, got {order.get('version')!r} ({resp.describe()})"
    )
    for stamp in ("created_at", "updated_at"):
        assert isinstance(order.get(stamp), str) and order[stamp], (
            f"expected {stamp} in the created order, got {order.get(stamp)!r} ({resp.describe()})"
        )
    for field in ("order_number", "reference", "warehouse_id"):
        assert order.get(field) == body[field], (
            f"expected {field} {body[field]!r}, got {order.get(field)!r} ({resp.describe()})"
        )
    assert order.get("shipments") == [], (
        f"expected shipments [] on a new order, got {order.get('shipments')!r} ({resp.describe()})"
    )


@requirement("ORD-002")
def test_get_order_returns_the_created_order(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order and reads it back by id: expects 200 with the same id, order_number,
    reference, warehouse_id, lines and ship_to as sent."""
    body = in_stock_body(factory)
    created = post_order(api, body, run_id)
    assert created.status == 201, f"expected 201, got {created.status} ({created.describe()})"
    order_id = created.json["id"]
    resp = api.request("GET", f"/orders/{order_id}")
    assert resp.status == 200, f"expected 200, got {resp.status} ({resp.describe()})"
    order = resp.json if isinstance(resp.json, dict) else {}
    assert order.get("id") == order_id, (
        f"expected id {order_id}, got {order.get('id')!r} ({resp.describe()})"
    )
    for field in ("order_number", "reference", "warehouse_id"):
        assert order.get(field) == body[field], (
            f"expected {field} {body[field]!r}, got {order.get(field)!r} ({resp.describe()})"
        )
    assert lines(order) == lines(body), (
        f"expected lines {lines(body)}, got {lines(order)} ({resp.describe()})"
    )
    ship_to = order.get("ship_to") or {}
    for key, value in body["ship_to"].items():
        assert ship_to.get(key) == value, (
            f"expected ship_to.{key} {value!r}, got {ship_to.get(key)!r} ({resp.describe()})"
        )


@requirement("ORD-003")
def test_list_filters_by_order_number(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Creates two orders sharing an order_number N and one with each value a loose filter
    confuses with N (N-2, xN, N in the other case): GET /orders?order_number=N returns both and
    only rows with exactly N; a prefix or a suffix of N finds none of them."""
    number = f"SO-{new_key(run_id)[:24]}"
    ours = {create_id(api, factory.order_body(order_number=number), run_id) for _ in range(2)}
    others = {
        create_id(api, factory.order_body(order_number=value), run_id): value
        for value in colliding(number)
    }
    rows = list_orders(api, {"order_number": number})
    wrong = [row.get("order_number") for row in rows if row.get("order_number") != number]
    assert not wrong, f"expected only order_number {number!r} (exact match), got rows with {wrong}"
    got = {row.get("id") for row in rows}
    assert ours <= got, (
        f"expected orders {sorted(ours)} in the filtered list, got {sorted(map(str, got))}"
    )
    for probe in probes(number):
        found = [r.get("order_number") for r in list_orders(api, {"order_number": probe})]
        loose = [value for value in found if value != probe]
        assert not loose, (
            f"expected order_number={probe!r} (a prefix or suffix of {number!r}) to find only "
            f"exact matches, got {loose}"
        )
    assert not set(others) & got, f"expected no order with {sorted(others.values())} listed"


@requirement("ORD-004")
def test_list_filters_by_reference(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Creates an order with reference R and one with each value a loose filter confuses with R
    (R-2, xR, R in the other case): GET /orders?reference=R returns exactly the first order, and
    a prefix or a suffix of R finds none of them (the filter is byte for byte)."""
    first = factory.order_body()
    reference = first["reference"]
    first_id = create_id(api, first, run_id)
    for value in colliding(reference):
        create_id(api, factory.order_body(reference=value), run_id)
    rows = list_orders(api, {"reference": reference})
    got = [f"{row.get('id')} ({row.get('reference')})" for row in rows]
    assert [row.get("id") for row in rows] == [first_id], (
        f"expected exactly order {first_id} for reference {reference!r}, got {got}"
    )
    for probe in probes(reference):
        found = [r.get("reference") for r in list_orders(api, {"reference": probe})]
        assert not found, (
            f"expected no order for reference={probe!r} (a prefix or suffix of {reference!r}), "
            f"got references {found}"
        )


@requirement("ORD-005")
def test_list_filters_by_status(api: ApiClient, factory: TestData, run_id: str) -> None:
    """Creates two orders with one order_number and cancels one: status=cancelled lists only the
    cancelled one, status=received only the other, every row carrying the status asked for; an
    unknown status value gets 400."""
    number = f"SO-{new_key(run_id)[:24]}"
    kept = create_id(api, in_stock_body(factory, order_number=number), run_id)
    gone = create_id(api, in_stock_body(factory, order_number=number), run_id)
    cancel = api.request("POST", f"/orders/{gone}/cancel")
    assert cancel.status == 200, f"expected 200 for the cancel, got {cancel.status}"
    for status, expected in (("cancelled", gone), ("received", kept)):
        rows = list_orders(api, {"order_number": number, "status": status})
        wrong = [row.get("status") for row in rows if row.get("status") != status]
        assert not wrong, f"expected only status {status} with status={status}, got {wrong}"
        got = [row.get("id") for row in rows]
        assert got == [expected], (
            f"expected exactly order {expected} for status={status}&order_number={number}, "
            f"got {got}"
        )
    bogus = api.request("GET", "/orders", params={"status": "teleported"})
    assert bogus.status == 400, (
        f"expected 400 for an unknown status value, got {bogus.status} ({bogus.describe()})"
    )


@requirement("ORD-006")
def test_unknown_order_id_is_404_with_the_error_envelope(api: ApiClient, run_id: str) -> None:
    """Reads, amends and cancels an order id that was never issued: each gets 404 not_found,
    the PATCH also with a stale If-Match (existence comes before the precondition: never 428,
    412 or 409 for an id that does not exist)."""
    path = f"/orders/ord_unknown_{new_key(run_id)}"
    for method, suffix, body, headers in (
        ("GET", "", None, {}),
        ("PATCH", "", {"packing_note": "x"}, {}),
        ("PATCH", "", {"packing_note": "x"}, {"If-Match": '"1"'}),
        ("POST", "/cancel", None, {}),
    ):
        resp = api.request(method, path + suffix, json=body, headers=headers)
        assert resp.status == 404, (
            f"expected 404 for an unknown order id, got {resp.status} ({resp.describe()})"
        )
        assert error_code(resp) == "not_found", (
            f"expected error code not_found, got {error_code(resp)!r} ({resp.describe()})"
        )


def assert_refused_with_field(
    api: ApiClient, body: dict[str, Any], run_id: str, code: str, *fields: str
) -> None:
    """POSTs `body`: expects 422 `code` naming one of `fields` (in error.field or errors[], a
    sub-field such as ship_to.address1 counts for ship_to) and no order with its reference."""
    resp = post_order(api, body, run_id)
    assert resp.status == 422, (
        f"expected 422 for an invalid order ({fields[0]}), got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == code, (
        f"expected error code {code}, got {error_code(resp)!r} ({resp.describe()})"
    )
    named = error_fields(resp)
    assert any(
        name == f or name.startswith((f + ".", f + "[", f + "/")) for f in fields for name in named
    ), (
        f"expected the error to name field {' or '.join(fields)}, got {sorted(named)} "
        f"({resp.describe()})"
    )
    left = orders_with_reference(api, body["reference"])
    assert left == [], f"expected no order after the 422, got {len(left)}"


@requirement("ORD-007")
def test_order_without_a_deliverable_ship_to_is_refused_with_422(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order with no ship_to, then one whose ship_to lacks address1: each gets 422
    validation_failed naming ship_to (or ship_to.address1) and leaves no order."""
    body = factory.order_body()
    del body["ship_to"]
    assert_refused_with_field(api, body, run_id, "validation_failed", "ship_to")
    body = factory.order_body()
    body["ship_to"] = {k: v for k, v in body["ship_to"].items() if k != "address1"}
    assert_refused_with_field(api, body, run_id, "validation_failed", "ship_to.address1", "ship_to")


@requirement("ORD-008")
def test_order_line_quantity_below_one_or_fractional_is_refused_with_422(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates orders whose only line has quantity 0, -1 and 1.5: each gets 422
    validation_failed naming the line's quantity (items[0].quantity, ...) and leaves no order."""
    for quantity in (0, -1, 1.5):
        body = factory.order_body()
        body["items"] = [{**body["items"][0], "quantity": quantity}]
        resp = post_order(api, body, run_id)
        assert resp.status == 422, (
            f"expected 422 for quantity {quantity}, got {resp.status} ({resp.describe()})"
        )
        assert error_code(resp) == "validation_failed", (
            f"expected error code validation_failed for quantity {quantity}, got "
            f"{error_code(resp)!r} ({resp.describe()})"
        )
        fields = error_fields(resp)
        assert any(name.startswith("items") and "quantity" in name for name in fields), (
            f"expected the error to name the line's quantity for quantity {quantity}, got "
            f"{sorted(fields)} ({resp.describe()})"
        )
        left = orders_with_reference(api, body["reference"])
        assert left == [], f"expected no order after the 422, got {len(left)}"


@requirement("ORD-009")
def test_order_for_an_unknown_warehouse_is_refused_with_422_invalid_warehouse(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order for a warehouse id that does not exist: expects 422 invalid_warehouse
    with field warehouse_id and no order."""
    body = factory.order_body(warehouse_id=f"wh_unknown_{run_id}")
    assert_refused_with_field(api, body, run_id, "invalid_warehouse", "warehouse_id")


@requirement("ORD-010")
def test_order_with_an_unknown_shipping_method_is_refused_with_422(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order for a shipping_method_id that does not exist: expects 422
    invalid_shipping_method with field shipping_method_id and no order."""
    body = factory.order_body(shipping_method_id=f"sm_unknown_{run_id}")
    assert_refused_with_field(api, body, run_id, "invalid_shipping_method", "shipping_method_id")


@requirement("ORD-011")
def test_order_for_an_unknown_sku_is_refused_with_422_unknown_sku(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order for a SKU the warehouse never had: expects 422 unknown_sku naming the
    line's sku (items[0].sku, ...) and no order."""
    body = factory.order_body()
    body["items"] = [{**body["items"][0], "sku": f"CK-{run_id}-NEVER-{new_key(run_id)[-8:]}"}]
    resp = post_order(api, body, run_id)
    assert resp.status == 422, (
        f"expected 422 for an unknown SKU, got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == "unknown_sku", (
        f"expected error code unknown_sku, got {error_code(resp)!r} ({resp.describe()})"
    )
    fields = error_fields(resp)
    assert any(name.startswith("items") and "sku" in name for name in fields), (
        f"expected the error to name the line's sku, got {sorted(fields)} ({resp.describe()})"
    )
    left = orders_with_reference(api, body["reference"])
    assert left == [], f"expected no order after the 422, got {len(left)}"


@requirement("ORD-012")
def test_the_order_id_is_the_same_everywhere(
    api: ApiClient, factory: TestData, run_id: str, driver: WarehouseDriver
) -> None:
    """Creates an order and follows its id through getOrder, listOrders?reference=, an amend
    and a shipment (getShipment): every one carries the id the create returned."""
    body = in_stock_body(factory)
    order_id = create_id(api, body, run_id)
    read = api.request("GET", f"/orders/{order_id}")
    assert (read.json or {}).get("id") == order_id, (
        f"expected getOrder to return id {order_id}, got {(read.json or {}).get('id')!r} "
        f"({read.describe()})"
    )
    listed = [row.get("id") for row in orders_with_reference(api, body["reference"])]
    assert listed == [order_id], f"expected listOrders to show id {order_id}, got {listed}"
    amended = api.request("PATCH", f"/orders/{order_id}", json={"packing_note": "same id"})
    if amended.status == 200:  # a server may insist on If-Match (428): AMD-006 judges that
        assert (amended.json or {}).get("id") == order_id, (
            f"expected the amend to return id {order_id}, got "
            f"{(amended.json or {}).get('id')!r} ({amended.describe()})"
        )
    shipment = driver.ship(order_id)
    # Read the shipment by its own id, so a broken order_id filter (SHP) cannot fail this check.
    resp = api.request("GET", f"/shipments/{shipment.get('id')}")
    carried = (resp.json or {}).get("order_id") if isinstance(resp.json, dict) else None
    assert resp.status == 200 and carried == order_id, (
        f"expected the shipment to carry order_id {order_id}, got {resp.status} with "
        f"{carried!r} ({resp.describe()})"
    )


@requirement("ORD-013")
def test_handling_flags_and_notes_are_stored_and_returned(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order with every handling flag and note set and one with none: getOrder
    returns the values sent, and false/null for those omitted."""
    flags = {
        "signature_required": True,
        "insurance": True,
        "gift_message": "Happy birthday",
        "packing_note": "Leave in porch",
    }
    for sent, expected in ((flags, flags), ({}, dict.fromkeys(flags, None))):
        order_id = create_id(api, factory.order_body(**sent), run_id)
        resp = api.request("GET", f"/orders/{order_id}")
        order = resp.json if isinstance(resp.json, dict) else {}
        for name, value in expected.items():
            if value is None and name in ("signature_required", "insurance"):
                value = False
            assert order.get(name) == value, (
                f"expected {name} {value!r}, got {order.get(name)!r} ({resp.describe()})"
            )


@requirement("ORD-014")
def test_ship_to_country_must_be_iso_alpha_2(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates orders with ship_to.country "Australia" and "au": each gets 422
    validation_failed naming ship_to.country and leaves no order."""
    for country in ("Australia", "au"):
        body = factory.order_body()
        body["ship_to"] = {**body["ship_to"], "country": country}
        assert_refused_with_field(api, body, run_id, "validation_failed", "ship_to.country")


@requirement("ORD-015")
def test_order_without_items_is_refused_with_422(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order with no items and one with items []: each gets 422 validation_failed
    naming items and leaves no order."""
    body = factory.order_body()
    del body["items"]
    assert_refused_with_field(api, body, run_id, "validation_failed", "items")
    assert_refused_with_field(
        api, factory.order_body(items=[]), run_id, "validation_failed", "items"
    )


@requirement("ORD-016")
def test_order_lines_keep_sku_quantity_and_price(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order with a priced line and reads it back: the line has its sku, quantity,
    shipped_quantity 0, and the unit_price and currency sent (a decimal string, unchanged)."""
    body = in_stock_body(factory, quantity=2)
    body["items"] = [{**body["items"][0], "unit_price": "19.99", "currency": "AUD"}]
    order_id = create_id(api, body, run_id)
    resp = api.request("GET", f"/orders/{order_id}")
    items = (resp.json or {}).get("items") or []
    assert len(items) == 1, f"expected one line, got {len(items)} ({resp.describe()})"
    line = items[0]
    expected = {"sku": body["items"][0]["sku"], "quantity": 2, "shipped_quantity": 0}
    expected |= {"unit_price": "19.99", "currency": "AUD"}
    wrong = {k: line.get(k) for k, v in expected.items() if line.get(k) != v}
    assert not wrong, f"expected the line to carry {expected}, got {wrong} ({resp.describe()})"


@requirement("ORD-017")
def test_a_shipping_method_name_is_accepted_instead_of_an_id(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order with shipping_method set to the name of a listed method and no
    shipping_method_id: expects 201."""
    methods = api.request("GET", "/shipping-methods")
    rows = (methods.json or {}).get("data") or [] if isinstance(methods.json, dict) else []
    names = [row["name"] for row in rows if isinstance(row, dict) and row.get("name")]
    assert names, f"expected named shipping methods, got none ({methods.describe()})"
    body = factory.order_body(shipping_method=names[0])
    del body["shipping_method_id"]
    resp = post_order(api, body, run_id)
    assert resp.status == 201, (
        f"expected 201 for shipping_method {names[0]!r} without an id, got {resp.status} "
        f"({resp.describe()})"
    )


# The createOrder fields whose limits API-015 probes: long free text a real ERP sends, and the
# fields a server is most tempted to cut (a carrier's address line) or to store unbounded.
LIMITED_FIELDS = (
    ("order_number",),
    ("ship_to", "address1"),
    ("ship_to", "name"),
    ("packing_note",),
)


def _limit(spec: dict[str, Any], path: tuple[str, ...]) -> int:
    """The documented maxLength of an OrderCreate field, read from the spec at run time."""
    schema: Any = {"$ref": "#/components/schemas/OrderCreate"}
    for name in path:
        schema = refs.resolve(spec, refs.resolve(spec, schema)["properties"][name])
    limit = schema.get("maxLength")
    assert isinstance(limit, int), f"the spec documents no maxLength for {'.'.join(path)}"
    return limit


def _with(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(body))
    node = out
    for name in path[:-1]:
        node = node[name]
    node[path[-1]] = value
    return out


def _filled(prefix: str, length: int) -> str:
    """A unique value of exactly `length` characters (the prefix keeps it unique per run)."""
    return (prefix + "-").ljust(length, "x")[:length]


@requirement("API-015")
def test_request_limits_are_enforced_both_ways(
    api: ApiClient, factory: TestData, run_id: str, spec: dict[str, Any]
) -> None:
    """For order_number, ship_to.address1, ship_to.name and packing_note: an order with every one
    at its documented maxLength is created (201) and read back unchanged; one character more in
    any one gets 422 validation_failed naming that field and leaves no order; so does one line
    more than the documented maxItems of items."""
    limits = {path: _limit(spec, path) for path in LIMITED_FIELDS}
    body = factory.order_body()
    for path, limit in limits.items():
        body = _with(body, path, _filled(body["order_number"], limit))
    resp = post_order(api, body, run_id)
    at_limits = ", ".join(f"{'.'.join(path)} {limit}" for path, limit in limits.items())
    assert resp.status == 201, (
        f"expected 201 for an order whose fields are at their documented limits ({at_limits}), "
        f"got {resp.status} ({resp.describe()})"
    )
    order, read = get_order(api, (resp.json or {}).get("id", ""))
    for path in limits:
        stored: Any = order
        sent: Any = body
        for name in path:
            stored = stored.get(name) if isinstance(stored, dict) else None
            sent = sent[name]
        assert stored == sent, (
            f"expected {'.'.join(path)} stored as sent ({len(sent)} characters), got "
            f"{len(stored) if isinstance(stored, str) else stored!r} ({read.describe()})"
        )
    for path, limit in limits.items():
        over = factory.order_body()
        over = _with(over, path, _filled(over["order_number"], limit + 1))
        assert_refused_with_field(api, over, run_id, "validation_failed", ".".join(path))
    max_items = refs.resolve(spec, {"$ref": "#/components/schemas/OrderCreate"})["properties"][
        "items"
    ].get("maxItems")
    assert isinstance(max_items, int), "the spec documents no maxItems for items"
    over = factory.order_body()
    over["items"] = over["items"] * (max_items + 1)
    assert_refused_with_field(api, over, run_id, "validation_failed", "items")
