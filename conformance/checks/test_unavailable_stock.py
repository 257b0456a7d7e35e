"""Non-sellable stock: units on the shelf that cannot be sold (decision 57, INV-014, INV-015).

A warehouse holds quarantined, damaged or inspected units that count in `on_hand` but must never
be sold: an ERP that reads them as `available` oversells. The bucket is optional (a server
without it stays conforming), so these checks judge it only where the target takes `unavailable`
through its set-stock control and serves it back; elsewhere they are `not_exercised`. Every
check uses fresh run-tagged SKUs.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.listing import parse_ts
from conformance.outcomes import not_exercised
from conformance.scenarios import Stock


def first_warehouse(factory: TestData) -> str:
    return str(factory.warehouse_ids[0])


def set_aside(
    driver: WarehouseDriver, sku: str, warehouse_id: str, on_hand: int, unavailable: int
) -> None:
    """Count `on_hand` units, `unavailable` of them not sellable; not_exercised without the
    bucket (a vendor driver without the step, or a control that refuses the member)."""
    step = getattr(driver, "set_unavailable", None)
    if step is None:
        not_exercised("the driver cannot set units aside as unavailable (set_unavailable)")
    if step(sku, warehouse_id, on_hand, unavailable) is False:
        not_exercised(
            "the target's set-stock control does not take `unavailable`: it holds no "
            "non-sellable stock (decision 57 allows that)"
        )


def served_entry(api: ApiClient, sku: str, warehouse_id: str) -> tuple[Stock, dict[str, Any]]:
    """The SKU's entry at the warehouse; not_exercised when it does not serve `unavailable`."""
    stock = Stock(api, sku)
    entry = stock.at(warehouse_id)
    if "unavailable" not in entry:
        not_exercised(
            f"the target took `unavailable` for {sku} but does not serve it in GET /inventory "
            f"({stock.response.describe()})"
        )
    return stock, entry


def expect(stock: Stock, entry: dict[str, Any], want: dict[str, int], after: str) -> None:
    wrong = {k: entry.get(k) for k, v in want.items() if k in entry and entry[k] != v}
    missing = [k for k in ("on_hand", "available", "unavailable") if k not in entry]
    assert not wrong and not missing, (
        f"expected {want} for SKU {stock.sku} {after}, got {entry} ({stock.response.describe()})"
    )


def status_of(api: ApiClient, order: dict[str, Any]) -> Any:
    resp = api.request("GET", f"/orders/{order['id']}")
    return resp.json.get("status") if isinstance(resp.json, dict) else None


@requirement("INV-014")
def test_units_set_aside_leave_available_not_on_hand(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """10 on hand; 3 of them set aside as unavailable: on_hand stays 10, available reads 7 and
    the SKU's updated_at moves. An order of 2: available 5 = 10 - 2 - 3. The 3 released: available
    8 = 10 - 2 - 0."""
    warehouse = first_warehouse(factory)
    sku = factory.sku(stock={warehouse: 10})
    before = Stock(api, sku).updated_at
    set_aside(driver, sku, warehouse, 10, 3)
    stock, entry = served_entry(api, sku, warehouse)
    want = {"on_hand": 10, "unavailable": 3, "available": 7, "allocated": 0}
    expect(stock, entry, want, "after setting 3 of 10 aside")
    earlier, later = parse_ts(before), parse_ts(stock.updated_at)
    assert earlier is not None and later is not None and later > earlier, (
        f"expected SKU {sku}'s updated_at to move when 3 units were set aside, got {before} -> "
        f"{stock.updated_at} ({stock.response.describe()})"
    )
    factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 2}])
    stock, entry = served_entry(api, sku, warehouse)
    want = {"on_hand": 10, "unavailable": 3, "allocated": 2, "available": 5}
    expect(stock, entry, want, "after an order of 2 with 3 of 10 set aside")
    set_aside(driver, sku, warehouse, 10, 0)
    stock, entry = served_entry(api, sku, warehouse)
    want = {"on_hand": 10, "unavailable": 0, "allocated": 2, "available": 8}
    expect(stock, entry, want, "after releasing the 3 units set aside")


@requirement("INV-015")
def test_units_set_aside_are_never_allocated(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """10 on hand, 3 set aside (7 sellable): an order of 8 is backordered (allocated at most 7)
    and a newer order of 1 too; releasing 1 of the 3 fills the older order first
    (it reads received, the newer one still backordered)."""
    warehouse = first_warehouse(factory)
    sku = factory.sku(stock={warehouse: 10})
    set_aside(driver, sku, warehouse, 10, 3)
    served_entry(api, sku, warehouse)
    older = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 8}])
    newer = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 1}])
    stock, entry = served_entry(api, sku, warehouse)
    allocated = entry.get("allocated", 0)
    assert isinstance(allocated, int) and allocated <= 7, (
        f"expected at most the 7 sellable units allocated to orders of 8 and 1 with 3 of 10 set "
        f"aside, got {entry} ({stock.response.describe()})"
    )
    got = {"older": status_of(api, older), "newer": status_of(api, newer)}
    assert got == {"older": "backordered", "newer": "backordered"}, (
        f"expected both orders backordered (9 units ordered, 7 sellable: the 3 set aside are "
        f"not for sale), got {got} (orders {older['id']}, {newer['id']})"
    )
    set_aside(driver, sku, warehouse, 10, 2)
    got = {"older": status_of(api, older), "newer": status_of(api, newer)}
    assert got == {"older": "received", "newer": "backordered"}, (
        f"expected the older order received and the newer still backordered after 1 unit was "
        f"released from unavailable, got {got} (orders {older['id']}, {newer['id']})"
    )
