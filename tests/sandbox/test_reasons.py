"""Reasons on orders (decisions 52 and 53): cancellation, hold, and the warehouse-side cancel."""

from __future__ import annotations

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient
from .test_events import logged

NO_REASON = {"reason_code": None, "cancelled_by": "erp", "message": None}


def test_a_cancel_records_the_erps_reason_and_keeps_the_first(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    assert (order["cancellation"], order["hold"]) == (None, None)
    reason = {"reason_code": "customer_request", "message": "Changed their mind."}
    cancelled = acme.post(f"/orders/{order['id']}/cancel", json=reason)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancellation"] == {**reason, "cancelled_by": "erp"}
    again = acme.post(f"/orders/{order['id']}/cancel", json={"reason_code": "other"})
    assert again.json()["cancellation"] == {**reason, "cancelled_by": "erp"}
    got = acme.get(f"/orders/{order['id']}").json()
    assert got["cancellation"] == {**reason, "cancelled_by": "erp"}


def test_a_cancel_without_a_reason_still_works(acme: SpecClient) -> None:
    for body in (None, {}, {"reason": "free text, not a member of the body"}):
        order = acme.create_order(order_body()).json()
        r = acme.post(f"/orders/{order['id']}/cancel", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["cancellation"] == NO_REASON


def test_a_malformed_reason_code_is_refused_and_changes_nothing(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    r = acme.post(f"/orders/{order['id']}/cancel", json={"reason_code": "Not Snake"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    assert acme.get(f"/orders/{order['id']}").json()["status"] == order["status"]


def test_the_warehouse_cancel_says_so_and_fires_order_cancelled(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    sku = order["items"][0]["sku"]
    allocated = stock_of(acme, sku)["allocated"]
    acme.post(f"/sandbox/orders/{order['id']}/pick")
    r = acme.post(f"/sandbox/orders/{order['id']}/cancel", json={"reason_code": "out_of_stock"})
    assert r.status_code == 200, r.text
    expected = {"reason_code": "out_of_stock", "cancelled_by": "warehouse", "message": None}
    assert (r.json()["status"], r.json()["cancellation"]) == ("cancelled", expected)
    assert stock_of(acme, sku)["allocated"] == allocated - order["items"][0]["quantity"]
    fired = [
        e["data"]
        for e in logged(acme)
        if e["event_type"] == "order.cancelled" and e["data"].get("id") == order["id"]
    ]
    assert [event["cancellation"] for event in fired] == [expected]
    refused = acme.post(f"/sandbox/orders/{order['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"


def test_a_backordered_order_cut_short_is_cancelled_by_the_erp(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 0})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 1}])).json()
    assert order["status"] == "backordered"
    closed = acme.post(f"/orders/{order['id']}/cancel-remainder").json()
    assert (closed["status"], closed["cancellation"]) == ("cancelled", NO_REASON)


def test_a_hold_says_why_until_it_ends(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    held = acme.post(f"/sandbox/orders/{order['id']}/hold", json={"reason_code": "awaiting_stock"})
    assert held.json()["hold"] == {"reason_code": "awaiting_stock", "message": None}
    picked = acme.post(f"/sandbox/orders/{order['id']}/pick").json()
    assert picked["hold"] is None
    plain = acme.create_order(order_body()).json()
    held = acme.post(f"/sandbox/orders/{plain['id']}/hold").json()
    assert held["hold"] == {"reason_code": "other", "message": None}


def test_unknown_members_of_a_reason_body_are_ignored_whatever_they_hold(acme: SpecClient) -> None:
    """The reason body is open (CAN-010): an unknown member is ignored even when it holds what the
    sandbox would refuse in a member it stores (an integer beyond 32 bits, a deep array); the
    body Schemathesis' positive data found refused with 422."""
    body = {
        "<": 39151434923271760,
        "": {"": [6414, None, True]},
        "x": [None, [], [None, -51263876295834640, None]],
        "message": None,
        "reason_code": "qlhn",
    }
    order = acme.create_order(order_body()).json()
    r = acme.post(f"/orders/{order['id']}/cancel", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["cancellation"] == {
        "reason_code": "qlhn",
        "cancelled_by": "erp",
        "message": None,
    }
    held = acme.create_order(order_body()).json()
    r = acme.post(f"/sandbox/orders/{held['id']}/hold", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["hold"] == {"reason_code": "qlhn", "message": None}
