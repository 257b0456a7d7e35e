"""Servers broken in exactly one way each, for the checks of pagination (PAG): page size, cursors,
ordering and updated_since."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    Middleware,
    PageRewrite,
    is_list,
    parse_ts,
    with_error,
)


class ExclusiveUpdatedSince(PageRewrite):
    """`updated_since` is exclusive: a row whose updated_at equals the bound is left out."""

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        bound = parse_ts(request.query.get("updated_since"))
        return [r for r in rows if bound is None or parse_ts(r.get("updated_at")) != bound]


class TextComparedUpdatedSince(PageRewrite):
    """`updated_since` is compared as text, not as an instant: a row at "...:07.123Z" is left out
    of a poll from "...:07Z" (the dot sorts before the Z)."""

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        bound = request.query.get("updated_since")
        return [r for r in rows if bound is None or str(r.get("updated_at")) >= bound]


class CaseInsensitiveTies(PageRewrite):
    """Inventory stamped on a 10 ms clock (ties), ties broken by SKU case-insensitively, as a
    database with a case-insensitive collation orders them ("x-a" before "x-B")."""

    paths = ("/inventory",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            stamp = row.get("updated_at")
            if isinstance(stamp, str) and re.search(r"\.\d{3}Z$", stamp):
                row["updated_at"] = stamp[:-2] + "0Z"
        return sorted(rows, key=lambda r: (parse_ts(r.get("updated_at")), str(r["sku"]).lower()))


class DescendingPages(PageRewrite):
    """Each page comes newest first."""

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(reversed(rows))


class HasMoreOnLastPage(PageRewrite):
    """The last page says has_more true, with next_cursor null."""

    def pagination(self, request: Request, pagination: dict[str, Any]) -> dict[str, Any]:
        return {**pagination, "has_more": True}


class PagesOverLimit(Middleware):
    """Serves one row more than `limit` asks for."""

    async def handle(self, request: Request) -> Response:
        limit = request.query.get("limit")
        if request.method == "GET" and limit and limit.isdigit() and 1 <= int(limit) < 200:
            request = request.with_query(limit=str(int(limit) + 1))
        return await self.call(request)


class CursorHandedBack(Middleware):
    """The first time a cursor is used it answers an empty page with has_more true and that very
    cursor as next_cursor (the second use goes on): a client cannot tell it from a stuck walk."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.handed_back: set[str] = set()

    async def handle(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        if not (is_list(request) and cursor) or cursor in self.handed_back:
            return await self.call(request)
        response = await self.call(request)
        if response.status != 200:
            return response
        self.handed_back.add(cursor)
        page = {"data": [], "pagination": {"next_cursor": cursor, "has_more": True}}
        return response.with_json(page)


class IgnoresUpdatedSince(Middleware):
    """`updated_since` is accepted and ignored."""

    async def handle(self, request: Request) -> Response:
        if is_list(request):
            request = request.with_query(updated_since=None)
        return await self.call(request)


class LimitClamped(Middleware):
    """limit above 200 is silently clamped to 200 instead of refused."""

    async def handle(self, request: Request) -> Response:
        limit = request.query.get("limit")
        if request.method == "GET" and limit and limit.isdigit() and int(limit) > 200:
            request = request.with_query(limit="200")
        return await self.call(request)


class MalformedCursorRestarts(Middleware):
    """A cursor the server never issued is ignored: the walk silently restarts from the top."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.issued: set[str] = set()

    async def handle(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        if is_list(request) and cursor and cursor not in self.issued:
            request = request.with_query(cursor=None)
        response = await self.call(request)
        body = response.json
        if isinstance(body, dict) and isinstance(body.get("pagination"), dict):
            issued = body["pagination"].get("next_cursor")
            if issued:
                self.issued.add(issued)
        return response


class CursorIgnoresFilters(Middleware):
    """With a cursor, every other filter is dropped, so other filters are never refused."""

    async def handle(self, request: Request) -> Response:
        if is_list(request) and request.query.get("cursor"):
            keep = {k: v for k, v in request.query.items() if k in ("cursor", "limit")}
            request = replace(request, query=keep)
        return await self.call(request)


def sandbox_cursor_filters(cursor: str) -> dict[str, Any] | None:
    """The filters a sandbox cursor carries (its payload is base64url JSON before the "."), or
    None for a cursor that is not the sandbox's."""
    payload = cursor.partition(".")[0]
    try:
        document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    filters = document.get("f") if isinstance(document, dict) else None
    return filters if isinstance(filters, dict) else None


class BareCursorRefused(Middleware):
    """A cursor sent without the filters of its walk (as the guide's client sends it) is refused
    with 400 invalid_cursor: the server insists on the filters being repeated."""

    async def handle(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        filters = sandbox_cursor_filters(cursor) if is_list(request) and cursor else None
        if filters and any(name not in request.query for name in filters):
            refused = await self.call(request.with_query(cursor=None))
            return with_error(refused, 400, "invalid_cursor")
        return await self.call(request)


class CursorAcceptsAddedFilter(Middleware):
    """A filter sent next to a cursor that its walk did not have is silently dropped (200)."""

    async def handle(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        filters = sandbox_cursor_filters(cursor) if is_list(request) and cursor else None
        if filters is not None:
            keep = {"cursor", "limit", *filters}
            request = replace(request, query={k: v for k, v in request.query.items() if k in keep})
        return await self.call(request)


class KeysetProxy(Middleware):
    """Serves the polled lists with its own keyset cursors over the sandbox's full result;
    `shift` moves each page boundary (+1 skips a row, -1 serves a row twice)."""

    shift = 0

    @staticmethod
    def _key(row: dict[str, Any]) -> tuple[Any, str]:
        return (parse_ts(row.get("updated_at")), str(row.get("id") or row.get("sku")))

    async def _all_rows(
        self, request: Request, filters: dict[str, str]
    ) -> tuple[list[Any], Response]:
        rows: list[dict[str, Any]] = []
        query = {**filters, "limit": "200"}
        while True:
            response = await self.call(replace(request, query=query))
            body = response.json
            if response.status != 200 or not isinstance(body, dict):
                return [], response
            rows += body.get("data") or []
            cursor = (body.get("pagination") or {}).get("next_cursor")
            if not cursor:
                return rows, response
            query = {**filters, "limit": "200", "cursor": cursor}

    async def handle(self, request: Request) -> Response:
        if not is_list(request):
            return await self.call(request)
        filters = {k: v for k, v in request.query.items() if k not in ("cursor", "limit")}
        raw_limit = request.query.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
            return await self.call(request)  # the sandbox's own 400
        limit = int(raw_limit)
        after: tuple[Any, str] | None = None
        if "cursor" in request.query:
            refused = await self.call(request.with_query(cursor=None))
            refused = with_error(refused, 400, "invalid_cursor")
            try:
                state = json.loads(base64.urlsafe_b64decode(request.query["cursor"].encode()))
                after = (parse_ts(state["u"]), state["i"])
            except (ValueError, KeyError, TypeError):
                return refused
            if any(state["f"].get(k) != v for k, v in filters.items()):
                return refused
            filters = state["f"]
        rows, response = await self._all_rows(request, filters)
        if response.status != 200:
            return response
        start = (
            0
            if after is None
            else next((n for n, row in enumerate(rows) if self._key(row) > after), len(rows))
        )
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        cursor = None
        if more:
            boundary = rows[start + limit - 1 + self.shift]
            state = {"u": boundary.get("updated_at"), "i": self._key(boundary)[1], "f": filters}
            cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return response.with_json(
            {"data": page, "pagination": {"next_cursor": cursor, "has_more": more}}
        )


class CursorSkipsRow(KeysetProxy):
    """Each next_cursor points one row past the page's end: one row per page is never served."""

    shift = 1


class CursorRepeatsRow(KeysetProxy):
    """Each next_cursor points one row before the page's end: that row is served twice."""

    shift = -1


class ReferenceListWithoutHasMore(Middleware):
    """GET /warehouses answers a pagination object without has_more."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_list(request, "/warehouses") and isinstance(body, dict):
            (body.get("pagination") or {}).pop("has_more", None)
            return response.with_json(body)
        return response


class RejectsOffsetUpdatedSince(Middleware):
    """updated_since with a numeric UTC offset (valid RFC 3339) is refused with 400."""

    async def handle(self, request: Request) -> Response:
        since = request.query.get("updated_since", "")
        if is_list(request) and re.search(r"[+-]\d{2}:\d{2}$", since):
            return with_error(
                await self.call(request.with_query(updated_since=None)), 400, "validation_failed"
            )
        return await self.call(request)


class DefaultLimit100(Middleware):
    """Without limit a page holds up to 100 rows."""

    async def handle(self, request: Request) -> Response:
        if (
            request.method == "GET"
            and "limit" not in request.query
            and "cursor" not in request.query
        ):
            request = request.with_query(limit="100")
        return await self.call(request)


class MalformedUpdatedSinceIgnored(Middleware):
    """An updated_since that is not a date-time is dropped instead of refused."""

    async def handle(self, request: Request) -> Response:
        since = request.query.get("updated_since")
        if is_list(request) and since is not None and parse_ts(since) is None:
            request = request.with_query(updated_since=None)
        return await self.call(request)


class SecondPrecisionTimestamps(Middleware):
    """Every updated_at is served truncated to the whole second."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.body and (response.header("content-type") or "").startswith("application/json"):
            text = re.sub(rb'("updated_at": ?"[^".]+)\.\d+Z"', rb'\1Z"', response.body)
            return Response(response.status, response.headers, text)
        return response
