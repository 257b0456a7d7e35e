"""Walking a list endpoint page by page, and reading its timestamps.

Every check that judges a list (pagination, shipments, inventory, reference data, isolation)
walks it the way an ERP's poller does: follow `next_cursor` until `has_more` is false, with an
optional write between pages. One walker, so every check judges the same recorded walk shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from conformance.http import ApiClient, ApiResponse

# Generous: two kit runs against one server share the window; a longer walk means a broken filter.
MAX_PAGES = 150
NO_CURSOR = "has_more is true but next_cursor is "

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_ts(value: Any) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime (any fraction length), or None if it is not one.

    String comparison is wrong here: "…:11.5Z" sorts before "…:11Z" as text.
    """
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    text = f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micros:06d}"
    text += "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------- walking
@dataclass
class Page:
    """One page as served: its rows, its pagination object and the response it came from."""

    response: ApiResponse
    rows: list[dict[str, Any]]
    next_cursor: Any
    has_more: Any


@dataclass
class Walk:
    """A recorded walk of one list. `error` is set when a page could not be read as a list;
    `stopped` says why the walk ended early (it could not, or should not, go on)."""

    path: str
    params: dict[str, Any]
    limit: int | None
    pages: list[Page] = field(default_factory=list)
    error: str | None = None
    stopped: str | None = None

    @property
    def reached_end(self) -> bool:
        """True when the walk read the last page (or a page claiming more without a cursor)."""
        return self.error is None and (self.stopped is None or self.stopped.startswith(NO_CURSOR))

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, page in enumerate(self.pages, start=1):
            for row in page.rows:
                yield number, row

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        last = self.pages[-1].response.describe() if self.pages else "no page"
        return f"walk of GET {self.path} ({params}, limit={self.limit}), last page {last}"


def walk_list(
    api: ApiClient,
    path: str,
    params: dict[str, Any],
    *,
    limit: int | None,
    between_pages: Callable[[int], None] | None = None,
    stop_if: Callable[[dict[str, Any]], str | None] | None = None,
    max_pages: int = MAX_PAGES,
    bare_cursor: bool = False,
) -> Walk:
    """Follow `next_cursor` from the first page until `has_more` is false, recording every page.

    The filters are sent again with every cursor, unchanged (the spec's `cursor` parameter), or
    with `bare_cursor` the cursor is sent alone, without filters or limit (PAG-018: it carries
    them, and the guide's client sends `?cursor=...` alone).
    `between_pages(n)` runs after page n has been read; `stop_if(row)` returns a reason to stop
    early (for instance rows older than `updated_since`: a filter that is ignored would otherwise
    make the walk crawl the server's whole history). `limit=None` sends none (the server's
    default page size).
    """
    walk = Walk(path=path, params=dict(params), limit=limit)
    sized: dict[str, Any] = {} if limit is None else {"limit": limit}
    query: dict[str, Any] = {**params, **sized}
    while True:
        resp = api.request("GET", path, params=query)
        body = resp.json
        data = body.get("data") if isinstance(body, dict) else None
        pagination = body.get("pagination") if isinstance(body, dict) else None
        if resp.status != 200 or not isinstance(data, list) or not isinstance(pagination, dict):
            walk.error = (
                f"expected 200 with a list envelope (data, pagination) on page "
                f"{len(walk.pages) + 1}, got {resp.describe()}"
            )
            return walk
        rows = [row for row in data if isinstance(row, dict)]
        page = Page(resp, rows, pagination.get("next_cursor"), pagination.get("has_more"))
        walk.pages.append(page)
        if stop_if is not None:
            for row in rows:
                reason = stop_if(row)
                if reason:
                    walk.stopped = reason
                    return walk
        if page.has_more is not True:
            return walk
        if not isinstance(page.next_cursor, str) or not page.next_cursor:
            walk.stopped = f"{NO_CURSOR}{page.next_cursor!r}"
            return walk
        if len(walk.pages) >= max_pages:
            walk.stopped = f"still has_more after {max_pages} pages"
            return walk
        if between_pages is not None:
            between_pages(len(walk.pages))
        query = {} if bare_cursor else {**params, **sized}
        query["cursor"] = page.next_cursor


def older_than(since: str) -> Callable[[dict[str, Any]], str | None]:
    """For `stop_if` or a judgement: why a row's updated_at is before `since` (else None)."""
    bound = parse_ts(since)

    def older(row: dict[str, Any]) -> str | None:
        stamp = parse_ts(row.get("updated_at"))
        if stamp is not None and bound is not None and stamp < bound:
            return f"a row with updated_at {row.get('updated_at')} before updated_since {since}"
        return None

    return older


def read_rows(
    api: ApiClient,
    path: str,
    params: dict[str, Any],
    *,
    max_pages: int,
    limit: int | None = None,
    why: str = "",
) -> list[dict[str, Any]]:
    """Every row of a list with these filters (at most `max_pages` pages), for a check that needs
    the rows rather than a judgement of the paging; fails the check on a page that is no list
    (`why` the rows were needed goes into that message)."""
    walk = walk_list(api, path, params, limit=limit, max_pages=max_pages)
    reason = f" ({why})" if why else ""
    assert walk.error is None, f"{walk.error}{reason} ({walk.describe()})"
    return [row for _, row in walk.rows()]


def ids_ascending(first: str, second: str) -> bool:
    """`first` may precede (or repeat as) `second`: text order, or number order for digit ids."""
    if first.isdigit() and second.isdigit():
        return int(first) <= int(second)
    return first <= second
