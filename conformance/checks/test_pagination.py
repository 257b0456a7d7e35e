"""Lists, cursors and incremental polling (guide § Global conventions, § Efficient incremental
polling; decisions 15-19).

An ERP polls `GET /shipments?updated_since=<high-water mark>` and walks `next_cursor` until
`has_more` is false. That loop is only safe if the walk never skips or repeats a row while the
warehouse keeps writing, so these checks walk each polled list with a small `limit` and write new
rows (and change an old one) between page fetches, then judge the recorded walk.

No false positives: every walk is scoped by `updated_since` = an `updated_at` the server itself
served at the start of the scenario, so history on the server does not matter; completeness and
repeats are judged only on rows this run created; rows of other runs in the window are allowed;
smaller pages, other id formats and extra fields pass.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import (
    Walk,
    ids_ascending,
    older_than,
    parse_ts,
    walk_list,
)
from conformance.scenarios import FAR_PAST, error_code

WALK_LIMIT = 2
FAR_FUTURE = "2999-01-01T00:00:00Z"
DEFAULT_LIMIT = 50
POLLED_LISTS = ("/orders", "/shipments", "/inventory")
FRACTION = re.compile(r"\.(\d+)")
# Rows written milliseconds apart that all land on a whole second only when the server
# truncates (chance about 1e-3 per row otherwise).
TRUNCATION_EVIDENCE = 5

# -- scenarios -----------------------------------------------------------------------------


@dataclass
class Scenario:
    """A walk of one polled list while rows are written, and what this run knows about its rows."""

    name: str
    key: str
    since: str
    anchor: str
    older: str | None
    before_walk: list[str]
    changed_during: list[str]
    created_during: list[str]
    walk: Walk

    def served(self, key: str) -> list[dict[str, Any]]:
        return [row for _, row in self.walk.rows() if row.get(self.key) == key]


class _Resource:
    """How to create and change rows of one list, each returning the row's key and updated_at."""

    name = ""
    path = ""
    key = "id"

    def __init__(self, api: ApiClient, factory: TestData, driver: WarehouseDriver) -> None:
        self.api, self.factory, self.driver = api, factory, driver

    def make(self) -> tuple[str, str | None]:
        raise NotImplementedError

    def change(self, key: str) -> None:
        raise NotImplementedError


class _Orders(_Resource):
    name, path = "orders", "/orders"

    def make(self) -> tuple[str, str | None]:
        order = self.factory.create_order()
        return str(order["id"]), order.get("updated_at")

    def change(self, key: str) -> None:
        resp = self.api.request("POST", f"/orders/{key}/cancel")
        assert resp.status == 200, f"expected 200 from the cancel, got {resp.describe()}"


class _Shipments(_Resource):
    name, path = "shipments", "/shipments"

    def make(self) -> tuple[str, str | None]:
        order = self.factory.create_order()
        shipment = self.driver.ship(order["id"])
        return str(shipment["id"]), shipment.get("updated_at")

    def change(self, key: str) -> None:
        self.driver.advance(key, "in_transit")


class _Inventory(_Resource):
    name, path, key = "inventory", "/inventory", "sku"

    def _warehouse(self) -> str:
        return str(self.factory.warehouse_ids[0])

    def make(self) -> tuple[str, str | None]:
        sku = str(self.factory.sku(stock={self._warehouse(): 5}))
        resp = self.api.request("GET", "/inventory", params={"sku": sku})
        body = resp.json if isinstance(resp.json, dict) else {}
        rows = [r for r in body.get("data") or [] if isinstance(r, dict) and r.get("sku") == sku]
        return sku, (rows[0].get("updated_at") if rows else None)

    def change(self, key: str) -> None:
        self.driver.set_stock(key, self._warehouse(), 7)


RESOURCES: dict[str, type[_Resource]] = {
    "orders": _Orders,
    "shipments": _Shipments,
    "inventory": _Inventory,
}
# Rows that exist before the walk, and the pages after which a new row is written.
ROWS_BEFORE_WALK = 6
WRITE_AFTER_PAGES = (1, 2, 3)


