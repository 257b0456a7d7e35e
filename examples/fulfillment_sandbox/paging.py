"""Keyset pagination in (updated_at, id) order, shared by every list endpoint (decisions 15-18).

`updated_since` is inclusive. The keyset condition resumes strictly after the last row served, so
a row that does not change during a walk is served exactly once, and a row that changes moves to
the end (it has the newest `updated_at`) and may be served again: that is correct (decision 16).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cursors import CursorCodec, Position, merge_filters
from .storage import format_ms, parse_ms

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class ListQuery:
    """A parsed list request: filters as sent (None = absent), cursor and limit."""

    filters: dict[str, Any] = field(default_factory=dict)
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def normalise_since(value: str | None) -> str | None:
    return None if value is None else format_ms(parse_ms(value))


def equal_filters(*names: str) -> Callable[[dict[str, Any]], tuple[list[str], list[Any]]]:
    """The `conditions` of a list whose filters are plain equality on same-named columns."""

    def conditions(filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
        present = [name for name in names if filters.get(name) is not None]
        return [f"{name} = ?" for name in present], [filters[name] for name in present]

    return conditions


def list_page(
    conn: sqlite3.Connection,
    codec: CursorCodec,
    *,
    resource: str,
    table: str,
    id_column: str,
    partner: str,
    query: ListQuery,
    conditions: Callable[[dict[str, Any]], tuple[list[str], list[Any]]],
    render: Callable[[sqlite3.Row], dict[str, Any]],
    by_id_only: bool = False,
) -> dict[str, Any]:
    """One page of `table` for `partner`: `{"data": [...], "pagination": {...}}`.

    `conditions(filters)` turns the effective filters (other than updated_since) into SQL.
    `by_id_only` orders by id alone: the reference lists (warehouses, shipping methods) have no
    `updated_at` in the contract, which orders them by id (PAG-005).
    """
    given = dict(query.filters)
    given["updated_since"] = normalise_since(given.get("updated_since"))
    filters, position = merge_filters(codec, resource, query.cursor, given)
    where = ["partner = ?"]
    params: list[Any] = [partner]
    since = filters.get("updated_since")
    if since is not None:
        where.append("updated_at >= ?")
        params.append(since)
    extra_where, extra_params = conditions(filters)
    where.extend(extra_where)
    params.extend(extra_params)
    if position is not None and by_id_only:
        where.append(f"{id_column} > ?")
        params.append(position.id)
    elif position is not None:
        where.append(f"(updated_at > ? OR (updated_at = ? AND {id_column} > ?))")
        params.extend([position.updated_at, position.updated_at, position.id])
    limit = max(1, min(query.limit, MAX_LIMIT))
    order = id_column if by_id_only else f"updated_at, {id_column}"
    sql = f"SELECT * FROM {table} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    rows = conn.execute(sql, [*params, limit + 1]).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = codec.encode(
            resource, filters, Position(str(last["updated_at"]), str(last[id_column]))
        )
    return {
        "data": [render(row) for row in rows],
        "pagination": {"next_cursor": next_cursor, "has_more": has_more},
    }
