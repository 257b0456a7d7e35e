"""A sold-out warehouse entry stays in every listing an ERP polls (decision 58, INV-016).

INV-013 looks a sold-out SKU up by `sku`. An ERP mostly polls without one, or per warehouse, and
mirrors what it is served: an entry that vanishes there leaves its last positive number standing
in the ERP, which goes on selling stock that is gone. The check sells a SKU out at one warehouse
while another still holds it, then reads the unfiltered `updated_since` poll and the sold-out
warehouse's own poll.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.listing import read_rows
from conformance.scenarios import Stock

MAX_PAGES = 50


def entries_of(rows: list[dict[str, Any]], sku: str) -> dict[str, dict[str, Any]] | None:
    """The SKU's warehouse entries in the rows served, or None when it is not among them."""
    for row in rows:
        if row.get("sku") == sku:
            return {
                str(entry.get("warehouse_id")): entry
                for entry in row.get("warehouses") or []
                if isinstance(entry, dict)
            }
    return None


@requirement("INV-016")
def test_a_sold_out_entry_stays_in_every_poll(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """2 on hand at the first warehouse (and 5 at a second, when there is one); an order of 2
    there, shipped: the unfiltered poll from the SKU's updated_at before the sale serves the SKU
    with the first warehouse's entry at on_hand 0 and available 0 (beside the second's 5), and
    GET /inventory?warehouse_id=<first> from the same instant serves it too, at 0."""
    ids = [str(w) for w in factory.warehouse_ids][:2]
    sold_out, others = ids[0], ids[1:]
    levels = {sold_out: 2, **{other: 5 for other in others}}
    sku = factory.sku(stock=levels)
    since = Stock(api, sku).updated_at
    order = factory.create_order(warehouse_id=sold_out, items=[{"sku": sku, "quantity": 2}])
    driver.ship(order["id"])
    polls = (
        ("the unfiltered poll", {"updated_since": since}, ids),
        (f"the poll of warehouse {sold_out}", {"updated_since": since, "warehouse_id": sold_out},
         [sold_out]),
    )  # fmt: skip
    for label, params, expected in polls:
        rows = read_rows(
            api, "/inventory", params, max_pages=MAX_PAGES, limit=100, why=f"{label} for {sku}"
        )
        entries = entries_of(rows, sku)
        assert entries is not None, (
            f"expected SKU {sku}, sold out at {sold_out}, in {label} (GET /inventory with "
            f"{params}), got it absent from {len(rows)} row(s)"
        )
        missing = [w for w in expected if w not in entries]
        assert not missing, (
            f"expected SKU {sku}'s entries for {expected} in {label} (GET /inventory with "
            f"{params}), got only {sorted(entries)}: the sold-out entry must stay, at 0"
        )
        numbers = {k: entries[sold_out].get(k) for k in ("on_hand", "available")}
        assert numbers == {"on_hand": 0, "available": 0}, (
            f"expected on_hand 0 and available 0 at {sold_out} for SKU {sku} in {label}, got "
            f"{entries[sold_out]}"
        )
        for other in (w for w in expected if w != sold_out):
            assert entries[other].get("on_hand") == levels[other], (
                f"expected on_hand {levels[other]} at {other} for SKU {sku} in {label}, got "
                f"{entries[other]}"
            )