def _gap() -> None:
    # Millisecond timestamps (decision 17): a short pause puts the next write in a later instant,
    # so "older than the bound" and "created after the anchor" are unambiguous.
    time.sleep(0.005)


def burst(resource: _Resource, count: int) -> list[str]:
    """`count` rows written at once (issue 15: orderings checked only on data that never ties).
    A server that stamps `updated_at` per request at millisecond resolution gives some of them
    one `updated_at`, so the walk shows how it orders ties; a server whose stamps never tie (the
    reference sandbox's are strictly increasing) is judged as before."""
    # Every writer waits at the barrier, so the writes leave together even when this process
    # is slow to start its threads (a busy machine): they overlap at the server.
    start = threading.Barrier(count)

    def make(_: int) -> tuple[str, str | None]:
        start.wait(timeout=30)
        return resource.make()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [key for key, _ in pool.map(make, range(count))]


def run_scenario(resource: _Resource) -> Scenario:
    """Older row, anchor (its updated_at is the bound), a burst of rows before the walk, then the
    walk with a new row after each of the first pages and one earlier row changed after page 1."""
    older, _ = resource.make()
    _gap()
    anchor, since = resource.make()
    if not isinstance(since, str) or parse_ts(since) is None:
        pytest.fail(
            f"expected an RFC 3339 updated_at on the new {resource.name} row, got {since!r}"
        )
    _gap()
    before = burst(resource, ROWS_BEFORE_WALK)
    changed: list[str] = []
    created: list[str] = []

    def between(page_number: int) -> None:
        if page_number == 1:
            resource.change(before[0])
            changed.append(before[0])
        if page_number in WRITE_AFTER_PAGES:
            created.append(resource.make()[0])

    older_than_bound = older_than(since)

    walk = walk_list(
        resource.api,
        resource.path,
        {"updated_since": since},
        limit=WALK_LIMIT,
        between_pages=between,
        stop_if=older_than_bound,
    )
    return Scenario(
        name=resource.name,
        key=resource.key,
        since=since,
        anchor=anchor,
        older=older,
        before_walk=before,
        changed_during=changed,
        created_during=created,
        walk=walk,
    )


@pytest.fixture(scope="module", params=sorted(RESOURCES))
def scenario(
    request: pytest.FixtureRequest,
    api: ApiClient,
    module_factory: TestData,
    driver: WarehouseDriver,
) -> Scenario:
    return run_scenario(RESOURCES[request.param](api, module_factory, driver))


def _require_pages(scn: Scenario) -> None:
    assert scn.walk.error is None, f"{scn.walk.error} ({scn.walk.describe()})"


# ---------------------------------------------------------------------------------------- checks
@requirement("PAG-002")
def test_walk_serves_each_unchanged_row_once(scenario: Scenario) -> None:
    """Walks the list with limit 2 while rows are written between pages: a row of this run that
    did not change during the walk must be served at most once (decision 16)."""
    _require_pages(scenario)
    unchanged = (set(scenario.before_walk) - set(scenario.changed_during)) | {scenario.anchor}
    unchanged |= set(scenario.created_during)
    counts = Counter(row.get(scenario.key) for _, row in scenario.walk.rows())
    repeated = {key: counts[key] for key in unchanged if counts[key] > 1}
    pages = {
        key: [n for n, row in scenario.walk.rows() if row.get(scenario.key) == key]
        for key in repeated
    }
    assert not repeated, (
        f"expected each unchanged {scenario.name} row once, got repeats {repeated} "
        f"on pages {pages} ({scenario.walk.describe()})"
    )


@requirement("PAG-003")
def test_walk_skips_no_row_written_before_it(scenario: Scenario) -> None:
    """Every row of this run written before the walk (at or after the bound) must be served at
    least once, even when new rows arrive and an earlier one changes between pages."""
    _require_pages(scenario)
    if not scenario.walk.reached_end:
        pytest.skip(f"walk ended early, completeness cannot be judged: {scenario.walk.stopped}")
    seen = {row.get(scenario.key) for _, row in scenario.walk.rows()}
    missing = [key for key in scenario.before_walk if key not in seen]
    assert not missing, (
        f"expected every {scenario.name} row written before the walk, got {missing} missing "
        f"({len(seen)} distinct rows served; {scenario.walk.describe()})"
    )


