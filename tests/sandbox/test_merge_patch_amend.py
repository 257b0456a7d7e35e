"""The amend of an order is a real JSON merge patch (decision 50): ship_to merges, null removes
an optional member, a required member cannot be removed, arrays replace."""

from __future__ import annotations

from .conftest import order_body
from .spec_client import SpecClient

MERGE = {"Content-Type": "application/merge-patch+json"}


def test_a_partial_ship_to_merges_and_null_removes(acme: SpecClient) -> None:
    body = order_body()
    body["ship_to"]["company"] = "Acme Pty Ltd"
    order = acme.create_order(body).json()
    r = acme.patch(
        f"/orders/{order['id']}",
        json={"ship_to": {"address2": "Unit 5"}},
        headers={**MERGE, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["ship_to"] == {**body["ship_to"], "address2": "Unit 5"}
    r = acme.patch(
        f"/orders/{order['id']}",
        json={"ship_to": {"company": None, "city": "Glebe"}, "gift_message": None},
        headers={**MERGE, "If-Match": '"2"'},
    )
    assert r.status_code == 200, r.text
    ship_to = r.json()["ship_to"]
    assert ship_to.get("company") is None and ship_to["city"] == "Glebe"
    assert ship_to["address2"] == "Unit 5" and ship_to["name"] == body["ship_to"]["name"]


def test_nulling_a_required_member_is_422_naming_it(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    r = acme.patch(
        f"/orders/{order['id']}",
        json={"ship_to": {"city": None}},
        headers={**MERGE, "If-Match": '"1"'},
    )
    assert r.status_code == 422
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (
        "validation_failed",
        "ship_to.city",
    )
    assert acme.get(f"/orders/{order['id']}").json()["version"] == "1"
