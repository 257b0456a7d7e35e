"""Customer returns and RMAs: expected -> received -> processed (guide § 5c; decision 22).

The ERP may announce a return (`POST /returns`, an RMA); the warehouse reports what arrived, per
line with condition and restock flag, whether announced or not, and restocked units go back into
`on_hand`. Every check returns units of a freshly shipped order of run-tagged SKUs; the warehouse
side goes through the driver (`receive_return`), processing through the sandbox control endpoint.
"""

from __future__ import annotations

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


def shipped_order(
    factory: TestData, driver: WarehouseDriver, quantities: list[int]
) -> dict[str, Any]:
    """A new order with one line per quantity (fresh SKUs stocked with 10 each), shipped."""
    warehouse = factory.warehouse_ids[0]
    items = [{"sku": factory.sku(stock={warehouse: 10}), "quantity": q} for q in quantities]
    order: dict[str, Any] = factory.create_order(warehouse_id=warehouse, items=items)
    driver.ship(order["id"])
    return order


def rma_body(factory: TestData, order: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    return {
        "order_id": order["id"],
        "rma": factory.unique("RMA"),
        "items": [{"sku": order["items"][0]["sku"], "quantity": quantity}],
    }


def post_return(api: ApiClient, body: dict[str, Any], key: str | None) -> ApiResponse:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.request("POST", "/returns", json=body, headers=headers)


def create_rma(factory: TestData, order: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    resp = post_return(factory.api, rma_body(factory, order, quantity), factory.idempotency_key())
    assert resp.status == 201 and body_of(resp).get("id"), (
        f"expected 201 with the new return, got {resp.describe()}"
    )
    return body_of(resp)


def returns_of(api: ApiClient, order_id: str) -> list[dict[str, Any]]:
    return poll(api, "/returns", {"order_id": order_id, "updated_since": FAR_PAST})


def arrival(sku: str, quantity: int, condition: str, restocked: bool) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "condition": condition, "restocked": restocked}


def line_key(line: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(line.get(k) for k in ("sku", "quantity", "condition", "restocked"))


# ---------------------------------------------------------------------------------------- checks
@requirement("RET-001")
def test_create_without_idempotency_key_is_rejected(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """POST /returns without Idempotency-Key: 400 idempotency_key_required, and the order has
    no return listed afterwards."""
    order = shipped_order(factory, driver, [1])
    resp = post_return(api, rma_body(factory, order), None)
    assert resp.status == 400 and error_code(resp) == "idempotency_key_required", (
        f"expected 400 idempotency_key_required without Idempotency-Key, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    made = [row.get("id") for row in returns_of(api, order["id"])]
    assert not made, (
        f"expected no return for order {order['id']}, got {made} (GET /returns?order_id=...)"
    )


@requirement("RET-002")
def test_create_answers_201_with_expected_return(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An RMA for a shipped order: 201 with status expected, the rma sent, the order's
    order_id and order_number, received_at null."""
    order = shipped_order(factory, driver, [2])
    body = rma_body(factory, order)
    resp = post_return(api, body, factory.idempotency_key())
    got = {k: body_of(resp).get(k) for k in ("status", "rma", "order_id", "order_number")}
    want = {
        "status": "expected",
        "rma": body["rma"],
        "order_id": order["id"],
        "order_number": order["order_number"],
    }
    assert resp.status == 201 and got == want, (
        f"expected 201 with {want}, got {resp.status} {got} ({resp.describe()})"
    )
    assert "received_at" in body_of(resp) and body_of(resp)["received_at"] is None, (
        f"expected received_at null on an expected return, got "
        f"{body_of(resp).get('received_at', '<absent>')!r} ({resp.describe()})"
    )


@requirement("RET-003")
def test_retry_returns_the_same_return(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """The same key and body twice: 200 (or 201) with the same id and one return listed for the
    order; the same key with another body: 422 idempotency_key_reused."""
    order = shipped_order(factory, driver, [2])
    body, key = rma_body(factory, order), factory.idempotency_key()
    first = post_return(api, body, key)
    assert first.status == 201 and body_of(first).get("id"), (
        f"expected 201 for the first create, got {first.describe()}"
    )
    replay = post_return(api, body, key)
    assert replay.status in REPLAY_STATUSES and body_of(replay).get("id") == body_of(first)["id"], (
        f"expected 200 (or 201) with return {body_of(first)['id']} for a retry, got "
        f"{replay.status} id={body_of(replay).get('id')!r} ({replay.describe()})"
    )
    made = sorted({str(row.get("id")) for row in returns_of(api, order["id"])})
    assert made == [str(body_of(first)["id"])], (
        f"expected only return {body_of(first)['id']} for order {order['id']} after a retry, "
        f"got {made}"
    )
    other = post_return(api, {**body, "rma": factory.unique("RMA")}, key)
    assert other.status == 422 and error_code(other) == "idempotency_key_reused", (
        f"expected 422 idempotency_key_reused for the same key with another body, got "
        f"{other.status} {error_code(other)!r} ({other.describe()})"
    )


@requirement("RET-004")
def test_unknown_order_or_sku_is_refused(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An RMA for order 'ck-no-such-order': 422 unknown_order with field order_id; an RMA
    of a SKU that is not a line of the order: 422 unknown_sku."""
    order = shipped_order(factory, driver, [1])
    unknown_order = {**rma_body(factory, order), "order_id": factory.unique("ck-no-such-order")}
    resp = post_return(api, unknown_order, factory.idempotency_key())
    got = (resp.status, error_code(resp), error_field(resp))
    assert got == (422, "unknown_order", "order_id"), (
        f"expected 422 unknown_order with field order_id for an unknown order, got {got} "
        f"({resp.describe()})"
    )
    stranger = factory.sku()
    wrong_sku = {**rma_body(factory, order), "items": [{"sku": stranger, "quantity": 1}]}
    resp = post_return(api, wrong_sku, factory.idempotency_key())
    assert resp.status == 422 and error_code(resp) == "unknown_sku", (
        f"expected 422 unknown_sku for SKU {stranger} not on the order, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )


@requirement("RET-005")
def test_get_returns_the_return_and_unknown_is_404(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """GET /returns/{id} of a new RMA returns its id, rma and order_id; an unknown id is 404
    not_found."""
    order = shipped_order(factory, driver, [1])
    created = create_rma(factory, order)
    resp = api.request("GET", f"/returns/{created['id']}")
    got = tuple(body_of(resp).get(k) for k in ("id", "rma", "order_id"))
    want = (created["id"], created.get("rma"), order["id"])
    assert resp.status == 200 and got == want, (
        f"expected 200 with {want} (id, rma, order_id), got {resp.status} {got} ({resp.describe()})"
    )
    missing = api.request("GET", f"/returns/{factory.unique('ck-missing')}")
    assert missing.status == 404 and error_code(missing) == "not_found", (
        f"expected 404 not_found for an unknown id, got {missing.status} "
        f"{error_code(missing)!r} ({missing.describe()})"
    )


@pytest.fixture(scope="module")
def return_list(api: ApiClient, driver: WarehouseDriver, reference_data: ReferenceData) -> Polled:
    """Three returns written ms apart: an RMA (expected), an unannounced return (received) and
    another RMA, each for its own shipped order."""
    factory = TestData(api, driver, reference_data)
    orders = [shipped_order(factory, driver, [1]) for _ in range(3)]
    rows = [create_rma(factory, orders[0])]
    gap()
    sku = orders[1]["items"][0]["sku"]
    rows.append(driver.receive_return(orders[1]["id"], [arrival(sku, 1, "resellable", True)]))
    gap()
    rows.append(create_rma(factory, orders[2]))
    for row in rows:
        stamp_of(row, "return")
    filters = [
        ("order_id", orders[0]["id"], {str(rows[0]["id"])}),
        ("status", "received", {str(rows[1]["id"])}),
        ("status", "expected", {str(rows[0]["id"]), str(rows[2]["id"])}),
    ]
    return Polled(api, "/returns", rows, filters)


@requirement("RET-006")
def test_list_follows_the_polling_conventions(api: ApiClient, return_list: Polled) -> None:
    """Walks GET /returns?updated_since=<first return's updated_at> in pages of 2: each of the
    three returns exactly once, nothing older, pages within limit, has_more agrees with
    next_cursor, ascending (updated_at, id); a malformed cursor and a cursor with another
    updated_since are 400 invalid_cursor."""
    judge_walk(return_list)
    judge_cursors(api, return_list)


@requirement("RET-006")
def test_list_filters_by_order_and_status(api: ApiClient, return_list: Polled) -> None:
    """order_id and status (received, expected) each return the matching returns of this run
    and only rows matching the filter."""
    judge_filters(api, return_list)


@requirement("RET-007")
def test_received_return_reports_condition_and_restock(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """A return of 1 resellable restocked unit and 1 damaged unit not restocked: GET
    /returns/{id} and GET /returns?order_id= show status received, received_at set, and each
    line's sku, quantity, condition and restocked flag as received."""
    order = shipped_order(factory, driver, [1, 1])
    first, second = (line["sku"] for line in order["items"])
    sent = [arrival(first, 1, "resellable", True), arrival(second, 1, "damaged", False)]
    received = driver.receive_return(order["id"], sent)
    rid = received.get("id")
    listed = [row for row in returns_of(api, order["id"]) if row.get("id") == rid]
    assert listed, f"expected return {rid} in GET /returns?order_id={order['id']}, got none"
    want = sorted((line_key(line) for line in sent), key=repr)
    for label, ret in (
        (f"GET /returns/{rid}", get_ok(api, f"/returns/{rid}")),
        ("GET /returns", listed[-1]),
    ):
        assert ret.get("status") == "received" and parse_ts(ret.get("received_at")), (
            f"expected status received with received_at set, got {ret.get('status')!r} "
            f"received_at {ret.get('received_at')!r} ({label})"
        )
        got = sorted(
            (line_key(line) for line in ret.get("items") or [] if isinstance(line, dict)), key=repr
        )
        assert got == want, (
            f"expected lines {want} (sku, quantity, condition, restocked), got {got} ({label})"
        )


@requirement("RET-008")
def test_restocked_lines_add_to_on_hand_and_others_do_not(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """A shipped order of 3 of one SKU and 2 of another; 2 of the first come back restocked and
    1 of the second not restocked: the first's on_hand and available rise by 2 at the return's
    warehouse, the second's are unchanged."""
    order = shipped_order(factory, driver, [3, 2])
    warehouse = order["warehouse_id"]
    first, second = (line["sku"] for line in order["items"])
    before = {sku: Stock(api, sku).numbers(warehouse) for sku in (first, second)}
    driver.receive_return(
        order["id"], [arrival(first, 2, "resellable", True), arrival(second, 1, "defective", False)]
    )
    for sku, rise in ((first, 2), (second, 0)):
        stock = Stock(api, sku)
        got = stock.numbers(warehouse)
        want = {k: before[sku][k] + rise for k in ("on_hand", "available") if k in before[sku]}
        assert {k: got.get(k) for k in want} == want and len(want) == 2, (
            f"expected {want} for {sku} at {warehouse} after a return of which "
            f"{rise} unit(s) were restocked, got {got} ({stock.response.describe()})"
        )


@requirement("RET-009")
def test_receiving_an_rma_fulfils_it(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """An RMA of 1 unit, then the warehouse receives it against the RMA: the RMA (same id)
    reads received, and the order has exactly that one return."""
    order = shipped_order(factory, driver, [2])
    rma = create_rma(factory, order)
    sku = order["items"][0]["sku"]
    received = driver.receive_return(
        order["id"], [arrival(sku, 1, "resellable", True)], return_id=rma["id"]
    )
    read = get_ok(api, f"/returns/{rma['id']}")
    assert received.get("id") == rma["id"] and read.get("status") == "received", (
        f"expected return {rma['id']} received, got id {received.get('id')!r} and status "
        f"{read.get('status')!r} (GET /returns/{rma['id']})"
    )
    made = sorted({str(row.get("id")) for row in returns_of(api, order["id"])})
    assert made == [str(rma["id"])], (
        f"expected only return {rma['id']} for order {order['id']}, got {made} "
        f"(GET /returns?order_id={order['id']})"
    )


@requirement("RET-010")
def test_unannounced_return_is_listed(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """The warehouse receives a return without an RMA: GET /returns?order_id= lists it with
    status received, its order_id and rma null (or the warehouse's rma)."""
    order = shipped_order(factory, driver, [1])
    sku = order["items"][0]["sku"]
    received = driver.receive_return(order["id"], [arrival(sku, 1, "unsellable", False)])
    rows = [row for row in returns_of(api, order["id"]) if row.get("id") == received.get("id")]
    assert rows, (
        f"expected return {received.get('id')} in GET /returns?order_id={order['id']}, got none"
    )
    row = rows[-1]
    got = (row.get("status"), row.get("order_id"))
    rma = row.get("rma", "<absent>")
    assert got == ("received", order["id"]) and (rma is None or isinstance(rma, str)), (
        f"expected status received, order_id {order['id']} and rma null or a string, got "
        f"{got} rma {rma!r} (GET /returns?order_id={order['id']})"
    )


@requirement("RET-011")
def test_status_moves_expected_received_processed(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, conformance_config: Config
) -> None:
    """An RMA (expected) is received, then processed through POST
    /sandbox/returns/{id}/process: it reads received, then processed, its updated_at advancing
    each time; receiving it again afterwards leaves it processed."""
    control = sandbox_api(api, conformance_config)
    order = shipped_order(factory, driver, [1])
    sku = order["items"][0]["sku"]
    rma = create_rma(factory, order)
    path = f"/returns/{rma['id']}"
    previous = stamp_of(rma, "new return")
    line = arrival(sku, 1, "resellable", False)

    def process() -> None:
        resp = control.request("POST", f"/sandbox/returns/{rma['id']}/process")
        assert resp.status == 200, f"expected 200 from processing the return, got {resp.describe()}"

    steps = (
        ("received", lambda: driver.receive_return(order["id"], [line], return_id=rma["id"])),
        ("processed", process),
    )
    for status, step in steps:
        gap()
        step()
        read = get_ok(api, path)
        before, after = parse_ts(previous), parse_ts(read.get("updated_at"))
        assert read.get("status") == status, (
            f"expected status {status}, got {read.get('status')!r} (GET {path})"
        )
        assert before is not None and after is not None and after > before, (
            f"expected updated_at to advance when the return became {status}, got {previous} "
            f"-> {read.get('updated_at')} (GET {path})"
        )
        previous = str(read.get("updated_at"))
    again = control.request(
        "POST",
        "/sandbox/returns",
        json={"order_id": order["id"], "return_id": rma["id"], "items": [line]},
    )
    read = get_ok(api, path)
    assert read.get("status") == "processed", (
        f"expected the processed return to stay processed when received again, got "
        f"{read.get('status')!r} after {again.describe()} (GET {path})"
    )


# ------------------------------------------------------------------------------ unique RMA numbers


@requirement("RET-012")
def test_a_second_return_with_the_same_rma_is_refused(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Creates a return for a shipped order, then another with the same rma under a new key:
    expects 409 duplicate_reference naming the first return, and one return for the order."""
    order = shipped_order(factory, driver, [2])
    body = rma_body(factory, order)
    first = post_return(api, body, factory.idempotency_key())
    assert first.status == 201 and body_of(first).get("id"), (
        f"expected 201 with the new return, got {first.describe()}"
    )
    again = post_return(
        api, {**body, "items": [{**body["items"][0], "quantity": 2}]}, factory.idempotency_key()
    )
    existing = body_of(again).get("error", {}).get("existing_return_id")
    assert (again.status, error_code(again), existing) == (
        409,
        "duplicate_reference",
        body_of(first)["id"],
    ), (
        f"expected 409 duplicate_reference naming {body_of(first)['id']} for a second return "
        f"with rma {body['rma']}, got {again.status} {error_code(again)!r} naming {existing!r} "
        f"({again.describe()})"
    )
    made = sorted({str(row.get("id")) for row in returns_of(api, order["id"])})
    assert made == [body_of(first)["id"]], f"expected only the first return listed, got {made}"
