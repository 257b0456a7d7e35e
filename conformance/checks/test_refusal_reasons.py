"""A data-dependent refusal passes only when its reason holds (API-010 with teeth; issue 15).

Each check sends a schema-valid request built so that no data-dependent reason can apply (a
warehouse the target lists, stock that suffices to the unit, an order that exists, units still
to ship), and sits on the boundary a wrong comparison trips over: every listed warehouse, not
just the first; stock set or adjusted down to exactly the allocated units; the last unshipped
unit. A refusal fails unless `conformance.refusal_reasons` reads its reason back through the API
and finds it holds; the finding names the request, the answer and what the read-back showed.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.outcomes import not_exercised
from conformance.refusal_reasons import judge_refusal
from conformance.scenarios import new_key, sandbox_api


def assert_done(
    api: ApiClient,
    spec: dict[str, Any],
    route: tuple[str, str, dict[str, str]],
    body: dict[str, Any],
    resp: ApiResponse,
) -> None:
    """A success, or a refusal whose reason the API shows to hold; else a finding."""
    method, template, params = route
    if resp.status < 400:
        return
    finding = judge_refusal(api, spec, method, template, params, body, resp)
    assert finding is None, (
        f"expected a schema-valid request no data-dependent reason applies to to succeed, got "
        f"{finding}; request {method} {template.format(**params)} "
        f"{json.dumps(body, ensure_ascii=False)[:300]} ({resp.describe()})"
    )


def down_to_allocated(
    api: ApiClient,
    factory: TestData,
    spec: dict[str, Any],
    config: Config,
    path: str,
    **change: Any,
) -> None:
    """A new SKU with 5 on hand at the first warehouse and an order allocating 3; then the stock
    `change` POSTed to `path`, which leaves on_hand at exactly the 3 allocated."""
    control = sandbox_api(api, config)
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 5})
    factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 3}])
    body = {"sku": sku, "warehouse_id": warehouse, **change}
    resp = control.request("POST", path, json=body)
    assert_done(api, spec, ("POST", path, {}), body, resp)


@requirement("API-010")
def test_orders_at_every_listed_warehouse_are_accepted(
    api: ApiClient, factory: TestData, spec: dict[str, Any], run_id: str
) -> None:
    """For each warehouse GET /warehouses lists, a new SKU stocked there and an order of one
    unit of it at that warehouse: 201 (an `invalid_warehouse` for a listed warehouse fails)."""
    for warehouse in factory.warehouse_ids:
        sku = factory.sku(stock={warehouse: 5})
        body = factory.order_body(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 1}])
        resp = api.request(
            "POST", "/orders", json=body, headers={"Idempotency-Key": new_key(run_id)}
        )
        assert_done(api, spec, ("POST", "/orders", {}), body, resp)


@requirement("API-010")
def test_stock_set_to_exactly_the_allocated_units_is_accepted(
    api: ApiClient, factory: TestData, spec: dict[str, Any], conformance_config: Config
) -> None:
    """5 on hand, an order allocating 3: POST /sandbox/inventory with on_hand 3 (not below the
    allocated 3) succeeds; a `stock_allocated` fails when GET /inventory shows 3 allocated."""
    down_to_allocated(api, factory, spec, conformance_config, "/sandbox/inventory", on_hand=3)


@requirement("API-010")
def test_adjustment_down_to_the_allocated_units_is_accepted(
    api: ApiClient, factory: TestData, spec: dict[str, Any], conformance_config: Config
) -> None:
    """5 on hand, an order allocating 3: an adjustment of -2 (on_hand 3, not below the allocated
    3) succeeds; an `insufficient_stock` fails when GET /inventory shows 3 allocated."""
    if "adjustments" not in conformance_config.profiles:
        not_exercised("the adjustments profile is not claimed")
    path = "/sandbox/inventory-adjustments"
    down_to_allocated(
        api, factory, spec, conformance_config, path, quantity_delta=-2, reason="damaged"
    )


@requirement("API-010")
def test_shipping_the_last_unshipped_unit_is_accepted(
    api: ApiClient, factory: TestData, spec: dict[str, Any], conformance_config: Config
) -> None:
    """An order of 2 with 1 shipped: shipping the other 1 succeeds; a
    `quantity_exceeds_unshipped` fails when the order shows 1 left to ship."""
    control = sandbox_api(api, conformance_config)
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 5})
    order = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 2}])
    route = ("POST", "/sandbox/orders/{order_id}/ship", {"order_id": str(order["id"])})
    for _ in range(2):
        body = {"parcels": 1, "items": [{"sku": sku, "quantity": 1}]}
        resp = control.request("POST", route[1].format(**route[2]), json=body)
        assert_done(api, spec, route, body, resp)


@requirement("API-010")
def test_return_of_a_shipped_line_is_accepted(
    api: ApiClient,
    factory: TestData,
    driver: WarehouseDriver,
    spec: dict[str, Any],
    conformance_config: Config,
) -> None:
    """An RMA for one unit of a shipped order's line: 201; an `unknown_order` fails when GET
    /orders/{id} serves the order."""
    if "returns" not in conformance_config.profiles:
        not_exercised("the returns profile is not claimed")
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: 5})
    order = factory.create_order(warehouse_id=warehouse, items=[{"sku": sku, "quantity": 1}])
    driver.ship(str(order["id"]))
    body = {
        "order_id": str(order["id"]),
        "rma": factory.unique("RMA"),
        "warehouse_id": warehouse,
        "items": [{"sku": sku, "quantity": 1}],
    }
    headers = {"Idempotency-Key": factory.idempotency_key()}
    resp = api.request("POST", "/returns", json=body, headers=headers)
    assert_done(api, spec, ("POST", "/returns", {}), body, resp)
