"""Inventory the ERP can trust, per warehouse (guide §3 Inventory; decisions 21 and 22).

The ERP shows `available` as "in stock" and sources orders per warehouse, so the numbers must
follow orders exactly: creating an order allocates at its warehouse, cancelling releases,
shipping moves units out of `on_hand` and `allocated`, and demand beyond stock is backordered,
never a negative number. Every check uses fresh run-tagged SKUs, so stock left by earlier runs
or other partners' traffic cannot change the expected numbers.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.listing import parse_ts
from conformance.scenarios import Stock, colliding, probes


def warehouses(factory: TestData, count: int) -> list[str]:
    ids = [str(w) for w in factory.warehouse_ids]
    if len(ids) < count:
        pytest.skip(f"needs {count} warehouses, the target lists {len(ids)}")
    return ids[:count]


def order_for(factory: TestData, sku: str, warehouse_id: str, quantity: int) -> dict[str, Any]:
    order: dict[str, Any] = factory.create_order(
        warehouse_id=warehouse_id, items=[{"sku": sku, "quantity": quantity}]
    )
    return order


def expect(stock: Stock, warehouse_id: str, want: dict[str, int], after: str) -> None:
    got = stock.numbers(warehouse_id)
    wrong = {k: got.get(k) for k, v in want.items() if k in got and got[k] != v}
    assert not wrong and "available" in got and "on_hand" in got, (
        f"expected {want} for SKU {stock.sku} at {warehouse_id} {after}, got {got} "
        f"({stock.response.describe()})"
    )


@requirement("INV-001")
def test_stock_is_broken_out_per_warehouse(api: ApiClient, factory: TestData) -> None:
    """A SKU stocked with 7 units in one warehouse and 4 in another (when there are two) reads
    as one item with its updated_at and one entry per warehouse, each with its own on_hand and
    available."""
    ids = [str(w) for w in factory.warehouse_ids][:2]
    levels = dict(zip(ids, (7, 4), strict=False))
    sku = factory.sku(stock=levels)
    stock = Stock(api, sku)
    assert parse_ts(stock.updated_at) is not None, (
        f"expected the item's updated_at, got {stock.updated_at!r} ({stock.response.describe()})"
    )
    for warehouse_id, on_hand in levels.items():
        expect(stock, warehouse_id, {"on_hand": on_hand, "available": on_hand}, "after setting it")


@requirement("INV-002")
def test_available_is_on_hand_minus_allocated(api: ApiClient, factory: TestData) -> None:
    """10 on hand, an order of 3: every entry of the SKU has available = on_hand - allocated
    - unavailable (each when shown, decision 57), available >= 0 and allocated <= on_hand."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 10})
    order_for(factory, sku, warehouse, 3)
    stock = Stock(api, sku)
    for warehouse_id, entry in stock.entries.items():
        on_hand, available = entry.get("on_hand"), entry.get("available")
        ok = False
        if isinstance(on_hand, int) and isinstance(available, int):
            # allocated is a SHOULD field (INV-010) and unavailable a MAY (INV-014): absent, the
            # bucket is 0 and the formula defines allocated.
            unavailable = entry.get("unavailable", 0)
            allocated = entry.get("allocated", on_hand - available - unavailable)
            ok = (
                isinstance(allocated, int)
                and isinstance(unavailable, int)
                and available == on_hand - allocated - unavailable
                and available >= 0
                and 0 <= allocated <= on_hand
            )
        assert ok, (
            f"expected available = on_hand - allocated - unavailable >= 0 and allocated <= "
            f"on_hand at {warehouse_id}, got {entry} ({stock.response.describe()})"
        )


@requirement("INV-003")
def test_creating_an_order_allocates_at_its_warehouse(api: ApiClient, factory: TestData) -> None:
    """10 on hand in each of two warehouses, an order of 3 at the first: the first reads
    available 7 (allocated 3, on_hand 10); the second is untouched."""
    ids = [str(w) for w in factory.warehouse_ids]
    first, others = ids[0], ids[1:2]
    sku = factory.sku(stock={w: 10 for w in [first, *others]})
    order_for(factory, sku, first, 3)
    stock = Stock(api, sku)
    expect(stock, first, {"on_hand": 10, "allocated": 3, "available": 7}, "after an order of 3")
    for other in others:
        expect(stock, other, {"on_hand": 10, "allocated": 0, "available": 10}, "(order elsewhere)")


