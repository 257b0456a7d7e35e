"""Exact idempotency: what "the same body" is, and what a replay answers (decisions 48, 49).

A retry rebuilt by another process writes out a documented default, an optional `null` or `2.0`
for `2`: still the same body, so still a replay (IDEM-015). A replay answers the response as
first sent, even after the order was amended (IDEM-016).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import REPLAY_STATUSES, new_key, orders_with_reference


def post_order(api: ApiClient, body: dict[str, Any], key: str) -> ApiResponse:
    return api.request("POST", "/orders", json=body, headers={"Idempotency-Key": key})


def first_create(api: ApiClient, body: dict[str, Any], key: str) -> dict[str, Any]:
    resp = post_order(api, body, key)
    assert resp.status == 201 and isinstance(resp.json, dict), (
        f"expected 201 with the order for a new create, got {resp.status} ({resp.describe()})"
    )
    return resp.json


def with_defaults(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "signature_required": False, "insurance": False}


def with_nulls(body: dict[str, Any]) -> dict[str, Any]:
    return {
        **body,
        "gift_message": None,
        "packing_note": None,
        "ship_to": {"company": None, **body["ship_to"]},
    }


def with_float_quantities(body: dict[str, Any]) -> dict[str, Any]:
    rewritten = copy.deepcopy(body)
    for line in rewritten["items"]:
        line["quantity"] = float(line["quantity"])
    return rewritten


# Each way decision 48 counts a rewritten body as the same body.
SAME_BODY_SPELLINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "the documented defaults written out (signature_required, insurance: false)": with_defaults,
    "optional fields sent as null (gift_message, packing_note, ship_to.company)": with_nulls,
    "line quantities written as 1.0 for 1": with_float_quantities,
}


@requirement("IDEM-015")
def test_defaults_nulls_and_integral_numbers_are_the_same_body(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """For each equivalent spelling (documented defaults written out, optional fields as null,
    integral quantities as floats): creates an order leaving them out, retries under the same
    key with them written out, and expects a replay (2xx, same id) and still one order."""
    for what, rewrite in SAME_BODY_SPELLINGS.items():
        body = factory.order_body()
        key = new_key(run_id)
        order_id = first_create(api, body, key)["id"]
        retry = post_order(api, rewrite(body), key)
        retry_id = retry.json.get("id") if isinstance(retry.json, dict) else None
        assert retry.status in REPLAY_STATUSES and retry_id == order_id, (
            f"expected a retry with {what} to replay order {order_id} (200 or 201), got "
            f"{retry.status} with id {retry_id!r} ({retry.describe()})"
        )
        ids = sorted(str(o.get("id")) for o in orders_with_reference(api, body["reference"]))
        assert ids == [order_id], f"expected one order after the retry with {what}, got {ids}"


@requirement("IDEM-016")
def test_a_replay_after_an_amend_answers_the_first_response(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order, amends its packing note, then retries the create with the same key and
    body: expects the first response's body unchanged (not the amended order) with a replay
    status."""
    body = factory.order_body(packing_note="Leave in porch")
    key = new_key(run_id)
    first = first_create(api, body, key)
    amend = api.request(
        "PATCH",
        f"/orders/{first['id']}",
        json={"packing_note": "Ring the bell"},
        headers={"If-Match": f'"{first.get("version")}"'},
    )
    assert amend.status == 200, (
        f"expected 200 for an amend of a new order, got {amend.status} ({amend.describe()})"
    )
    replay = post_order(api, body, key)
    assert replay.status in REPLAY_STATUSES, (
        f"expected 200 (or 201) for the retry, got {replay.status} ({replay.describe()})"
    )
    changed = sorted(
        name
        for name in set(first) | set(replay.json if isinstance(replay.json, dict) else {})
        if not isinstance(replay.json, dict) or replay.json.get(name) != first.get(name)
    )
    assert changed == [], (
        f"expected the replay to answer the first response as sent, but {changed} differ "
        f"({replay.describe()})"
    )
