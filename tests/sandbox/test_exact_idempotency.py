"""Exact idempotency (decisions 48, 49): what "the same body" is, and what a replay answers."""

from __future__ import annotations

import copy

from .conftest import order_body
from .spec_client import SpecClient


def test_defaults_nulls_and_integral_numbers_are_the_same_body(acme: SpecClient) -> None:
    body = order_body()
    first = acme.create_order(body, key="exact-1")
    assert first.status_code == 201, first.text
    spelled_out = copy.deepcopy(body)
    spelled_out["signature_required"] = False  # the documented default
    spelled_out["gift_message"] = None  # optional and nullable: as if absent
    spelled_out["ship_to"]["company"] = None
    spelled_out["items"][0]["quantity"] = 2.0  # numbers compare by value
    again = acme.create_order(spelled_out, key="exact-1")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_changed_value_is_still_another_body(acme: SpecClient) -> None:
    body = order_body()
    assert acme.create_order(body, key="exact-2").status_code == 201
    for change in ({"signature_required": True}, {"gift_message": "Happy birthday"}):
        r = acme.create_order({**body, **change}, key="exact-2")
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "idempotency_key_reused"


def test_a_replay_after_an_amend_answers_the_response_as_first_sent(acme: SpecClient) -> None:
    body = order_body()
    first = acme.create_order(body, key="exact-3")
    assert first.status_code == 201
    assert first.headers.get("Idempotent-Replayed", "false") != "true"
    order_id = first.json()["id"]
    amended = acme.patch(
        f"/orders/{order_id}",
        json={"packing_note": "Leave at the back door"},
        headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert amended.status_code == 200, amended.text
    replay = acme.create_order(body, key="exact-3")
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    now = acme.get(f"/orders/{order_id}").json()
    assert (now["version"], now["packing_note"]) == ("2", "Leave at the back door")
