"""Inbound shipments (ASNs): announced stock, what actually arrived (guide § 5a; decision 21).

The ERP announces a purchase order with `POST /inbound-shipments`, polls
`GET /inbound-shipments?updated_since=...` for receipts and books the signed per-line
discrepancies; received units must show up in `on_hand` and open units as `incoming`. Every
check announces fresh run-tagged SKUs, so stock and ASNs of earlier runs cannot change the
expected numbers. The list-convention helpers here are shared by the adjustment and return
checks (the same PAG-001..PAG-010 rules on their lists).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import parse_ts
from conformance.scenarios import (
    FAR_PAST,
    REPLAY_STATUSES,
    Polled,
    Stock,
    body_of,
    error_code,
    error_field,
    gap,
    get_ok,
    judge_cursors,
    judge_filters,
    judge_walk,
    poll,
    sandbox_api,
    stamp_of,
)

UNKNOWN_WAREHOUSE = "ck-no-such-warehouse"


# ------------------------------------------------------------------------------ shared helpers


# ------------------------------------------------------------------------------ inbound helpers
def asn_body(factory: TestData, items: list[tuple[str, int]], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": factory.unique("ASN"),
        "warehouse_id": factory.warehouse_ids[0],
        "supplier": "Conformance Kit Supplies",
        # A date-only field the server echoes, so API-004 (dates as YYYY-MM-DD) has one to judge.
        "expected_at": (datetime.date.today() + datetime.timedelta(days=7)).isoformat(),
        "items": [{"sku": sku, "expected_quantity": qty} for sku, qty in items],
    }
    body.update(overrides)
    return body


def post_asn(api: ApiClient, body: dict[str, Any], key: str | None) -> ApiResponse:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.request("POST", "/inbound-shipments", json=body, headers=headers)


def create_asn(factory: TestData, items: list[tuple[str, int]], **overrides: Any) -> dict[str, Any]:
    """POST /inbound-shipments with a fresh key; asserts 201 and returns the ASN."""
    body = asn_body(factory, items, **overrides)
    resp = post_asn(factory.api, body, factory.idempotency_key())
    assert resp.status == 201 and isinstance(resp.json, dict) and resp.json.get("id"), (
        f"expected 201 with the new inbound shipment, got {resp.describe()}"
    )
    created: dict[str, Any] = resp.json
    return created


def lines(asn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(line.get("sku")): line for line in asn.get("items") or [] if isinstance(line, dict)}


def asns_with_reference(api: ApiClient, reference: str) -> list[dict[str, Any]]:
    return poll(api, "/inbound-shipments", {"reference": reference, "updated_since": FAR_PAST})


def entry_numbers(stock: Stock, warehouse_id: str) -> dict[str, Any]:
    entry = stock.at(warehouse_id)
    return {k: entry.get(k) for k in ("on_hand", "available", "incoming") if k in entry}


def assert_stock(
    api: ApiClient, sku: str, warehouse: str, want: dict[str, Any], label: str
) -> None:
    """The SKU's numbers at the warehouse, read now, are `want` (only the members it names)."""
    stock = Stock(api, sku)
    got = entry_numbers(stock, warehouse)
    wrong = {k: got.get(k) for k, v in want.items() if got.get(k) != v}
    assert not wrong, (
        f"expected {want} for {sku} at {warehouse} {label}, got {got} ({stock.response.describe()})"
    )


