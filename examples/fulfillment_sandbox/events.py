"""The event log (`GET /events`) and redelivery (`POST /events/{event_id}/redeliver`), decision 45.

`webhooks.emit` logs every event, whether or not a subscription wants it; the sandbox keeps them
35 days (the contract asks for 30 at least), then `retention.py` prunes them (decision 59).
A redelivery is one more `deliveries` row for the logged event: the delivery worker sends the
stored body as it sends any delivery, signing it at the attempt with the subscription's
secret(s) of that moment, so the `event_id` is the same and the signature is fresh.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import webhooks
from .errors import ApiError, not_found
from .paging import ListQuery, equal_filters, list_page
from .storage import Tx


def render(row: sqlite3.Row) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(row["body"])
    return event


def list_events(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    """`created_since` is the log's `updated_since`: an event's updated_at is its created_at."""
    filters = dict(query.filters)
    filters["updated_since"] = filters.pop("created_since", None)
    return list_page(
        conn,
        codec,
        resource="events",
        table="events",
        id_column="id",
        partner=partner,
        query=ListQuery(filters=filters, cursor=query.cursor, limit=query.limit),
        conditions=equal_filters("type"),
        render=render,
    )


def redeliver(tx: Tx, event_id: str, hook_id: str | None) -> dict[str, Any]:
    """Queue the logged event again, to `hook_id` or to every active subscription of its type."""
    row = tx.conn.execute(
        "SELECT id, type FROM events WHERE id = ? AND partner = ?", (event_id, tx.partner)
    ).fetchone()
    if row is None:
        raise not_found("Event", event_id)
    if hook_id is None:
        targets = webhooks.subscribers(tx, row["type"])
    else:
        hook = webhooks.get(tx.conn, tx.partner, hook_id)  # 404 when unknown or deleted
        if hook["status"] != "active" or row["type"] not in hook["events"]:
            why = (
                "is disabled; re-enable it first"
                if hook["status"] != "active"
                else f"does not subscribe to {row['type']}"
            )
            raise ApiError(
                409, "webhook_not_deliverable", f"Webhook '{hook_id}' {why}.", field="webhook_id"
            )
        targets = [hook_id]
    webhooks.queue(tx, event_id, targets)
    return {"event_id": event_id, "webhook_ids": targets}
