"""Table rebuilds for databases written by an older sandbox.

`CREATE TABLE IF NOT EXISTS` leaves an existing table as it was, so a table constraint that a
later contract dropped stays in a long-lived database. SQLite cannot drop a table constraint
with ALTER TABLE; the documented way (https://www.sqlite.org/lang_altertable.html, "Making Other
Kinds Of Table Schema Changes") is a rebuild: create the new table, copy the rows, drop the old
one, rename the new one, recreate the indexes, all in one transaction so that a crash leaves
either the old table or the new one, never half of each.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Rebuild:
    """A table whose stored definition must be replaced when `outdated` matches its SQL."""

    table: str
    outdated: re.Pattern[str]
    why: str


REBUILDS = (
    # Before decision 51 a reference was unique among all of a partner's orders, cancelled ones
    # included; now the partial index `orders_live_reference` says "among live orders", and the
    # old table constraint would still refuse a cancelled order's reference (IDEM-017).
    Rebuild(
        table="orders",
        outdated=re.compile(r"UNIQUE\s*\(\s*partner\s*,\s*reference\s*\)", re.IGNORECASE),
        why="UNIQUE(partner, reference) predates decision 51",
    ),
)


def table_definition(schema: str, table: str) -> str:
    """The `CREATE TABLE` statement of `table` in `schema`: the new shape is SCHEMA's own, so a
    rebuild and a fresh database cannot drift apart."""
    pattern = rf"CREATE TABLE IF NOT EXISTS {re.escape(table)} \(.*?\);"
    match = re.search(pattern, schema, re.DOTALL)
    if match is None:
        raise LookupError(f"no CREATE TABLE for {table!r} in the schema")
    return match.group(0)


def stored_sql(conn: sqlite3.Connection, table: str) -> str:
    row = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return "" if row is None else str(row[0])


def rebuild_table(conn: sqlite3.Connection, schema: str, table: str) -> None:
    """Replace `table` by SCHEMA's definition, keeping every row and every named index."""
    temporary = f"{table}_rebuilt"
    definition = table_definition(schema, table).replace(
        f"CREATE TABLE IF NOT EXISTS {table} (", f"CREATE TABLE {temporary} (", 1
    )
    # Named indexes only: the automatic ones (sql IS NULL) belong to the constraint being removed.
    indexes = [
        str(sql)
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
    ]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(definition)
        old = [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]
        new = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({temporary})")}
        columns = ", ".join(name for name in old if name in new)
        conn.execute(f"INSERT INTO {temporary} ({columns}) SELECT {columns} FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {temporary} RENAME TO {table}")
        for sql in indexes:
            conn.execute(sql)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def rebuild_outdated_tables(conn: sqlite3.Connection, schema: str) -> list[str]:
    """Rebuild every table of REBUILDS whose stored SQL is outdated; returns their names.

    `conn` must be in autocommit mode (isolation_level=None) with no transaction open."""
    rebuilt = []
    for rebuild in REBUILDS:
        if rebuild.outdated.search(stored_sql(conn, rebuild.table)):
            rebuild_table(conn, schema, rebuild.table)
            rebuilt.append(rebuild.table)
    return rebuilt
