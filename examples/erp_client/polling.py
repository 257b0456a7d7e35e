"""The polling loop of the contract, resumable after a crash.

Per feed the store keeps a high-water mark (`updated_since` of the next walk) and, during a walk,
the cursor of the next page and the newest `updated_at` seen so far. Each page is applied in one
transaction together with the cursor that follows it, so a crash loses nothing and a restart
continues from the stored cursor (valid 24 hours; an expired one restarts from the mark).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fulfillment_erp_client.orders import Refused
from fulfillment_erp_client.retries import RetryPolicy, error_code, send
from fulfillment_erp_client.store import FeedState, Store, parse_time

# Called for each new row inside the page's transaction: if it raises, the page is not
# committed and its rows come again on the next poll (at least once, deduplicated by the store).
Handler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Feed:
    name: str
    path: str
    key: str  # the row's identity: `id`, or `sku` for inventory


SHIPMENTS = Feed("shipments", "/shipments", "id")
INVENTORY = Feed("inventory", "/inventory", "sku")
# Orders change warehouse-side too (picked, held, cancelled, closed short); the client learns of it
# from order.updated (decision 45) and could poll /orders with the same loop.
ORDERS = Feed("orders", "/orders", "id")


def newer(a: str | None, b: str) -> str:
    return b if a is None or parse_time(b) > parse_time(a) else a


class Poller:
    def __init__(
        self, http: httpx.Client, store: Store, policy: RetryPolicy, *, page_size: int = 200
    ) -> None:
        self.http, self.store, self.policy, self.page_size = http, store, policy, page_size

    def poll(self, feed: Feed, handle: Handler | None = None) -> list[dict[str, Any]]:
        """One walk to the end of the list; returns the rows that were new to this client."""
        fresh: list[dict[str, Any]] = []
        state = self.store.feed(feed.name)
        while True:
            response = self._page(feed, state)
            if response.status_code == 400 and error_code(response) == "invalid_cursor":
                state = FeedState(state.mark, None, state.walk_max)  # expired: redo from mark
                continue
            if response.status_code != 200:
                raise Refused(response)
            page = response.json()
            walk_max = state.walk_max
            with self.store.transaction() as conn:
                for row in page["data"]:
                    walk_max = newer(walk_max, row["updated_at"])
                    # Dedup by (key, updated_at): the inclusive bound (PAG-006) serves the
                    # boundary rows again, and a row changed mid-walk comes back newer.
                    if self.store.apply(conn, feed.name, str(row[feed.key]), row):
                        if handle is not None:
                            handle(row)
                        fresh.append(row)
                cursor = page["pagination"]["next_cursor"]
                if page["pagination"]["has_more"] and cursor:
                    state = FeedState(state.mark, cursor, walk_max)
                else:
                    # Walk done: the mark moves to the newest updated_at seen, never past it
                    # (an exclusive bound or a +1 ms would skip rows stamped in that instant).
                    state = FeedState(
                        newer(state.mark, walk_max) if walk_max else state.mark, None, None
                    )
                Store.save_feed(conn, feed.name, state)
            if state.cursor is None:
                return fresh

    def _page(self, feed: Feed, state: FeedState) -> httpx.Response:
        # The cursor goes back with the same filters it was issued for (PAG-010): the mark only
        # moves once a walk is done.
        params: dict[str, Any] = {"limit": self.page_size}
        if state.mark is not None:
            params["updated_since"] = state.mark
        if state.cursor is not None:
            params["cursor"] = state.cursor
        return send(self.http, self.policy, "GET", feed.path, params=params)
