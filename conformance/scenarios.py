"""What the scenario checks share: reading orders and stock, polling lists, judging a walk.

A check module is a list of checks, never another module's library: a helper two check modules
need lives here (or in `conformance.listing`, `conformance.factories`), so no check module
imports another, and none imports the plugin.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from conformance.config import Config
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import Walk, ids_ascending, older_than, parse_ts, read_rows, walk_list

# How many pages a helper that only reads a list follows (its rows, not a judgement of paging).
MAX_PAGES = 5


# -- adversarial filter values --------------------------------------------------------------------
def colliding(value: str) -> list[str]:
    """Values a loose filter confuses with `value` (issue 15): one it is a prefix of, one it is a
    substring of, and its case variant. An exact filter (byte for byte) tells each apart."""
    return [f"{value}-2", f"x{value}", value.swapcase()]


def probes(value: str) -> list[str]:
    """Values that only a prefix or substring filter matches to `value`: its own prefix and
    suffix (neither is a value of this run)."""
    return [value[:-1], value[1:]]


# -- orders ------------------------------------------------------------------------------------
def new_key(run_id: str) -> str:
    return f"{run_id}-{uuid.uuid4().hex}"


def body_of(resp: ApiResponse) -> dict[str, Any]:
    """The JSON object of a response body, or {} when it is none."""
    return resp.json if isinstance(resp.json, dict) else {}


def error_of(resp: ApiResponse) -> dict[str, Any]:
    """The error envelope's `error` object, or {} when there is none."""
    error = body_of(resp).get("error")
    return error if isinstance(error, dict) else {}


def error_code(resp: ApiResponse) -> Any:
    return error_of(resp).get("code")


def error_field(resp: ApiResponse) -> Any:
    return error_of(resp).get("field")


def orders_with_reference(api: ApiClient, reference: str) -> list[dict[str, Any]]:
    """The orders whose `reference` is `reference`, read through GET /orders?reference=...

    Rows are counted only when their reference matches, so a server that ignores the filter is
    not mistaken for one that stored duplicates; later pages (same filter) are followed too.
    """
    rows = read_rows(api, "/orders", {"reference": reference}, max_pages=MAX_PAGES)
    return [row for row in rows if row.get("reference") == reference]


def error_fields(resp: ApiResponse) -> set[str]:
    """Every `field` named by the envelope: `error.field` and each `errors[].field`."""
    body = resp.json if isinstance(resp.json, dict) else {}
    entries = [body.get("error"), *(body.get("errors") or [])]
    return {str(e["field"]) for e in entries if isinstance(e, dict) and e.get("field")}


def lines(order: dict[str, Any]) -> list[tuple[str, str]]:
    """An order's lines as sorted (sku, quantity) pairs: line order is not part of the contract.
    The quantity is kept as its JSON text, so 1 and "1" stay different."""
    return sorted(
        (str(line.get("sku")), json.dumps(line.get("quantity")))
        for line in order.get("items") or []
        if isinstance(line, dict)
    )


def create_id(api: ApiClient, body: dict[str, Any], run_id: str) -> str:
    """Creates the order and returns its id, failing the check unless the create answers 201."""
    headers = {"Idempotency-Key": new_key(run_id)}
    resp = api.request("POST", "/orders", json=body, headers=headers)
    assert resp.status == 201 and isinstance(resp.json, dict), (
        f"expected 201 creating the order, got {resp.status} ({resp.describe()})"
    )
    return str(resp.json.get("id"))


def in_stock_body(factory: TestData, quantity: int = 2, **overrides: Any) -> dict[str, Any]:
    """A valid order body for a new run-tagged SKU with enough stock that it is not backordered."""
    warehouse = overrides.get("warehouse_id", factory.warehouse_ids[0])
    sku = factory.sku(stock={warehouse: quantity + 10})
    overrides.setdefault("items", [{"sku": sku, "quantity": quantity}])
    overrides.setdefault("warehouse_id", warehouse)
    body: dict[str, Any] = factory.order_body(**overrides)
    return body


# What a refused amend must not change (read back after the refusal).
WATCHED_FIELDS = (
    "status",
    "version",
    "warehouse_id",
    "shipping_method_id",
    "signature_required",
    "insurance",
    "gift_message",
    "packing_note",
    "ship_to",
)


def get_order(api: ApiClient, order_id: str) -> tuple[dict[str, Any], Any]:
    resp = api.request("GET", f"/orders/{order_id}")
    assert resp.status == 200, (
        f"expected 200 reading the order, got {resp.status} ({resp.describe()})"
    )
    order: dict[str, Any] = resp.json if isinstance(resp.json, dict) else {}
    return order, resp


