"""SQLite storage: one durable file, WAL mode, one writer at a time.

Why this shape (decisions 16-17): every `updated_at` is stamped inside the write transaction while
the single writer lock is held, from a clock that is strictly increasing per table from one
transaction to the next. The rows one transaction writes to a table share its stamp (an order over
four SKUs bumps them at one instant), so lists have real ties, broken by id in binary order
(PAG-005), as on any server that stamps at commit. A reader
therefore never sees a row whose `updated_at` is older than one it was already served, which is
what makes `updated_since` polling and (updated_at, id) cursors skip nothing.

`synchronous=FULL` makes every acknowledged commit survive a kill -9 of the process.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from .errors import not_found
from .migrations import rebuild_outdated_tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warehouses (
  partner TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, code TEXT, address TEXT NOT NULL,
  updated_at TEXT NOT NULL, PRIMARY KEY (partner, id));
CREATE TABLE IF NOT EXISTS shipping_methods (
  partner TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, carrier TEXT NOT NULL,
  carrier_name TEXT, service_code TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (partner, id));
CREATE TABLE IF NOT EXISTS skus (
  partner TEXT NOT NULL, sku TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (partner, sku));
CREATE INDEX IF NOT EXISTS skus_poll ON skus (partner, updated_at, sku);
CREATE TABLE IF NOT EXISTS stock (
  partner TEXT NOT NULL, sku TEXT NOT NULL, warehouse_id TEXT NOT NULL,
  on_hand INTEGER NOT NULL DEFAULT 0, allocated INTEGER NOT NULL DEFAULT 0,
  incoming INTEGER NOT NULL DEFAULT 0, backordered INTEGER NOT NULL DEFAULT 0,
  unavailable INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (partner, sku, warehouse_id),
  CHECK (allocated >= 0 AND allocated <= on_hand AND incoming >= 0 AND backordered >= 0));
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, order_number TEXT NOT NULL, reference TEXT NOT NULL,
  status TEXT NOT NULL, warehouse_id TEXT NOT NULL, version INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, cancelled_at TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_poll ON orders (partner, updated_at, id);
-- A reference is unique among the partner's orders that are not cancelled: a cancel frees it for
-- the guide's cancel-and-recreate (decision 51); the cancelled order keeps it and stays listed.
CREATE UNIQUE INDEX IF NOT EXISTS orders_live_reference ON orders (partner, reference)
  WHERE status != 'cancelled';
CREATE INDEX IF NOT EXISTS orders_reference_poll ON orders (partner, reference, updated_at, id);
-- A list filtered on a column seeks (partner, column) and finds the rows already in list order,
-- (updated_at, id). Without such an index SQLite walks the partner's whole history in poll order
-- and tests the filter on every row: linear in the history (see bench/bench_scale.py).
CREATE INDEX IF NOT EXISTS orders_number_poll ON orders (partner, order_number, updated_at, id);
CREATE INDEX IF NOT EXISTS orders_status_poll ON orders (partner, status, updated_at, id);
DROP INDEX IF EXISTS orders_number;
CREATE TABLE IF NOT EXISTS order_allocations (
  order_id TEXT NOT NULL, sku TEXT NOT NULL, allocated INTEGER NOT NULL,
  backordered INTEGER NOT NULL, PRIMARY KEY (order_id, sku));
-- Stock that rises goes to the backordered orders of that SKU: a seek into the few backordered
-- lines, not a scan of every allocation ever made.
CREATE INDEX IF NOT EXISTS allocations_backordered ON order_allocations (sku) WHERE backordered > 0;
CREATE TABLE IF NOT EXISTS shipments (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, order_id TEXT NOT NULL, status TEXT NOT NULL,
  warehouse_id TEXT NOT NULL, shipped_at TEXT NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, voided INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS shipments_poll ON shipments (partner, updated_at, id);
CREATE INDEX IF NOT EXISTS shipments_order_poll ON shipments (partner, order_id, updated_at, id);
-- An order's embedded shipments, in the order they were made (created_at, id), with no sort.
CREATE INDEX IF NOT EXISTS shipments_by_order ON shipments (order_id, created_at, id);
DROP INDEX IF EXISTS shipments_order;
CREATE TABLE IF NOT EXISTS inbound_shipments (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, reference TEXT NOT NULL, status TEXT NOT NULL,
  warehouse_id TEXT NOT NULL, received_at TEXT, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS inbound_poll ON inbound_shipments (partner, updated_at, id);
CREATE INDEX IF NOT EXISTS inbound_reference_poll
  ON inbound_shipments (partner, reference, updated_at, id);
CREATE INDEX IF NOT EXISTS inbound_warehouse_poll
  ON inbound_shipments (partner, warehouse_id, updated_at, id);
CREATE INDEX IF NOT EXISTS inbound_status_poll
  ON inbound_shipments (partner, status, updated_at, id);
CREATE TABLE IF NOT EXISTS inventory_adjustments (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, sku TEXT NOT NULL, warehouse_id TEXT NOT NULL,
  quantity_delta INTEGER NOT NULL, reason TEXT NOT NULL, note TEXT, adjusted_at TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS adjustments_poll ON inventory_adjustments (partner, updated_at, id);
CREATE INDEX IF NOT EXISTS adjustments_sku_poll
  ON inventory_adjustments (partner, sku, updated_at, id);
CREATE INDEX IF NOT EXISTS adjustments_warehouse_poll
  ON inventory_adjustments (partner, warehouse_id, updated_at, id);
CREATE TABLE IF NOT EXISTS returns (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, order_id TEXT NOT NULL, rma TEXT,
  status TEXT NOT NULL, warehouse_id TEXT NOT NULL, received_at TEXT, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS returns_poll ON returns (partner, updated_at, id);
CREATE INDEX IF NOT EXISTS returns_order_poll ON returns (partner, order_id, updated_at, id);
CREATE INDEX IF NOT EXISTS returns_status_poll ON returns (partner, status, updated_at, id);
CREATE INDEX IF NOT EXISTS returns_rma ON returns (partner, rma);
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL,
  secret TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'active', disabled_at TEXT,
  disabled_reason TEXT, last_success_at REAL, last_failure_at REAL, previous_secret TEXT,
  previous_secret_expires REAL);
CREATE INDEX IF NOT EXISTS webhooks_poll ON webhooks (partner, updated_at, id);
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, type TEXT NOT NULL, created_at TEXT NOT NULL,
  body TEXT NOT NULL, updated_at TEXT);
-- Retention (retention.py): the prune finds what aged out by created_at, and its deliveries.
CREATE INDEX IF NOT EXISTS events_created ON events (created_at);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, webhook_id TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
  last_status INTEGER, last_error TEXT, first_attempt_at REAL);
-- The delivery worker asks, per subscription, for its oldest due delivery: one index seek each.
CREATE INDEX IF NOT EXISTS deliveries_next ON deliveries (webhook_id, state, next_attempt_at);
DROP INDEX IF EXISTS deliveries_due;
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS idempotency (
  partner TEXT NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL, fingerprint TEXT NOT NULL,
  status_code INTEGER NOT NULL, resource_id TEXT, snapshot TEXT, error TEXT,
  created_at TEXT NOT NULL, PRIMARY KEY (partner, key));
"""

