"""Orders: create, read, list, amend (merge patch + If-Match), cancel, and status upkeep.

State machine (the guide's appendix, decisions 10, 13, 14, 20):
received/backordered/on_hold -> processing (pick) -> partially_shipped -> shipped;
received/backordered/on_hold -> cancelled. Every change to an order bumps `version` and
`updated_at` (decision 12); shipments are embedded, so a shipment change bumps its order too.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import inventory, lines, reasons, webhooks
from .errors import ApiError
from .merge import merge_patch
from .paging import ListQuery, equal_filters, list_page
from .reference import require_warehouse, shipping_method
from .storage import Tx, dumps, format_ms, new_id, owned_row, parse_ms

AMENDABLE = ("received", "backordered", "on_hold")
CANCELLABLE = ("received", "backordered", "on_hold")
OPEN = ("received", "backordered", "on_hold", "processing", "partially_shipped")


def _row(conn: sqlite3.Connection, partner: str, order_id: str) -> sqlite3.Row:
    return owned_row(conn, "orders", partner, order_id, "Order")


def shipped_by_sku(conn: sqlite3.Connection, order_id: str) -> dict[str, int]:
    shipped: dict[str, int] = {}
    for row in conn.execute(
        "SELECT doc FROM shipments WHERE order_id = ? AND voided = 0", (order_id,)
    ):
        for item in json.loads(row["doc"])["items"]:
            shipped[item["sku"]] = shipped.get(item["sku"], 0) + item["quantity"]
    return shipped


def ordered_by_sku(lines: list[dict[str, Any]]) -> dict[str, int]:
    ordered: dict[str, int] = {}
    for line in lines:
        ordered[line["sku"]] = ordered.get(line["sku"], 0) + line["quantity"]
    return ordered


def open_demand(conn: sqlite3.Connection, order: sqlite3.Row) -> dict[str, int]:
    """Units still to ship per SKU (nothing for a cancelled order)."""
    if order["status"] == "cancelled":
        return {}
    shipped = shipped_by_sku(conn, order["id"])
    doc = json.loads(order["doc"])
    # Units a remainder cancel cut are no longer owed (decision 47).
    cut: dict[str, int] = {}
    for line in lines.with_ids(doc["items"]):
        cut[line["sku"]] = cut.get(line["sku"], 0) + doc.get("cut", {}).get(line["line_id"], 0)
    return {
        sku: qty - shipped.get(sku, 0) - cut.get(sku, 0)
        for sku, qty in ordered_by_sku(doc["items"]).items()
    }


SHIP_AVAILABLE = "ship_available"


def ship_complete(doc: dict[str, Any]) -> bool:
    """Whether the order is allocated all or nothing (decision 55)."""
    return doc.get("fulfillment_policy", SHIP_AVAILABLE) == "ship_complete"


def reallocate(tx: Tx, row: sqlite3.Row) -> int:
    """Rebalance a stored order's allocation to its open demand under its policy; returns its
    backordered units."""
    complete = ship_complete(json.loads(row["doc"]))
    demand = open_demand(tx.conn, row)
    return inventory.rebalance(tx, row["id"], row["warehouse_id"], demand, complete=complete)


def render(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    from .remainder import line_progress
    from .shipments import render as render_shipment

    doc = json.loads(row["doc"])
    shipment_rows = conn.execute(
        "SELECT * FROM shipments WHERE order_id = ? ORDER BY created_at, id", (row["id"],)
    ).fetchall()
    shipments = [render_shipment(s, row["order_number"]) for s in shipment_rows]
    shipped_lines = lines.shipped_by_line(conn, row["id"])
    order_lines = lines.with_ids(doc["items"])
    progress = line_progress(conn, row, order_lines, shipped_lines)
    items = []
    for line in order_lines:
        items.append(
            {
                "line_id": line["line_id"],
                "sku": line["sku"],
                "description": line.get("description"),
                "quantity": line["quantity"],
                "unit_price": line.get("unit_price"),
                "currency": line.get("currency"),
                "shipped_quantity": shipped_lines.get(line["line_id"], 0),
                "backordered_quantity": progress[line["line_id"]][0],
                "cancelled_quantity": progress[line["line_id"]][1],
            }
        )
    return {
        "id": row["id"],
        "order_number": row["order_number"],
        "reference": row["reference"],
        "status": row["status"],
        "warehouse_id": row["warehouse_id"],
        "shipping_method_id": doc.get("shipping_method_id"),
        "shipping_method": doc.get("shipping_method"),
        "order_date": doc["order_date"],
        "signature_required": doc.get("signature_required", False),
        "insurance": doc.get("insurance", False),
        "fulfillment_policy": doc.get("fulfillment_policy", SHIP_AVAILABLE),
        "gift_message": doc.get("gift_message"),
        "packing_note": doc.get("packing_note"),
        "ship_to": doc["ship_to"],
        "items": items,
        "version": str(row["version"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "cancelled_at": row["cancelled_at"],
        **reasons.shown(row["status"], doc),
        "shipments": shipments,
    }


def get(conn: sqlite3.Connection, partner: str, order_id: str) -> dict[str, Any]:
    return render(conn, _row(conn, partner, order_id))


def list_orders(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="orders",
        table="orders",
        id_column="id",
        partner=partner,
        query=query,
        conditions=equal_filters("order_number", "reference", "status"),
        render=lambda row: render(conn, row),
    )


# --- validation against reference data ---------------------------------------------------


def _resolve_method(tx: Tx, body: dict[str, Any], doc: dict[str, Any]) -> None:
    """Set shipping_method_id/shipping_method from an id (must exist) or a free-text name."""
    method_id = body.get("shipping_method_id")
    name = body.get("shipping_method")
    if method_id is not None:
        row = shipping_method(tx.conn, tx.partner, method_id=method_id)
        if row is None:
            raise ApiError(
                422,
                "invalid_shipping_method",
                f"shipping_method_id '{method_id}' is not a known shipping method.",
                field="shipping_method_id",
            )
        doc["shipping_method_id"], doc["shipping_method"] = row["id"], row["name"]
    elif name is not None:
        row = shipping_method(tx.conn, tx.partner, name=name)
        doc["shipping_method_id"] = row["id"] if row else None
        doc["shipping_method"] = row["name"] if row else name
    else:
        doc["shipping_method_id"] = doc.get("shipping_method_id")
        doc["shipping_method"] = doc.get("shipping_method")


def _check_skus(tx: Tx, items: list[dict[str, Any]]) -> None:
    for index, line in enumerate(items):
        if not inventory.sku_exists(tx.conn, tx.partner, line["sku"]):
            raise ApiError(
                422,
                "unknown_sku",
                f"SKU '{line['sku']}' is not known to the warehouse.",
                field=f"items[{index}].sku",
                **lines.line_of_error(items, index),
            )


def _lines(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines to store, each with its line_id (decision 46)."""
    return lines.with_ids(items)