@requirement("INV-004")
def test_cancelling_releases_the_allocation(api: ApiClient, factory: TestData) -> None:
    """10 on hand, an order of 3, then cancel: available is back to 10 and allocated to 0."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 10})
    order = order_for(factory, sku, warehouse, 3)
    resp = api.request("POST", f"/orders/{order['id']}/cancel")
    assert resp.status == 200, f"expected 200 from the cancel, got {resp.describe()}"
    expect(
        Stock(api, sku),
        warehouse,
        {"on_hand": 10, "allocated": 0, "available": 10},
        "after cancelling the order of 3",
    )


@requirement("INV-005")
def test_shipping_moves_units_out_of_on_hand_and_allocated(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """10 on hand, an order of 3, shipped: on_hand 7, allocated 0, available 7."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 10})
    order = order_for(factory, sku, warehouse, 3)
    driver.ship(order["id"])
    expect(
        Stock(api, sku),
        warehouse,
        {"on_hand": 7, "allocated": 0, "available": 7},
        "after shipping the order of 3",
    )


@requirement("INV-006")
def test_demand_beyond_stock_is_backordered_not_negative(api: ApiClient, factory: TestData) -> None:
    """2 on hand, an order of 5: available stays >= 0 and allocated <= on_hand; the shortfall
    shows as backordered (when the field is given) and the order reads `backordered`."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 2})
    order = order_for(factory, sku, warehouse, 5)
    stock = Stock(api, sku)
    entry = stock.at(warehouse)
    available, on_hand = entry.get("available"), entry.get("on_hand")
    allocated = entry.get("allocated", 0)
    assert isinstance(available, int) and available >= 0 and on_hand == 2, (
        f"expected on_hand 2 and available >= 0 after an order of 5, got {entry} "
        f"({stock.response.describe()})"
    )
    assert isinstance(allocated, int) and allocated <= on_hand, (
        f"expected allocated <= on_hand, got {entry} ({stock.response.describe()})"
    )
    if "backordered" in entry:
        assert entry["backordered"] > 0, (
            f"expected backordered > 0 for demand of 5 against 2, got {entry} "
            f"({stock.response.describe()})"
        )
    status = api.request("GET", f"/orders/{order['id']}")
    got = status.json.get("status") if isinstance(status.json, dict) else None
    assert got == "backordered", (
        f"expected the order backordered for 5 against 2 on hand, got {got!r} ({status.describe()})"
    )


@requirement("INV-007")
def test_sku_filter_returns_only_that_sku(api: ApiClient, factory: TestData) -> None:
    """A new SKU S and one SKU for each value a loose filter confuses with S (S-2, xS, S in the
    other case): GET /inventory?sku=S returns S and no other SKU, and a prefix or a suffix of S
    lists none of them (the filter is byte for byte)."""
    (warehouse,) = warehouses(factory, 1)
    first = factory.sku(stock={warehouse: 3})
    for value in colliding(first):
        factory.driver.set_stock(value, warehouse, 3)
    stock = Stock(api, first)
    others = sorted({str(row.get("sku")) for row in stock.rows} - {first})
    assert not others, (
        f"expected only SKU {first} in GET /inventory?sku={first}, got also {others} "
        f"({stock.response.describe()})"
    )
    for probe in probes(first):
        resp = api.request("GET", "/inventory", params={"sku": probe})
        rows = resp.json.get("data") if isinstance(resp.json, dict) else None
        loose = [row.get("sku") for row in rows or [] if row.get("sku") != probe]
        assert not loose, (
            f"expected GET /inventory?sku={probe} (a prefix or suffix of {first}) to list only "
            f"that SKU, got {loose} ({resp.describe()})"
        )


@requirement("INV-008")
def test_warehouse_filter_returns_only_that_warehouse(api: ApiClient, factory: TestData) -> None:
    """A SKU in two warehouses: GET /inventory?sku=...&warehouse_id=<second> shows only the
    second warehouse's entry, with its own numbers."""
    first, second = warehouses(factory, 2)
    sku = factory.sku(stock={first: 6, second: 2})
    stock = Stock(api, sku, {"warehouse_id": second})
    assert set(stock.entries) == {second}, (
        f"expected only warehouse {second} for SKU {sku}, got {sorted(stock.entries)} "
        f"({stock.response.describe()})"
    )
    expect(stock, second, {"on_hand": 2, "available": 2}, "filtered by warehouse_id")