# Indexes need no migration step: SCHEMA runs on every open, so `CREATE INDEX IF NOT EXISTS` builds
# a new index over an existing database's rows (once; seconds at a million orders) and
# `DROP INDEX IF EXISTS` removes one it replaces.

# Columns added after a table was first released: (table, column, definition). SCHEMA creates a
# new database with them; a database written by an older sandbox gets them by ALTER TABLE on open.
ADDED_COLUMNS = (
    ("webhooks", "status", "TEXT NOT NULL DEFAULT 'active'"),
    ("webhooks", "disabled_at", "TEXT"),
    ("webhooks", "disabled_reason", "TEXT"),
    ("webhooks", "last_success_at", "REAL"),
    ("webhooks", "last_failure_at", "REAL"),
    ("deliveries", "first_attempt_at", "REAL"),
    ("webhooks", "previous_secret", "TEXT"),
    ("webhooks", "previous_secret_expires", "REAL"),
    # The event log pages on (updated_at, id) like every list; an event never changes, so
    # updated_at is its created_at (older rows get it copied on open, see add_missing_columns).
    ("events", "updated_at", "TEXT"),
    # Units on hand that are not sellable (quarantined, damaged, held): decision 57.
    ("stock", "unavailable", "INTEGER NOT NULL DEFAULT 0"),
)

# Tables whose rows carry an `updated_at` clients poll on; each gets its own monotonic clock.
STAMPED_TABLES = (
    "warehouses",
    "shipping_methods",
    "skus",
    "orders",
    "shipments",
    "inbound_shipments",
    "inventory_adjustments",
    "returns",
    "webhooks",
    "events",
)


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a database made by an older sandbox up to SCHEMA (see ADDED_COLUMNS)."""
    for table, column, definition in ADDED_COLUMNS:
        present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            if (table, column) == ("events", "updated_at"):
                conn.execute("UPDATE events SET updated_at = created_at")
    # Indexes on added columns, built once they exist.
    conn.execute("CREATE INDEX IF NOT EXISTS events_poll ON events (partner, updated_at, id)")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS events_type_poll ON events (partner, type, updated_at, id)"
    )


def format_ms(epoch_ms: int) -> str:
    """RFC 3339 UTC with `Z` and millisecond precision (decision 17, decision 26)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_ms(text: str) -> int:
    """Inverse of `format_ms` for any RFC 3339 timestamp (sub-millisecond digits truncated)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def now_iso() -> str:
    return format_ms(int(time.time() * 1000))


# The newest updated_at of a table, one index seek per partner. A plain MAX(updated_at) cannot
# use the (partner, updated_at, ...) poll indexes, so it read every row: at a million orders the
# sandbox took seconds to start. The recursive part hops from one partner to the next (a seek
# each), and each partner's newest stamp is the last entry of its stretch of the index.
LATEST_STAMP = """
WITH RECURSIVE partners(current_partner) AS (
  SELECT (SELECT MIN(partner) FROM {table})
  UNION ALL
  SELECT (SELECT MIN(partner) FROM {table} WHERE partner > current_partner) FROM partners
  WHERE current_partner IS NOT NULL)
