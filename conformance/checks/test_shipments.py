"""Shipments: what left the dock, one parcel per tracking number (guide §2 Shipments; decision 20).

The ERP learns what shipped from `GET /shipments?updated_since=...`, marks lines fulfilled from
`items[]`, notifies the customer once per parcel and reconciles voided labels. Each check makes
the warehouse side happen through the driver (ship, advance, void) and reads the result back
through the ERP-facing API only.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.listing import parse_ts, walk_list

# The spec's Parcel.tracking_number pattern: never several numbers joined (decision 20).
ONE_TRACKING_NUMBER = re.compile(r"^[^,;\s]+$")


def stocked_order(factory: TestData, quantities: list[int]) -> dict[str, Any]:
    """A new order with one line per quantity, each a fresh run-tagged SKU stocked for it."""
    warehouse = factory.warehouse_ids[0]
    items = [
        {"sku": factory.sku(stock={warehouse: quantity + 5}), "quantity": quantity}
        for quantity in quantities
    ]
    order: dict[str, Any] = factory.create_order(warehouse_id=warehouse, items=items)
    return order


def get_ok(api: ApiClient, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = api.request("GET", path, params=params)
    assert resp.status == 200 and isinstance(resp.json, dict), (
        f"expected 200 with a JSON object, got {resp.describe()}"
    )
    body: dict[str, Any] = resp.json
    return body


def shipments_of(api: ApiClient, order_id: str) -> list[dict[str, Any]]:
    """Every row of GET /shipments?order_id=..., following the cursor (bounded)."""
    walk = walk_list(api, "/shipments", {"order_id": order_id}, limit=50, max_pages=10)
    assert walk.error is None, walk.error
    return [row for _, row in walk.rows()]


def polled(api: ApiClient, order_id: str, shipment_id: str) -> dict[str, Any]:
    """The shipment as GET /shipments?order_id= serves it (how the ERP learns about it)."""
    rows = [row for row in shipments_of(api, order_id) if row.get("id") == shipment_id]
    assert rows, f"expected shipment {shipment_id} in GET /shipments?order_id={order_id}, got none"
    return rows[-1]


def poll_since(api: ApiClient, since: str) -> list[dict[str, Any]]:
    """The shipments a poller sees with this high-water mark (bounded walk)."""
    walk = walk_list(api, "/shipments", {"updated_since": since}, limit=200, max_pages=20)
    assert walk.error is None, walk.error
    return [row for _, row in walk.rows()]


@requirement("SHP-001")
def test_two_parcels_get_two_distinct_tracking_numbers(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Ships one order in 2 parcels: the shipment (as returned and as read back) has 2 parcels,
    each with one tracking number without separators, and the two numbers differ."""
    order = stocked_order(factory, [2])
    shipped = driver.ship(order["id"], parcels=2)
    read = get_ok(api, f"/shipments/{shipped['id']}")
    for label, shipment in (("ship response", shipped), (f"GET /shipments/{shipped['id']}", read)):
        parcels = [p for p in shipment.get("parcels") or [] if isinstance(p, dict)]
        numbers = [p.get("tracking_number") for p in parcels]
        assert len(parcels) == 2, (
            f"expected 2 parcels for a 2-parcel shipment, got {len(parcels)} {numbers} ({label})"
        )
        for number in numbers:
            assert isinstance(number, str) and ONE_TRACKING_NUMBER.match(number), (
                f"expected one tracking number per parcel (no , ; or spaces), got {number!r} "
                f"({label})"
            )
        assert len(set(numbers)) == 2, (
            f"expected 2 distinct tracking numbers, got {numbers} ({label})"
        )


