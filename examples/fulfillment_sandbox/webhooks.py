"""Webhook subscriptions and the transactional outbox.

An event is written in the same transaction as the change that causes it (one `events` row plus
one `deliveries` row per matching subscription), so a committed change always gets its event and a
rolled-back one never does. `delivery.py` sends them. The secret is shown only by the create call
(decision 31).

Rotating a secret (decision 28's several `v1` entries) keeps the old one as `previous_secret` for
ROTATION_OVERLAP seconds: deliveries are signed with both meanwhile, then with the new one only.
The new secret is shown only by the rotate call.

A subscription is `active` until the delivery worker disables it (every attempt of a delivery
failed for the whole retry schedule, with no success in between): a disabled subscription gets no
new events, its pending deliveries are cancelled, and GET shows when and why. PATCH
`{"status": "active"}` re-enables it for the events that follow.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import sqlite3
import time
from typing import Any
from urllib.parse import urlsplit

from . import retention
from .errors import ApiError, not_found
from .paging import ListQuery, list_page
from .storage import Tx, dumps, format_ms, new_id

# Plain http is accepted only for receivers on this machine: any 127.0.0.0/8 address, ::1, or
# localhost (which resolves to the loopback interface).
LOOPBACK_NAMES = ("localhost",)
# How long deliveries stay signed with the previous secret after a rotation (the spec's 24 hours).
ROTATION_OVERLAP = 24 * 3600.0


def emit(tx: Tx, event_type: str, data: dict[str, Any]) -> None:
    """Log `event_type` with the full resource (every event, wanted or not: the event log lists
    them all, decision 45) and queue it for every active subscription that wants it."""
    event_id = new_id("evt", 20)
    # The events table's own monotonic clock: the log pages on (created_at, id).
    created_at = tx.stamp("events")
    body = dumps(
        {"event_id": event_id, "event_type": event_type, "created_at": created_at, "data": data}
    )
    tx.conn.execute(
        "INSERT INTO events (id, partner, type, created_at, updated_at, body) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, tx.partner, event_type, created_at, created_at, body),
    )
    queue(tx, event_id, subscribers(tx, event_type))
    retention.prune_if_due(tx.db, tx.conn)


def subscribers(tx: Tx, event_type: str) -> list[str]:
    """The partner's active subscriptions that list `event_type`."""
    return [
        row["id"]
        for row in tx.conn.execute(
            "SELECT id, events FROM webhooks WHERE partner = ? AND deleted = 0 "
            "AND status = 'active'",
            (tx.partner,),
        )
        if event_type in _events(row["events"])
    ]


def queue(tx: Tx, event_id: str, hook_ids: list[str]) -> None:
    """A new pending delivery of the logged event to each subscription, due now."""
    for hook_id in hook_ids:
        tx.conn.execute(
            "INSERT INTO deliveries (event_id, webhook_id, state, attempts, next_attempt_at) "
            "VALUES (?, ?, 'pending', 0, 0)",
            (event_id, hook_id),
        )
    if hook_ids:
        tx.db.request_wake()


def _events(text: str) -> list[str]:
    value: list[str] = json.loads(text)
    return value


def is_loopback(host: str | None) -> bool:
    """True for localhost, any 127.0.0.0/8 address and ::1 (never for other private ranges)."""
    if host is None:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a DNS name: only the names above are known to be loopback
        return False


