"""Polling and lookups stay index seeks: no list or lookup query scans a table or sorts.

The guide promises that `updated_since` polling stays cheap however long a partner's history
grows (bench/bench_scale.py measures it at a million orders). That holds only while every list
query is a seek into an index that already has the rows in (updated_at, id) order. This test
serves real requests through the ASGI app, captures the SQL the sandbox runs for them with
sqlite3's trace callback, and asks SQLite for each statement's plan. Nothing is timed: the sandbox
never runs ANALYZE, so the planner decides from the schema alone, and the plans a small database
gets are the ones a large one gets.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fulfillment_sandbox import storage
from fulfillment_sandbox.app import create_app

from tests.live_server import serve

from .conftest import ACME, order_body

# Every list endpoint and the equality filters the contract gives it.
LISTS: dict[str, tuple[str, ...]] = {
    "/orders": ("order_number", "reference", "status"),
    "/shipments": ("order_id",),
    "/inventory": ("sku", "warehouse_id"),
    "/warehouses": (),
    "/shipping-methods": (),
    "/inbound-shipments": ("reference", "warehouse_id", "status"),
    "/inventory-adjustments": ("sku", "warehouse_id"),
    "/returns": ("order_id", "status"),
    "/webhooks": (),
}
# Filters that are not a column of the listed table (inventory's warehouse is a correlated seek
# into `stock`), so they cannot be part of the list index's seek.
NOT_A_COLUMN = {("/inventory", "warehouse_id")}
# The delivery worker polls in the background; it is not a request's query (bench_delivery).
BACKGROUND_TABLES = ("deliveries", "events")
SINCE = "2000-01-01T00:00:00.000Z"


class Recorder:
    """Collects the SELECT statements run on the sandbox's connections, parameters inlined."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, sql: str) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            self.statements.append(sql)

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return [sql for sql in taken if not any(t in sql for t in BACKGROUND_TABLES)]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Recorder, Path]]:
    recorder = Recorder()
    connect = storage.Database._connect

    def traced(self: storage.Database) -> sqlite3.Connection:
        conn = connect(self)
        conn.set_trace_callback(recorder)
        return conn

    monkeypatch.setattr(storage.Database, "_connect", traced)
    db_path = tmp_path / "plans.sqlite3"
    headers = {"Authorization": f"Bearer {ACME}"}
    with (
        serve(create_app(str(db_path))) as base,
        httpx.Client(base_url=base + "/v1", headers=headers, trust_env=False) as client,
    ):
        yield client, recorder, db_path