@requirement("SHP-002")
def test_partial_shipment_moves_order_to_partially_shipped_then_shipped(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An order of two lines ships its first line: the order reads `partially_shipped`; the
    second line ships: the order reads `shipped` (decision 20)."""
    order = stocked_order(factory, [2, 1])
    first, second = order["items"][0], order["items"][1]
    driver.ship(order["id"], items=[{"sku": first["sku"], "quantity": first["quantity"]}])
    status = get_ok(api, f"/orders/{order['id']}").get("status")
    assert status == "partially_shipped", (
        f"expected order status partially_shipped after shipping one of two lines, got {status!r} "
        f"(GET /orders/{order['id']})"
    )
    driver.ship(order["id"], items=[{"sku": second["sku"], "quantity": second["quantity"]}])
    status = get_ok(api, f"/orders/{order['id']}").get("status")
    assert status == "shipped", (
        f"expected order status shipped after the last line shipped, got {status!r} "
        f"(GET /orders/{order['id']})"
    )


@requirement("SHP-003")
def test_order_shows_its_shipments(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An order shipped in two shipments lists both in GET /orders/{id} `shipments`."""
    order = stocked_order(factory, [1, 1])
    ids = {
        driver.ship(order["id"], items=[{"sku": line["sku"], "quantity": 1}])["id"]
        for line in order["items"]
    }
    shown = {s.get("id") for s in get_ok(api, f"/orders/{order['id']}").get("shipments") or []}
    assert ids <= shown, (
        f"expected shipments {sorted(ids)} in GET /orders/{order['id']}, "
        f"got {sorted(map(str, shown))}"
    )


@requirement("SHP-004")
def test_list_filters_by_order_id(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Two shipped orders: GET /shipments?order_id=<first> returns the first's shipment and only
    shipments of that order (decision 19)."""
    orders = [stocked_order(factory, [1]) for _ in range(2)]
    shipments = [driver.ship(order["id"]) for order in orders]
    rows = shipments_of(api, orders[0]["id"])
    ids = [row.get("id") for row in rows]
    assert shipments[0]["id"] in ids, (
        f"expected shipment {shipments[0]['id']} in GET /shipments?order_id={orders[0]['id']}, "
        f"got {ids}"
    )
    strangers = [row.get("id") for row in rows if row.get("order_id") != orders[0]["id"]]
    assert not strangers, (
        f"expected only shipments of order {orders[0]['id']}, got {strangers} of other orders "
        f"(GET /shipments?order_id={orders[0]['id']})"
    )


@requirement("SHP-005")
def test_get_shipment_returns_it(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """GET /shipments/{id} returns the shipment the warehouse created, for its order."""
    order = stocked_order(factory, [1])
    shipped = driver.ship(order["id"])
    read = get_ok(api, f"/shipments/{shipped['id']}")
    assert read.get("id") == shipped["id"] and read.get("order_id") == order["id"], (
        f"expected shipment {shipped['id']} of order {order['id']}, got id {read.get('id')!r} "
        f"order_id {read.get('order_id')!r} (GET /shipments/{shipped['id']})"
    )


@requirement("SHP-006")
def test_voided_shipment_stays_listed_as_voided(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Ships then voids: polling from the shipment's original updated_at still lists it, with
    `voided: true` and status `voided` (decision 20: flag, never delete)."""
    order = stocked_order(factory, [1])
    shipped = driver.ship(order["id"])
    driver.void(shipped["id"])
    rows = [r for r in poll_since(api, shipped["updated_at"]) if r.get("id") == shipped["id"]]
    assert rows, (
        f"expected voided shipment {shipped['id']} in GET /shipments?updated_since="
        f"{shipped['updated_at']}, got it absent"
    )
    row = rows[-1]
    assert row.get("voided") is True and row.get("status") == "voided", (
        f"expected voided true and status voided, got voided={row.get('voided')!r} "
        f"status={row.get('status')!r} (shipment {shipped['id']})"
    )


@requirement("SHP-007")
def test_status_changes_bump_updated_at_and_reach_pollers(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Advances a shipment to in_transit, then delivered, and voids another: each time a poll
    with the last seen updated_at as high-water mark serves the shipment again with the new
    status and a later updated_at."""
    order = stocked_order(factory, [1])
    current = driver.ship(order["id"])
    other = driver.ship(stocked_order(factory, [1])["id"])
    steps = [
        (current, "in_transit", lambda s: driver.advance(s["id"], "in_transit")),
        (current, "delivered", lambda s: driver.advance(s["id"], "delivered")),
        (other, "voided", lambda s: driver.void(s["id"])),
    ]
    seen: dict[str, dict[str, Any]] = {}
    for first, status, step in steps:
        current = seen.get(first["id"], first)
        mark = current.get("updated_at")
        step(current)
        rows = [r for r in poll_since(api, str(mark)) if r.get("id") == current["id"]]
        assert rows, (
            f"expected shipment {current['id']} in GET /shipments?updated_since={mark} after it "
            f"moved to {status}, got it absent"
        )
        row = rows[-1]
        before, after = parse_ts(mark), parse_ts(row.get("updated_at"))
        assert row.get("status") == status and before and after and after > before, (
            f"expected status {status} with updated_at after {mark}, got status "
            f"{row.get('status')!r} updated_at {row.get('updated_at')!r} (shipment {current['id']})"
        )
        seen[first["id"]] = row


@requirement("SHP-008")
def test_shipment_links_back_to_its_order(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """The shipment carries its order's id and order_number and a shipped_at timestamp."""
    order = stocked_order(factory, [1])
    shipment = polled(api, order["id"], driver.ship(order["id"])["id"])
    assert shipment.get("order_id") == order["id"], (
        f"expected order_id {order['id']}, got {shipment.get('order_id')!r}"
    )
    assert shipment.get("order_number") == order["order_number"], (
        f"expected order_number {order['order_number']!r}, got {shipment.get('order_number')!r}"
    )
    assert parse_ts(shipment.get("shipped_at")) is not None, (
        f"expected shipped_at as an RFC 3339 timestamp, got {shipment.get('shipped_at')!r}"
    )


@requirement("SHP-009")
def test_shipment_lists_what_shipped(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Ships 2 of 3 units of one line: the shipment's items[] says exactly that sku x 2."""
    order = stocked_order(factory, [3])
    sku = order["items"][0]["sku"]
    shipped = driver.ship(order["id"], items=[{"sku": sku, "quantity": 2}])
    shipment = polled(api, order["id"], shipped["id"])
    got: Counter[str] = Counter()
    for item in shipment.get("items") or []:
        if isinstance(item, dict):
            got[str(item.get("sku"))] += int(item.get("quantity") or 0)
    assert dict(got) == {sku: 2}, (
        f"expected items [{sku} x 2], got {shipment.get('items')!r} "
        f"(GET /shipments?order_id={order['id']})"
    )


@requirement("SHP-010")
def test_shipment_carries_its_freight_cost(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """The guide recommends `cost` (the ERP folds it into landed cost): after shipping, the
    shipment's cost is a Money object, not null."""
    order = stocked_order(factory, [1])
    shipment = polled(api, order["id"], driver.ship(order["id"])["id"])
    cost = shipment.get("cost")
    if not isinstance(cost, dict):
        pytest.fail(
            f"expected cost as {{amount, currency}}, got {cost!r} (shipment {shipment.get('id')})"
        )


def line_quantities(order: dict[str, Any]) -> dict[str, Any]:
    return {str(line.get("sku")): line.get("shipped_quantity") for line in order.get("items") or []}


@requirement("SHP-011")
def test_unknown_shipment_is_404(api: ApiClient, run_id: str) -> None:
    """GET /shipments/{id} with an id that never existed is 404 `not_found` in the envelope."""
    resp = api.request("GET", f"/shipments/shp_never_{run_id}")
    body = resp.json if isinstance(resp.json, dict) else {}
    code = (body.get("error") or {}).get("code") if isinstance(body.get("error"), dict) else None
    assert resp.status == 404 and code == "not_found", (
        f"expected 404 not_found for an unknown shipment, got {resp.status} {code!r} "
        f"({resp.describe()})"
    )


@requirement("SHP-012")
def test_lines_count_shipped_units(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An order of 3 + 1 units ships 2 of the first line: shipped_quantity reads 2 and 0; after
    the rest ships, 3 and 1."""
    order = stocked_order(factory, [3, 1])
    first, second = (line["sku"] for line in order["items"])
    driver.ship(order["id"], items=[{"sku": first, "quantity": 2}])
    got = line_quantities(get_ok(api, f"/orders/{order['id']}"))
    assert got == {first: 2, second: 0}, (
        f"expected shipped_quantity {{{first}: 2, {second}: 0}}, got {got} "
        f"(GET /orders/{order['id']})"
    )
    driver.ship(order["id"])
    got = line_quantities(get_ok(api, f"/orders/{order['id']}"))
    assert got == {first: 3, second: 1}, (
        f"expected shipped_quantity {{{first}: 3, {second}: 1}}, got {got} "
        f"(GET /orders/{order['id']})"
    )


@requirement("SHP-013")
def test_delivery_progress_is_visible(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """A shipment moves in_transit -> exception -> in_transit -> out_for_delivery -> delivered;
    after each step GET /shipments?order_id= serves that status."""
    order = stocked_order(factory, [1])
    shipment = driver.ship(order["id"])
    for status in ("in_transit", "exception", "in_transit", "out_for_delivery", "delivered"):
        driver.advance(shipment["id"], status)
        got = polled(api, order["id"], shipment["id"]).get("status")
        assert got == status, (
            f"expected status {status} in GET /shipments?order_id={order['id']}, got {got!r}"
        )


@requirement("SHP-014")
def test_voided_units_count_as_unshipped(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An order of 2 units ships in full (shipped), then the shipment is voided: the line's
    shipped_quantity is back to 0 and the order no longer reads shipped."""
    order = stocked_order(factory, [2])
    sku = order["items"][0]["sku"]
    shipment = driver.ship(order["id"])
    driver.void(shipment["id"])
    read = get_ok(api, f"/orders/{order['id']}")
    got = (line_quantities(read).get(sku), read.get("status"))
    assert got[0] == 0 and got[1] not in ("shipped", "partially_shipped"), (
        f"expected shipped_quantity 0 and a status other than shipped after the void, got "
        f"shipped_quantity {got[0]!r} status {got[1]!r} (GET /orders/{order['id']})"
    )


@requirement("SHP-015")
def test_new_shipments_reach_pollers(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """With the order's updated_at (taken before shipping) as T, GET /shipments?updated_since=T
    serves the new shipment with created_at, updated_at and shipped_at set."""
    order = stocked_order(factory, [1])
    shipment = driver.ship(order["id"])
    rows = [r for r in poll_since(api, str(order["updated_at"])) if r.get("id") == shipment["id"]]
    assert rows, (
        f"expected new shipment {shipment['id']} in GET /shipments?updated_since="
        f"{order['updated_at']}, got it absent"
    )
    unset = [
        k for k in ("created_at", "updated_at", "shipped_at") if parse_ts(rows[-1].get(k)) is None
    ]
    assert not unset, f"expected {unset} set on shipment {shipment['id']}, got {rows[-1]!r}"
