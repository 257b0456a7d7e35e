"""What a follow-up page may leave out, and what it may not add (issue 16, place 3; decision 18).

The guide's client passes `?cursor=...` alone; the spec's `cursor` parameter says "together with
the same filters". Both clients exist, so a server MUST serve both: the cursor carries the filters
of the walk that issued it, a filter left out is taken from the cursor [PAG-018], and a filter sent
next to a cursor with another value, or one the walk did not have, is refused with 400
`invalid_cursor` [PAG-010] (a walk that silently changes its filters half-way serves a mix).

The walk is filtered by `order_number`, a filter that does not follow the list order, so a server
that drops the filters on a bare cursor serves rows of the other order number and is seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.listing import Walk, walk_list
from conformance.scenarios import error_code

# Orders of the walked order number, interleaved with as many of another order number.
WALKED_ORDERS = 3


@dataclass
class Interleaved:
    """Orders created alternately under two order numbers; the walk is over the first one."""

    walked: str
    other: str
    walked_ids: list[str]
    other_ids: list[str]


@pytest.fixture(scope="module")
def interleaved(api: ApiClient, module_factory: TestData) -> Interleaved:
    walked, other = module_factory.unique("CKW"), module_factory.unique("CKX")
    walked_ids: list[str] = []
    other_ids: list[str] = []
    for _ in range(WALKED_ORDERS):
        walked_ids.append(str(module_factory.create_order(order_number=walked)["id"]))
        other_ids.append(str(module_factory.create_order(order_number=other)["id"]))
    return Interleaved(walked, other, walked_ids, other_ids)


def _bare_walk(api: ApiClient, data: Interleaved) -> Walk:
    return walk_list(
        api, "/orders", {"order_number": data.walked}, limit=2, max_pages=20, bare_cursor=True
    )


def _first_cursor(api: ApiClient, data: Interleaved) -> str:
    resp = api.request("GET", "/orders", params={"order_number": data.walked, "limit": 1})
    body = resp.json if isinstance(resp.json, dict) else {}
    cursor = (body.get("pagination") or {}).get("next_cursor")
    if resp.status != 200 or not isinstance(cursor, str) or not cursor:
        pytest.fail(
            f"expected a next_cursor on a page of 1 of {WALKED_ORDERS} orders with order_number "
            f"{data.walked}, got {resp.describe()}"
        )
    return cursor


@requirement("PAG-018")
def test_bare_cursor_keeps_the_walks_filters(api: ApiClient, interleaved: Interleaved) -> None:
    """Walks GET /orders?order_number=A&limit=2, then sends each next_cursor alone (no filter,
    no limit), as the guide's client does: every page is 200, serves only orders numbered A
    (the cursor carries the filter) and the walk serves every one of the run's A orders (a
    repeat is PAG-002's business)."""
    walk = _bare_walk(api, interleaved)
    assert walk.error is None, f"{walk.error} ({walk.describe()}, cursor sent alone)"
    assert walk.reached_end, f"expected the walk to end, got {walk.stopped} ({walk.describe()})"
    strays = [
        (number, row.get("id"), row.get("order_number"))
        for number, row in walk.rows()
        if row.get("order_number") != interleaved.walked
    ]
    assert not strays, (
        f"expected only orders numbered {interleaved.walked} on the pages reached by a cursor "
        f"sent alone (the cursor carries the filter), got (page, id, order_number) {strays} "
        f"({walk.describe()})"
    )
    served = {str(row.get("id")) for _, row in walk.rows()}
    missing = [oid for oid in interleaved.walked_ids if oid not in served]
    assert not missing, (
        f"expected each of the {WALKED_ORDERS} orders numbered {interleaved.walked} in the walk "
        f"with bare cursors, got {missing} missing ({walk.describe()})"
    )


@requirement("PAG-010")
def test_cursor_with_an_added_filter_gets_400(api: ApiClient, interleaved: Interleaved) -> None:
    """The next_cursor of a walk filtered by order_number only, sent back with an extra `status`
    filter (and, separately, with another order_number) must get 400 `invalid_cursor`: a filter
    the walk did not have cannot join it half-way."""
    cursor = _first_cursor(api, interleaved)
    for extra in (
        {"order_number": interleaved.walked, "status": "received"},
        {"order_number": interleaved.other},
    ):
        resp = api.request("GET", "/orders", params={**extra, "cursor": cursor, "limit": 1})
        assert resp.status == 400 and error_code(resp) == "invalid_cursor", (
            f"expected 400 invalid_cursor for a cursor of the walk order_number="
            f"{interleaved.walked} sent with {extra}, got {resp.status} {error_code(resp)!r} "
            f"({resp.describe()})"
        )
