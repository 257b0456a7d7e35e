"""Stock per SKU and warehouse, and the allocation arithmetic (decisions 21-22).

Invariants, enforced here (and `allocated <= on_hand` by a CHECK constraint):
`allocated + unavailable <= on_hand`, so `available = on_hand - allocated - unavailable` is never
negative; `unavailable` units (quarantined, damaged, held: decision 57) are never allocated;
demand beyond the sellable stock is `backordered`.
Every change to a SKU's numbers bumps that SKU's `updated_at` and, at commit, emits one
`inventory.updated` event with the SKU's full inventory object.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from . import webhooks
from .errors import ApiError
from .paging import ListQuery, equal_filters, list_page
from .storage import Tx, new_id

ADJUSTMENT_REASONS = ("damaged", "cycle_count", "lost", "found", "expired")


def sku_exists(conn: sqlite3.Connection, partner: str, sku: str) -> bool:
    row = conn.execute("SELECT 1 FROM skus WHERE partner = ? AND sku = ?", (partner, sku))
    return row.fetchone() is not None


def ensure_sku(tx: Tx, sku: str) -> None:
    if not sku_exists(tx.conn, tx.partner, sku):
        stamp = tx.stamp("skus")
        tx.conn.execute(
            "INSERT INTO skus (partner, sku, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (tx.partner, sku, stamp, stamp),
        )


def stock(tx: Tx, sku: str, warehouse_id: str) -> sqlite3.Row:
    """The stock row for (sku, warehouse), created at zero when missing."""
    tx.conn.execute(
        "INSERT OR IGNORE INTO stock (partner, sku, warehouse_id) VALUES (?, ?, ?)",
        (tx.partner, sku, warehouse_id),
    )
    row: sqlite3.Row = tx.conn.execute(
        "SELECT * FROM stock WHERE partner = ? AND sku = ? AND warehouse_id = ?",
        (tx.partner, sku, warehouse_id),
    ).fetchone()
    return row


def change_stock(
    tx: Tx,
    sku: str,
    warehouse_id: str,
    *,
    on_hand: int = 0,
    allocated: int = 0,
    incoming: int = 0,
    backordered: int = 0,
) -> None:
    """Apply deltas to one stock row and bump the SKU; the caller keeps the invariants."""
    if not (on_hand or allocated or incoming or backordered):
        return
    ensure_sku(tx, sku)
    stock(tx, sku, warehouse_id)
    tx.conn.execute(
        "UPDATE stock SET on_hand = on_hand + ?, allocated = allocated + ?, "
        "incoming = MAX(0, incoming + ?), backordered = backordered + ? "
        "WHERE partner = ? AND sku = ? AND warehouse_id = ?",
        (on_hand, allocated, incoming, backordered, tx.partner, sku, warehouse_id),
    )
    touch_sku(tx, sku)
    if on_hand:
        tx.on_hand_skus.add(sku)


def touch_sku(tx: Tx, sku: str) -> None:
    tx.conn.execute(
        "UPDATE skus SET updated_at = ? WHERE partner = ? AND sku = ?",
        (tx.stamp("skus"), tx.partner, sku),
    )
    tx.changed_skus.add(sku)
    tx.before_commit("inventory.updated", _emit_inventory_events)


def _emit_inventory_events(tx: Tx) -> None:
    changed = tx.changed_skus
    if tx.db.inventory_events == "on_hand_only":
        changed = changed & tx.on_hand_skus  # allocation-only changes fire nothing
    for sku in sorted(changed):
        item = render_item(tx.conn, tx.partner, sku)
        if item is not None:
            webhooks.emit(tx, "inventory.updated", item)


def render_item(
    conn: sqlite3.Connection, partner: str, sku: str, warehouse_id: str | None = None
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM skus WHERE partner = ? AND sku = ?", (partner, sku)
    ).fetchone()
    if row is None:
        return None
    return _render(conn, row, warehouse_id)


def _render(conn: sqlite3.Connection, row: sqlite3.Row, warehouse_id: str | None) -> dict[str, Any]:
    sql = "SELECT * FROM stock WHERE partner = ? AND sku = ?"
    params: list[Any] = [row["partner"], row["sku"]]
    if warehouse_id is not None:
        sql += " AND warehouse_id = ?"
        params.append(warehouse_id)
    warehouses = [
        {
            "warehouse_id": s["warehouse_id"],
            "on_hand": s["on_hand"],
            "available": sellable(s),
            "allocated": s["allocated"],
            "incoming": s["incoming"],
            "backordered": s["backordered"],
            "unavailable": s["unavailable"],
        }
        for s in conn.execute(sql + " ORDER BY warehouse_id", params)
    ]
    return {"sku": row["sku"], "updated_at": row["updated_at"], "warehouses": warehouses}


def sellable(row: sqlite3.Row) -> int:
    """Units that can still be allocated: on hand, not allocated, not set aside (decision 57)."""
    return int(row["on_hand"] - row["allocated"] - row["unavailable"])


def list_inventory(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    def conditions(filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if filters.get("sku") is not None:
            where.append("sku = ?")
            params.append(filters["sku"])
        if filters.get("warehouse_id") is not None:
            where.append(
                "EXISTS (SELECT 1 FROM stock s WHERE s.partner = skus.partner "
                "AND s.sku = skus.sku AND s.warehouse_id = ?)"
            )
            params.append(filters["warehouse_id"])
        return where, params

    wh = query.filters.get("warehouse_id")
    page = list_page(
        conn,
        codec,
        resource="inventory",
        table="skus",
        id_column="sku",
        partner=partner,
        query=query,
        conditions=conditions,
        render=lambda row: _render(conn, row, wh),
    )
    return page


# --- allocation ---------------------------------------------------------------------------


def rebalance(
    tx: Tx, order_id: str, warehouse_id: str, demand: dict[str, int], *, complete: bool = False
) -> int:
    """Make an order's allocation match its open demand; returns its backordered units.

    Excess allocation is released; missing allocation is taken from `available`; what cannot
    be covered is backordered (decision 21). A `complete` order (`ship_complete`, decision 55)
    is allocated all or nothing: unless every SKU can be covered it holds no stock at all, so
    the units stay available to other orders and every unit is backordered.
    """
    current = {
        r["sku"]: (r["allocated"], r["backordered"])
        for r in tx.conn.execute("SELECT * FROM order_allocations WHERE order_id = ?", (order_id,))
    }
    nothing = complete and not _coverable(tx, warehouse_id, current, demand)
    total_back = 0
    for sku in sorted(set(current) | set(demand)):
        want = max(0, demand.get(sku, 0))
        alloc, back = current.get(sku, (0, 0))
        new_alloc = 0 if nothing else min(alloc, want)
        if new_alloc < want and not nothing:
            free = sellable(stock(tx, sku, warehouse_id))
            new_alloc += max(0, min(want - new_alloc, free))
        new_back = want - new_alloc
        total_back += new_back
        if (new_alloc, new_back) == (alloc, back):
            continue
        change_stock(
            tx, sku, warehouse_id, allocated=new_alloc - alloc, backordered=new_back - back
        )
        if new_alloc == 0 and new_back == 0:
            tx.conn.execute(
                "DELETE FROM order_allocations WHERE order_id = ? AND sku = ?", (order_id, sku)
            )
        else:
            tx.conn.execute(
                "INSERT INTO order_allocations (order_id, sku, allocated, backordered) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (order_id, sku) DO UPDATE SET "
                "allocated = excluded.allocated, backordered = excluded.backordered",
                (order_id, sku, new_alloc, new_back),
            )
    return total_back


def _coverable(
    tx: Tx, warehouse_id: str, current: dict[str, tuple[int, int]], demand: dict[str, int]
) -> bool:
    """Whether the order's allocation plus what is available covers its demand of every SKU."""
    for sku, want in demand.items():
        row = stock(tx, sku, warehouse_id)
        held = current.get(sku, (0, 0))[0]
        if want > held + row["on_hand"] - row["allocated"]:
            return False
    return True


