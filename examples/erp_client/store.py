"""The client's state in one SQLite file: everything it must remember across a crash.

- `creates`: one row per order reference, with its Idempotency-Key, written *before* the first
  attempt, so a restarted process retries with the same key and never makes a second order.
- `feeds`: per polled list, the high-water mark and the cursor of a walk in progress.
- `records`: the newest version of every row the client has applied, by feed and key; a row whose
  `updated_at` is not newer than the stored one is a duplicate (dedup by id and updated_at).
- `events`: webhook `event_id`s already processed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS creates (
    reference TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL, body TEXT NOT NULL,
    order_id TEXT, replaces TEXT
);
CREATE TABLE IF NOT EXISTS feeds (
    feed TEXT PRIMARY KEY, mark TEXT, cursor TEXT, walk_max TEXT
);
CREATE TABLE IF NOT EXISTS records (
    feed TEXT NOT NULL, key TEXT NOT NULL, updated_at TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (feed, key)
);
CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, received_at TEXT NOT NULL);
"""


def parse_time(value: str) -> datetime:
    """RFC 3339 with `Z`; compared as instants, never as strings (precision may vary)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class PendingCreate:
    reference: str
    idempotency_key: str
    body: dict[str, Any]
    order_id: str | None
    replaces: str | None


@dataclass(frozen=True)
class FeedState:
    mark: str | None
    cursor: str | None
    walk_max: str | None


class Store:
    def __init__(self, path: str) -> None:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in `transaction`).
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- creates ----------------------------------------------------------------------------
    def pending_create(self, reference: str) -> PendingCreate | None:
        row = self.conn.execute(
            "SELECT reference, idempotency_key, body, order_id, replaces FROM creates"
            " WHERE reference = ?",
            (reference,),
        ).fetchone()
        if row is None:
            return None
        return PendingCreate(row[0], row[1], json.loads(row[2]), row[3], row[4])

    def remember_create(
        self, reference: str, key: str, body: dict[str, Any], replaces: str | None = None
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO creates (reference, idempotency_key, body, replaces)"
                " VALUES (?, ?, ?, ?)",
                (reference, key, json.dumps(body, sort_keys=True), replaces),
            )

    def created(self, reference: str, order_id: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE creates SET order_id = ? WHERE reference = ?", (order_id, reference)
            )

    def forget_create(self, reference: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM creates WHERE reference = ? AND order_id IS NULL", (reference,)
            )

    def unfinished_creates(self) -> list[PendingCreate]:
        refs = self.conn.execute("SELECT reference FROM creates WHERE order_id IS NULL")
        return [p for (ref,) in refs.fetchall() if (p := self.pending_create(ref)) is not None]

    def replacement_of(self, order_id: str) -> PendingCreate | None:
        row = self.conn.execute(
            "SELECT reference FROM creates WHERE replaces = ?", (order_id,)
        ).fetchone()
        return None if row is None else self.pending_create(row[0])

    # -- feeds ------------------------------------------------------------------------------
    def feed(self, feed: str) -> FeedState:
        row = self.conn.execute(
            "SELECT mark, cursor, walk_max FROM feeds WHERE feed = ?", (feed,)
        ).fetchone()
        return FeedState(None, None, None) if row is None else FeedState(*row)

    @staticmethod
    def save_feed(conn: sqlite3.Connection, feed: str, state: FeedState) -> None:
        conn.execute(
            "INSERT INTO feeds (feed, mark, cursor, walk_max) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (feed) DO UPDATE SET mark = excluded.mark, cursor = excluded.cursor,"
            " walk_max = excluded.walk_max",
            (feed, state.mark, state.cursor, state.walk_max),
        )

    @staticmethod
    def apply(conn: sqlite3.Connection, feed: str, key: str, row: dict[str, Any]) -> bool:
        """Store `row` unless a version at least as new is stored; True when it was new."""
        stored = conn.execute(
            "SELECT updated_at FROM records WHERE feed = ? AND key = ?", (feed, key)
        ).fetchone()
        if stored is not None and parse_time(stored[0]) >= parse_time(row["updated_at"]):
            return False
        conn.execute(
            "INSERT INTO records (feed, key, updated_at, body) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (feed, key) DO UPDATE SET updated_at = excluded.updated_at,"
            " body = excluded.body",
            (feed, key, row["updated_at"], json.dumps(row)),
        )
        return True

    def records(self, feed: str) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute("SELECT key, body FROM records WHERE feed = ?", (feed,))
        return {key: json.loads(body) for key, body in rows.fetchall()}

    # -- webhook events ---------------------------------------------------------------------
    @staticmethod
    def first_sight(conn: sqlite3.Connection, event_id: str, now: str) -> bool:
        """Record `event_id`; False when it was already processed."""
        cursor = conn.execute(
            "INSERT OR IGNORE INTO events (event_id, received_at) VALUES (?, ?)", (event_id, now)
        )
        return cursor.rowcount == 1