def _post(client: Any, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post(path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def _history(client: Any) -> dict[str, str]:
    """Two of everything, so every list has a second page; returns ids and filter values."""
    for _ in range(2):
        order = _post(client, "/orders", order_body())
        shipment = _post(client, f"/sandbox/orders/{order['id']}/ship")
        inbound = _post(
            client,
            "/inbound-shipments",
            {
                "reference": f"ASN-{uuid.uuid4().hex[:6]}",
                "warehouse_id": "wh_syd_1",
                "expected_at": "2026-07-08",
                "items": [{"sku": "WIDGET-BLUE-M", "expected_quantity": 5}],
            },
        )
        ret = _post(
            client,
            "/returns",
            {
                "order_id": order["id"],
                "rma": f"RMA-{uuid.uuid4().hex[:6]}",
                "items": [{"sku": "WIDGET-BLUE-M", "quantity": 1}],
            },
        )
        _post(
            client,
            "/sandbox/inventory-adjustments",
            {
                "sku": "WIDGET-BLUE-M",
                "warehouse_id": "wh_syd_1",
                "quantity_delta": 1,
                "reason": "found",
            },
        )
        hook = _post(
            client, "/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["order.cancelled"]}
        )
    return {
        "order_id": order["id"],
        "order_number": order["order_number"],
        "reference": order["reference"],
        "status": "received",
        "shipment_id": shipment["id"],
        "inbound_id": inbound["id"],
        "inbound_reference": inbound["reference"],
        "return_id": ret["id"],
        "webhook_id": hook["id"],
        "sku": "WIDGET-BLUE-M",
        "warehouse_id": "wh_syd_1",
    }


def _filter_values(path: str, values: dict[str, str]) -> dict[str, str]:
    chosen = dict(values)
    if path == "/inbound-shipments":
        chosen.update(reference=values["inbound_reference"], status="expected")
    if path == "/returns":
        chosen["status"] = "expected"
    return chosen


def _variants(path: str, values: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """(the filter whose column the seek must use, or "", query parameters)."""
    given = _filter_values(path, values)
    yield "", {}
    yield "", {"updated_since": SINCE}
    for name in LISTS[path]:
        yield name, {name: given[name]}
        yield name, {name: given[name], "updated_since": SINCE}
    if len(LISTS[path]) > 1:
        yield "", {name: given[name] for name in LISTS[path]}


def _plan(db_path: Path, sql: str) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    finally:
        conn.close()


def _check(db_path: Path, sql: str, seek_column: str = "") -> None:
    plan = _plan(db_path, sql)
    shown = f"{sql}\n  " + "\n  ".join(plan)
    assert not [step for step in plan if step.startswith("SCAN ")], f"table scan:\n{shown}"
    assert not [step for step in plan if "TEMP B-TREE" in step], f"sort, no index order:\n{shown}"
    if seek_column:
        first = plan[0]
        assert re.search(rf"\b{seek_column}=\?", first), f"{seek_column} not in the seek:\n{shown}"


def _list_and_next_page(
    client: Any, recorder: Recorder, path: str, params: dict[str, str]
) -> list[list[str]]:
    """The statements of a first page (limit 1) and of the page its cursor leads to."""
    recorder.take()
    page = client.get(path, params={**params, "limit": 1})
    assert page.status_code == 200, page.text
    requests = [recorder.take()]
    cursor = page.json()["pagination"]["next_cursor"]
    if cursor is not None:
        assert client.get(path, params={"cursor": cursor, "limit": 1}).status_code == 200
        requests.append(recorder.take())
    return requests


def test_every_list_query_is_an_index_seek_in_list_order(served: Any) -> None:
    client, recorder, db_path = served
    values = _history(client)
    checked = 0
    for path in LISTS:
        for column, params in _variants(path, values):
            seek = "" if (path, column) in NOT_A_COLUMN else column
            for statements in _list_and_next_page(client, recorder, path, params):
                assert statements, f"no SQL captured for GET {path} {params}"
                # The first statement of a list request is the page query itself; the rest render
                # its rows (embedded shipments, stock per warehouse) and must be seeks too.
                _check(db_path, statements[0], seek)
                for sql in statements[1:]:
                    _check(db_path, sql)
                checked += 1
    assert checked > 40


def test_every_lookup_is_an_index_seek(served: Any) -> None:
    client, recorder, db_path = served
    values = _history(client)
    lookups = [
        f"/orders/{values['order_id']}",
        f"/shipments/{values['shipment_id']}",
        f"/inbound-shipments/{values['inbound_id']}",
        f"/returns/{values['return_id']}",
        f"/webhooks/{values['webhook_id']}",
    ]
    for path in lookups:
        recorder.take()
        assert client.get(path).status_code == 200
        statements = recorder.take()
        assert statements, f"no SQL captured for GET {path}"
        for sql in statements:
            _check(db_path, sql)


def test_a_table_scan_would_be_caught(served: Any) -> None:
    """The check itself has teeth: a list query without its index is reported."""
    _client, _recorder, db_path = served
    conn = sqlite3.connect(db_path)
    conn.execute("DROP INDEX shipments_poll")
    conn.close()
    with pytest.raises(AssertionError, match=r"sort, no index order|table scan"):
        _check(db_path, "SELECT * FROM shipments WHERE partner = 'acme' ORDER BY updated_at, id")


def test_an_older_database_gets_the_new_indexes_on_open(tmp_path: Path) -> None:
    """A database made before the list indexes existed gets them when the sandbox opens it, and
    loses the two they replace (the storage module's SCHEMA is its migration)."""
    db_path = tmp_path / "old.sqlite3"
    storage.Database(str(db_path)).close()
    conn = sqlite3.connect(db_path)
    current = _index_names(conn)
    for name in ("orders_number_poll", "shipments_by_order", "returns_status_poll"):
        conn.execute(f"DROP INDEX {name}")
    conn.execute("CREATE INDEX orders_number ON orders (partner, order_number)")
    conn.execute("CREATE INDEX shipments_order ON shipments (order_id)")
    conn.commit()
    conn.close()
    storage.Database(str(db_path)).close()
    conn = sqlite3.connect(db_path)
    assert _index_names(conn) == current
    conn.close()


def _index_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {str(name) for (name,) in rows}


def _orders_history(db_path: Path, partners: tuple[str, ...], rows: int) -> None:
    """`rows` bare orders per partner, straight into the table (as bench_scale seeds it)."""
    storage.Database(str(db_path)).close()
    conn = sqlite3.connect(db_path)
    conn.executemany(
        "INSERT INTO orders (id, partner, order_number, reference, status, warehouse_id, version,"
        " created_at, updated_at, doc) VALUES (?, ?, ?, ?, 'received', 'wh_syd_1', 1, ?, ?, '{}')",
        [
            (f"ord_{partner}_{n}", partner, f"SO-{n}", f"R-{n}", stamp, stamp)
            for partner in partners
            for n in range(rows)
            for stamp in [storage.format_ms(1_700_000_000_000 + 4 * n + len(partner))]
        ],
    )
    conn.commit()
    conn.close()


def _steps_to_open(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """SQLite virtual-machine steps the sandbox's connections run while opening `db_path`."""
    steps = [0]
    connect = storage.Database._connect

    def counted(self: storage.Database) -> sqlite3.Connection:
        conn = connect(self)
        conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 1)
        return conn

    with monkeypatch.context() as patch:
        patch.setattr(storage.Database, "_connect", counted)
        storage.Database(str(db_path)).close()
    return steps[0]


def test_opening_a_database_does_not_read_its_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening reads each stamped table's newest updated_at (the clock must never go back) by
    seeks: the work is the same with ten times the orders. A plain MAX(updated_at) reads every
    row (its query plan still says SEARCH), which took seconds at a million orders."""
    partners = ("acme", "globex", "initech")
    small, large = tmp_path / "small.sqlite3", tmp_path / "large.sqlite3"
    _orders_history(small, partners, 200)
    _orders_history(large, partners, 2_000)
    small_steps = _steps_to_open(small, monkeypatch)
    large_steps = _steps_to_open(large, monkeypatch)
    assert large_steps < small_steps * 1.1, (small_steps, large_steps)
    conn = sqlite3.connect(large)
    for table in storage.STAMPED_TABLES:
        (expected,) = conn.execute(f"SELECT MAX(updated_at) FROM {table}").fetchone()
        assert storage.latest_stamp(conn, table) == expected, table
    conn.close()