@requirement("INV-009")
def test_stock_changes_bump_the_skus_updated_at(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Reads the SKU's updated_at after each change (order created, shipped): it moves forward
    every time (decision 22)."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 10})
    previous = Stock(api, sku)
    order = order_for(factory, sku, warehouse, 3)
    steps = (
        ("an order was created", lambda: None),
        ("the order shipped", lambda: driver.ship(order["id"])),
    )
    for label, step in steps:
        step()
        current = Stock(api, sku)
        before, after = parse_ts(previous.updated_at), parse_ts(current.updated_at)
        assert before is not None and after is not None and after > before, (
            f"expected SKU {sku}'s updated_at to move after {label}, got {previous.updated_at} "
            f"-> {current.updated_at} ({current.response.describe()})"
        )
        previous = current


@requirement("INV-010")
def test_entries_carry_allocated_incoming_and_backordered(
    api: ApiClient, factory: TestData
) -> None:
    """After stocking a SKU and ordering some, its warehouse entry carries allocated, incoming
    and backordered as integers >= 0 (the guide: "everything else is upside")."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 4})
    order_for(factory, sku, warehouse, 1)
    stock = Stock(api, sku)
    entry = stock.at(warehouse)
    missing = [
        k
        for k in ("allocated", "incoming", "backordered")
        if not isinstance(entry.get(k), int) or entry[k] < 0
    ]
    assert not missing, (
        f"expected {missing} as integers >= 0 at {warehouse}, got {entry} "
        f"({stock.response.describe()})"
    )


def amend(api: ApiClient, order: dict[str, Any], items: list[dict[str, Any]]) -> None:
    read = api.request("GET", f"/orders/{order['id']}")
    version = read.json.get("version") if isinstance(read.json, dict) else order.get("version")
    resp = api.request(
        "PATCH",
        f"/orders/{order['id']}",
        json={"items": items},
        headers={"If-Match": f'"{version}"'},
    )
    assert resp.status == 200, f"expected 200 from the amend, got {resp.describe()}"


@requirement("INV-011")
def test_amending_lines_moves_the_allocation(api: ApiClient, factory: TestData) -> None:
    """10 on hand of two SKUs, an order of 3 of the first; amended to 1 of the first and 2 of
    the second: available reads 9 and 8."""
    (warehouse,) = warehouses(factory, 1)
    first = factory.sku(stock={warehouse: 10})
    second = factory.sku(stock={warehouse: 10})
    order = order_for(factory, first, warehouse, 3)
    amend(api, order, [{"sku": first, "quantity": 1}, {"sku": second, "quantity": 2}])
    expect(Stock(api, first), warehouse, {"available": 9}, "after reducing the line from 3 to 1")
    expect(Stock(api, second), warehouse, {"available": 8}, "after adding a line of 2")


@requirement("INV-012")
def test_new_stock_allocates_backorders_oldest_first(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """No stock, two orders of 2 (both backordered); stock set to 3: the older order is fully
    allocated and reads received, the newer one still reads backordered."""
    (warehouse,) = warehouses(factory, 1)
    sku = factory.sku(stock={warehouse: 0})
    older = order_for(factory, sku, warehouse, 2)
    newer = order_for(factory, sku, warehouse, 2)
    driver.set_stock(sku, warehouse, 3)
    got = {}
    for label, order in (("older", older), ("newer", newer)):
        resp = api.request("GET", f"/orders/{order['id']}")
        got[label] = resp.json.get("status") if isinstance(resp.json, dict) else None
    assert got == {"older": "received", "newer": "backordered"}, (
        f"expected the older order received and the newer backordered after stock rose to 3, "
        f"got {got} (orders {older['id']}, {newer['id']})"
    )


@requirement("INV-013")
def test_a_sold_out_sku_stays_listed_at_zero(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """2 on hand, an order of 2 shipped; another SKU counted down to 0: each stays in
    GET /inventory?sku=... with on_hand 0 and available 0, and a poll from the updated_at it had
    before (updated_since) brings it back with the 0 (the ERP learns the sell-out)."""
    (warehouse,) = warehouses(factory, 1)
    shipped_out = factory.sku(stock={warehouse: 2})
    counted_out = factory.sku(stock={warehouse: 3})
    order = order_for(factory, shipped_out, warehouse, 2)
    before = {sku: Stock(api, sku).updated_at for sku in (shipped_out, counted_out)}
    driver.ship(order["id"])
    driver.set_stock(counted_out, warehouse, 0)
    for sku, how in ((shipped_out, "its last units shipped"), (counted_out, "counted to 0")):
        for params in ({}, {"updated_since": before[sku]}):
            expect(
                Stock(api, sku, params),
                warehouse,
                {"on_hand": 0, "available": 0},
                f"after {how} (GET /inventory with sku and {params or 'no other filter'})",
            )
