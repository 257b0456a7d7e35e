"""Reasons on orders (decisions 52 and 53): `cancellation` on cancelled orders, `hold` on held
ones, and the warehouse-side cancel.

Both are kept in the order's document and shown only while the status they explain holds, so a
hold that ends (a pick, a cancel) clears `hold` without another write.
"""

from __future__ import annotations

import json
from typing import Any

from .storage import Tx, dumps

# What an order cancelled before reasons existed, or by a path that gives none, reads as.
NO_REASON: dict[str, Any] = {"reason_code": None, "cancelled_by": "erp", "message": None}
# What the warehouse reports when it holds an order without a code (decision 53).
DEFAULT_HOLD_CODE = "other"


def given(body: Any) -> tuple[str | None, str | None]:
    """The `reason_code` and `message` of an optional ReasonRequest body (already validated);
    anything else in it is ignored (CAN-010)."""
    if not isinstance(body, dict):
        return None, None
    return body.get("reason_code"), body.get("message")


def cancellation(cancelled_by: str, body: Any) -> dict[str, Any]:
    reason_code, message = given(body)
    if cancelled_by == "warehouse" and reason_code is None:
        reason_code = DEFAULT_HOLD_CODE  # the warehouse always knows why; `other` when unsaid
    return {"reason_code": reason_code, "cancelled_by": cancelled_by, "message": message}


def hold(body: Any) -> dict[str, Any]:
    reason_code, message = given(body)
    return {"reason_code": reason_code or DEFAULT_HOLD_CODE, "message": message}


def record(tx: Tx, order_id: str, key: str, value: dict[str, Any]) -> None:
    """Stores `value` as the order's `key` ("cancellation" or "hold") before the status change
    that shows it, so the change's events already carry it."""
    row = tx.conn.execute("SELECT doc FROM orders WHERE id = ?", (order_id,)).fetchone()
    doc = json.loads(row["doc"])
    doc[key] = value
    tx.conn.execute("UPDATE orders SET doc = ? WHERE id = ?", (dumps(doc), order_id))


def shown(status: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The order's `cancellation` and `hold` members for its current status."""
    return {
        "cancellation": doc.get("cancellation", NO_REASON) if status == "cancelled" else None,
        "hold": doc.get("hold", hold(None)) if status == "on_hold" else None,
    }