@requirement("PAG-004")
def test_has_more_is_false_exactly_when_next_cursor_is_null(scenario: Scenario) -> None:
    """On every page of the walk: has_more is a boolean, true with a non-empty next_cursor,
    false with next_cursor null (decision 18)."""
    _require_pages(scenario)
    for number, page in enumerate(scenario.walk.pages, start=1):
        assert isinstance(page.has_more, bool), (
            f"expected has_more as a boolean on page {number}, got {page.has_more!r} "
            f"({page.response.describe()})"
        )
        consistent = (page.next_cursor is None) == (page.has_more is False)
        assert consistent and (page.next_cursor is None or page.next_cursor != ""), (
            f"expected has_more false exactly when next_cursor is null on page {number}, got "
            f"has_more={page.has_more!r}, next_cursor={page.next_cursor!r} "
            f"({page.response.describe()})"
        )


@requirement("PAG-005")
def test_rows_are_ordered_by_updated_at_then_id(scenario: Scenario) -> None:
    """Across the whole walk, updated_at never goes backwards (compared as instants, not text),
    and rows sharing an updated_at come in ascending id (sku for inventory) order."""
    _require_pages(scenario)
    previous: tuple[datetime, str, int, str] | None = None
    for number, row in scenario.walk.rows():
        stamp = parse_ts(row.get("updated_at"))
        assert stamp is not None, (
            f"expected an RFC 3339 updated_at, got {row.get('updated_at')!r} on page {number} "
            f"({scenario.walk.describe()})"
        )
        if previous is not None:
            assert stamp >= previous[0], (
                f"expected updated_at ascending, got {row.get('updated_at')} (page {number}) "
                f"after {previous[1]} (page {previous[2]}) ({scenario.walk.describe()})"
            )
            key = str(row.get(scenario.key))
            assert stamp != previous[0] or ids_ascending(previous[3], key), (
                f"expected {scenario.key} ascending among rows with updated_at {previous[1]}, got "
                f"{key} after {previous[3]} (page {number}) ({scenario.walk.describe()})"
            )
        previous = (stamp, str(row.get("updated_at")), number, str(row.get(scenario.key)))


@requirement("PAG-006")
def test_updated_since_is_inclusive(scenario: Scenario) -> None:
    """The walk's bound is the anchor row's own updated_at, as served: the anchor (unchanged
    since) must be in the walk (decision 15: updated_at >= updated_since)."""
    _require_pages(scenario)
    if not scenario.served(scenario.anchor) and not scenario.walk.reached_end:
        pytest.skip(f"walk ended before the anchor row could be seen: {scenario.walk.stopped}")
    assert scenario.served(scenario.anchor), (
        f"expected the {scenario.name} row {scenario.anchor} whose updated_at equals "
        f"updated_since={scenario.since} in the walk, got it absent ({scenario.walk.describe()})"
    )


@requirement("PAG-007")
def test_updated_since_filters_out_older_rows(scenario: Scenario) -> None:
    """Every row served has updated_at at or after the bound, so the row written just before the
    anchor is absent (unless it changed since and is served with a newer updated_at)."""
    _require_pages(scenario)
    bound = parse_ts(scenario.since)
    assert bound is not None
    for number, row in scenario.walk.rows():
        stamp = parse_ts(row.get("updated_at"))
        assert stamp is None or stamp >= bound, (
            f"expected only rows with updated_at >= {scenario.since}, got {scenario.key} "
            f"{row.get(scenario.key)} with {row.get('updated_at')} on page {number} "
            f"({scenario.walk.describe()})"
        )


