"""Test data for checks: run-tagged SKUs with stock, valid order bodies, created orders.

Runs must be isolated and repeatable on a sandbox that already holds history: everything made
here carries the run id (SKU `CK-<run>-0001`, order number `CK-<run>-0002`), every create has a
fresh Idempotency-Key, and warehouse and shipping method ids are discovered from the API (never
assumed), once per run.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any

import pytest

from conformance.driver import WarehouseDriver
from conformance.http import ApiClient
from conformance.listing import read_rows

__all__ = ["DEFAULT_STOCK", "ReferenceData", "TestData"]

# Enough that orders made with the default SKU never backorder during one run.
DEFAULT_STOCK = 100_000
_MAX_PAGES = 10


class ReferenceData:
    """Warehouse and shipping method ids, read from the API once per run, and the run's counters."""

    def __init__(self, api: ApiClient, driver: WarehouseDriver, run_id: str) -> None:
        self.api = api
        self.driver = driver
        self.run_id = run_id
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._lists: dict[str, list[str]] = {}
        self._default_skus: dict[str, str] = {}

    def next_number(self) -> int:
        with self._lock:
            return next(self._counter)

    def ids(self, path: str) -> list[str]:
        """The `id`s of every row of a reference list (cached), walking its pages."""
        with self._lock:
            if path in self._lists:
                return self._lists[path]
        found = [
            str(row["id"])
            for row in read_rows(
                self.api, path, {}, max_pages=_MAX_PAGES, why="needed to discover ids"
            )
            if row.get("id")
        ]
        with self._lock:
            self._lists[path] = found
        return found

    def default_sku(self, warehouse_id: str) -> str:
        """One SKU per warehouse with plenty of stock, shared by default order bodies."""
        with self._lock:
            sku = self._default_skus.get(warehouse_id)
        if sku is None:
            sku = f"CK-{self.run_id}-DEFAULT-{self.next_number():04d}"
            self.driver.set_stock(sku, warehouse_id, DEFAULT_STOCK)
            with self._lock:
                sku = self._default_skus.setdefault(warehouse_id, sku)
        return sku


class TestData:
    """The `factory` fixture. Every name it makes carries the run id."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, api: ApiClient, driver: WarehouseDriver, reference: ReferenceData) -> None:
        self.api = api
        self.driver = driver
        self.reference = reference
        self.run_id = reference.run_id

    @property
    def warehouse_ids(self) -> list[str]:
        ids = self.reference.ids("/warehouses")
        if not ids:
            pytest.skip("the API lists no warehouses, so no order can be placed")
        return ids

    @property
    def shipping_method_ids(self) -> list[str]:
        ids = self.reference.ids("/shipping-methods")
        if not ids:
            pytest.skip("the API lists no shipping methods, so no order can be placed")
        return ids

    def unique(self, prefix: str = "CK") -> str:
        """`<prefix>-<run id>-<n>`: unique within the run, recognisably the kit's."""
        return f"{prefix}-{self.run_id}-{self.reference.next_number():04d}"

    def idempotency_key(self) -> str:
        return f"{self.run_id}-{uuid.uuid4().hex}"

    def sku(self, stock: dict[str, int] | None = None) -> str:
        """A new run-tagged SKU; `stock`: warehouse id -> on hand (default 100 in the first)."""
        sku = self.unique("CK")
        for warehouse_id, on_hand in (stock or {self.warehouse_ids[0]: 100}).items():
            self.driver.set_stock(sku, warehouse_id, on_hand)
        return sku

    def order_body(self, **overrides: Any) -> dict[str, Any]:
        """A valid OrderCreate with a unique order_number and reference; `overrides` replace keys.

        Without `items`, one unit of a well-stocked default SKU of the order's warehouse.
        """
        number = self.unique("CK")
        warehouse_id = overrides.get("warehouse_id") or self.warehouse_ids[0]
        body: dict[str, Any] = {
            "order_number": number,
            "reference": f"ref-{number}",
            "warehouse_id": warehouse_id,
            "shipping_method_id": self.shipping_method_ids[0],
            "ship_to": {
                "name": "Conformance Kit",
                "address1": "1 Test Street",
                "city": "Sydney",
                "state": "NSW",
                "postcode": "2000",
                "country": "AU",
            },
        }
        if "items" not in overrides:
            known = warehouse_id in self.warehouse_ids
            sku = self.reference.default_sku(warehouse_id if known else self.warehouse_ids[0])
            body["items"] = [
                {
                    "sku": sku,
                    "description": "Conformance kit test item",
                    "quantity": 1,
                    "unit_price": "19.99",
                    "currency": "AUD",
                }
            ]
        body.update(overrides)
        return body

    def create_order(self, **overrides: Any) -> dict[str, Any]:
        """POST /orders with `order_body(**overrides)` and a fresh Idempotency-Key; asserts 201."""
        body = self.order_body(**overrides)
        resp = self.api.request(
            "POST", "/orders", json=body, headers={"Idempotency-Key": self.idempotency_key()}
        )
        assert resp.status == 201 and isinstance(resp.json, dict), (
            f"expected 201 with the new order, got {resp.status} ({resp.describe()})"
        )
        order: dict[str, Any] = resp.json
        return order