def check_url(url: str) -> None:
    """https anywhere; plain http only to the loopback interface (the sandbox's receivers)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    raise ApiError(
        422,
        "validation_failed",
        "url must be https (the sandbox also accepts http to a loopback address: "
        "127.0.0.0/8, [::1] or localhost).",
        field="url",
    )


def render(row: sqlite3.Row) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "id": row["id"],
        "url": row["url"],
        "events": _events(row["events"]),
        "created_at": row["created_at"],
        "status": row["status"],
    }
    if row["status"] == "disabled":
        hook["disabled_at"] = row["disabled_at"]
        hook["disabled_reason"] = row["disabled_reason"]
    return hook


def create(tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    check_url(body["url"])
    stamp = tx.stamp("webhooks")
    hook_id = new_id("whk")
    secret = "whsec_" + secrets.token_urlsafe(32)
    events = list(dict.fromkeys(body["events"]))
    tx.conn.execute(
        "INSERT INTO webhooks (id, partner, url, events, secret, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (hook_id, tx.partner, body["url"], dumps(events), secret, stamp, stamp),
    )
    created = {
        "id": hook_id,
        "url": body["url"],
        "events": events,
        "created_at": stamp,
        "status": "active",
    }
    return {**created, "secret": secret}


def get(conn: sqlite3.Connection, partner: str, hook_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM webhooks WHERE id = ? AND partner = ? AND deleted = 0", (hook_id, partner)
    ).fetchone()
    if row is None:
        raise not_found("Webhook", hook_id)
    return render(row)


def delete(tx: Tx, hook_id: str) -> None:
    get(tx.conn, tx.partner, hook_id)
    tx.conn.execute(
        "UPDATE webhooks SET deleted = 1, updated_at = ? WHERE id = ?",
        (tx.stamp("webhooks"), hook_id),
    )
    tx.conn.execute(
        "UPDATE deliveries SET state = 'cancelled' WHERE webhook_id = ? AND state = 'pending'",
        (hook_id,),
    )


def reactivate(tx: Tx, hook_id: str) -> dict[str, Any]:
    """`PATCH {"status": "active"}`: deliver to a disabled subscription again (events from now on;
    those of the disabled time were never queued for it). An active one is left as it is."""
    get(tx.conn, tx.partner, hook_id)
    tx.conn.execute(
        "UPDATE webhooks SET status = 'active', disabled_at = NULL, disabled_reason = NULL, "
        "updated_at = ? WHERE id = ? AND status = 'disabled'",
        (tx.stamp("webhooks"), hook_id),
    )
    return get(tx.conn, tx.partner, hook_id)


def exhaust_retries(tx: Tx, hook_id: str, attempts: int) -> int:
    """Sandbox control: every pending delivery of the subscription that failed before is due now
    for its last attempt (`attempts` = the schedule's length, so the next failure is final)."""
    get(tx.conn, tx.partner, hook_id)
    cursor = tx.conn.execute(
        "UPDATE deliveries SET attempts = MAX(attempts, ?), next_attempt_at = 0 "
        "WHERE webhook_id = ? AND state = 'pending' AND attempts > 0",
        (attempts, hook_id),
    )
    return cursor.rowcount


def exhausted_left(db: Any, hook_id: str) -> int:
    """How many of the subscription's deliveries still wait for their last attempt (due now)."""
    with db.read() as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE d.webhook_id = ? AND d.state = 'pending' AND d.next_attempt_at = 0 "
            "AND d.attempts > 0 AND w.status = 'active'",
            (hook_id,),
        ).fetchone()
    return int(row[0])


def rotate_secret(tx: Tx, hook_id: str) -> dict[str, Any]:
    """A new secret, shown in this answer only; the current one signs too for ROTATION_OVERLAP.

    A rotation inside an earlier rotation's overlap ends that overlap: the secret from before it
    stops signing at once, and the one being replaced becomes the previous secret.
    """
    get(tx.conn, tx.partner, hook_id)
    secret = "whsec_" + secrets.token_urlsafe(32)
    expires = time.time() + ROTATION_OVERLAP
    tx.conn.execute(
        "UPDATE webhooks SET previous_secret = secret, previous_secret_expires = ?, secret = ?, "
        "updated_at = ? WHERE id = ?",
        (expires, secret, tx.stamp("webhooks"), hook_id),
    )
    hook = get(tx.conn, tx.partner, hook_id)
    return {**hook, "secret": secret, "previous_secret_expires_at": format_ms(int(expires * 1000))}


def end_secret_overlap(tx: Tx, hook_id: str) -> dict[str, Any]:
    """Sandbox control: the previous secret stops signing now, as if the overlap had passed (the
    window's end moves to now; a window already over is left alone)."""
    get(tx.conn, tx.partner, hook_id)
    tx.conn.execute(
        "UPDATE webhooks SET previous_secret_expires = MIN(previous_secret_expires, ?) "
        "WHERE id = ?",
        (time.time(), hook_id),
    )
    return get(tx.conn, tx.partner, hook_id)


def disable(conn: sqlite3.Connection, stamp: str, hook_id: str, reason: str) -> None:
    """Stop delivering to a subscription: it keeps existing (GET shows why) but gets nothing more.

    `stamp` is the webhooks table's clock (`Database.stamp("webhooks")`), taken inside the caller's
    write transaction; it becomes both `disabled_at` and `updated_at`.
    """
    conn.execute(
        "UPDATE webhooks SET status = 'disabled', disabled_at = ?, disabled_reason = ?, "
        "updated_at = ? WHERE id = ? AND status = 'active'",
        (stamp, reason, stamp, hook_id),
    )
    conn.execute(
        "UPDATE deliveries SET state = 'cancelled' WHERE webhook_id = ? AND state = 'pending'",
        (hook_id,),
    )


def list_hooks(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="webhooks",
        table="webhooks",
        id_column="id",
        partner=partner,
        query=query,
        conditions=lambda _filters: (["deleted = 0"], []),
        render=render,
    )


def retry_now(tx: Tx) -> int:
    """Make every pending delivery of this partner due now (the retry-now control endpoint)."""
    cursor = tx.conn.execute(
        "UPDATE deliveries SET next_attempt_at = 0 WHERE state = 'pending' AND webhook_id IN "
        "(SELECT id FROM webhooks WHERE partner = ? AND deleted = 0 AND status = 'active')",
        (tx.partner,),
    )
    tx.db.request_wake()
    return cursor.rowcount