def _cursor_repeats(walk: Walk) -> str | None:
    """Why a page of the walk cannot be told from a stuck walk: its next_cursor is the very
    cursor it was asked with (an empty page with has_more true is allowed, PAG-008, as long as
    its cursor moves on)."""
    for number, (asked, page) in enumerate(pairwise(walk.pages), start=2):
        if page.has_more is True and page.next_cursor == asked.next_cursor:
            return (
                f"expected a next_cursor other than the cursor sent on page {number} "
                f"({len(page.rows)} rows, has_more true), got the same one back: a client "
                f"cannot tell the walk from a stuck one ({page.response.describe()})"
            )
    return None


@requirement("PAG-008")
def test_pages_respect_limit(scenario: Scenario) -> None:
    """No page holds more rows than `limit` (fewer, even none, is allowed while has_more is
    true), and no page hands back the cursor it was asked with (the walk must move on)."""
    _require_pages(scenario)
    limit = scenario.walk.limit
    assert limit is not None, "the scenario's walk sends a limit"
    for number, page in enumerate(scenario.walk.pages, start=1):
        assert len(page.rows) <= limit, (
            f"expected at most {scenario.walk.limit} rows on page {number}, got {len(page.rows)} "
            f"({page.response.describe()})"
        )
    stuck = _cursor_repeats(scenario.walk)
    assert stuck is None, f"{stuck} ({scenario.walk.describe()})"


def _first_cursor(scn: Scenario) -> str:
    _require_pages(scn)
    cursor = scn.walk.pages[0].next_cursor if scn.walk.pages else None
    if not isinstance(cursor, str) or not cursor:
        pytest.skip(f"the first page of the walk had no next_cursor ({scn.walk.describe()})")
    return cursor


