"""Order line ids (decision 46): kept, assigned, refused when repeated, credited by shipments,
kept by amends and named by returns."""

from __future__ import annotations

from typing import Any

from .conftest import new_sku, order_body
from .spec_client import SpecClient


def order_of(acme: SpecClient, sku: str, lines: dict[str, int]) -> dict[str, Any]:
    """A new order with one line of `sku` per (line_id, quantity)."""
    items = [{"line_id": line_id, "sku": sku, "quantity": q} for line_id, q in lines.items()]
    order: dict[str, Any] = acme.create_order(order_body(items=items)).json()
    return order


def test_line_ids_sent_are_kept_and_missing_ones_are_numbered_around_them(
    acme: SpecClient,
) -> None:
    sku = new_sku(acme, {"wh_syd_1": 20})
    items = [
        {"sku": sku, "quantity": 1},
        {"line_id": "1", "sku": sku, "quantity": 2},
        {"sku": sku, "quantity": 3},
    ]
    created = acme.create_order(order_body(items=items)).json()
    # "1" is the ERP's (second line), so the first line gets the next free number.
    assert [line["line_id"] for line in created["items"]] == ["2", "1", "3"]
    again = acme.get(f"/orders/{created['id']}").json()
    assert [line["line_id"] for line in again["items"]] == ["2", "1", "3"]


def test_a_repeated_line_id_is_refused_naming_the_second_line(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 20})
    items = [
        {"line_id": "10", "sku": sku, "quantity": 1},
        {"line_id": "10", "sku": sku, "quantity": 2},
    ]
    body = order_body(items=items)
    r = acme.create_order(body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["code"], error["field"], error["line_id"]) == (
        "duplicate_line_id",
        "items[1].line_id",
        "10",
    )
    listed = acme.get("/orders", params={"reference": body["reference"]}).json()["data"]
    assert listed == []


def test_shipments_credit_the_line_named_or_the_first_line_of_the_sku(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 20})
    items = [
        {"line_id": "A", "sku": sku, "quantity": 2, "unit_price": "5.00", "currency": "AUD"},
        {"line_id": "B", "sku": sku, "quantity": 3, "unit_price": "4.00", "currency": "AUD"},
    ]
    order = acme.create_order(order_body(items=items)).json()
    named = acme.post(
        f"/sandbox/orders/{order['id']}/ship",
        json={"items": [{"line_id": "B", "sku": sku, "quantity": 1}]},
    ).json()
    assert named["items"] == [{"line_id": "B", "sku": sku, "quantity": 1}]
    unnamed = acme.post(
        f"/sandbox/orders/{order['id']}/ship", json={"items": [{"sku": sku, "quantity": 3}]}
    ).json()
    assert unnamed["items"] == [
        {"line_id": "A", "sku": sku, "quantity": 2},
        {"line_id": "B", "sku": sku, "quantity": 1},
    ]
    lines = acme.get(f"/orders/{order['id']}").json()["items"]
    assert [(line["line_id"], line["shipped_quantity"]) for line in lines] == [("A", 2), ("B", 2)]
    wrong = acme.post(
        f"/sandbox/orders/{order['id']}/ship",
        json={"items": [{"line_id": "C", "sku": sku, "quantity": 1}]},
    )
    assert wrong.status_code == 422
    assert (wrong.json()["error"]["code"], wrong.json()["error"]["field"]) == (
        "unknown_line_id",
        "items[0].line_id",
    )


def test_an_amend_matches_lines_by_id_and_refuses_repeats(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 20})
    order = order_of(acme, sku, {"10": 1, "20": 1})
    repeated = acme.patch(
        f"/orders/{order['id']}",
        json={"items": [{"line_id": "20", "sku": sku, "quantity": 1}] * 2},
    )
    assert repeated.status_code == 422
    assert repeated.json()["error"]["field"] == "items[1].line_id"
    amended = acme.patch(
        f"/orders/{order['id']}",
        json={
            "items": [
                {"line_id": "20", "sku": sku, "quantity": 4},
                {"line_id": "30", "sku": sku, "quantity": 1},
            ]
        },
    ).json()
    assert [(line["line_id"], line["quantity"]) for line in amended["items"]] == [
        ("20", 4),
        ("30", 1),
    ]


def test_return_lines_name_the_order_line(acme: SpecClient) -> None:
    sku = new_sku(acme, {"wh_syd_1": 20})
    order = order_of(acme, sku, {"A": 2, "B": 2})
    acme.post(f"/sandbox/orders/{order['id']}/ship")
    rma = {"order_id": order["id"], "rma": f"RMA-{order['id']}", "items": []}
    named = acme.post(
        "/returns",
        json={**rma, "items": [{"line_id": "B", "sku": sku, "quantity": 1}]},
        headers={"Idempotency-Key": f"{rma['rma']}-1"},
    )
    assert named.status_code == 201
    assert named.json()["items"][0]["line_id"] == "B"
    unknown = acme.post(
        "/returns",
        json={
            **rma,
            "rma": rma["rma"] + "-2",
            "items": [{"line_id": "Z", "sku": sku, "quantity": 1}],
        },
        headers={"Idempotency-Key": f"{rma['rma']}-2"},
    )
    assert unknown.status_code == 422
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["field"]) == (
        "unknown_line_id",
        "items[0].line_id",
    )
