"""How long the event log keeps events, and pruning it without scanning it (decision 59).

The contract lists a partner's events of the last 30 days at least (`GET /events`, decision 45);
the sandbox keeps 35 days by its own clock (`Database.clock`, the one its stamps come from), so
an event is listable for its whole promised life with days to spare, and then it goes, with its
deliveries (long finished: a retry window is a day). Pruning runs at start-up (until nothing is
left to prune) and then on a write that logs an event, at most one batch a write and, once
caught up, once an hour of that clock: a request pays for at most one batch of index seeks
(events by `created_at`, deliveries by `event_id`) that touch only rows that aged out.
"""

from __future__ import annotations

import sqlite3

from .storage import Database, format_ms

EVENT_RETENTION_MS = 35 * 86_400_000
PRUNE_INTERVAL_MS = 3_600_000
# Events deleted by one prune: a sandbox idle for a week must not hold its writer for seconds
# on the first write after it (a thousand, with their deliveries, take 6 to 60 ms on a loaded
# machine; 83,000 at once took 10 s).
PRUNE_BATCH = 1000

AGED_EVENTS_SQL = "SELECT id FROM events WHERE created_at < ? ORDER BY created_at LIMIT ?"
# Deliveries go with their event: the delivery worker joins a pending delivery to its event, and
# one whose event is gone would stay the subscription's oldest due delivery for good.
PRUNE_DELIVERIES_SQL = "DELETE FROM deliveries WHERE event_id = ?"
PRUNE_EVENTS_SQL = "DELETE FROM events WHERE id = ?"


def prune_events(conn: sqlite3.Connection, now_ms: int) -> int:
    """Delete up to PRUNE_BATCH of the events older than the retention, oldest first, and their
    deliveries; returns how many events went."""
    # Stamps are fixed-width RFC 3339 UTC (`format_ms`), so text order is time order.
    cutoff = format_ms(now_ms - EVENT_RETENTION_MS)
    aged = conn.execute(AGED_EVENTS_SQL, (cutoff, PRUNE_BATCH)).fetchall()
    conn.executemany(PRUNE_DELIVERIES_SQL, aged)
    conn.executemany(PRUNE_EVENTS_SQL, aged)
    return len(aged)


def prune_at_start(db: Database, conn: sqlite3.Connection) -> None:
    """Everything that aged out while the sandbox was down, batch by batch."""
    while prune_events(conn, db.now_ms()) == PRUNE_BATCH:
        pass
    db.next_event_prune_ms = db.now_ms() + PRUNE_INTERVAL_MS


def prune_if_due(db: Database, conn: sqlite3.Connection) -> None:
    """One batch inside the caller's write transaction, when due: the next write prunes again
    while batches come back full, and an hour later once they do not."""
    now_ms = db.now_ms()
    if now_ms < db.next_event_prune_ms:
        return
    # Set before the prune: a transaction that rolls back leaves the next prune an hour away,
    # which costs an hour of extra retention, never an event inside the promised 30 days.
    db.next_event_prune_ms = now_ms + PRUNE_INTERVAL_MS
    if prune_events(conn, now_ms) == PRUNE_BATCH:
        db.next_event_prune_ms = now_ms
