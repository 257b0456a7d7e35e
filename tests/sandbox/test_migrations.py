"""A database made before decision 51 is rebuilt on open: a cancel frees the reference there too.

Before decision 51 the orders table carried the table constraint UNIQUE (partner, reference).
`CREATE TABLE IF NOT EXISTS` never touches an existing table, so without a rebuild a long-lived
sandbox database kept refusing a cancelled order's reference (IDEM-017) while a fresh one passed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from fulfillment_sandbox import storage
from fulfillment_sandbox.app import create_app

from tests.live_server import serve

from .conftest import ACME, order_body
from .spec_client import SpecClient

# The orders table as the sandbox created it before decision 51, word for word.
OLD_ORDERS_TABLE = """
CREATE TABLE orders (
  id TEXT PRIMARY KEY, partner TEXT NOT NULL, order_number TEXT NOT NULL, reference TEXT NOT NULL,
  status TEXT NOT NULL, warehouse_id TEXT NOT NULL, version INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, cancelled_at TEXT, doc TEXT NOT NULL,
  UNIQUE (partner, reference))
"""
OLD_INDEXES = (
    "CREATE INDEX orders_poll ON orders (partner, updated_at, id)",
    "CREATE INDEX orders_status_poll ON orders (partner, status, updated_at, id)",
)


def served(db_path: Path) -> Any:
    return serve(create_app(str(db_path)))


def make_old_database(db_path: Path, orders: int) -> list[dict[str, Any]]:
    """Real orders written by the sandbox, then the orders table put back in its old shape."""
    created = []
    with served(db_path) as base, SpecClient(base, ACME) as acme:
        for _ in range(orders):
            response = acme.create_order(order_body())
            assert response.status_code == 201, response.text
            created.append(response.json())
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT * FROM orders ORDER BY id").fetchall()
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'"
        " AND sql IS NOT NULL"
    ).fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("DROP TABLE orders")
    conn.execute(OLD_ORDERS_TABLE)
    for sql in OLD_INDEXES:
        conn.execute(sql)
    conn.executemany(f"INSERT INTO orders VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()
    conn.close()
    return created


def orders_rows(db_path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT * FROM orders ORDER BY id").fetchall()
    conn.close()
    return rows


def table_sql(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orders'"
    ).fetchone()[0]
    conn.close()
    return str(sql)


def index_names(db_path: Path) -> set[str]:
    conn = sqlite3.connect(db_path)
    names = {
        str(name)
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'"
        )
    }
    conn.close()
    return names


def test_the_old_constraint_is_dropped_and_no_row_is_lost(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.sqlite3"
    storage.Database(str(fresh)).close()
    old = tmp_path / "old.sqlite3"
    make_old_database(old, orders=3)
    before = orders_rows(old)
    assert "UNIQUE (partner, reference)" in table_sql(old)

    storage.Database(str(old)).close()

    assert orders_rows(old) == before
    assert "UNIQUE" not in table_sql(old)
    assert index_names(old) == index_names(fresh)
    # A second open finds nothing to rebuild and changes nothing.
    storage.Database(str(old)).close()
    assert orders_rows(old) == before and index_names(old) == index_names(fresh)


def test_a_cancelled_orders_reference_is_freed_on_an_old_database(tmp_path: Path) -> None:
    """IDEM-017 on a database created with the pre-decision-51 table: cancel, then recreate
    with the same reference under a new key, and every older order is still served."""
    old = tmp_path / "old.sqlite3"
    created = make_old_database(old, orders=3)
    with served(old) as base, SpecClient(base, ACME) as acme:
        for order in created:
            read = acme.get(f"/orders/{order['id']}")
            assert read.status_code == 200 and read.json()["reference"] == order["reference"]
        first = created[0]
        assert acme.post(f"/orders/{first['id']}/cancel").status_code == 200
        body = order_body(reference=first["reference"])
        again = acme.create_order(body)
        assert again.status_code == 201, again.text
        # The live order's reference is still refused.
        duplicate = acme.create_order(order_body(reference=first["reference"]))
        assert duplicate.status_code == 409, duplicate.text
        assert duplicate.json()["error"]["existing_order_id"] == again.json()["id"]
        listed = acme.get("/orders", params={"limit": 100}).json()["data"]
        assert {o["id"] for o in created} | {again.json()["id"]} <= {o["id"] for o in listed}