SELECT MAX((SELECT MAX(updated_at) FROM {table} WHERE partner = current_partner)) FROM partners
"""


def owned_row(
    conn: sqlite3.Connection, table: str, partner: str, row_id: str, what: str
) -> sqlite3.Row:
    """The partner's row of `table` with id `row_id`; 404 `not_found` naming `what` otherwise.

    Another partner's row is reported exactly as a missing one (decision 24)."""
    row: sqlite3.Row | None = conn.execute(
        f"SELECT * FROM {table} WHERE id = ? AND partner = ?", (row_id, partner)
    ).fetchone()
    if row is None:
        raise not_found(what, row_id)
    return row


def latest_stamp(conn: sqlite3.Connection, table: str) -> str | None:
    """The largest updated_at in `table` (a STAMPED_TABLES name), None when it is empty."""
    row = conn.execute(LATEST_STAMP.format(table=table)).fetchone()
    return None if row[0] is None else str(row[0])


class Database:
    """A SQLite file with a locked writer connection and one reader connection per thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        # Which stock changes fire inventory.updated: the contract leaves it to the server
        # (every change, or on_hand changes only); the sandbox can make either choice.
        self.inventory_events = "every_change"
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._last_ms: dict[str, int] = {}
        # The sandbox's clock: stamps and the event log's retention read it; a test may set it.
        self.clock: Callable[[], float] = time.time
        self.next_event_prune_ms = 0  # retention.prune_if_due: when a prune is due again
        self.after_commit: Callable[[], None] | None = None
        self._wake_after_commit = False
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.executescript(SCHEMA)
        add_missing_columns(self._writer)
        rebuild_outdated_tables(self._writer, SCHEMA)
        for table in STAMPED_TABLES:
            latest = latest_stamp(self._writer, table)
            self._last_ms[table] = parse_ms(latest) if latest else 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def stamp(self, table: str) -> str:
        """A strictly increasing millisecond timestamp for `table`; call only inside `write()`."""
        now = self.now_ms()
        value = max(now, self._last_ms[table] + 1)
        self._last_ms[table] = value
        return format_ms(value)

    def request_wake(self) -> None:
        """Ask for `after_commit` to run once the current write transaction commits."""
        self._wake_after_commit = True

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction at a time (BEGIN IMMEDIATE under a process-wide lock)."""
        with self._write_lock:
            conn = self._writer
            saved = dict(self._last_ms)
            self._wake_after_commit = False
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                self._last_ms = saved
                raise
            conn.execute("COMMIT")
            wake = self._wake_after_commit
        if wake and self.after_commit is not None:
            self.after_commit()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read snapshot on this thread's own connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._write_lock:
            for conn in self._readers:
                conn.close()
            self._writer.close()


_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijkmnopqrstuvwxyz"


def new_id(prefix: str, length: int = 14) -> str:
    """A random resource id such as `ord_8Kd92mQ...`; never reused, never sequential."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Tx:
    """One write transaction for one partner: the connection plus the commit-time hooks."""

    def __init__(self, db: Database, conn: sqlite3.Connection, partner: str) -> None:
        self.db = db
        self.conn = conn
        self.partner = partner
        self._before_commit: dict[str, Callable[[Tx], None]] = {}
        self.changed_skus: set[str] = set()
        self.on_hand_skus: set[str] = set()  # the changed SKUs whose on_hand moved
        self._stamps: dict[str, str] = {}

    def stamp(self, table: str) -> str:
        """The transaction's one instant for `table`: every row it writes there shares it."""
        if table not in self._stamps:
            self._stamps[table] = self.db.stamp(table)
        return self._stamps[table]

    def before_commit(self, name: str, hook: Callable[[Tx], None]) -> None:
        """Run `hook` once, just before commit (e.g. emit one inventory.updated per SKU)."""
        self._before_commit.setdefault(name, hook)

    def discard_hooks(self) -> None:
        """Forget pending hooks after a rollback to a savepoint."""
        self._before_commit.clear()
        self.changed_skus.clear()
        self.on_hand_skus.clear()

    def finish(self) -> None:
        while self._before_commit:
            name = next(iter(self._before_commit))
            hook = self._before_commit.pop(name)
            hook(self)


@contextmanager
def transaction(db: Database, partner: str) -> Iterator[Tx]:
    with db.write() as conn:
        tx = Tx(db, conn, partner)
        yield tx
        tx.finish()
