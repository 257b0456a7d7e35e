"""The high-water mark as a client echoes it back (issue 16, place 7; decisions 15, 17, 26).

A poller stores the newest `updated_at` it saw and sends it back as `updated_since`. Clients keep
it as text, as a millisecond or a microsecond time, or as whole seconds (the guide's own example,
`2026-07-02T22:04:11Z`), so the bound a server gets has any number of fractional digits. A server
that compares it as text drops rows: "...:11.500Z" sorts before "...:11Z". The bound must be
compared as an instant [PAG-019].
"""

from __future__ import annotations

import re

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.scenarios import body_of

UTC_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$")


def echoes(stamp: str) -> dict[str, str]:
    """Bounds at or before `stamp` as clients write it: unchanged, padded with zeros to nine
    digits, truncated to one digit and to the whole second (the last two only when it has a
    fraction: otherwise they are the stamp itself)."""
    match = UTC_STAMP.match(stamp)
    assert match is not None, f"expected a served updated_at in UTC ending in Z, got {stamp!r}"
    seconds, fraction = match.group(1), match.group(2) or ""
    bounds = {"unchanged": stamp, "padded to 9 digits": f"{seconds}.{fraction.ljust(9, '0')}Z"}
    if fraction.strip("0"):
        bounds["truncated to 1 digit"] = f"{seconds}.{fraction[0]}Z"
        bounds["truncated to the second"] = f"{seconds}Z"
    return bounds


@requirement("PAG-019")
def test_updated_since_selects_the_row_at_any_precision(api: ApiClient, factory: TestData) -> None:
    """Creates an order, reads its updated_at from GET /orders?order_number=..., and sends it
    back as updated_since unchanged, padded to nine digits, truncated to one digit and to the
    whole second: each bound is at or before the row's instant, so each must select it."""
    order = factory.create_order()
    number = order["order_number"]
    listed = api.request("GET", "/orders", params={"order_number": number})
    rows = [r for r in body_of(listed).get("data") or [] if r.get("id") == order["id"]]
    assert listed.status == 200 and rows, (
        f"expected the new order in GET /orders?order_number={number}, got {listed.describe()}"
    )
    problems = []
    for how, bound in echoes(str(rows[0].get("updated_at"))).items():
        resp = api.request(
            "GET", "/orders", params={"order_number": number, "updated_since": bound}
        )
        ids = [r.get("id") for r in body_of(resp).get("data") or [] if isinstance(r, dict)]
        if resp.status != 200 or order["id"] not in ids:
            problems.append(
                f"updated_since={bound} ({how}): got {resp.status} with ids {ids} "
                f"({resp.describe()})"
            )
    assert not problems, (
        f"expected order {order['id']} (updated_at {rows[0].get('updated_at')}) selected by "
        "every bound at or before it, got:\n" + "\n".join(problems)
    )