# --- writes --------------------------------------------------------------------------------


def create(tx: Tx, body: dict[str, Any]) -> str:
    require_warehouse(tx, body["warehouse_id"])
    existing = tx.conn.execute(
        "SELECT id FROM orders WHERE partner = ? AND reference = ? AND status != 'cancelled'",
        (tx.partner, body["reference"]),
    ).fetchone()
    if existing is not None:
        raise ApiError(
            409,
            "duplicate_reference",
            f"An order with reference '{body['reference']}' already exists.",
            field="reference",
            existing_order_id=existing["id"],
        )
    doc: dict[str, Any] = {}
    _resolve_method(tx, body, doc)
    lines.refuse_duplicates(body["items"])
    _check_skus(tx, body["items"])
    stamp = tx.stamp("orders")
    order_date = body.get("order_date")
    doc.update(
        order_date=format_ms(parse_ms(order_date)) if order_date else stamp,
        signature_required=body.get("signature_required", False),
        insurance=body.get("insurance", False),
        fulfillment_policy=body.get("fulfillment_policy", SHIP_AVAILABLE),
        gift_message=body.get("gift_message"),
        packing_note=body.get("packing_note"),
        ship_to=body["ship_to"],
        items=_lines(body["items"]),
    )
    order_id = new_id("ord")
    tx.conn.execute(
        "INSERT INTO orders (id, partner, order_number, reference, status, warehouse_id, version,"
        " created_at, updated_at, cancelled_at, doc) VALUES (?,?,?,?,?,?,1,?,?,NULL,?)",
        (
            order_id,
            tx.partner,
            body["order_number"],
            body["reference"],
            "received",
            body["warehouse_id"],
            stamp,
            stamp,
            dumps(doc),
        ),
    )
    backordered = inventory.rebalance(
        tx,
        order_id,
        body["warehouse_id"],
        ordered_by_sku(doc["items"]),
        complete=ship_complete(doc),
    )
    if backordered:
        tx.conn.execute("UPDATE orders SET status = 'backordered' WHERE id = ?", (order_id,))
    return order_id