def snapshot(order: dict[str, Any]) -> dict[str, Any]:
    state = {field: order.get(field) for field in WATCHED_FIELDS}
    state["items"] = lines(order)
    return state


def assert_unchanged(
    api: ApiClient, order_id: str, before: dict[str, Any], after_what: str
) -> None:
    now, resp = get_order(api, order_id)
    changed = {
        field: (value, snapshot(now)[field])
        for field, value in snapshot(before).items()
        if snapshot(now)[field] != value
    }
    assert not changed, (
        f"expected the order unchanged after {after_what}, got changes (before, after): "
        f"{changed} ({resp.describe()})"
    )


def new_order(api: ApiClient, factory: TestData, run_id: str, **overrides: Any) -> dict[str, Any]:
    """Creates an in-stock order and returns it as GET shows it (the baseline for comparisons)."""
    order, _ = get_order(api, create_id(api, in_stock_body(factory, **overrides), run_id))
    return order


def parse_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# -- stock -------------------------------------------------------------------------------------
class Stock:
    """One read of GET /inventory?sku=...: the item's updated_at and its entry per warehouse."""

    def __init__(self, api: ApiClient, sku: str, params: dict[str, Any] | None = None) -> None:
        resp = api.request("GET", "/inventory", params={"sku": sku, **(params or {})})
        body = resp.json if isinstance(resp.json, dict) else {}
        assert resp.status == 200 and isinstance(body.get("data"), list), (
            f"expected 200 with a list for sku {sku}, got {resp.describe()}"
        )
        items = [row for row in body["data"] if isinstance(row, dict) and row.get("sku") == sku]
        assert items, (
            f"expected SKU {sku} in GET /inventory?sku={sku}, got it absent ({resp.describe()})"
        )
        self.sku = sku
        self.response = resp
        self.item: dict[str, Any] = items[0]
        self.rows: list[dict[str, Any]] = body["data"]
        self.updated_at = self.item.get("updated_at")
        self.entries: dict[str, dict[str, Any]] = {
            str(entry.get("warehouse_id")): entry
            for entry in self.item.get("warehouses") or []
            if isinstance(entry, dict)
        }

    def at(self, warehouse_id: str) -> dict[str, Any]:
        entry = self.entries.get(warehouse_id)
        assert entry is not None, (
            f"expected an entry for warehouse {warehouse_id} in SKU {self.sku}, got warehouses "
            f"{sorted(self.entries)} ({self.response.describe()})"
        )
        return entry

    def numbers(self, warehouse_id: str) -> dict[str, Any]:
        entry = self.at(warehouse_id)
        return {k: entry.get(k) for k in ("on_hand", "allocated", "available") if k in entry}


# -- polled lists (the PAG-001..PAG-010 rules on the inbound, adjustment and return lists) --
# Statuses a replay may carry: the guide says 200, the IETF draft and Stripe replay the original
# 201 (decision 2). Either passes; what matters is the same id and no second order.
REPLAY_STATUSES = (200, 201)


WALK_LIMIT = 2


FAR_PAST = "2000-01-01T00:00:00Z"


def get_ok(api: ApiClient, path: str) -> dict[str, Any]:
    resp = api.request("GET", path)
    assert resp.status == 200 and isinstance(resp.json, dict), (
        f"expected 200 with a JSON object, got {resp.describe()}"
    )
    body: dict[str, Any] = resp.json
    return body


def sandbox_api(api: ApiClient, conformance_config: Config) -> ApiClient:
    """The client for direct /sandbox calls; skips the check with a vendor driver."""
    if str(conformance_config.driver_spec) not in ("", "sandbox"):
        pytest.skip("the run uses a vendor driver, not the /sandbox control endpoints")
    return api


def gap() -> None:
    # Millisecond timestamps (decision 17): the next write lands in a later instant.
    time.sleep(0.005)


def stamp_of(resource: dict[str, Any], what: str) -> str:
    stamp = resource.get("updated_at")
    assert isinstance(stamp, str) and parse_ts(stamp) is not None, (
        f"expected an RFC 3339 updated_at on the {what}, got {stamp!r} ({resource})"
    )
    return stamp


def poll(
    api: ApiClient, path: str, params: dict[str, Any], limit: int = 200
) -> list[dict[str, Any]]:
    """Every row a poller sees with these filters (bounded walk); fails on a broken page."""
    return read_rows(api, path, params, limit=limit, max_pages=20)


