"""Partner isolation: one token never sees or touches another partner's data (profile
`security`; guide § Authentication; decision 24).

Needs a second partner's token (`--second-token`); without it these checks are skipped by the
`second_api` fixture. The first partner creates and ships an order; the second partner must get
404 (never 403: do not confirm that it exists) on every read and write of it, must not find it in
its own lists, and the order must be unchanged afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import contract
from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import walk_list
from conformance.outcomes import not_exercised
from conformance.scenarios import error_code


@pytest.fixture(scope="module")
def foreign(module_factory: TestData, driver: WarehouseDriver) -> dict[str, Any]:
    """The first partner's order and its shipment (plus a second, unshipped order), as created."""
    shipped_order = module_factory.create_order()
    shipment = driver.ship(shipped_order["id"])
    # One order per write check, so a server that lets one write through cannot spoil another.
    return {
        "shipped": shipped_order,
        "shipment": shipment,
        **{name: module_factory.create_order() for name in ("open", "amend", "cancel", "control")},
    }


def ids_in_walk(api: ApiClient, path: str, params: dict[str, Any]) -> tuple[set[str], Any]:
    walk = walk_list(api, path, params, limit=200, max_pages=20)
    assert walk.error is None, walk.error
    return {str(row.get("id")) for _, row in walk.rows()}, walk


def probe(second_api: ApiClient, method: str, path: str, **kwargs: Any) -> ApiResponse:
    """A request with the second token on the first partner's resource. A 403, even
    `insufficient_scope`, is returned to be judged, never taken for a missing scope: scopes never
    hide ownership, so the answer is 404 whatever the token may do (SEC-001, decision 43)."""
    return second_api.request(method, path, scope_refusal_ends_check=False, **kwargs)


