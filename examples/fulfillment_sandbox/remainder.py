"""Partial fulfilment (decision 47): per-line backordered and cancelled units, and closing an
order short with `POST /orders/{id}/cancel-remainder`.

The units a remainder cancel cuts are kept per line in the order's document (`cut`); they no
longer count as open demand, so nothing is allocated or backordered for them again.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import inventory, lines, orders, reasons, webhooks
from .errors import ApiError
from .storage import Tx, dumps

# Where each status goes (the `cancelOrderRemainder` row of the spec's x-transitions).
CLOSES = {"partially_shipped": "shipped", "backordered": "cancelled"}
CLOSED = ("shipped", "cancelled")


def cancel_remainder(tx: Tx, order_id: str) -> None:
    row = orders.row_for_update(tx, order_id)
    status = row["status"]
    if status in CLOSED:
        return  # idempotent by itself: the order is already closed (PART-004)
    if status == "processing":
        raise ApiError(
            409,
            "too_late_to_cancel",
            "Order is being picked; its remainder can no longer be cancelled.",
            order_status=status,
        )
    if status not in CLOSES:
        raise ApiError(
            409,
            "no_remainder",
            f"Order is {status}; nothing has shipped or waits for stock. Cancel it instead.",
            order_status=status,
        )
    doc = json.loads(row["doc"])
    shipped = lines.shipped_by_line(tx.conn, order_id)
    cut = doc.get("cut", {})
    for line in lines.with_ids(doc["items"]):
        open_units = (
            line["quantity"] - shipped.get(line["line_id"], 0) - cut.get(line["line_id"], 0)
        )
        if open_units > 0:
            cut[line["line_id"]] = cut.get(line["line_id"], 0) + open_units
    doc["cut"] = cut
    if CLOSES[status] == "cancelled":
        doc["cancellation"] = reasons.cancellation("erp", None)  # decision 52, RSN-004
    tx.conn.execute("UPDATE orders SET doc = ? WHERE id = ?", (dumps(doc), order_id))
    inventory.rebalance(tx, order_id, row["warehouse_id"], {})
    if CLOSES[status] == "cancelled":
        orders.touch(tx, order_id, status="cancelled", cancelled_at=tx.stamp("orders"))
        webhooks.emit(tx, "order.cancelled", orders.get(tx.conn, tx.partner, order_id))
    else:
        orders.touch(tx, order_id, status="shipped")


def line_progress(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    order_lines: list[dict[str, Any]],
    shipped: dict[str, int],
) -> dict[str, tuple[int, int]]:
    """line_id -> (backordered_quantity, cancelled_quantity) (PART-001). Allocation fills an
    order's lines of a SKU first line first, so a SKU's backorder sits on its last lines."""
    if row["status"] == "cancelled":
        return {
            line["line_id"]: (0, line["quantity"] - shipped.get(line["line_id"], 0))
            for line in order_lines
        }
    cut = json.loads(row["doc"]).get("cut", {})
    waiting = {
        r["sku"]: r["backordered"]
        for r in conn.execute(
            "SELECT sku, backordered FROM order_allocations WHERE order_id = ?", (row["id"],)
        )
    }
    progress = {}
    for line in reversed(order_lines):
        line_id = line["line_id"]
        open_units = line["quantity"] - shipped.get(line_id, 0) - cut.get(line_id, 0)
        backordered = max(0, min(open_units, waiting.get(line["sku"], 0)))
        waiting[line["sku"]] = waiting.get(line["sku"], 0) - backordered
        progress[line_id] = (backordered, cut.get(line_id, 0))
    return progress
