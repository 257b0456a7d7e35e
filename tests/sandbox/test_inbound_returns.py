"""Inbound shipments with discrepancies, and returns with per-line condition and restock."""

from __future__ import annotations

from .conftest import new_sku, order_body, stock_of
from .spec_client import SpecClient


def test_inbound_receipt_moves_incoming_to_on_hand(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 0})
    backordered = acme.create_order(order_body(items=[{"sku": sku, "quantity": 3}])).json()
    assert backordered["status"] == "backordered"
    body = {
        "reference": "ASN-5567",
        "warehouse_id": "wh_syd_1",
        "expected_at": "2026-07-08",
        "supplier": "Acme Manufacturing",
        "items": [
            {"sku": sku, "expected_quantity": 500},
            {"sku": "WIDGET-RED-S", "expected_quantity": 300},
        ],
    }
    created = acme.post("/inbound-shipments", json=body, headers={"Idempotency-Key": "asn-1"})
    assert created.status_code == 201 and created.json()["status"] == "expected"
    replay = acme.post("/inbound-shipments", json=body, headers={"Idempotency-Key": "asn-1"})
    assert replay.status_code == 200 and replay.json()["id"] == created.json()["id"]
    assert stock_of(acme, sku)["incoming"] == 500
    ib = created.json()["id"]
    partial = acme.post(
        f"/sandbox/inbound-shipments/{ib}/receive",
        json={"items": [{"sku": sku, "received_quantity": 200}], "complete": False},
    )
    assert partial.status_code == 200 and partial.json()["status"] == "partially_received"
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["incoming"], level["allocated"]) == (200, 300, 3)
    assert acme.get(f"/orders/{backordered['id']}").json()["status"] == "received"
    done = acme.post(
        f"/sandbox/inbound-shipments/{ib}/receive",
        json={
            "items": [
                {"sku": sku, "received_quantity": 298},
                {"sku": "WIDGET-RED-S", "received_quantity": 300},
            ]
        },
    )
    lines = {i["sku"]: i for i in done.json()["items"]}
    assert done.json()["status"] == "received" and done.json()["received_at"]
    assert (lines[sku]["received_quantity"], lines[sku]["discrepancy"]) == (498, -2)
    assert lines["WIDGET-RED-S"]["discrepancy"] == 0
    level = stock_of(acme, sku)
    assert (level["on_hand"], level["incoming"]) == (498, 0)
    again = acme.post(
        f"/sandbox/inbound-shipments/{ib}/receive",
        json={"items": [{"sku": sku, "received_quantity": 1}]},
    )
    assert again.status_code == 409
    listed = acme.get("/inbound-shipments", params={"status": "received"}).json()["data"]
    assert [i["id"] for i in listed] == [ib]


def test_returns_expected_received_processed(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 5})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 2}])).json()
    acme.post(f"/sandbox/orders/{order['id']}/ship")
    rma = acme.post(
        "/returns",
        json={"order_id": order["id"], "rma": "RMA-1", "items": [{"sku": sku, "quantity": 2}]},
        headers={"Idempotency-Key": "rma-1"},
    )
    assert rma.status_code == 201 and rma.json()["status"] == "expected"
    received = acme.post(
        "/sandbox/returns",
        json={
            "order_id": order["id"],
            "return_id": rma.json()["id"],
            "items": [
                {"sku": sku, "quantity": 1, "condition": "resellable", "restocked": True},
                {"sku": sku, "quantity": 1, "condition": "damaged", "restocked": False},
            ],
        },
    )
    assert received.status_code == 201, received.text
    ret = received.json()
    assert (ret["id"], ret["status"], ret["rma"]) == (rma.json()["id"], "received", "RMA-1")
    assert stock_of(acme, sku)["on_hand"] == 4
    processed = acme.post(f"/sandbox/returns/{ret['id']}/process")
    assert processed.json()["status"] == "processed"
    assert acme.post(f"/sandbox/returns/{ret['id']}/process").status_code == 409
    unannounced = acme.post(
        "/sandbox/returns",
        json={
            "order_id": order["id"],
            "items": [{"sku": sku, "quantity": 1, "condition": "defective", "restocked": False}],
        },
    )
    assert unannounced.json()["rma"] is None
    by_order = acme.get("/returns", params={"order_id": order["id"]}).json()["data"]
    assert len(by_order) == 2
    assert acme.get(f"/returns/{ret['id']}").json()["order_number"] == order["order_number"]


def test_unknown_order_or_return_is_a_data_refusal_not_validation_failed(acme: SpecClient) -> None:
    """An unknown order_id (createReturn, sandboxReceiveReturn) or return_id gets 422 with its
    own code naming the field: the request is schema-valid, so never validation_failed."""
    sku = new_sku(acme, {"wh_syd_1": 5})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 1}])).json()
    line = {"sku": sku, "quantity": 1}
    rma = acme.post(
        "/returns",
        json={"order_id": "ord_no_such_order", "rma": "RMA-UNKNOWN", "items": [line]},
        headers={"Idempotency-Key": "rma-unknown-order"},
    )
    assert rma.status_code == 422, rma.text
    assert (rma.json()["error"]["code"], rma.json()["error"]["field"]) == (
        "unknown_order",
        "order_id",
    )
    received = {**line, "condition": "resellable", "restocked": False}
    unknown_return = acme.post(
        "/sandbox/returns",
        json={"order_id": order["id"], "return_id": "ret_no_such_return", "items": [received]},
    )
    assert unknown_return.status_code == 422, unknown_return.text
    error = unknown_return.json()["error"]
    assert (error["code"], error["field"]) == ("unknown_return", "return_id")