def expect_404(resp: ApiResponse, what: str) -> None:
    assert resp.status == 404 and error_code(resp) == "not_found", (
        f"expected 404 not_found for another partner's {what}, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )


def owner_reads(api: ApiClient, order: dict[str, Any]) -> dict[str, Any]:
    resp = api.request("GET", f"/orders/{order['id']}")
    body = resp.json if isinstance(resp.json, dict) else {}
    assert resp.status == 200, f"expected the owner to read its order, got {resp.describe()}"
    return body


@requirement("SEC-001")
def test_another_partners_order_is_404(second_api: ApiClient, foreign: dict[str, Any]) -> None:
    """GET /orders/{id} with the second token on the first partner's order is 404 `not_found`
    (never 403, never the order)."""
    expect_404(probe(second_api, "GET", f"/orders/{foreign['open']['id']}"), "order")


@requirement("SEC-005")
def test_amending_another_partners_order_is_404(
    api: ApiClient, second_api: ApiClient, foreign: dict[str, Any]
) -> None:
    """PATCH with the second token (and the order's real If-Match) is 404; the owner then reads
    the same version and packing_note."""
    order = foreign["amend"]
    resp = probe(
        second_api,
        "PATCH",
        f"/orders/{order['id']}",
        json={"packing_note": "changed by another partner"},
        headers={"If-Match": f'"{order.get("version")}"'},
    )
    expect_404(resp, "order (amend)")
    after = owner_reads(api, order)
    got = (after.get("version"), after.get("packing_note"))
    assert got == (order.get("version"), order.get("packing_note")), (
        f"expected version and packing_note unchanged "
        f"{(order.get('version'), order.get('packing_note'))}, "
        f"got {got} (order {order['id']})"
    )


@requirement("SEC-006")
def test_cancelling_another_partners_order_is_404(
    api: ApiClient, second_api: ApiClient, foreign: dict[str, Any]
) -> None:
    """POST /orders/{id}/cancel with the second token is 404; the owner's order is not
    cancelled."""
    order = foreign["cancel"]
    expect_404(probe(second_api, "POST", f"/orders/{order['id']}/cancel"), "order (cancel)")
    status = owner_reads(api, order).get("status")
    assert status != "cancelled", f"expected order {order['id']} not cancelled, got {status!r}"


@requirement("SEC-007")
def test_idempotency_keys_are_scoped_per_partner(
    api: ApiClient, second_api: ApiClient, module_factory: TestData
) -> None:
    """Both partners create an order with the same Idempotency-Key (different bodies): each gets
    201 with its own id, never a replay of the other's order."""
    key = module_factory.idempotency_key()
    first = api.request(
        "POST", "/orders", json=module_factory.order_body(), headers={"Idempotency-Key": key}
    )
    assert first.status == 201, f"expected 201 for the first partner, got {first.describe()}"
    second_body = second_partner_body(second_api, module_factory)
    second = second_api.request(
        "POST", "/orders", json=second_body, headers={"Idempotency-Key": key}
    )
    ids = (first.json.get("id"), second.json.get("id") if isinstance(second.json, dict) else None)
    assert second.status == 201 and ids[0] != ids[1], (
        f"expected 201 with a new id for the second partner, got {second.status} ids {ids} "
        f"({second.describe()})"
    )


@requirement("SEC-008")
def test_references_are_unique_per_partner_only(
    second_api: ApiClient, module_factory: TestData, foreign: dict[str, Any]
) -> None:
    """The second partner creates an order with the `reference` the first partner already
    uses: 201, not 409 `duplicate_reference`."""
    body = second_partner_body(second_api, module_factory)
    body["reference"] = foreign["open"]["reference"]
    resp = second_api.request(
        "POST", "/orders", json=body, headers={"Idempotency-Key": module_factory.idempotency_key()}
    )
    assert resp.status == 201, (
        f"expected 201 for a reference used only by another partner, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )


def second_partner_body(second_api: ApiClient, module_factory: TestData) -> dict[str, Any]:
    """A valid order body for the second partner: its own warehouse, stock and method."""
    ids = {}
    for path in ("/warehouses", "/shipping-methods"):
        resp = second_api.request("GET", path)
        rows = resp.json.get("data") if isinstance(resp.json, dict) else None
        if resp.status != 200 or not rows:
            pytest.skip(f"the second partner lists nothing at {path}")
        ids[path] = rows[0]["id"]
    sku = module_factory.unique("CK")
    stocked = second_api.request(
        "POST",
        "/sandbox/inventory",
        json={"sku": sku, "warehouse_id": ids["/warehouses"], "on_hand": 5},
    )
    if stocked.status not in (200, 201):
        pytest.skip(f"cannot stock a SKU for the second partner ({stocked.describe()})")
    body: dict[str, Any] = module_factory.order_body(
        warehouse_id=ids["/warehouses"],
        shipping_method_id=ids["/shipping-methods"],
        items=[{"sku": sku, "quantity": 1}],
    )
    return body


@requirement("SEC-009")
def test_control_endpoints_act_only_on_own_resources(
    api: ApiClient, second_api: ApiClient, foreign: dict[str, Any], conformance_config: Config
) -> None:
    """With the second token: pick and ship of the first partner's order and void of its
    shipment are each 404; the order and the shipment read as before."""
    if str(conformance_config.driver_spec) not in ("", "sandbox"):
        pytest.skip("the run uses a vendor driver, not the /sandbox control endpoints")
    order, shipment = foreign["control"], foreign["shipment"]
    expect_404(probe(second_api, "POST", f"/sandbox/orders/{order['id']}/pick"), "order (pick)")
    expect_404(
        probe(second_api, "POST", f"/sandbox/orders/{order['id']}/ship", json={}), "order (ship)"
    )
    expect_404(
        probe(second_api, "POST", f"/sandbox/shipments/{shipment['id']}/void"), "shipment (void)"
    )
    assert owner_reads(api, order).get("status") == order.get("status"), (
        f"expected order {order['id']} still {order.get('status')!r}"
    )
    read = api.request("GET", f"/shipments/{shipment['id']}")
    status = read.json.get("status") if isinstance(read.json, dict) else None
    assert status == shipment.get("status"), (
        f"expected shipment {shipment['id']} still {shipment.get('status')!r}, got {status!r}"
    )


@requirement("SEC-002")
def test_another_partners_order_is_absent_from_list_orders(
    second_api: ApiClient, foreign: dict[str, Any]
) -> None:
    """The second partner's GET /orders (from the first order's updated_at on, and by its
    order_number) never shows the first partner's orders."""
    mine = {str(foreign["open"]["id"]), str(foreign["shipped"]["id"])}
    since = foreign["shipped"]["updated_at"]
    for params in ({"updated_since": since}, {"order_number": foreign["open"]["order_number"]}):
        seen, walk = ids_in_walk(second_api, "/orders", params)
        assert not (seen & mine), (
            f"expected none of the first partner's orders, got {sorted(seen & mine)} "
            f"({walk.describe()})"
        )


@requirement("SEC-003")
def test_another_partners_shipment_is_404_and_absent_from_lists(
    second_api: ApiClient, foreign: dict[str, Any]
) -> None:
    """With the second token: GET /shipments/{id} of the first partner's shipment is 404, and
    neither GET /shipments?updated_since=... nor ?order_id=... shows it."""
    shipment = foreign["shipment"]
    resp = probe(second_api, "GET", f"/shipments/{shipment['id']}")
    assert resp.status == 404 and error_code(resp) == "not_found", (
        f"expected 404 not_found for another partner's shipment, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    for params in (
        {"updated_since": shipment["updated_at"]},
        {"order_id": foreign["shipped"]["id"]},
    ):
        seen, walk = ids_in_walk(second_api, "/shipments", params)
        assert str(shipment["id"]) not in seen, (
            f"expected the first partner's shipment {shipment['id']} absent, got it listed "
            f"({walk.describe()})"
        )


@requirement("SEC-004")
def test_another_partners_stock_is_invisible(second_api: ApiClient, factory: TestData) -> None:
    """A SKU only the first partner stocked does not appear in the second partner's
    GET /inventory?sku=..."""
    sku = factory.sku(stock={factory.warehouse_ids[0]: 9})
    resp = second_api.request("GET", "/inventory", params={"sku": sku})
    body = resp.json if isinstance(resp.json, dict) else {}
    rows = [r for r in body.get("data") or [] if isinstance(r, dict) and r.get("sku") == sku]
    stocked = [
        w
        for r in rows
        for w in r.get("warehouses") or []
        if isinstance(w, dict) and w.get("on_hand")
    ]
    assert resp.status == 200 and not stocked, (
        f"expected the first partner's stock of {sku} invisible to the second, got {resp.status} "
        f"{rows} ({resp.describe()})"
    )


def _created(resp: ApiResponse, what: str) -> dict[str, Any]:
    assert resp.status in (200, 201) and isinstance(resp.json, dict), (
        f"expected the first partner's {what} to be created, got {resp.describe()}"
    )
    body: dict[str, Any] = resp.json
    return body


def _optional_resources(
    api: ApiClient,
    driver: WarehouseDriver,
    factory: TestData,
    foreign: dict[str, Any],
    profiles: set[str],
) -> list[tuple[str, str | None, str, dict[str, Any]]]:
    """(list path, item path or None, key, created resource) for each claimed optional profile."""
    made: list[tuple[str, str | None, str, dict[str, Any]]] = []
    warehouse = factory.warehouse_ids[0]
    if "inbound" in profiles:
        body = {
            "reference": factory.unique("ASN"),
            "warehouse_id": warehouse,
            "items": [{"sku": factory.sku(stock={warehouse: 1}), "expected_quantity": 3}],
        }
        resp = api.request(
            "POST",
            "/inbound-shipments",
            json=body,
            headers={"Idempotency-Key": factory.idempotency_key()},
        )
        inbound = _created(resp, "inbound shipment")
        made.append(("/inbound-shipments", f"/inbound-shipments/{inbound['id']}", "id", inbound))
    if "returns" in profiles:
        order = foreign["shipped"]
        item = order["items"][0]
        body = {
            "order_id": order["id"],
            "rma": factory.unique("RMA"),
            "items": [{"sku": item["sku"], "quantity": 1}],
        }
        resp = api.request(
            "POST", "/returns", json=body, headers={"Idempotency-Key": factory.idempotency_key()}
        )
        created = _created(resp, "return")
        made.append(("/returns", f"/returns/{created['id']}", "id", created))
    if "adjustments" in profiles:
        sku = factory.sku(stock={warehouse: 5})
        adjustment = driver.adjust(sku, warehouse, 1, "found", None)
        made.append(("/inventory-adjustments", None, "id", adjustment))
    if "webhooks" in profiles:
        body = {"url": "https://example.com/conformance-kit-hook", "events": ["shipment.created"]}
        resp = api.request(
            "POST", "/webhooks", json=body, headers={"Idempotency-Key": factory.idempotency_key()}
        )
        hook = _created(resp, "webhook")
        made.append(("/webhooks", f"/webhooks/{hook['id']}", "id", hook))
    return made


@requirement("SEC-010")
def test_optional_resources_of_another_partner_are_hidden(
    api: ApiClient,
    second_api: ApiClient,
    driver: WarehouseDriver,
    module_factory: TestData,
    foreign: dict[str, Any],
    conformance_config: Config,
) -> None:
    """For each optional profile claimed: the first partner's inbound shipment, return,
    adjustment and webhook are 404 for the second token (GET, and DELETE for webhooks) and
    absent from the second partner's lists."""
    # The optional profiles with resources of their own: those with operations beyond core's.
    optional = {operation.profile for operation in contract.operations()} - {"core"}
    profiles = set(conformance_config.profiles) & optional
    if not profiles:
        # The rule covers only resources of claimed profiles: with none claimed there was nothing
        # to see (not exercised), and a skip here would wrongly block a core + security server.
        not_exercised("no optional profile is claimed, so there is nothing to hide")
    for list_path, item_path, key, resource in _optional_resources(
        api, driver, module_factory, foreign, profiles
    ):
        if item_path is not None:
            expect_404(probe(second_api, "GET", item_path), item_path)
        params = {"updated_since": resource["updated_at"]} if "updated_at" in resource else {}
        seen, walk = ids_in_walk(second_api, list_path, params)
        assert str(resource[key]) not in seen, (
            f"expected the first partner's {resource[key]} absent, got it listed "
            f"({walk.describe()})"
        )
        if list_path == "/webhooks":
            expect_404(probe(second_api, "DELETE", str(item_path)), "webhook (delete)")
            api.request("DELETE", str(item_path))