def consume(tx: Tx, order_id: str, warehouse_id: str, sku: str, quantity: int) -> None:
    """Ship `quantity` allocated units: they leave `on_hand` and `allocated` (decision 22)."""
    row = tx.conn.execute(
        "SELECT allocated FROM order_allocations WHERE order_id = ? AND sku = ?", (order_id, sku)
    ).fetchone()
    allocated = row["allocated"] if row else 0
    if allocated < quantity:
        raise ApiError(
            409,
            "insufficient_stock",
            f"Only {allocated} unit(s) of {sku} are allocated to this order at {warehouse_id}; "
            f"cannot ship {quantity}. Set stock first.",
            field="items",
        )
    change_stock(tx, sku, warehouse_id, on_hand=-quantity, allocated=-quantity)
    tx.conn.execute(
        "UPDATE order_allocations SET allocated = allocated - ? WHERE order_id = ? AND sku = ?",
        (quantity, order_id, sku),
    )


# --- sandbox stock control ----------------------------------------------------------------


def set_on_hand(
    tx: Tx, sku: str, warehouse_id: str, on_hand: int, unavailable: int | None = None
) -> None:
    """A count: the absolute `on_hand`, and with `unavailable` how many of it are not sellable
    (left out, the bucket stays as it was). Units promised to orders cannot be counted away or
    set aside: the sellable rest must still cover `allocated` (SBX-006, decision 57)."""
    ensure_sku(tx, sku)
    row = stock(tx, sku, warehouse_id)
    aside = row["unavailable"] if unavailable is None else unavailable
    if on_hand - aside < row["allocated"]:
        held = f" and {aside} set aside as unavailable" if aside else ""
        raise ApiError(
            409,
            "stock_allocated",
            f"{row['allocated']} unit(s) of {sku} are allocated at {warehouse_id}{held}; "
            f"on_hand cannot drop to {on_hand}.",
            field="unavailable"
            if unavailable is not None and on_hand >= row["allocated"]
            else "on_hand",
        )
    delta = on_hand - row["on_hand"]
    if delta:
        change_stock(tx, sku, warehouse_id, on_hand=delta)
    if aside != row["unavailable"]:
        tx.conn.execute(
            "UPDATE stock SET unavailable = ? WHERE partner = ? AND sku = ? AND warehouse_id = ?",
            (aside, tx.partner, sku, warehouse_id),
        )
    if not delta:
        touch_sku(tx, sku)


