"""A server clock that ties: writes that overlap in time share one `updated_at`, as on a server
that stamps a row with the instant its request arrived, at millisecond resolution. The reference
sandbox never ties (its stamps are strictly increasing per table), so the ordering rules for ties
(PAG-005: `updated_at`, then `id` ascending) are only exercised against a clock like this one.

`BurstClock` is the clock with the sandbox's list order (by the true instant), which is how a
server ordering by `updated_at` alone behaves: ties come in arrival order. The broken servers of
broken_subtle.py build on it; `TiesById` is the legal server (variants.py): the same clock, lists
in (`updated_at`, id) order, binary, with its own keyset cursor.

Only the polled core resources are re-stamped (orders, shipments, stock); the optional profiles'
resources keep the sandbox's stamps.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import POLLED, Middleware, is_list, parse_ts, with_error

OWN_STAMPS = ("/inbound-shipments", "/returns", "/inventory-adjustments", "/webhooks")
SANDBOX_PAGE = 200


def ms(value: Any) -> int | None:
    moment = parse_ts(value)
    return None if moment is None else int(moment.timestamp() * 1000)


def stamp(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def rewrite_stamps(value: Any, fn: Any) -> Any:
    """Every server stamp (`updated_at`, `created_at`, `cancelled_at`, ...) in a JSON value,
    rewritten by `fn`: one clock stamps them all."""
    if isinstance(value, list):
        return [rewrite_stamps(item, fn) for item in value]
    if isinstance(value, dict):
        return {
            key: fn(item) if key.endswith("_at") else rewrite_stamps(item, fn)
            for key, item in value.items()
        }
    return value


def row_key(row: Any) -> str:
    """What breaks a tie: the id, or the sku of a stock row."""
    return str(row.get("id") or row.get("sku") or "") if isinstance(row, dict) else ""


class BurstClock(Middleware):
    """Writes that overlap (one starts while another is in flight) form a burst, and every row a
    burst writes reads with the instant the burst began; a write alone keeps an instant of its
    own. Lists are the sandbox's (cursor included), re-stamped: ties come in arrival order, and
    `tie_order` may reorder the rows of a page."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.bursts: list[list[int | None]] = []  # [start ms, end ms or None while open]

    def reported(self, real: int) -> int:
        for start, end in reversed(self.bursts):
            assert start is not None
            if start <= real and (end is None or real <= end):
                return start
        return real

    def report(self, value: Any) -> Any:
        real = ms(value)
        return value if real is None else stamp(self.reported(real))

    def since(self, value: str) -> str:
        """An `updated_since` inside a burst (not at its start) leaves the whole burst out."""
        real = ms(value)
        if real is None:
            return value
        for start, end in self.bursts:
            if start is not None and end is not None and start < real <= end:
                return stamp(end + 1)
        return value

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            return self.rewrite(request, await self.read(request))
        with self.lock:
            if self.in_flight == 0:
                self.bursts.append([int(time.time() * 1000), None])
            self.in_flight += 1
        try:
            response = await self.call(request)
        finally:
            with self.lock:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self.bursts[-1][1] = int(time.time() * 1000) + 1
        return self.rewrite(request, response)

    async def read(self, request: Request) -> Response:
        since = request.query.get("updated_since")
        if since:
            request = request.with_query(updated_since=self.since(since))
        return await self.call(request)

    def rewrite(self, request: Request, response: Response) -> Response:
        body = response.json
        own = request.path.startswith(OWN_STAMPS) or request.path.startswith(
            tuple(f"/sandbox{path}" for path in OWN_STAMPS)
        )
        if own or not 200 <= response.status < 300 or body is None:
            return response
        body = rewrite_stamps(body, self.report)
        if is_list(request) and isinstance(body, dict) and isinstance(body.get("data"), list):
            body["data"] = self.tie_order(body["data"])
        return response.with_json(body)

    def tie_order(self, rows: list[Any]) -> list[Any]:
        return rows


class TiesById(BurstClock):
    """The legal server: the same clock, every polled list in (`updated_at`, id) order with ids
    compared as bytes, and its own keyset cursor over that order (base64 JSON of the filters and
    the last row's (instant, key)), refusing a malformed one or one sent with other filters with
    400 `invalid_cursor`. It reads the sandbox's whole filtered list and pages it itself."""

    async def read(self, request: Request) -> Response:
        if not is_list(request, *POLLED):
            return await self.call(request)
        cursor = request.query.get("cursor")
        # The sandbox judges limit, updated_since and the filters (its 400s) on a first page.
        probe = await self.call(request.with_query(cursor=None))
        if probe.status != 200:
            return probe
        filters = {k: v for k, v in request.query.items() if k not in ("cursor", "limit")}
        after: tuple[int, str] | None = None
        if cursor:
            decoded = self.decode(cursor)
            if decoded is None or (filters and decoded[0] != filters):
                return with_error(probe, 400, "invalid_cursor")
            filters, after = decoded[0], decoded[1]
        rows = await self.every_row(request, filters)
        since = ms(filters.get("updated_since"))
        ordered = sorted(
            (
                (self.reported(real), row_key(row), row)
                for row in rows
                if (real := ms(row.get("updated_at"))) is not None
            ),
            key=lambda item: (item[0], item[1].encode()),
        )
        kept = [
            item
            for item in ordered
            if (since is None or item[0] >= since)
            and (after is None or (item[0], item[1].encode()) > (after[0], after[1].encode()))
        ]
        limit = int(request.query.get("limit") or 50)
        page, more = kept[:limit], len(kept) > limit
        next_cursor = self.encode(filters, page[-1][0], page[-1][1]) if more and page else None
        body = {
            "data": [row for _, _, row in page],
            "pagination": {"next_cursor": next_cursor, "has_more": next_cursor is not None},
        }
        return probe.with_json(body)

    async def every_row(self, request: Request, filters: dict[str, str]) -> list[Any]:
        rows: list[Any] = []
        query: dict[str, str | None] = {**filters, "limit": str(SANDBOX_PAGE), "cursor": None}
        while True:
            page = (await self.call(request.with_query(**query))).json or {}
            rows.extend(page.get("data") or [])
            next_cursor = (page.get("pagination") or {}).get("next_cursor")
            if not next_cursor:
                return rows
            query["cursor"] = next_cursor

    @staticmethod
    def encode(filters: dict[str, str], instant: int, key: str) -> str:
        raw = json.dumps({"f": filters, "a": [instant, key]}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str) -> tuple[dict[str, str], tuple[int, str]] | None:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
            instant, key = data["a"]
            return dict(data["f"]), (int(instant), str(key))
        except (ValueError, KeyError, TypeError):
            return None
