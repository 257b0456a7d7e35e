"""The amend is a real JSON merge patch (RFC 7396, decision 50).

A partial `ship_to` changes only the members it sends, a full one leaves unsent members (the
company) as they were, `null` removes an optional member; a member the address needs cannot be
removed. The oracle is RFC 7396's own algorithm (`conformance.merge_patch`) applied to the order
as read before the amend, compared with the order as read after it.
"""

from __future__ import annotations

from typing import Any

from conformance import merge_patch
from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import assert_unchanged, error_code, error_field, get_order, new_order

# Members of ship_to the address needs (ShipToInput's `required`); a patch cannot remove them.
REQUIRED_SHIP_TO = ("name", "address1", "city", "country")


def without_nulls(value: Any) -> Any:
    """A removed member may read as null or be absent (both legal): compare without nulls."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value


def patch_order(api: ApiClient, order: dict[str, Any], body: dict[str, Any]) -> ApiResponse:
    return api.request(
        "PATCH",
        f"/orders/{order['id']}",
        json=body,
        # application/json: the merge-patch media type is AMD-009's to judge.
        headers={"If-Match": f'"{order.get("version")}"'},
    )


def merge_patches(factory: TestData) -> list[dict[str, Any]]:
    """A partial ship_to; a full one without company; nulls removing optional members."""
    full = {k: v for k, v in factory.order_body()["ship_to"].items() if k != "company"}
    return [
        {"ship_to": {"address2": "Unit 5"}},
        {"ship_to": {**full, "address1": "456 New Street", "postcode": "2010"}},
        {"ship_to": {"company": None, "address2": None}, "packing_note": None},
    ]


@requirement("AMD-013")
def test_an_amend_applies_ship_to_as_an_rfc_7396_merge_patch(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order for a company address, then PATCHes a partial ship_to, a full ship_to
    without company, and nulls for company, address2 and packing_note: after each, the order
    read back must equal the order read before with the patch applied by RFC 7396's algorithm,
    for every field the patch names."""
    ship_to = {**factory.order_body()["ship_to"], "company": "Kit Pty Ltd"}
    order = new_order(api, factory, run_id, ship_to=ship_to, packing_note="Leave in porch")
    for body in merge_patches(factory):
        resp = patch_order(api, order, body)
        assert resp.status == 200, (
            f"expected 200 for the merge patch {body}, got {resp.status} ({resp.describe()})"
        )
        expected = merge_patch.apply(order, body)
        now, read = get_order(api, order["id"])
        differ = {
            name: (without_nulls(expected.get(name)), without_nulls(now.get(name)))
            for name in body
            if without_nulls(expected.get(name)) != without_nulls(now.get(name))
        }
        assert not differ, (
            f"expected the order as RFC 7396 applies {body}, got (expected, read): {differ} "
            f"({read.describe()})"
        )
        order = now


@requirement("AMD-014")
def test_nulling_a_required_ship_to_member_is_refused_with_422(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """PATCHes ship_to with name, address1, city and country each set to null: each gets 422
    validation_failed naming ship_to.<member>, and the order (version included) is unchanged."""
    order = new_order(api, factory, run_id)
    for member in REQUIRED_SHIP_TO:
        body = {"ship_to": {member: None}}
        resp = patch_order(api, order, body)
        field = f"ship_to.{member}"
        assert (resp.status, error_code(resp), error_field(resp)) == (
            422,
            "validation_failed",
            field,
        ), (
            f"expected 422 validation_failed naming {field} for {body}, got {resp.status} "
            f"{error_code(resp)!r} naming {error_field(resp)!r} ({resp.describe()})"
        )
        assert_unchanged(api, order["id"], order, f"the refused amend {body}")
