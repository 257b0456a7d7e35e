"""Inventory adjustments: stock changes outside orders, as signed deltas with a reason
(guide § 5b; decisions 21 and 22).

Damage, cycle counts, lost and found units change `on_hand` without an order; the ERP learns
why from `GET /inventory-adjustments?updated_since=...`. The warehouse side records them through
the driver (`adjust`); every check adjusts fresh run-tagged SKUs.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient
from conformance.listing import parse_ts
from conformance.scenarios import (
    FAR_PAST,
    Polled,
    Stock,
    error_code,
    gap,
    judge_cursors,
    judge_filters,
    judge_walk,
    poll,
    sandbox_api,
    stamp_of,
)

REASONS = ("damaged", "cycle_count", "lost", "found", "expired")


def adjustments_of(api: ApiClient, sku: str) -> list[dict[str, Any]]:
    """Every adjustment of one SKU a poller sees (GET /inventory-adjustments?sku=...)."""
    return poll(api, "/inventory-adjustments", {"sku": sku, "updated_since": FAR_PAST})


@requirement("ADJ-001")
def test_adjustments_are_listed_with_signed_delta_and_reason(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """20 on hand; the warehouse records -3 damaged (with a note) and +2 found: the SKU's
    adjustments list both with sku, warehouse_id, the signed quantity_delta, the reason, the
    note and an RFC 3339 adjusted_at."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 20})
    wanted = [(-3, "damaged", f"ck damaged {factory.run_id}"), (2, "found", None)]
    for delta, reason, note in wanted:
        driver.adjust(sku, warehouse, delta, reason, note)
    rows = adjustments_of(api, sku)
    for delta, reason, note in wanted:
        match = [
            row
            for row in rows
            if row.get("quantity_delta") == delta
            and row.get("reason") == reason
            and row.get("sku") == sku
            and row.get("warehouse_id") == warehouse
        ]
        assert match, (
            f"expected an adjustment of {sku} at {warehouse} with quantity_delta {delta} and "
            f"reason {reason}, got {[(r.get('quantity_delta'), r.get('reason')) for r in rows]} "
            f"(GET /inventory-adjustments?sku={sku})"
        )
        row = match[0]
        assert "note" in row and (note is None or row["note"] == note), (
            f"expected note {note!r} on the {reason} adjustment, got "
            f"{row.get('note', '<absent>')!r} (GET /inventory-adjustments?sku={sku})"
        )
        assert parse_ts(row.get("adjusted_at")) is not None, (
            f"expected an RFC 3339 adjusted_at on the {reason} adjustment, got "
            f"{row.get('adjusted_at')!r} (GET /inventory-adjustments?sku={sku})"
        )
    strange = [
        row.get("reason")
        for row in rows
        if row.get("reason") not in REASONS or not row.get("quantity_delta")
    ]
    assert not strange, (
        f"expected non-zero deltas with reasons among {REASONS}, got {strange} "
        f"(GET /inventory-adjustments?sku={sku})"
    )


@requirement("ADJ-002")
def test_adjustment_changes_on_hand_by_its_delta(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """10 on hand: -4 (damaged) reads on_hand 6, then +3 (cycle_count) reads 9; the SKU's
    updated_at advances after each."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 10})
    previous = Stock(api, sku)
    for delta, reason, on_hand in ((-4, "damaged", 6), (3, "cycle_count", 9)):
        gap()
        driver.adjust(sku, warehouse, delta, reason, None)
        stock = Stock(api, sku)
        got = stock.at(warehouse).get("on_hand")
        assert got == on_hand, (
            f"expected on_hand {on_hand} for {sku} at {warehouse} after a {delta:+d} adjustment, "
            f"got {got} ({stock.response.describe()})"
        )
        before, after = parse_ts(previous.updated_at), parse_ts(stock.updated_at)
        assert before is not None and after is not None and after > before, (
            f"expected {sku}'s updated_at to advance after a {delta:+d} adjustment, got "
            f"{previous.updated_at} -> {stock.updated_at} ({stock.response.describe()})"
        )
        previous = stock


@pytest.fixture(scope="module")
def adjustment_list(
    api: ApiClient, driver: WarehouseDriver, reference_data: ReferenceData
) -> Polled:
    """Three adjustments written ms apart: two of one SKU (at two warehouses when there are
    two), one of another."""
    factory = TestData(api, driver, reference_data)
    ids = [str(w) for w in factory.warehouse_ids]
    second = ids[1] if len(ids) > 1 else ids[0]
    first_sku = factory.sku(stock={ids[0]: 10, second: 10})
    other_sku = factory.sku(stock={ids[0]: 10})
    rows = []
    for sku, warehouse, delta in (
        (first_sku, ids[0], -1),
        (other_sku, ids[0], 2),
        (first_sku, second, 1),
    ):
        adjustment = driver.adjust(sku, warehouse, delta, "cycle_count", None)
        stamp_of(adjustment, "adjustment the driver recorded")
        rows.append(adjustment)
        gap()
    filters = [
        ("sku", first_sku, {str(rows[0]["id"]), str(rows[2]["id"])}),
        ("warehouse_id", second, {str(rows[2]["id"])}),
    ]
    return Polled(api, "/inventory-adjustments", rows, filters)


@requirement("ADJ-003")
def test_list_follows_the_polling_conventions(api: ApiClient, adjustment_list: Polled) -> None:
    """Walks GET /inventory-adjustments?updated_since=<first adjustment's updated_at> in pages
    of 2: each of the three adjustments exactly once, nothing older, pages within limit,
    has_more agrees with next_cursor, ascending (updated_at, id); a malformed cursor and a
    cursor with another updated_since are 400 invalid_cursor."""
    judge_walk(adjustment_list)
    judge_cursors(api, adjustment_list)


@requirement("ADJ-003")
def test_list_filters_by_sku_and_warehouse(api: ApiClient, adjustment_list: Polled) -> None:
    """sku and warehouse_id each return the matching adjustments of this run and only rows
    matching the filter."""
    judge_filters(api, adjustment_list)


@requirement("ADJ-004")
def test_adjustment_below_allocated_is_refused(
    api: ApiClient, factory: TestData, conformance_config: Config
) -> None:
    """5 on hand, an order allocating 4: POST /sandbox/inventory-adjustments of -2 (on_hand 3
    < allocated 4) is 409 insufficient_stock; on_hand stays 5 and no new adjustment is listed."""
    control = sandbox_api(api, conformance_config)
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 5})
    factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 4}])
    # Setting stock may itself be recorded as an adjustment: only new rows count.
    earlier = {row.get("id") for row in adjustments_of(api, sku)}
    body = {"sku": sku, "warehouse_id": warehouse, "quantity_delta": -2, "reason": "lost"}
    resp = control.request("POST", "/sandbox/inventory-adjustments", json=body)
    assert resp.status == 409 and error_code(resp) == "insufficient_stock", (
        f"expected 409 insufficient_stock for -2 with 5 on hand and 4 allocated, got "
        f"{resp.status} {error_code(resp)!r} ({resp.describe()})"
    )
    stock = Stock(api, sku)
    on_hand = stock.at(warehouse).get("on_hand")
    recorded = [row.get("id") for row in adjustments_of(api, sku) if row.get("id") not in earlier]
    assert on_hand == 5 and not recorded, (
        f"expected on_hand 5 and no adjustment of {sku} after the refusal, got on_hand "
        f"{on_hand} and adjustments {recorded} ({stock.response.describe()})"
    )