# ---------------------------------------------------------------------------------------- checks
@requirement("INB-001")
def test_create_without_idempotency_key_is_rejected(api: ApiClient, factory: TestData) -> None:
    """POST /inbound-shipments without Idempotency-Key: 400 idempotency_key_required, and no ASN
    with its reference is listed afterwards."""
    body = asn_body(factory, [(factory.sku(), 5)])
    resp = post_asn(api, body, None)
    assert resp.status == 400 and error_code(resp) == "idempotency_key_required", (
        f"expected 400 idempotency_key_required without Idempotency-Key, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    made = asns_with_reference(api, body["reference"])
    assert not made, (
        f"expected no inbound shipment with reference {body['reference']}, got "
        f"{[row.get('id') for row in made]} (GET /inbound-shipments?reference=...)"
    )


@requirement("INB-002")
def test_create_answers_201_with_expected_asn(api: ApiClient, factory: TestData) -> None:
    """A valid ASN of two lines: 201 with a non-empty id, status expected, the reference and
    warehouse_id sent, received_at null, and per line the expected_quantity sent and
    received_quantity 0."""
    wanted = {factory.sku(): 12, factory.sku(): 3}
    body = asn_body(factory, list(wanted.items()))
    resp = post_asn(api, body, factory.idempotency_key())
    asn = body_of(resp)
    got = {k: asn.get(k) for k in ("status", "reference", "warehouse_id", "received_at")}
    want = {
        "status": "expected",
        "reference": body["reference"],
        "warehouse_id": body["warehouse_id"],
        "received_at": None,
    }
    assert resp.status == 201 and isinstance(asn.get("id"), str) and asn["id"], (
        f"expected 201 with a non-empty id, got {resp.status} id={asn.get('id')!r} "
        f"({resp.describe()})"
    )
    assert got == want, f"expected {want}, got {got} ({resp.describe()})"
    by_sku = lines(asn)
    for sku, quantity in wanted.items():
        line = by_sku.get(sku, {})
        numbers = {k: line.get(k) for k in ("expected_quantity", "received_quantity")}
        assert numbers == {"expected_quantity": quantity, "received_quantity": 0}, (
            f"expected line {sku} with expected_quantity {quantity} and received_quantity 0, "
            f"got {line or 'no line'} ({resp.describe()})"
        )


@requirement("INB-003")
def test_retry_returns_the_same_asn(api: ApiClient, factory: TestData) -> None:
    """The same key and body twice: 200 (or 201) with the same id, one ASN listed for the
    reference; the same key with another body: 422 idempotency_key_reused."""
    body = asn_body(factory, [(factory.sku(), 4)])
    key = factory.idempotency_key()
    first = post_asn(api, body, key)
    assert first.status == 201 and body_of(first).get("id"), (
        f"expected 201 for the first create, got {first.describe()}"
    )
    replay = post_asn(api, body, key)
    assert replay.status in REPLAY_STATUSES and body_of(replay).get("id") == body_of(first)["id"], (
        f"expected 200 (or 201) with inbound shipment {body_of(first)['id']} for a retry, got "
        f"{replay.status} id={body_of(replay).get('id')!r} ({replay.describe()})"
    )
    made = [str(row.get("id")) for row in asns_with_reference(api, body["reference"])]
    assert len(set(made)) == 1, (
        f"expected one inbound shipment with reference {body['reference']} after a retry, got "
        f"{sorted(set(made))}"
    )
    other = post_asn(api, {**body, "items": [{"sku": factory.sku(), "expected_quantity": 9}]}, key)
    assert other.status == 422 and error_code(other) == "idempotency_key_reused", (
        f"expected 422 idempotency_key_reused for the same key with another body, got "
        f"{other.status} {error_code(other)!r} ({other.describe()})"
    )


@requirement("INB-004")
def test_unknown_warehouse_is_refused(api: ApiClient, factory: TestData) -> None:
    """An ASN for warehouse 'ck-no-such-warehouse': 422 invalid_warehouse, field warehouse_id."""
    body = asn_body(factory, [(factory.sku(), 2)], warehouse_id=UNKNOWN_WAREHOUSE)
    resp = post_asn(api, body, factory.idempotency_key())
    got = (resp.status, error_code(resp), error_field(resp))
    assert got == (422, "invalid_warehouse", "warehouse_id"), (
        f"expected 422 invalid_warehouse with field warehouse_id, got {got} ({resp.describe()})"
    )


@requirement("INB-005")
def test_get_returns_the_asn_and_unknown_is_404(api: ApiClient, factory: TestData) -> None:
    """GET /inbound-shipments/{id} of a new ASN returns its id, reference and lines; an unknown
    id is 404 not_found."""
    sku = factory.sku()
    asn = create_asn(factory, [(sku, 6)])
    resp = api.request("GET", f"/inbound-shipments/{asn['id']}")
    read = body_of(resp)
    got = (read.get("id"), read.get("reference"), lines(read).get(sku, {}).get("expected_quantity"))
    assert resp.status == 200 and got == (asn["id"], asn.get("reference"), 6), (
        f"expected 200 with {(asn['id'], asn.get('reference'), 6)} (id, reference, expected "
        f"quantity), got {resp.status} {got} ({resp.describe()})"
    )
    missing = api.request("GET", f"/inbound-shipments/{factory.unique('ck-missing')}")
    assert missing.status == 404 and error_code(missing) == "not_found", (
        f"expected 404 not_found for an unknown id, got {missing.status} "
        f"{error_code(missing)!r} ({missing.describe()})"
    )


@pytest.fixture(scope="module")
def inbound_list(api: ApiClient, driver: WarehouseDriver, reference_data: ReferenceData) -> Polled:
    """Three ASNs written ms apart (the third received), at two warehouses when there are two."""
    factory = TestData(api, driver, reference_data)
    ids = [str(w) for w in factory.warehouse_ids]
    second = ids[1] if len(ids) > 1 else ids[0]
    rows = []
    for warehouse in (ids[0], ids[0], second):
        rows.append(create_asn(factory, [(factory.sku(), 2)], warehouse_id=warehouse))
        gap()
    last = rows[-1]
    driver.receive_inbound(last["id"], [{"sku": lines(last).popitem()[0], "received_quantity": 2}])
    filters = [
        ("reference", rows[1]["reference"], {str(rows[1]["id"])}),
        ("warehouse_id", second, {str(last["id"])}),
        ("status", "received", {str(last["id"])}),
        ("status", "expected", {str(rows[0]["id"])}),
    ]
    return Polled(api, "/inbound-shipments", rows, filters)


@requirement("INB-006")
def test_list_follows_the_polling_conventions(api: ApiClient, inbound_list: Polled) -> None:
    """Walks GET /inbound-shipments?updated_since=<first ASN's updated_at> in pages of 2: each
    of the three ASNs exactly once, nothing older, pages within limit, has_more agrees with
    next_cursor, ascending (updated_at, id); a malformed cursor and a cursor with another
    updated_since are 400 invalid_cursor."""
    judge_walk(inbound_list)
    judge_cursors(api, inbound_list)


@requirement("INB-006")
def test_list_filters_by_reference_warehouse_and_status(
    api: ApiClient, inbound_list: Polled
) -> None:
    """reference, warehouse_id and status (received, expected) each return the matching ASN of
    this run and only rows matching the filter."""
    judge_filters(api, inbound_list)


@requirement("INB-007")
def test_receipt_reports_signed_discrepancies(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Expected 10/5/4 of three SKUs, received 8/7/4: the ASN reads discrepancy -2 (short),
    +2 (over) and 0, each equal to received_quantity - expected_quantity."""
    plan = {factory.sku(): (10, 8), factory.sku(): (5, 7), factory.sku(): (4, 4)}
    asn = create_asn(factory, [(sku, exp) for sku, (exp, _) in plan.items()])
    driver.receive_inbound(
        asn["id"], [{"sku": sku, "received_quantity": got} for sku, (_, got) in plan.items()]
    )
    read = get_ok(api, f"/inbound-shipments/{asn['id']}")
    by_sku = lines(read)
    for sku, (expected, received) in plan.items():
        line = by_sku.get(sku, {})
        got = (line.get("received_quantity"), line.get("discrepancy"))
        assert got == (received, received - expected), (
            f"expected received_quantity {received} and discrepancy {received - expected} for "
            f"{sku} (expected {expected}), got {got} (GET /inbound-shipments/{asn['id']})"
        )


@requirement("INB-008")
def test_receipt_moves_status_forward_with_received_at(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Expected 10 of one SKU: 4 received (not complete) reads partially_received; the other 6
    (complete) reads received with received_at set; updated_at advances at each step."""
    sku = factory.sku()
    asn = create_asn(factory, [(sku, 10)])
    previous = stamp_of(asn, "new inbound shipment")
    path = f"/inbound-shipments/{asn['id']}"
    for quantity, complete, status in ((4, False, "partially_received"), (6, True, "received")):
        gap()
        driver.receive_inbound(asn["id"], [{"sku": sku, "received_quantity": quantity}], complete)
        read = get_ok(api, path)
        assert read.get("status") == status, (
            f"expected status {status} after receiving {quantity} (complete={complete}), got "
            f"{read.get('status')!r} (GET {path})"
        )
        before, after = parse_ts(previous), parse_ts(read.get("updated_at"))
        assert before is not None and after is not None and after > before, (
            f"expected updated_at to advance when the ASN became {status}, got {previous} -> "
            f"{read.get('updated_at')} (GET {path})"
        )
        previous = str(read.get("updated_at"))
    assert parse_ts(read.get("received_at")) is not None, (
        f"expected received_at set on the received ASN, got {read.get('received_at')!r} "
        f"(GET {path})"
    )


@requirement("INB-009")
def test_received_units_raise_on_hand(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """3 on hand, an ASN of 10: receiving 6 (partial) reads on_hand 9, the last 4 on_hand 13,
    at the ASN's warehouse."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 3})
    asn = create_asn(factory, [(sku, 10)], warehouse_id=warehouse)
    for quantity, complete, on_hand in ((6, False, 9), (4, True, 13)):
        driver.receive_inbound(asn["id"], [{"sku": sku, "received_quantity": quantity}], complete)
        stock = Stock(api, sku)
        got = stock.at(warehouse).get("on_hand")
        assert got == on_hand, (
            f"expected on_hand {on_hand} for {sku} at {warehouse} after receiving {quantity}, "
            f"got {got} ({stock.response.describe()})"
        )


@requirement("INB-010")
def test_open_inbound_shows_as_incoming_not_on_hand(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """3 on hand: an ASN of 10 reads incoming +10 and on_hand still 3; receiving 4 (partial)
    reads incoming down by 4 and on_hand 7."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 3})
    before = Stock(api, sku).at(warehouse).get("incoming", 0)
    asn = create_asn(factory, [(sku, 10)], warehouse_id=warehouse)
    steps = (
        ("after an ASN of 10", lambda: None, {"on_hand": 3, "incoming": before + 10}),
        (
            "after receiving 4 of 10",
            lambda: driver.receive_inbound(
                asn["id"], [{"sku": sku, "received_quantity": 4}], False
            ),
            {"on_hand": 7, "incoming": before + 6},
        ),
    )
    for label, step, want in steps:
        step()
        assert_stock(api, sku, warehouse, want, label)


@requirement("INB-011")
def test_receiving_a_received_asn_is_refused(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, conformance_config: Config
) -> None:
    """A fully received ASN received again through POST /sandbox/inbound-shipments/{id}/receive:
    409 invalid_transition; the ASN and the SKU's on_hand are unchanged."""
    control = sandbox_api(api, conformance_config)
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 1})
    asn = create_asn(factory, [(sku, 2)], warehouse_id=warehouse)
    driver.receive_inbound(asn["id"], [{"sku": sku, "received_quantity": 2}])
    before = get_ok(api, f"/inbound-shipments/{asn['id']}")
    resp = control.request(
        "POST",
        f"/sandbox/inbound-shipments/{asn['id']}/receive",
        json={"items": [{"sku": sku, "received_quantity": 1}], "complete": True},
    )
    assert resp.status == 409 and error_code(resp) == "invalid_transition", (
        f"expected 409 invalid_transition for receiving a received ASN, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    after = get_ok(api, f"/inbound-shipments/{asn['id']}")
    stock = Stock(api, sku)
    got = (lines(after).get(sku, {}).get("received_quantity"), stock.at(warehouse).get("on_hand"))
    want = (lines(before).get(sku, {}).get("received_quantity"), 3)
    assert got == want and after.get("status") == "received", (
        f"expected (received_quantity, on_hand) {want} and status received after the refusal, "
        f"got {got} status {after.get('status')!r} ({stock.response.describe()})"
    )


# ------------------------------------------------------------------------------ unique references


@requirement("INB-012")
def test_a_second_asn_with_the_same_reference_is_refused(api: ApiClient, factory: TestData) -> None:
    """Creates an ASN, then another with the same reference under a new key: expects 409
    duplicate_reference naming the first ASN, and one ASN listed for the reference."""
    first = create_asn(factory, [(factory.sku(), 3)])
    body = asn_body(factory, [(factory.sku(), 2)], reference=first["reference"])
    again = post_asn(api, {**body, "supplier": "Another supplier"}, factory.idempotency_key())
    existing = body_of(again).get("error", {}).get("existing_inbound_shipment_id")
    assert (again.status, error_code(again), existing) == (
        409,
        "duplicate_reference",
        first["id"],
    ), (
        f"expected 409 duplicate_reference naming {first['id']} for a second ASN with reference "
        f"{body['reference']}, got {again.status} {error_code(again)!r} naming {existing!r} "
        f"({again.describe()})"
    )
    made = sorted({str(row.get("id")) for row in asns_with_reference(api, body["reference"])})
    assert made == [first["id"]], f"expected only {first['id']} listed, got {made}"


# ------------------------------------------------------------------ damaged units (decision 54)
def line_numbers(asn: dict[str, Any], sku: str) -> dict[str, Any]:
    """The counts of one ASN line the contract defines (a server may add other members)."""
    line = lines(asn).get(sku, {})
    names = ("received_quantity", "damaged_quantity", "discrepancy")
    return {name: line.get(name, "<absent>") for name in names}


@requirement("INB-013")
def test_damaged_units_are_reported_per_line(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Expected 10 of one SKU and 4 of another: 6 received with 2 damaged (partial) reads
    received 6, damaged 2, discrepancy -4; 4 more with 1 damaged, and the other SKU's 4
    undamaged (complete), read received 10, damaged 3, discrepancy 0, and damaged 0 on the
    other line."""
    sku, other = factory.sku(), factory.sku()
    asn = create_asn(factory, [(sku, 10), (other, 4)])
    path = f"/inbound-shipments/{asn['id']}"
    receipts = (
        ([(sku, 6, 2)], False, {sku: (6, 2, -4)}),
        ([(sku, 4, 1), (other, 4, 0)], True, {sku: (10, 3, 0), other: (4, 0, 0)}),
    )
    for counted, complete, want in receipts:
        items = [
            {"sku": s, "received_quantity": got, "damaged_quantity": damaged}
            for s, got, damaged in counted
        ]
        driver.receive_inbound(asn["id"], items, complete)
        read = get_ok(api, path)
        for line_sku, (received, damaged, discrepancy) in want.items():
            expected = {
                "received_quantity": received,
                "damaged_quantity": damaged,
                "discrepancy": discrepancy,
            }
            got = line_numbers(read, line_sku)
            assert got == expected, (
                f"expected {expected} for {line_sku} after receiving {items}, got {got} "
                f"(GET {path})"
            )


@requirement("INB-014")
def test_damaged_units_never_become_stock(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """3 on hand, an ASN of 10: 6 received with 2 damaged (partial) reads on_hand and available
    7 and incoming down by 6; the last 4, all damaged (complete), leave on_hand and available
    at 7 and incoming back where it was."""
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 3})
    before = Stock(api, sku).at(warehouse).get("incoming", 0)
    asn = create_asn(factory, [(sku, 10)], warehouse_id=warehouse)
    for received, damaged, complete, left in ((6, 2, False, 4), (4, 4, True, 0)):
        item = {"sku": sku, "received_quantity": received, "damaged_quantity": damaged}
        driver.receive_inbound(asn["id"], [item], complete)
        want = {"on_hand": 7, "available": 7, "incoming": before + left}
        assert_stock(api, sku, warehouse, want, f"after receiving {received}, {damaged} damaged")


@requirement("INB-015")
def test_more_damaged_than_received_is_refused(
    api: ApiClient, factory: TestData, conformance_config: Config
) -> None:
    """A receipt of two lines whose second reports 3 damaged of 2 received, through POST
    /sandbox/inbound-shipments/{id}/receive: 422 damaged_exceeds_received naming
    items[1].damaged_quantity; neither line is received and on_hand is unchanged."""
    control = sandbox_api(api, conformance_config)
    warehouse = factory.warehouse_ids[0]
    sku, other = factory.sku(stock={warehouse: 1}), factory.sku()
    asn = create_asn(factory, [(sku, 5), (other, 5)], warehouse_id=warehouse)
    items = [
        {"sku": sku, "received_quantity": 2, "damaged_quantity": 0},
        {"sku": other, "received_quantity": 2, "damaged_quantity": 3},
    ]
    path = f"/sandbox/inbound-shipments/{asn['id']}/receive"
    resp = control.request("POST", path, json={"items": items, "complete": False})
    got = (resp.status, error_code(resp), error_field(resp))
    want = (422, "damaged_exceeds_received", "items[1].damaged_quantity")
    assert got == want, f"expected {want} for {items}, got {got} ({resp.describe()})"
    after = get_ok(api, f"/inbound-shipments/{asn['id']}")
    received = {s: lines(after).get(s, {}).get("received_quantity") for s in (sku, other)}
    stock = Stock(api, sku)
    on_hand = stock.at(warehouse).get("on_hand")
    assert (received, on_hand) == ({sku: 0, other: 0}, 1), (
        f"expected nothing received (received_quantity 0 on both lines, on_hand 1) after the "
        f"refusal, got {received} and on_hand {on_hand} ({stock.response.describe()})"
    )