def touch(tx: Tx, order_id: str, **columns: Any) -> None:
    """Update columns of an order and bump its version and updated_at (decision 12), then
    announce the change (`changed`). Every change of an order after its creation goes through
    here, so every one fires order.updated."""
    sets = "".join(f"{name} = ?, " for name in columns)
    tx.conn.execute(
        f"UPDATE orders SET {sets}version = version + 1, updated_at = ? WHERE id = ?",
        (*columns.values(), tx.stamp("orders"), order_id),
    )
    changed(tx, order_id)


def changed(tx: Tx, order_id: str) -> None:
    """order.updated with the full order as it now is (decision 45). `touch` calls it; a change
    that writes the order some other way calls it after its last write."""
    webhooks.emit(tx, "order.updated", get(tx.conn, tx.partner, order_id))


def check_if_match(if_match: str | None, version: int) -> None:
    """A stale If-Match gets 409 version_conflict; none at all is applied (decision 9)."""
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return
    current = str(version)
    for tag in tags:
        tag = tag.removeprefix("W/")
        if tag.strip('"') == current:
            return
    raise ApiError(
        409,
        "version_conflict",
        f"If-Match '{if_match}' does not match the current version '\"{current}\"'.",
        field="If-Match",
    )


def amend(tx: Tx, order_id: str, patch: dict[str, Any], if_match: str | None) -> None:
    row = _row(tx.conn, tx.partner, order_id)
    check_if_match(if_match, row["version"])
    if row["status"] not in AMENDABLE:
        raise ApiError(
            409,
            "too_late_to_amend",
            f"Order is {row['status']}; it can only be amended before picking. "
            "Cancel and recreate it instead.",
            order_status=row["status"],
        )
    doc = json.loads(row["doc"])
    if "shipping_method_id" in patch or "shipping_method" in patch:
        merged = {
            "shipping_method_id": patch.get("shipping_method_id"),
            "shipping_method": patch.get("shipping_method"),
        }
        if "shipping_method_id" not in patch and patch.get("shipping_method") is not None:
            merged["shipping_method_id"] = None
        doc["shipping_method_id"], doc["shipping_method"] = None, None
        _resolve_method(tx, merged, doc)
    for key in (
        "signature_required",
        "insurance",
        "fulfillment_policy",
        "gift_message",
        "packing_note",
    ):
        if key in patch:
            doc[key] = patch[key]
    if "ship_to" in patch:  # merged member by member; the schema keeps required members non-null
        doc["ship_to"] = merge_patch(doc["ship_to"], patch["ship_to"])
    if "items" in patch:
        lines.refuse_duplicates(patch["items"])
        _check_skus(tx, patch["items"])
        doc["items"] = _lines(patch["items"])
    status = row["status"]
    tx.conn.execute("UPDATE orders SET doc = ? WHERE id = ?", (dumps(doc), order_id))
    if "items" in patch or "fulfillment_policy" in patch:  # POL-005: redone under the policy
        backordered = inventory.rebalance(
            tx,
            order_id,
            row["warehouse_id"],
            ordered_by_sku(doc["items"]),
            complete=ship_complete(doc),
        )
        if status in ("received", "backordered"):
            status = "backordered" if backordered else "received"
    touch(tx, order_id, status=status)


