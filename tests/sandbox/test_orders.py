"""Create (idempotency, duplicate references, reference-data errors), amend and cancel."""

from __future__ import annotations

import json

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient


def test_create_returns_full_order_and_replay_returns_it_again(acme: SpecClient) -> None:
    body = order_body()
    first = acme.create_order(body, key="key-1")
    assert first.status_code == 201
    order = first.json()
    assert order["status"] == "received" and order["version"] == "1"
    assert order["items"][0]["shipped_quantity"] == 0
    # Same body with keys reordered and other white space: still the same request (decision 3).
    shuffled = json.dumps(dict(reversed(list(body.items()))), indent=3)
    again = acme.post(
        "/orders",
        content=shuffled,
        headers={"Idempotency-Key": '"key-1"', "Content-Type": "application/json"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == order["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = acme.get("/orders", params={"reference": body["reference"]}).json()["data"]
    assert [o["id"] for o in listed] == [order["id"]]


def test_same_key_other_body_is_refused(acme: SpecClient) -> None:
    assert acme.create_order(order_body(), key="key-2").status_code == 201
    r = acme.create_order(order_body(), key="key-2")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "idempotency_key_reused"


def test_missing_key_is_400(acme: SpecClient) -> None:
    r = acme.post("/orders", json=order_body())
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "idempotency_key_required"


def test_duplicate_reference_names_the_existing_order(acme: SpecClient) -> None:
    body = order_body()
    order_id = acme.create_order(body).json()["id"]
    r = acme.create_order(body)  # fresh key, same reference
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "duplicate_reference"
    assert error["existing_order_id"] == order_id


def test_reference_data_errors_name_the_field(acme: SpecClient) -> None:
    cases = [
        ({"warehouse_id": "wh_zzz"}, "invalid_warehouse", "warehouse_id"),
        ({"shipping_method_id": "sm_nope"}, "invalid_shipping_method", "shipping_method_id"),
        ({"items": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, "unknown_sku", "items[0].sku"),
        ({"colour": "blue"}, "unknown_field", "colour"),
        (
            {"items": [{"sku": "WIDGET-BLUE-M", "quantity": 0}]},
            "validation_failed",
            "items[0].quantity",
        ),
    ]
    for overrides, code, field in cases:
        r = acme.create_order(order_body(**overrides))
        assert r.status_code == 422, r.text
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, field)


def test_a_price_without_currency_names_the_missing_currency(acme: SpecClient) -> None:
    """`unit_price` needs `currency` (dependentRequired): the error's field is the missing
    `items[n].currency`, not the line `items[n]`."""
    priced = {"sku": "WIDGET-BLUE-M", "quantity": 1, "unit_price": "19.99"}
    for items, field in (
        ([priced], "items[0].currency"),
        ([{**priced, "currency": "AUD"}, priced], "items[1].currency"),
    ):
        r = acme.create_order(order_body(items=items))
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert (error["code"], error["field"]) == ("validation_failed", field), error
        assert "unit_price" in error["message"], error


def test_a_stored_422_is_replayed_for_the_same_key(acme: SpecClient) -> None:
    bad = order_body(warehouse_id="wh_zzz")
    assert acme.create_order(bad, key="key-3").json()["error"]["code"] == "invalid_warehouse"
    assert acme.create_order(bad, key="key-3").json()["error"]["code"] == "invalid_warehouse"
    fixed = acme.create_order(order_body(), key="key-3")
    assert fixed.json()["error"]["code"] == "idempotency_key_reused"


def test_free_text_shipping_method_is_accepted(acme: SpecClient) -> None:
    body = order_body(shipping_method="Parcel Post")
    del body["shipping_method_id"]
    order = acme.create_order(body).json()
    assert order["shipping_method_id"] == "sm_auspost_parcel"
    body = order_body(shipping_method="Carrier pigeon")
    del body["shipping_method_id"]
    order = acme.create_order(body).json()
    assert (order["shipping_method_id"], order["shipping_method"]) == (None, "Carrier pigeon")


def test_amend_is_a_merge_patch_with_versions(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 10})
    order = acme.create_order(order_body(packing_note="Leave in porch")).json()
    url = f"/orders/{order['id']}"
    assert acme.get(url).headers["ETag"] == '"1"'
    patch = {"items": [{"sku": sku, "quantity": 3}], "gift_message": "Happy birthday"}
    r = acme.patch(
        url,
        content=json.dumps(patch),
        headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    amended = r.json()
    assert amended["version"] == "2" and r.headers["ETag"] == '"2"'
    assert [(i["sku"], i["quantity"]) for i in amended["items"]] == [(sku, 3)]
    assert amended["packing_note"] == "Leave in porch"  # not sent: untouched
    assert amended["updated_at"] > order["updated_at"]
    assert stock_of(acme, sku)["allocated"] == 3
    stale = acme.patch(url, json={"packing_note": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
    unconditional = acme.patch(url, json={"packing_note": None})
    assert unconditional.status_code == 200 and unconditional.json()["packing_note"] is None
    moved = acme.patch(url, json={"warehouse_id": "wh_mel_1"})
    assert moved.status_code == 422
    assert moved.json()["error"]["field"] == "warehouse_id"
    assert moved.json()["error"]["code"] == "warehouse_not_amendable"


def test_amend_after_pick_is_too_late(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    assert acme.post(f"/sandbox/orders/{order['id']}/pick").json()["status"] == "processing"
    r = acme.patch(f"/orders/{order['id']}", json={"packing_note": "late"})
    assert r.status_code == 409
    assert r.json()["error"] | {"message": ""} == r.json()["error"] | {
        "code": "too_late_to_amend",
        "order_status": "processing",
        "message": "",
    }


def test_cancel_is_idempotent_and_releases_stock(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 5})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 4}])).json()
    assert stock_of(acme, sku)["allocated"] == 4
    first = acme.post(f"/orders/{order['id']}/cancel")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert first.json()["cancelled_at"] is not None
    again = acme.post(f"/orders/{order['id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["allocated"], level["available"]) == (5, 0, 5)


def test_cancel_refusals_carry_the_order_status(acme: SpecClient) -> None:
    picked = acme.create_order(order_body()).json()["id"]
    acme.post(f"/sandbox/orders/{picked}/pick")
    r = acme.post(f"/orders/{picked}/cancel")
    assert r.status_code == 409
    assert (r.json()["error"]["code"], r.json()["error"]["order_status"]) == (
        "too_late_to_cancel",
        "processing",
    )
    shipped = acme.create_order(order_body()).json()["id"]
    assert acme.post(f"/sandbox/orders/{shipped}/ship").status_code == 201
    r = acme.post(f"/orders/{shipped}/cancel")
    assert (r.json()["error"]["code"], r.json()["error"]["order_status"]) == (
        "already_shipped",
        "shipped",
    )


def test_a_body_on_an_operation_without_one_is_ignored(acme: SpecClient) -> None:
    """CAN-010: cancel, pick and hold declare no body; one sent anyway changes nothing."""
    held = acme.create_order(order_body()).json()
    assert acme.post(f"/sandbox/orders/{held['id']}/hold", json={"why": "x"}).status_code == 200
    picked = acme.create_order(order_body()).json()
    assert acme.post(f"/sandbox/orders/{picked['id']}/pick", content=b"not json").status_code == 200
    cancelled = acme.post(f"/orders/{held['id']}/cancel", json={"reason": "changed mind"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_an_unknown_order_is_404_before_its_precondition(acme: SpecClient) -> None:
    """ORD-006: existence is judged before If-Match (RFC 9110 section 13.2.1)."""
    for headers in ({}, {"If-Match": '"1"'}):
        r = acme.patch("/orders/ord_nope", json={"packing_note": "x"}, headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
