"""A cancelled order frees its reference (decision 51): the guide's fallback when an amend is too
late, or the warehouse must change, is to cancel and create the order again, and the ERP keeps its
own fulfillment reference for it."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import error_code, error_of, get_order, new_key, orders_with_reference


def post_order(api: ApiClient, body: dict[str, Any], run_id: str) -> ApiResponse:
    return api.request("POST", "/orders", json=body, headers={"Idempotency-Key": new_key(run_id)})


def created(resp: ApiResponse, what: str) -> dict[str, Any]:
    assert resp.status == 201 and isinstance(resp.json, dict), (
        f"expected 201 with the new order for {what}, got {resp.status} ({resp.describe()})"
    )
    return resp.json


@requirement("IDEM-017")
def test_a_cancelled_order_frees_its_reference(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order, cancels it, creates it again under a new key with the same reference:
    expects a new order (201), the cancelled one still readable and cancelled, both listed by
    ?reference=, and a third create refused 409 duplicate_reference naming the new order."""
    body = factory.order_body()
    first = created(post_order(api, body, run_id), "the first create")
    cancel = api.request("POST", f"/orders/{first['id']}/cancel")
    assert cancel.status == 200, (
        f"expected 200 cancelling a new order, got {cancel.status} ({cancel.describe()})"
    )
    second = created(post_order(api, body, run_id), "a create reusing a cancelled reference")
    assert second.get("id") != first["id"], (
        f"expected a new order id for the recreated order, got the cancelled {first['id']}"
    )
    old, read = get_order(api, first["id"])
    assert old.get("status") == "cancelled", (
        f"expected the first order still cancelled, got {old.get('status')!r} ({read.describe()})"
    )
    listed = sorted(str(o.get("id")) for o in orders_with_reference(api, body["reference"]))
    assert listed == sorted([first["id"], str(second.get("id"))]), (
        f"expected ?reference= to list the cancelled and the new order, got {listed}"
    )
    third = post_order(api, body, run_id)
    existing = error_of(third).get("existing_order_id")
    assert (third.status, error_code(third), existing) == (
        409,
        "duplicate_reference",
        second.get("id"),
    ), (
        f"expected 409 duplicate_reference naming {second.get('id')} for a third create, got "
        f"{third.status} {error_code(third)!r} naming {existing!r} ({third.describe()})"
    )