def cancel(tx: Tx, order_id: str, body: Any = None) -> bool:
    """Cancel; True when this call cancelled it, False when it already was (decision 13), in
    which case the first cancellation stays (decision 52)."""
    row = _row(tx.conn, tx.partner, order_id)
    if row["status"] == "cancelled":
        return False
    if row["status"] == "processing":
        raise ApiError(
            409,
            "too_late_to_cancel",
            "Order is being picked; it can no longer be cancelled.",
            order_status=row["status"],
        )
    if row["status"] in ("partially_shipped", "shipped"):
        raise ApiError(409, "already_shipped", "Order has shipped.", order_status=row["status"])
    close_cancelled(tx, row, reasons.cancellation("erp", body))
    return True


def warehouse_cancel(tx: Tx, order_id: str, body: Any = None) -> None:
    """The warehouse cancels at its end (decision 52): any order not yet shipped from."""
    row = require_status(tx, order_id, (*CANCELLABLE, "processing"), "cancelled")
    close_cancelled(tx, row, reasons.cancellation("warehouse", body))


def close_cancelled(tx: Tx, row: sqlite3.Row, cancellation: dict[str, Any]) -> None:
    """Releases the order's stock, records why, and fires order.updated and order.cancelled."""
    reasons.record(tx, row["id"], "cancellation", cancellation)
    inventory.rebalance(tx, row["id"], row["warehouse_id"], {})
    touch(tx, row["id"], status="cancelled", cancelled_at=tx.stamp("orders"))
    webhooks.emit(tx, "order.cancelled", get(tx.conn, tx.partner, row["id"]))


def allocate_backorders(tx: Tx, sku: str, warehouse_id: str) -> None:
    """After stock rises, allocate to backordered orders of this SKU/warehouse, oldest first."""
    rows = tx.conn.execute(
        "SELECT o.* FROM orders o JOIN order_allocations a ON a.order_id = o.id "
        "WHERE o.partner = ? AND o.warehouse_id = ? AND a.sku = ? AND a.backordered > 0 "
        "ORDER BY o.created_at, o.id",
        (tx.partner, warehouse_id, sku),
    ).fetchall()
    for row in rows:
        backordered = reallocate(tx, row)
        if row["status"] == "backordered" and not backordered:
            touch(tx, row["id"], status="received")


def require_status(tx: Tx, order_id: str, allowed: tuple[str, ...], step: str) -> sqlite3.Row:
    row = _row(tx.conn, tx.partner, order_id)
    if row["status"] not in allowed:
        raise ApiError(
            409,
            "invalid_transition",
            f"Order '{order_id}' is {row['status']} and cannot be {step}.",
            order_status=row["status"],
        )
    return row


def pick(tx: Tx, order_id: str) -> None:
    require_status(tx, order_id, ("received", "on_hold", "backordered"), "picked")
    touch(tx, order_id, status="processing")


def hold(tx: Tx, order_id: str, body: Any = None) -> None:
    require_status(tx, order_id, ("received", "backordered"), "put on hold")
    reasons.record(tx, order_id, "hold", reasons.hold(body))
    touch(tx, order_id, status="on_hold")


def row_for_update(tx: Tx, order_id: str) -> sqlite3.Row:
    return _row(tx.conn, tx.partner, order_id)
