"""Lists: inclusive updated_since, (updated_at, id) order, cursors that carry their filters."""

from __future__ import annotations

import re

from .conftest import order_body
from .spec_client import SpecClient


def _walk(client: SpecClient, path: str, **params: object) -> list[dict]:
    rows: list[dict] = []
    query = dict(params)
    while True:
        page = client.get(path, params=query).json()
        rows += page["data"]
        assert (page["pagination"]["next_cursor"] is None) == (not page["pagination"]["has_more"])
        if not page["pagination"]["has_more"]:
            return rows
        query = {**params, "cursor": page["pagination"]["next_cursor"]}


def test_orders_walk_in_order_and_updated_since_is_inclusive(acme: SpecClient) -> None:
    ids = [acme.create_order(order_body()).json()["id"] for _ in range(5)]
    rows = _walk(acme, "/orders", limit=2)
    assert [r["id"] for r in rows] == ids
    keys = [(r["updated_at"], r["id"]) for r in rows]
    assert keys == sorted(keys)
    third = rows[2]
    since = _walk(acme, "/orders", updated_since=third["updated_at"], limit=2)
    assert [r["id"] for r in since] == ids[2:]


def test_updated_since_accepts_any_offset(acme: SpecClient) -> None:
    acme.create_order(order_body())
    r = acme.get("/orders", params={"updated_since": "2000-01-01T10:00:00+10:00"})
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    assert acme.get("/orders", params={"updated_since": "yesterday"}).status_code == 400


def test_updated_since_is_an_instant_at_any_precision(acme: SpecClient) -> None:
    """PAG-019: the served stamp echoed back, padded to 9 digits or cut to the second selects it."""
    stamp = acme.create_order(order_body()).json()["updated_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    for bound in (stamp, stamp[:-1] + "000000Z", stamp[:19] + "Z", stamp[:21] + "Z"):
        r = acme.get("/orders", params={"updated_since": bound})
        assert r.status_code == 200 and len(r.json()["data"]) == 1, bound


def test_limit_bounds(acme: SpecClient) -> None:
    for _ in range(3):
        acme.create_order(order_body())
    assert len(acme.get("/orders").json()["data"]) == 3
    for bad in ("0", "201", "ten"):
        r = acme.get("/orders", params={"limit": bad})
        assert r.status_code == 400 and r.json()["error"]["field"] == "limit"
    assert len(acme.get("/orders", params={"limit": 200}).json()["data"]) == 3


def test_cursor_carries_its_filters(acme: SpecClient) -> None:
    for _ in range(3):
        acme.create_order(order_body())
    page = acme.get("/orders", params={"limit": 1, "status": "received"}).json()
    cursor = page["pagination"]["next_cursor"]
    same = acme.get("/orders", params={"limit": 1, "status": "received", "cursor": cursor})
    assert same.status_code == 200
    omitted = acme.get("/orders", params={"limit": 1, "cursor": cursor})
    assert omitted.status_code == 200  # a cursor sent alone keeps its walk's filters (PAG-018)
    assert omitted.json()["data"] == same.json()["data"]
    bare = acme.get("/orders", params={"cursor": cursor})  # limit too: the default page
    assert [o["status"] for o in bare.json()["data"]] == ["received", "received"]
    added = acme.get("/orders", params={"limit": 1, "order_number": "X", "cursor": cursor})
    assert added.status_code == 400 and added.json()["error"]["code"] == "invalid_cursor"
    other = acme.get("/orders", params={"limit": 1, "status": "shipped", "cursor": cursor})
    assert other.status_code == 400 and other.json()["error"]["code"] == "invalid_cursor"
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    r = acme.get("/orders", params={"cursor": tampered})
    assert r.json()["error"]["code"] == "invalid_cursor"
    foreign = acme.get("/shipments", params={"cursor": cursor})
    assert foreign.status_code == 400


def test_reference_lists_and_filters(acme: SpecClient) -> None:
    warehouses = acme.get("/warehouses").json()["data"]
    assert {w["id"]: w["name"] for w in warehouses} == {
        "wh_syd_1": "Sydney DC",
        "wh_mel_1": "Melbourne DC",
    }
    methods = {m["id"] for m in acme.get("/shipping-methods").json()["data"]}
    assert {"sm_auspost_express", "sm_auspost_parcel"} <= methods and len(methods) >= 3
    page = acme.get("/shipping-methods", params={"limit": 1}).json()
    assert page["pagination"]["has_more"] is True
    body = order_body()
    acme.create_order(body)
    acme.create_order(order_body())
    by_number = acme.get("/orders", params={"order_number": body["order_number"]}).json()
    assert [o["order_number"] for o in by_number["data"]] == [body["order_number"]]
    syd = acme.get("/inventory", params={"warehouse_id": "wh_mel_1", "sku": "WIDGET-RED-S"})
    [item] = syd.json()["data"]
    assert [w["warehouse_id"] for w in item["warehouses"]] == ["wh_mel_1"]


def test_a_garbage_cursor_is_400_invalid_cursor_never_500(acme: SpecClient) -> None:
    """Found by the kit's stateful phase: a non-ASCII signature made hmac.compare_digest raise."""
    for cursor in ["\x13e.\u00c1\U0009aae9", "abc.\u00e9", "not-a-cursor", "e30.", ".sig"]:
        r = acme.get("/warehouses", params={"cursor": cursor})
        assert r.status_code == 400, (cursor, r.status_code)
        assert r.json()["error"]["code"] == "invalid_cursor"