@dataclass
class Polled:
    """Rows this run wrote to one polled list, in write order, and what they are filtered by."""

    api: ApiClient
    path: str
    rows: list[dict[str, Any]]
    filters: list[tuple[str, Any, set[str]]]  # (parameter, value, ids that must match)

    @property
    def since(self) -> str:
        return stamp_of(self.rows[0], f"first row of {self.path}")

    @property
    def ids(self) -> list[str]:
        return [str(row.get("id")) for row in self.rows]


def judge_walk(polled: Polled) -> Walk:
    """Walks the list from the first row's updated_at in pages of 2 and asserts the list rules
    (PAG-001..PAG-008) on it: envelope, each run row once, nothing older than the bound, pages
    within limit, has_more agreeing with next_cursor, ascending (updated_at, id)."""
    since = polled.since
    older = older_than(since)
    walk = walk_list(polled.api, polled.path, {"updated_since": since}, limit=WALK_LIMIT)
    assert walk.error is None, f"{walk.error} ({walk.describe()})"
    too_old = [reason for _, row in walk.rows() if (reason := older(row))]
    assert not too_old, (
        f"expected no row older than updated_since, got {too_old[0]} ({walk.describe()})"
    )
    assert walk.reached_end, (
        f"expected the walk to reach the last page, got {walk.stopped} ({walk.describe()})"
    )
    served = Counter(str(row.get("id")) for _, row in walk.rows())
    wrong = {rid: served.get(rid, 0) for rid in polled.ids if served.get(rid, 0) != 1}
    assert not wrong, (
        f"expected each of this run's rows {polled.ids} exactly once (the first's updated_at "
        f"is the inclusive bound), got counts {wrong} ({walk.describe()})"
    )
    for number, page in enumerate(walk.pages, start=1):
        assert len(page.rows) <= WALK_LIMIT, (
            f"expected at most {WALK_LIMIT} rows on page {number}, got {len(page.rows)} "
            f"({page.response.describe()})"
        )
        cursor_given = isinstance(page.next_cursor, str) and bool(page.next_cursor)
        assert isinstance(page.has_more, bool) and page.has_more == cursor_given, (
            f"expected has_more true exactly when next_cursor is set on page {number}, got "
            f"has_more={page.has_more!r} next_cursor={page.next_cursor!r} "
            f"({page.response.describe()})"
        )
    keys = [(parse_ts(row.get("updated_at")), str(row.get("id"))) for _, row in walk.rows()]
    for (t1, id1), (t2, id2) in pairwise(keys):
        ordered = (
            t1 is not None
            and t2 is not None
            and (t1 < t2 or (t1 == t2 and ids_ascending(id1, id2)))
        )
        assert ordered, (
            f"expected rows ascending by (updated_at, id), got {id1} ({t1}) before {id2} ({t2}) "
            f"({walk.describe()})"
        )
    return walk


def judge_cursors(api: ApiClient, polled: Polled) -> None:
    """A malformed cursor and a valid cursor sent with another updated_since are both
    400 invalid_cursor (PAG-009, PAG-010)."""
    since = polled.since
    first = api.request("GET", polled.path, params={"updated_since": since, "limit": 1})
    cursor = (body_of(first).get("pagination") or {}).get("next_cursor")
    assert first.status == 200 and isinstance(cursor, str) and cursor, (
        f"expected a next_cursor on a page of 1 of {len(polled.rows)} rows, got {first.describe()}"
    )
    for label, params in (
        ("a malformed cursor", {"cursor": "ck-not-a-cursor"}),
        ("a cursor with another updated_since", {"cursor": cursor, "updated_since": FAR_PAST}),
    ):
        resp = api.request("GET", polled.path, params={**params, "limit": 1})
        assert resp.status == 400 and error_code(resp) == "invalid_cursor", (
            f"expected 400 invalid_cursor for {label}, got {resp.status} {error_code(resp)!r} "
            f"({resp.describe()})"
        )


def judge_filters(api: ApiClient, polled: Polled) -> None:
    """Each filter returns the run's matching rows and only rows matching it."""
    for name, value, must in polled.filters:
        params = {"updated_since": polled.since, name: value}
        walk = walk_list(api, polled.path, params, limit=50, max_pages=20)
        assert walk.error is None, f"{walk.error} ({walk.describe()})"
        rows = [row for _, row in walk.rows()]
        got = {str(row.get("id")) for row in rows}
        assert must <= got, (
            f"expected {sorted(must)} with {name}={value}, got {sorted(got)} ({walk.describe()})"
        )
        strangers = [
            (row.get("id"), row.get(name)) for row in rows if str(row.get(name)) != str(value)
        ]
        assert not strangers, (
            f"expected only rows with {name}={value}, got {strangers[:3]} ({walk.describe()})"
        )
