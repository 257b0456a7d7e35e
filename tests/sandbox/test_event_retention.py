"""The event log keeps 35 days by the sandbox's clock, then prunes, cheaply (decision 59)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fulfillment_sandbox import retention
from fulfillment_sandbox.app import create_app
from fulfillment_sandbox.storage import Database

from tests.live_server import serve

from .conftest import ACME, order_body
from .spec_client import SpecClient
from .test_events import logged
from .test_query_plans import _check
from .test_webhooks import _subscribe, running_sandbox

DAY = 86_400.0
DEAD_URL = "http://127.0.0.1:9/hook"  # refuses: its deliveries stay pending


def _hold_order(acme: SpecClient) -> str:
    """One order.updated event (holding an order); returns the order id."""
    order = acme.create_order(order_body()).json()
    assert acme.post(f"/sandbox/orders/{order['id']}/hold").status_code == 200
    return str(order["id"])


def _deliveries(db: Database) -> set[str]:
    with db.read() as conn:
        return {row["event_id"] for row in conn.execute("SELECT event_id FROM deliveries")}


def test_events_past_the_retention_go_on_a_write_with_their_deliveries(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as (acme, db):
        _subscribe(acme, DEAD_URL, ["order.updated"])
        first = _hold_order(acme)
        old = [e["event_id"] for e in logged(acme) if e["data"].get("id") == first]
        assert old and set(old) <= _deliveries(db)

        start = time.time()
        db.clock = lambda: start + 34 * DAY  # inside the retention: nothing goes
        _hold_order(acme)
        assert set(old) <= {e["event_id"] for e in logged(acme)}

        db.clock = lambda: start + 36 * DAY  # the first order's events aged out
        second = _hold_order(acme)
        kept = {e["event_id"] for e in logged(acme)}
        assert not set(old) & kept
        assert not set(old) & _deliveries(db)
        assert any(e["data"].get("id") == second for e in logged(acme))
        assert len(kept) >= 2  # the 34-day event and the newest one stay


def test_a_prune_runs_at_most_once_an_hour_of_the_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prunes: list[int] = []
    prune = retention.prune_events

    def counted(conn: sqlite3.Connection, now_ms: int) -> int:
        prunes.append(now_ms)
        return prune(conn, now_ms)

    monkeypatch.setattr(retention, "prune_events", counted)
    with running_sandbox(tmp_path) as (acme, db):
        assert len(prunes) == 1  # at start-up
        for _ in range(3):
            _hold_order(acme)
        assert len(prunes) == 1  # writes within the hour do not prune again
        start = time.time()
        db.clock = lambda: start + 3601
        _hold_order(acme)
        _hold_order(acme)
        assert len(prunes) == 2


def test_a_backlog_goes_one_batch_a_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sandbox idle past the retention pays one batch per write, not the whole backlog, and
    the writes after it go on pruning until it is gone."""
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    pruned: list[int] = []
    prune = retention.prune_events

    def counted(conn: sqlite3.Connection, now_ms: int) -> int:
        pruned.append(prune(conn, now_ms))
        return pruned[-1]

    monkeypatch.setattr(retention, "prune_events", counted)
    with running_sandbox(tmp_path) as (acme, db):
        for _ in range(3):
            _hold_order(acme)
        old = {e["event_id"] for e in logged(acme)}
        assert len(old) >= 6
        start = time.time()
        db.clock = lambda: start + 36 * DAY
        pruned.clear()
        for _ in range(len(old)):  # each _hold_order is two writes that log an event
            if not old & {e["event_id"] for e in logged(acme)}:
                break
            _hold_order(acme)
        assert not old & {e["event_id"] for e in logged(acme)}, "the backlog never went"
        assert sum(pruned) == len(old)
        assert pruned[: len(old) // 2] == [2] * (len(old) // 2)


def test_events_that_aged_out_while_stopped_go_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)  # start-up prunes batch after batch
    path = tmp_path / "sandbox.sqlite3"
    with running_sandbox(tmp_path) as (acme, _db):
        for _ in range(2):
            _hold_order(acme)
        assert len(logged(acme)) > 2
    conn = sqlite3.connect(path)
    with conn:  # as if the sandbox had been stopped for years
        conn.execute("UPDATE events SET created_at = '2020-01-01T00:00:00.000Z'")
    conn.close()
    app = create_app(str(path))
    with serve(app) as base, SpecClient(base, ACME) as acme:
        assert logged(acme) == []


def test_the_prune_is_index_seeks(tmp_path: Path) -> None:
    path = tmp_path / "plans.sqlite3"
    Database(str(path)).close()
    cutoff, event = "'2026-01-01T00:00:00.000Z'", "'evt_x'"
    statements = [
        retention.AGED_EVENTS_SQL.replace("?", cutoff, 1).replace("?", "1000"),
        retention.PRUNE_DELIVERIES_SQL.replace("?", event),
        retention.PRUNE_EVENTS_SQL.replace("?", event),
    ]
    for sql in statements:
        _check(path, sql)
