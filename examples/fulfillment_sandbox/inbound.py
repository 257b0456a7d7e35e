"""Inbound shipments (ASNs): expected stock, then what actually arrived (the guide, § 5a).

Creating an ASN raises `incoming` at its warehouse; receiving moves units into `on_hand`, lowers
`incoming`, records the signed `discrepancy` (received - expected) and allocates the new stock to
backordered orders, oldest first. Units received damaged count as received but stay out of
`on_hand` (decision 54).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import inventory, orders, webhooks
from .errors import ApiError
from .paging import ListQuery, equal_filters, list_page
from .reference import require_warehouse
from .storage import Tx, dumps, new_id, owned_row


def render(row: sqlite3.Row) -> dict[str, Any]:
    doc = json.loads(row["doc"])
    return {
        "id": row["id"],
        "reference": row["reference"],
        "status": row["status"],
        "warehouse_id": row["warehouse_id"],
        "expected_at": doc.get("expected_at"),
        "supplier": doc.get("supplier"),
        "received_at": row["received_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "items": [
            {
                "sku": item["sku"],
                "expected_quantity": item["expected_quantity"],
                "received_quantity": item["received_quantity"],
                # Receipts before decision 54 stored no damaged units.
                "damaged_quantity": item.get("damaged_quantity", 0),
                "discrepancy": item["received_quantity"] - item["expected_quantity"],
            }
            for item in doc["items"]
        ],
    }


def _row(conn: sqlite3.Connection, partner: str, inbound_id: str) -> sqlite3.Row:
    return owned_row(conn, "inbound_shipments", partner, inbound_id, "Inbound shipment")


def get(conn: sqlite3.Connection, partner: str, inbound_id: str) -> dict[str, Any]:
    return render(_row(conn, partner, inbound_id))


def list_inbound(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="inbound_shipments",
        table="inbound_shipments",
        id_column="id",
        partner=partner,
        query=query,
        conditions=equal_filters("reference", "warehouse_id", "status"),
        render=render,
    )


def create(tx: Tx, body: dict[str, Any]) -> str:
    warehouse_id = body["warehouse_id"]
    require_warehouse(tx, warehouse_id)
    existing = tx.conn.execute(
        "SELECT id FROM inbound_shipments WHERE partner = ? AND reference = ?",
        (tx.partner, body["reference"]),
    ).fetchone()
    if existing is not None:  # unique per partner, as an order's reference (decision 51)
        raise ApiError(
            409,
            "duplicate_reference",
            f"An inbound shipment with reference '{body['reference']}' already exists.",
            field="reference",
            existing_inbound_shipment_id=existing["id"],
        )
    merged: dict[str, int] = {}
    for line in body["items"]:
        merged[line["sku"]] = merged.get(line["sku"], 0) + line["expected_quantity"]
    items: list[dict[str, Any]] = [
        {"sku": sku, "expected_quantity": qty, "received_quantity": 0, "open": qty}
        for sku, qty in merged.items()
    ]
    for item in items:
        # A new product may arrive before it was ever stocked: the ASN creates the SKU.
        inventory.change_stock(tx, item["sku"], warehouse_id, incoming=item["expected_quantity"])
    stamp = tx.stamp("inbound_shipments")
    inbound_id = new_id("ib")
    doc = {"expected_at": body.get("expected_at"), "supplier": body.get("supplier"), "items": items}
    tx.conn.execute(
        "INSERT INTO inbound_shipments (id, partner, reference, status, warehouse_id, "
        "received_at, created_at, updated_at, doc) VALUES (?,?,?,'expected',?,NULL,?,?,?)",
        (inbound_id, tx.partner, body["reference"], warehouse_id, stamp, stamp, dumps(doc)),
    )
    return inbound_id


def _damaged_within_received(lines: list[dict[str, Any]]) -> None:
    """422 for a line reporting more damaged units than it received (INB-015): judged before
    anything is received, so a refused receipt changes nothing."""
    for index, line in enumerate(lines):
        damaged, received = line.get("damaged_quantity", 0), line["received_quantity"]
        if damaged > received:
            raise ApiError(
                422,
                "damaged_exceeds_received",
                f"items[{index}] reports {damaged} damaged units but receives only {received}.",
                field=f"items[{index}].damaged_quantity",
            )


def receive(tx: Tx, inbound_id: str, body: dict[str, Any]) -> None:
    row = _row(tx.conn, tx.partner, inbound_id)
    if row["status"] == "received":
        raise ApiError(
            409, "invalid_transition", f"Inbound shipment '{inbound_id}' is already received."
        )
    _damaged_within_received(body["items"])
    doc = json.loads(row["doc"])
    by_sku = {item["sku"]: item for item in doc["items"]}
    warehouse_id = row["warehouse_id"]
    for line in body["items"]:
        item = by_sku.get(line["sku"])
        if item is None:
            # An unexpected SKU in the delivery: record it as a line expected at zero? The
            # schema requires expected_quantity >= 1, so the sandbox refuses it instead.
            raise ApiError(
                422,
                "unknown_sku",
                f"SKU '{line['sku']}' is not on inbound shipment '{inbound_id}'.",
                field="items",
            )
        quantity, damaged = line["received_quantity"], line.get("damaged_quantity", 0)
        item["received_quantity"] += quantity
        item["damaged_quantity"] = item.get("damaged_quantity", 0) + damaged
        # Every unit that arrived closes the ASN's open quantity; only undamaged ones become
        # stock (decision 54, INB-014).
        taken = min(item["open"], quantity)
        item["open"] -= taken
        inventory.change_stock(
            tx, line["sku"], warehouse_id, on_hand=quantity - damaged, incoming=-taken
        )
    complete = body.get("complete", True)
    if complete:
        for item in doc["items"]:
            if item["open"]:
                inventory.change_stock(tx, item["sku"], warehouse_id, incoming=-item["open"])
                item["open"] = 0
    stamp = tx.stamp("inbound_shipments")
    status = "received" if complete else "partially_received"
    tx.conn.execute(
        "UPDATE inbound_shipments SET status = ?, received_at = ?, updated_at = ?, doc = ? "
        "WHERE id = ?",
        (status, stamp, stamp, dumps(doc), inbound_id),
    )
    for item in doc["items"]:
        orders.allocate_backorders(tx, item["sku"], warehouse_id)
    webhooks.emit(tx, "inbound.received", get(tx.conn, tx.partner, inbound_id))
