"""How long the event log keeps events, and pruning it without scanning it (decision 59).

The contract lists a partner's events of the last 30 days at least (`GET /events`, decision 45);
the sandbox keeps 35 days by its own clock (`Database.clock`, the one its stamps come from), so
an event is listable for its whole promised life with days to spare, and then it goes, with its
deliveries (long finished: a retry window is a day). Pruning runs at start-up and then on a write
that logs an event, at most once an hour of that clock, so a request pays for it at most once an
hour; each prune is two index seeks (events by `created_at`, deliveries by `event_id`) that touch
only the rows that aged out.
"""

from __future__ import annotations

import sqlite3

from .storage import Database, format_ms

EVENT_RETENTION_MS = 35 * 86_400_000
PRUNE_INTERVAL_MS = 3_600_000

# Deliveries first: the delivery worker joins a pending delivery to its event, and one whose event
# is gone would stay the subscription's oldest due delivery for good, blocking the rest.
PRUNE_DELIVERIES_SQL = (
    "DELETE FROM deliveries WHERE event_id IN (SELECT id FROM events WHERE created_at < ?)"
)
PRUNE_EVENTS_SQL = "DELETE FROM events WHERE created_at < ?"


def prune_events(conn: sqlite3.Connection, now_ms: int) -> int:
    """Delete the events older than the retention, and their deliveries; the events deleted."""
    # Stamps are fixed-width RFC 3339 UTC (`format_ms`), so text order is time order.
    cutoff = format_ms(now_ms - EVENT_RETENTION_MS)
    conn.execute(PRUNE_DELIVERIES_SQL, (cutoff,))
    return conn.execute(PRUNE_EVENTS_SQL, (cutoff,)).rowcount


def prune_if_due(db: Database, conn: sqlite3.Connection) -> None:
    """Prune inside the caller's write transaction, unless a prune ran within the interval."""
    now_ms = db.now_ms()
    if now_ms < db.next_event_prune_ms:
        return
    # Set before the prune: a transaction that rolls back leaves the next prune an hour away,
    # which costs an hour of extra retention, never an event inside the promised 30 days.
    db.next_event_prune_ms = now_ms + PRUNE_INTERVAL_MS
    prune_events(conn, now_ms)