@requirement("PAG-009")
def test_malformed_cursor_gets_400_invalid_cursor(api: ApiClient, scenario: Scenario) -> None:
    """A cursor the server never issued (and a real one with its tail cut off) must get 400
    `invalid_cursor` in the envelope, not a first page or a 500."""
    path = RESOURCES[scenario.name].path
    real = _first_cursor(scenario)
    for cursor in (f"not-a-cursor-{scenario.anchor}", real[: max(1, len(real) // 2)] + "~~"):
        resp = api.request("GET", path, params={"updated_since": scenario.since, "cursor": cursor})
        assert resp.status == 400 and error_code(resp) == "invalid_cursor", (
            f"expected 400 invalid_cursor for the malformed cursor {cursor!r}, got {resp.status} "
            f"{error_code(resp)!r} ({resp.describe()})"
        )


@requirement("PAG-010")
def test_cursor_with_other_filters_gets_400_invalid_cursor(
    api: ApiClient, scenario: Scenario
) -> None:
    """The first page's next_cursor sent back with a different updated_since must get 400
    `invalid_cursor` (decision 18: the cursor carries the original filters)."""
    path = RESOURCES[scenario.name].path
    cursor = _first_cursor(scenario)
    params = {"updated_since": FAR_PAST, "cursor": cursor, "limit": WALK_LIMIT}
    resp = api.request("GET", path, params=params)
    assert resp.status == 400 and error_code(resp) == "invalid_cursor", (
        f"expected 400 invalid_cursor for a cursor issued for updated_since={scenario.since} sent "
        f"with updated_since={FAR_PAST}, got {resp.status} {error_code(resp)!r} "
        f"({resp.describe()})"
    )


def _refused_400(resp: ApiResponse) -> bool:
    return resp.status == 400 and isinstance(error_code(resp), str)


ALL_LISTS = ("/orders", "/shipments", "/inventory", "/warehouses", "/shipping-methods")


@requirement("PAG-013")
def test_limit_outside_1_to_200_is_refused(api: ApiClient) -> None:
    """limit=201, limit=0 and limit=abc on every list each get 400 with the error envelope
    (refused, not clamped: the spec's Limit parameter is 1 to 200)."""
    problems = []
    for path in ALL_LISTS:
        for limit in ("201", "0", "abc"):
            resp = api.request("GET", path, params={"limit": limit})
            if not _refused_400(resp):
                problems.append(
                    f"limit={limit}: got {resp.status} {error_code(resp)!r} ({resp.describe()})"
                )
    assert not problems, "expected 400 in the envelope, got:\n" + "\n".join(problems)


@requirement("PAG-014")
def test_malformed_updated_since_is_refused(api: ApiClient) -> None:
    """updated_since=yesterday (and a date without a time) on each polled list gets 400 with
    the error envelope, never silently ignored."""
    problems = []
    for path in POLLED_LISTS:
        for value in ("yesterday", "2026-13-45T99:00:00Z"):
            resp = api.request("GET", path, params={"updated_since": value})
            if not _refused_400(resp):
                problems.append(f"updated_since={value}: got {resp.status} ({resp.describe()})")
    assert not problems, "expected 400 in the envelope, got:\n" + "\n".join(problems)


@requirement("PAG-011")
def test_polled_lists_accept_any_rfc3339_updated_since(api: ApiClient) -> None:
    """Each polled list answers 200 for updated_since with Z, with a fraction and with a
    non-UTC offset (RFC 3339 allows all three), and a bound far in the future returns no rows."""
    problems = []
    for path in POLLED_LISTS:
        for value in (
            "2020-01-01T00:00:00Z",
            "2020-01-01T00:00:00.123456Z",
            "2020-01-01T10:00:00+10:00",
        ):
            resp = api.request("GET", path, params={"updated_since": value, "limit": 1})
            if resp.status != 200:
                problems.append(f"updated_since={value}: got {resp.status} ({resp.describe()})")
        resp = api.request("GET", path, params={"updated_since": FAR_FUTURE})
        rows = resp.json.get("data") if isinstance(resp.json, dict) else None
        if resp.status != 200 or rows:
            count = len(rows) if isinstance(rows, list) else rows
            problems.append(
                f"updated_since={FAR_FUTURE}: got {resp.status} with {count!r} rows "
                f"({resp.describe()})"
            )
    assert not problems, "expected updated_since accepted and applied, got:\n" + "\n".join(problems)


@requirement("PAG-001")
@pytest.mark.parametrize("path", ALL_LISTS)
def test_lists_use_the_list_envelope(api: ApiClient, path: str) -> None:
    """GET on every list answers 200 with `data` (an array of objects) and `pagination` holding
    `next_cursor` (string or null) and `has_more` (boolean)."""
    resp = api.request("GET", path, params={"limit": 2})
    body = resp.json if isinstance(resp.json, dict) else {}
    pagination = body.get("pagination")
    ok = (
        resp.status == 200
        and isinstance(body.get("data"), list)
        and all(isinstance(row, dict) for row in body["data"])
        and isinstance(pagination, dict)
        and "next_cursor" in pagination
        and (pagination["next_cursor"] is None or isinstance(pagination["next_cursor"], str))
        and isinstance(pagination.get("has_more"), bool)
    )
    assert ok, (
        f"expected 200 with {{data: [...], pagination: {{next_cursor, has_more}}}}, got "
        f"{resp.status} {resp.text[:200]!r} ({resp.describe()})"
    )


@requirement("PAG-012")
def test_default_page_holds_at_most_50_rows(api: ApiClient, module_factory: TestData) -> None:
    """Without limit no page holds more than 50 rows. When the target has fewer than 51 SKUs,
    the check first stocks new run-tagged SKUs until it has 51, so the default can show."""
    resp = api.request("GET", "/inventory", params={"limit": 200})
    body = resp.json if isinstance(resp.json, dict) else {}
    have = len(body.get("data") or [])
    if not (body.get("pagination") or {}).get("has_more"):
        for _ in range(max(0, DEFAULT_LIMIT + 1 - have)):
            module_factory.sku(stock={module_factory.warehouse_ids[0]: 1})
    for path in ALL_LISTS:
        resp = api.request("GET", path)
        rows = resp.json.get("data") if isinstance(resp.json, dict) else None
        assert resp.status == 200 and isinstance(rows, list) and len(rows) <= DEFAULT_LIMIT, (
            f"expected at most {DEFAULT_LIMIT} rows without limit, got {resp.status} with "
            f"{len(rows) if isinstance(rows, list) else rows!r} rows ({resp.describe()})"
        )


@requirement("PAG-015")
def test_updated_at_keeps_milliseconds(scenario: Scenario) -> None:
    """Every updated_at of the walk with a fraction has at least 3 digits, and rows written
    milliseconds apart are not all stamped on a whole second (that would mean truncation)."""
    _require_pages(scenario)
    ours = {scenario.anchor, *scenario.before_walk, *scenario.created_during}
    served = [
        (row.get(scenario.key), str(row.get("updated_at"))) for _, row in scenario.walk.rows()
    ]
    stamps = {stamp for _, stamp in served}
    fractions = {s: FRACTION.search(s) for s in stamps}
    short = sorted(s for s, m in fractions.items() if m is not None and len(m.group(1)) < 3)
    assert not short, (
        f"expected at least 3 fractional digits, got {short} ({scenario.walk.describe()})"
    )
    # Rows of this run, written milliseconds apart: each lands on .000 about once in 1000.
    rows = {key: stamp for key, stamp in served if key in ours}
    whole = [stamp for stamp in rows.values() if fractions[stamp] is None]
    assert len(rows) < TRUNCATION_EVIDENCE or len(whole) < len(rows), (
        f"expected millisecond updated_at, got all {len(rows)} rows of this run, written ms "
        f"apart, on whole seconds: {sorted(set(whole))[:4]} ({scenario.walk.describe()})"
    )


# --------------------------------------------------------------------- the small reference lists
@pytest.fixture(scope="module", params=["/warehouses", "/shipping-methods"])
def reference_walk(request: pytest.FixtureRequest, api: ApiClient) -> Walk:
    return walk_list(api, request.param, {}, limit=1, max_pages=100)


@requirement("PAG-002")
def test_reference_list_walk_serves_each_row_once(reference_walk: Walk) -> None:
    """Walks /warehouses and /shipping-methods one row per page: no id is served twice."""
    assert reference_walk.error is None, reference_walk.error
    counts = Counter(row.get("id") for _, row in reference_walk.rows())
    repeated = {key: n for key, n in counts.items() if n > 1}
    assert not repeated, f"expected each id once, got {repeated} ({reference_walk.describe()})"


@requirement("PAG-004")
def test_reference_list_has_more_agrees_with_next_cursor(reference_walk: Walk) -> None:
    """On every page of /warehouses and /shipping-methods: has_more false exactly when
    next_cursor is null."""
    assert reference_walk.error is None, reference_walk.error
    for number, page in enumerate(reference_walk.pages, start=1):
        consistent = isinstance(page.has_more, bool) and (
            (page.next_cursor is None) == (page.has_more is False)
        )
        assert consistent, (
            f"expected has_more false exactly when next_cursor is null on page {number}, got "
            f"has_more={page.has_more!r}, next_cursor={page.next_cursor!r} "
            f"({page.response.describe()})"
        )


@requirement("PAG-005")
def test_reference_lists_are_ordered_by_id(reference_walk: Walk) -> None:
    """/warehouses and /shipping-methods (no updated_at) are served in ascending id order."""
    assert reference_walk.error is None, reference_walk.error
    ids = [str(row.get("id")) for _, row in reference_walk.rows()]
    for first, second in pairwise(ids):
        assert ids_ascending(first, second), (
            f"expected ids ascending, got {second} after {first} ({reference_walk.describe()})"
        )


@requirement("PAG-008")
def test_reference_list_pages_respect_limit(reference_walk: Walk) -> None:
    """limit=1 on /warehouses and /shipping-methods: at most one row per page, and no page
    hands back the cursor it was asked with."""
    assert reference_walk.error is None, reference_walk.error
    for number, page in enumerate(reference_walk.pages, start=1):
        assert len(page.rows) <= 1, (
            f"expected at most 1 row per page, got {len(page.rows)} on page {number} "
            f"({page.response.describe()})"
        )
    stuck = _cursor_repeats(reference_walk)
    assert stuck is None, f"{stuck} ({reference_walk.describe()})"
