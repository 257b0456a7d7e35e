"""Customer returns and RMAs (the guide, § 5c): expected -> received -> processed.

The ERP may pre-authorise a return (`createReturn`, status `expected`); the warehouse side
(a sandbox control endpoint) records what arrived, per line with condition and restock flag. A
restocked line adds to `on_hand` at the return's warehouse and feeds backordered orders.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import inventory, lines, orders, webhooks
from .errors import ApiError
from .paging import ListQuery, equal_filters, list_page
from .reference import require_warehouse
from .storage import Tx, dumps, new_id, owned_row


def render(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    order = conn.execute("SELECT order_number FROM orders WHERE id = ?", (row["order_id"],))
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "order_number": order.fetchone()["order_number"],
        "rma": row["rma"],
        "status": row["status"],
        "received_at": row["received_at"],
        "warehouse_id": row["warehouse_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "items": json.loads(row["doc"])["items"],
    }


def _row(conn: sqlite3.Connection, partner: str, return_id: str) -> sqlite3.Row:
    return owned_row(conn, "returns", partner, return_id, "Return")


def get(conn: sqlite3.Connection, partner: str, return_id: str) -> dict[str, Any]:
    return render(conn, _row(conn, partner, return_id))


def list_returns(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="returns",
        table="returns",
        id_column="id",
        partner=partner,
        query=query,
        conditions=equal_filters("order_id", "status"),
        render=lambda row: render(conn, row),
    )


def _named(tx: Tx, table: str, field: str, value: str) -> sqlite3.Row:
    """The partner's row of `table` a body names in `field`. An unknown one is a data-dependent
    refusal with its own code (`unknown_order`, `unknown_return`), never `validation_failed`:
    the request is valid against the schema (API-010)."""
    row: sqlite3.Row | None = tx.conn.execute(
        f"SELECT * FROM {table} WHERE id = ? AND partner = ?", (value, tx.partner)
    ).fetchone()
    if row is None:
        kind = field.removesuffix("_id")
        raise ApiError(
            422, f"unknown_{kind}", f"{field} '{value}' is not a known {kind}.", field=field
        )
    return row


def _order(tx: Tx, order_id: str) -> sqlite3.Row:
    return _named(tx, "orders", "order_id", order_id)


def _check_lines(tx: Tx, order: sqlite3.Row, items: list[dict[str, Any]]) -> None:
    ordered = orders.ordered_by_sku(json.loads(order["doc"])["items"])
    for index, line in enumerate(items):
        if line["sku"] not in ordered:
            raise ApiError(
                422,
                "unknown_sku",
                f"SKU '{line['sku']}' is not on order '{order['id']}'.",
                field=f"items[{index}].sku",
            )


def _order_lines(order: sqlite3.Row) -> list[dict[str, Any]]:
    return lines.with_ids(json.loads(order["doc"])["items"])


def _name_lines(
    order: sqlite3.Row, items: list[dict[str, Any]], announced: list[dict[str, Any]] | None
) -> None:
    """Puts each received item's order line first in it (decision 46)."""
    line_ids = lines.for_return(_order_lines(order), items, announced)
    for index, line_id in enumerate(line_ids):
        items[index] = {"line_id": line_id, **items[index]}


def create(tx: Tx, body: dict[str, Any]) -> str:
    """An expected return (RMA) announced by the ERP."""
    order = _order(tx, body["order_id"])
    _check_lines(tx, order, body["items"])
    warehouse_id = body.get("warehouse_id") or order["warehouse_id"]
    require_warehouse(tx, warehouse_id)
    existing = tx.conn.execute(
        "SELECT id FROM returns WHERE partner = ? AND rma = ?", (tx.partner, body["rma"])
    ).fetchone()
    if existing is not None:  # an RMA number is unique per partner (decision 51)
        raise ApiError(
            409,
            "duplicate_reference",
            f"A return with RMA '{body['rma']}' already exists.",
            field="rma",
            existing_return_id=existing["id"],
        )
    line_ids = lines.for_return(_order_lines(order), body["items"])
    items = [
        {
            "line_id": line_id,
            "sku": line["sku"],
            "quantity": line["quantity"],
            "condition": None,
            "restocked": False,
        }
        for line, line_id in zip(body["items"], line_ids, strict=True)
    ]
    stamp = tx.stamp("returns")
    return_id = new_id("ret")
    tx.conn.execute(
        "INSERT INTO returns (id, partner, order_id, rma, status, warehouse_id, received_at, "
        "created_at, updated_at, doc) VALUES (?,?,?,?,'expected',?,NULL,?,?,?)",
        (
            return_id,
            tx.partner,
            order["id"],
            body["rma"],
            warehouse_id,
            stamp,
            stamp,
            dumps({"items": items}),
        ),
    )
    return return_id


def receive(tx: Tx, body: dict[str, Any]) -> str:
    """The warehouse records a return arriving (optionally fulfilling an expected RMA)."""
    order = _order(tx, body["order_id"])
    _check_lines(tx, order, body["items"])
    items = [
        {key: line[key] for key in ("sku", "quantity", "condition", "restocked")}
        for line in body["items"]
    ]
    stamp = tx.stamp("returns")
    expected_id = body.get("return_id")
    announced = None
    if expected_id is not None:
        existing = _named(tx, "returns", "return_id", expected_id)
        announced = json.loads(existing["doc"])["items"]
        if existing["status"] != "expected" or existing["order_id"] != order["id"]:
            raise ApiError(
                409,
                "invalid_transition",
                f"Return '{expected_id}' is {existing['status']} for order "
                f"'{existing['order_id']}' and cannot be received for this order.",
            )
        return_id, warehouse_id = expected_id, existing["warehouse_id"]
        _name_lines(order, items, announced)
        tx.conn.execute(
            "UPDATE returns SET status = 'received', received_at = ?, updated_at = ?, doc = ?, "
            "rma = COALESCE(?, rma) WHERE id = ?",
            (stamp, stamp, dumps({"items": items}), body.get("rma"), return_id),
        )
    else:
        return_id, warehouse_id = new_id("ret"), order["warehouse_id"]
        _name_lines(order, items, announced)
        tx.conn.execute(
            "INSERT INTO returns (id, partner, order_id, rma, status, warehouse_id, received_at,"
            " created_at, updated_at, doc) VALUES (?,?,?,?,'received',?,?,?,?,?)",
            (
                return_id,
                tx.partner,
                order["id"],
                body.get("rma"),
                warehouse_id,
                stamp,
                stamp,
                stamp,
                dumps({"items": items}),
            ),
        )
    for line in items:
        if line["restocked"]:
            inventory.change_stock(tx, line["sku"], warehouse_id, on_hand=line["quantity"])
            orders.allocate_backorders(tx, line["sku"], warehouse_id)
    webhooks.emit(tx, "return.received", get(tx.conn, tx.partner, return_id))
    return return_id


def process(tx: Tx, return_id: str) -> None:
    row = _row(tx.conn, tx.partner, return_id)
    if row["status"] != "received":
        raise ApiError(
            409,
            "invalid_transition",
            f"Return '{return_id}' is {row['status']}; only a received return can be processed.",
        )
    tx.conn.execute(
        "UPDATE returns SET status = 'processed', updated_at = ? WHERE id = ?",
        (tx.stamp("returns"), return_id),
    )
