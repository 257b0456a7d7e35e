"""The sandbox a partner tests against (guide § Authentication & environments; decision 32).

A partner's integration is only as testable as the sandbox lets it be: the warehouse side must be
drivable headlessly, and the whole loop an ERP runs (create an order, the warehouse ships it, the
poller picks the shipment up) must work end to end. The control endpoints are checked directly
only when the run drives the warehouse through them (`--driver sandbox`, the default); the loop
is checked with whatever driver the run uses.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import walk_list
from conformance.scenarios import body_of, error_code


@pytest.fixture
def sandbox_api(api: ApiClient, conformance_config: Config) -> ApiClient:
    if str(conformance_config.driver_spec) not in ("", "sandbox"):
        pytest.skip("the run uses a vendor driver, not the /sandbox control endpoints")
    return api


@requirement("SBX-001")
def test_full_loop_create_ship_poll(
    api: ApiClient, factory: TestData, driver: WarehouseDriver
) -> None:
    """Creates an order, has the warehouse ship it through the driver, then polls
    GET /shipments?updated_since=<the order's updated_at> like an ERP: the shipment comes back
    for that order, and the order reads shipped."""
    order = factory.create_order()
    shipment = driver.ship(order["id"])
    walk = walk_list(
        api, "/shipments", {"updated_since": order["updated_at"]}, limit=200, max_pages=20
    )
    assert walk.error is None, walk.error
    rows = [row for _, row in walk.rows() if row.get("id") == shipment.get("id")]
    assert rows and rows[-1].get("order_id") == order["id"], (
        f"expected shipment {shipment.get('id')} of order {order['id']} in the poll, got "
        f"{[row.get('order_id') for row in rows] or 'nothing'} ({walk.describe()})"
    )
    read = api.request("GET", f"/orders/{order['id']}")
    assert body_of(read).get("status") == "shipped", (
        f"expected the order shipped, got {body_of(read).get('status')!r} ({read.describe()})"
    )


def post(api: ApiClient, path: str, payload: Any = None) -> tuple[Any, dict[str, Any]]:
    resp = api.request("POST", path, json=payload)
    return resp, body_of(resp)


def expect_status(resp: ApiResponse, body: dict[str, Any], code: int, **fields: Any) -> None:
    got = {k: body.get(k) for k in fields}
    assert resp.status == code and got == fields, (
        f"expected {code} with {fields}, got {resp.status} {got} {error_code(resp) or ''} "
        f"({resp.describe()})"
    )


@requirement("SBX-002")
def test_control_endpoints_are_offered(sandbox_api: ApiClient, factory: TestData) -> None:
    """Each control endpoint the kit's driver uses (hold, pick, ship, advance, void, set stock)
    exists: none answers 404, 405 or 501 for a request it can serve."""
    api = sandbox_api
    order = factory.create_order()
    shipped = factory.create_order()
    ship_resp, shipment = post(api, f"/sandbox/orders/{shipped['id']}/ship", {})
    calls = [
        ship_resp,
        post(api, f"/sandbox/orders/{order['id']}/hold")[0],
        post(api, f"/sandbox/orders/{order['id']}/pick")[0],
        post(api, f"/sandbox/shipments/{shipment.get('id')}/advance", {"status": "in_transit"})[0],
        post(api, f"/sandbox/shipments/{shipment.get('id')}/void")[0],
        post(
            api,
            "/sandbox/inventory",
            {"sku": factory.unique("CK"), "warehouse_id": factory.warehouse_ids[0], "on_hand": 1},
        )[0],
    ]
    missing = [resp.describe() for resp in calls if resp.status in (404, 405, 501)]
    assert not missing, f"expected every control endpoint to exist, got {missing}"


@requirement("SBX-003")
def test_hold_and_pick_move_the_order(sandbox_api: ApiClient, factory: TestData) -> None:
    """hold on a received order -> 200 on_hold; pick on that on_hold order -> 200 processing;
    pick on a fresh received order -> 200 processing."""
    api = sandbox_api
    held, fresh = factory.create_order(), factory.create_order()
    expect_status(*post(api, f"/sandbox/orders/{held['id']}/hold"), 200, status="on_hold")
    expect_status(*post(api, f"/sandbox/orders/{held['id']}/pick"), 200, status="processing")
    expect_status(*post(api, f"/sandbox/orders/{fresh['id']}/pick"), 200, status="processing")


@requirement("SBX-004")
def test_control_endpoints_refuse_impossible_transitions(
    sandbox_api: ApiClient, factory: TestData
) -> None:
    """Pick a cancelled order, ship a shipped order, void a delivered shipment, advance a voided
    shipment: each 409 `invalid_transition`, and the resource reads as before."""
    api = sandbox_api
    cancelled = factory.create_order()
    assert api.request("POST", f"/orders/{cancelled['id']}/cancel").status == 200
    done = factory.create_order()
    _, delivered = post(api, f"/sandbox/orders/{done['id']}/ship", {})
    post(api, f"/sandbox/shipments/{delivered.get('id')}/advance", {"status": "delivered"})
    _, voided = post(api, f"/sandbox/orders/{factory.create_order()['id']}/ship", {})
    post(api, f"/sandbox/shipments/{voided.get('id')}/void")
    attempts = [
        (
            f"/sandbox/orders/{cancelled['id']}/pick",
            None,
            f"/orders/{cancelled['id']}",
            "cancelled",
        ),
        (f"/sandbox/orders/{done['id']}/ship", {}, f"/orders/{done['id']}", "shipped"),
        (
            f"/sandbox/shipments/{delivered.get('id')}/void",
            None,
            f"/shipments/{delivered.get('id')}",
            "delivered",
        ),
        (
            f"/sandbox/shipments/{voided.get('id')}/advance",
            {"status": "in_transit"},
            f"/shipments/{voided.get('id')}",
            "voided",
        ),
    ]
    for path, payload, read_path, status in attempts:
        resp = api.request("POST", path, json=payload)
        assert resp.status == 409 and error_code(resp) == "invalid_transition", (
            f"expected 409 invalid_transition, got {resp.status} {error_code(resp)!r} "
            f"({resp.describe()})"
        )
        after = body_of(api.request("GET", read_path)).get("status")
        assert after == status, f"expected {read_path} still {status}, got {after!r}"


@requirement("SBX-005")
def test_ship_creates_the_requested_parcels_and_items(
    sandbox_api: ApiClient, factory: TestData
) -> None:
    """Ship 2 of 3 units in 2 parcels: 201 shipped with 2 parcels and items [sku x 2]; then
    asking for 2 more units (only 1 is unshipped) gets 422 `quantity_exceeds_unshipped`."""
    api = sandbox_api
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 10})
    order = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 3}])
    resp, shipment = post(
        api,
        f"/sandbox/orders/{order['id']}/ship",
        {"parcels": 2, "items": [{"sku": sku, "quantity": 2}]},
    )
    items = [(i.get("sku"), i.get("quantity")) for i in shipment.get("items") or []]
    assert (
        resp.status == 201
        and shipment.get("status") == "shipped"
        and len(shipment.get("parcels") or []) == 2
        and items == [(sku, 2)]
    ), (
        f"expected 201 shipped with 2 parcels and items [({sku}, 2)], got {resp.status} "
        f"{shipment.get('status')!r} parcels {len(shipment.get('parcels') or [])} items {items} "
        f"({resp.describe()})"
    )
    resp, _ = post(
        api, f"/sandbox/orders/{order['id']}/ship", {"items": [{"sku": sku, "quantity": 2}]}
    )
    assert resp.status == 422 and error_code(resp) == "quantity_exceeds_unshipped", (
        f"expected 422 quantity_exceeds_unshipped for 2 units when 1 is unshipped, got "
        f"{resp.status} {error_code(resp)!r} ({resp.describe()})"
    )


@requirement("SBX-006")
def test_set_stock_sets_on_hand_and_refuses_below_allocated(
    sandbox_api: ApiClient, factory: TestData
) -> None:
    """POST /sandbox/inventory on_hand 12 -> 200 with the item and GET /inventory reads 12; with
    5 allocated, on_hand 3 -> 409 `stock_allocated` and on_hand stays 12."""
    api = sandbox_api
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 1})
    resp, item = post(
        api, "/sandbox/inventory", {"sku": sku, "warehouse_id": warehouse, "on_hand": 12}
    )
    assert resp.status == 200 and item.get("sku") == sku, (
        f"expected 200 with the inventory item {sku}, got {resp.describe()}"
    )
    assert on_hand(api, sku, warehouse) == 12, f"expected on_hand 12 for {sku} at {warehouse}"
    factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 5}])
    resp, _ = post(api, "/sandbox/inventory", {"sku": sku, "warehouse_id": warehouse, "on_hand": 3})
    assert resp.status == 409 and error_code(resp) == "stock_allocated", (
        f"expected 409 stock_allocated below the 5 allocated, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    assert on_hand(api, sku, warehouse) == 12, f"expected on_hand still 12 for {sku}"


def on_hand(api: ApiClient, sku: str, warehouse: str) -> Any:
    read = api.request("GET", "/inventory", params={"sku": sku})
    for row in body_of(read).get("data") or []:
        if isinstance(row, dict) and row.get("sku") == sku:
            for entry in row.get("warehouses") or []:
                if isinstance(entry, dict) and entry.get("warehouse_id") == warehouse:
                    return entry.get("on_hand")
    return None


@requirement("SBX-007")
def test_advance_and_void_move_the_shipment(sandbox_api: ApiClient, factory: TestData) -> None:
    """advance in_transit -> 200 in_transit; void of that in_transit shipment -> 409
    `invalid_transition`; void of a fresh shipped one -> 200 voided with `voided: true`."""
    api = sandbox_api
    _, moving = post(api, f"/sandbox/orders/{factory.create_order()['id']}/ship", {})
    expect_status(
        *post(api, f"/sandbox/shipments/{moving.get('id')}/advance", {"status": "in_transit"}),
        200,
        status="in_transit",
    )
    resp, _ = post(api, f"/sandbox/shipments/{moving.get('id')}/void")
    assert resp.status == 409 and error_code(resp) == "invalid_transition", (
        f"expected 409 invalid_transition voiding an in_transit shipment, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    _, fresh = post(api, f"/sandbox/orders/{factory.create_order()['id']}/ship", {})
    expect_status(
        *post(api, f"/sandbox/shipments/{fresh.get('id')}/void"), 200, status="voided", voided=True
    )
