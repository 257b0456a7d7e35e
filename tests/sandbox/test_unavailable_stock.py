"""Non-sellable stock in the sandbox (decision 57): `unavailable` on the set-stock control."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from fulfillment_sandbox import storage

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient

WH = "wh_syd_1"


def count(acme: SpecClient, sku: str, on_hand: int, **extra: Any) -> Any:
    return acme.post(
        "/sandbox/inventory", json={"sku": sku, "warehouse_id": WH, "on_hand": on_hand, **extra}
    )


def order_of(acme: SpecClient, sku: str, quantity: int) -> dict[str, Any]:
    items = [{"sku": sku, "quantity": quantity, "unit_price": "1.00", "currency": "AUD"}]
    response = acme.create_order(order_body(items=items))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_units_set_aside_stay_on_hand_and_leave_available(acme: SpecClient) -> None:
    sku = new_sku(acme, {WH: 10})
    assert stock_of(acme, sku)["unavailable"] == 0
    response = count(acme, sku, 10, unavailable=3)
    assert response.status_code == 200, response.text
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["unavailable"], level["available"]) == (10, 3, 7)
    # A count without the member leaves the bucket as it was.
    assert count(acme, sku, 12).status_code == 200
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["unavailable"], level["available"]) == (12, 3, 9)


def test_units_set_aside_are_never_allocated_and_released_ones_fill_backorders(
    acme: SpecClient,
) -> None:
    sku = new_sku(acme, {WH: 10})
    assert count(acme, sku, 10, unavailable=3).status_code == 200
    older, newer = order_of(acme, sku, 8), order_of(acme, sku, 1)
    assert (older["status"], newer["status"]) == ("backordered", "backordered")
    level = stock_of(acme, sku)
    assert (level["allocated"], level["available"], level["backordered"]) == (7, 0, 2)
    assert count(acme, sku, 10, unavailable=2).status_code == 200
    statuses = [acme.get(f"/orders/{o['id']}").json()["status"] for o in (older, newer)]
    assert statuses == ["received", "backordered"]


def test_setting_aside_promised_units_is_refused(acme: SpecClient) -> None:
    sku = new_sku(acme, {WH: 10})
    order_of(acme, sku, 8)
    before = stock_of(acme, sku)
    refused = count(acme, sku, 10, unavailable=3)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "stock_allocated"
    assert refused.json()["error"]["field"] == "unavailable"
    assert count(acme, sku, 10, unavailable=2).status_code == 200
    # With 2 aside, a count of 9 would leave 7 sellable for 8 allocated; an adjustment of -1 too.
    assert count(acme, sku, 9).json()["error"]["code"] == "stock_allocated"
    adjust = {"sku": sku, "warehouse_id": WH, "quantity_delta": -1, "reason": "damaged"}
    refused = acme.post("/sandbox/inventory-adjustments", json=adjust)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "insufficient_stock"
    after = stock_of(acme, sku)
    assert (after["on_hand"], after["allocated"], after["unavailable"]) == (10, 8, 2)
    assert after["updated_at"] > before["updated_at"]


def test_an_older_database_gets_the_unavailable_column(tmp_path: Path) -> None:
    db_path = tmp_path / "old.sqlite3"
    storage.Database(str(db_path)).close()
    conn = sqlite3.connect(db_path)
    conn.execute("ALTER TABLE stock DROP COLUMN unavailable")
    conn.execute(
        "INSERT INTO stock (partner, sku, warehouse_id, on_hand) VALUES ('p', 'S', 'w', 4)"
    )
    conn.commit()
    conn.close()
    storage.Database(str(db_path)).close()
    conn = sqlite3.connect(db_path)
    row = conn.execute("SELECT on_hand, unavailable FROM stock WHERE sku = 'S'").fetchone()
    conn.close()
    assert row == (4, 0)
