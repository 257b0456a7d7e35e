"""Warehouses and shipping methods: the ids an ERP maps against once (guide §4; decision 19).

The ERP fetches both lists occasionally, maps its own warehouses and shipping options to the ids,
then sends those ids on every order for years. So the lists must be readable with the fields the
mapping needs, the ids stable between reads, and every listed id accepted on an order. (Unknown
ids refused with 422 are ORD-009 and ORD-010, in test_orders.py.)
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import walk_list
from conformance.scenarios import error_of

# Bounds the orders created for a server with a long list.
MAX_IDS_TRIED = 10
COUNTRY = re.compile(r"^[A-Z]{2}$")


def read_ids(api: ApiClient, path: str) -> list[str]:
    walk = walk_list(api, path, {}, limit=200, max_pages=20)
    assert walk.error is None, walk.error
    return [str(row.get("id")) for _, row in walk.rows()]


def post_order(api: ApiClient, body: dict[str, Any], run_id: str) -> ApiResponse:
    key = f"{run_id}-{uuid.uuid4().hex}"
    return api.request("POST", "/orders", json=body, headers={"Idempotency-Key": key})


def stocked_body(factory: TestData, warehouse_id: str, **overrides: Any) -> dict[str, Any]:
    sku = factory.sku(stock={warehouse_id: 5})
    body: dict[str, Any] = factory.order_body(
        warehouse_id=warehouse_id, items=[{"sku": sku, "quantity": 1}], **overrides
    )
    return body


def read_rows(api: ApiClient, path: str) -> list[dict[str, Any]]:
    walk = walk_list(api, path, {}, limit=200, max_pages=20)
    assert walk.error is None, walk.error
    return [row for _, row in walk.rows()]


def blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


@requirement("REF-001")
def test_warehouses_have_id_name_and_address(api: ApiClient) -> None:
    """GET /warehouses lists at least one warehouse, each with a non-empty id and name and an
    address whose country is ISO 3166 alpha-2."""
    rows = read_rows(api, "/warehouses")
    assert rows, "expected at least one warehouse in GET /warehouses, got none"
    for row in rows:
        country = (
            (row.get("address") or {}).get("country")
            if isinstance(row.get("address"), dict)
            else None
        )
        assert not blank(row.get("id")) and not blank(row.get("name")), (
            f"expected a non-empty id and name, got {row!r} (GET /warehouses)"
        )
        assert isinstance(country, str) and COUNTRY.match(country), (
            f"expected address.country as ISO 3166 alpha-2 for warehouse {row.get('id')}, "
            f"got {country!r} (GET /warehouses)"
        )


@requirement("REF-002")
def test_shipping_methods_have_id_name_and_carrier(api: ApiClient) -> None:
    """GET /shipping-methods lists at least one method, each with a non-empty id, name and
    carrier."""
    rows = read_rows(api, "/shipping-methods")
    assert rows, "expected at least one method in GET /shipping-methods, got none"
    for row in rows:
        empty = [k for k in ("id", "name", "carrier") if blank(row.get(k))]
        assert not empty, f"expected non-empty {empty}, got {row!r} (GET /shipping-methods)"


@requirement("REF-004")
@pytest.mark.parametrize("path", ["/warehouses", "/shipping-methods"])
def test_reference_ids_are_stable_between_reads(api: ApiClient, path: str) -> None:
    """Two reads of the list serve the same ids (the ERP maps them once)."""
    first, second = sorted(read_ids(api, path)), sorted(read_ids(api, path))
    assert first == second, (
        f"expected the same ids in two reads of GET {path}, got {first} then {second}"
    )


@requirement("REF-003")
def test_orders_accept_listed_warehouses_and_methods(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Orders naming each listed warehouse and each listed shipping method (up to 10 of each)
    are created (201) and echo both ids."""
    warehouses = read_ids(api, "/warehouses")[:MAX_IDS_TRIED]
    methods = read_ids(api, "/shipping-methods")[:MAX_IDS_TRIED]
    if not warehouses or not methods:
        pytest.skip("the target lists no warehouse or no shipping method")
    pairs = [(w, methods[i % len(methods)]) for i, w in enumerate(warehouses)]
    pairs += [(warehouses[0], m) for m in methods[1:]]
    for warehouse_id, method_id in pairs:
        resp = post_order(
            api, stocked_body(factory, warehouse_id, shipping_method_id=method_id), run_id
        )
        order = resp.json if isinstance(resp.json, dict) else {}
        assert resp.status == 201, (
            f"expected 201 for warehouse_id {warehouse_id} and shipping_method_id {method_id} "
            f"from the lists, got {resp.status} {error_of(resp).get('code')!r} ({resp.describe()})"
        )
        got = (order.get("warehouse_id"), order.get("shipping_method_id"))
        assert got == (warehouse_id, method_id), (
            f"expected the order to echo ({warehouse_id}, {method_id}), got {got} "
            f"({resp.describe()})"
        )