def record_adjustment(
    tx: Tx, sku: str, warehouse_id: str, delta: int, reason: str, note: str | None
) -> dict[str, Any]:
    ensure_sku(tx, sku)
    row = stock(tx, sku, warehouse_id)
    if row["on_hand"] + delta < row["allocated"] + row["unavailable"]:
        aside = f" and {row['unavailable']} unavailable" if row["unavailable"] else ""
        raise ApiError(
            409,
            "insufficient_stock",
            f"on_hand of {sku} at {warehouse_id} would drop to {row['on_hand'] + delta}, below "
            f"the {row['allocated']} unit(s) allocated{aside}.",
            field="quantity_delta",
        )
    change_stock(tx, sku, warehouse_id, on_hand=delta)
    stamp = tx.stamp("inventory_adjustments")
    adjustment = {
        "id": new_id("adj"),
        "sku": sku,
        "warehouse_id": warehouse_id,
        "quantity_delta": delta,
        "reason": reason,
        "note": note,
        "adjusted_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
    }
    tx.conn.execute(
        "INSERT INTO inventory_adjustments (id, partner, sku, warehouse_id, quantity_delta, "
        "reason, note, adjusted_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (adjustment["id"], tx.partner, sku, warehouse_id, delta, reason, note, stamp, stamp, stamp),
    )
    webhooks.emit(tx, "inventory.adjusted", adjustment)
    return adjustment


def render_adjustment(row: sqlite3.Row) -> dict[str, Any]:
    keys = (
        "id",
        "sku",
        "warehouse_id",
        "quantity_delta",
        "reason",
        "note",
        "adjusted_at",
        "created_at",
        "updated_at",
    )
    return {key: row[key] for key in keys}


def list_adjustments(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="inventory_adjustments",
        table="inventory_adjustments",
        id_column="id",
        partner=partner,
        query=query,
        conditions=equal_filters("sku", "warehouse_id"),
        render=render_adjustment,
    )
