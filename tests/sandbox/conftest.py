"""Fixtures: a fresh sandbox per test on a free loopback port, and spec-checking clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fulfillment_sandbox.app import create_app

from tests.live_server import serve

from .spec_client import SpecClient

ACME = "wms_test_acme_token"
GLOBEX = "wms_test_globex_token"


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start sandboxes (stopped at teardown); returns the base URL without /v1."""
    stack: list[Any] = []

    def start(**options: Any) -> str:
        app = create_app(str(tmp_path / f"sandbox-{len(stack)}.sqlite3"), **options)
        context = serve(app)
        base = context.__enter__()
        stack.append(context)
        return base

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def base_url(sandbox_factory: Callable[..., str]) -> str:
    return sandbox_factory()


@pytest.fixture
def acme(base_url: str) -> Iterator[SpecClient]:
    with SpecClient(base_url, ACME) as client:
        yield client


@pytest.fixture
def globex(base_url: str) -> Iterator[SpecClient]:
    with SpecClient(base_url, GLOBEX) as client:
        yield client


def order_body(**overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    body: dict[str, Any] = {
        "order_number": f"SO-{tag}",
        "reference": f"F-{tag}",
        "warehouse_id": "wh_syd_1",
        "shipping_method_id": "sm_auspost_express",
        "ship_to": {
            "name": "Jane Doe",
            "address1": "123 Main St",
            "city": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        },
        "items": [
            {"sku": "WIDGET-BLUE-M", "quantity": 2, "unit_price": "19.99", "currency": "AUD"}
        ],
    }
    body.update(overrides)
    return body


def new_sku(client: SpecClient, stock: dict[str, int]) -> str:
    sku = f"TEST-{uuid.uuid4().hex[:8].upper()}"
    for warehouse_id, on_hand in stock.items():
        r = client.post(
            "/sandbox/inventory",
            json={"sku": sku, "warehouse_id": warehouse_id, "on_hand": on_hand},
        )
        assert r.status_code == 200, r.text
    return sku


def stock_of(client: SpecClient, sku: str, warehouse_id: str = "wh_syd_1") -> dict[str, Any]:
    r = client.get("/inventory", params={"sku": sku, "warehouse_id": warehouse_id})
    assert r.status_code == 200
    [item] = r.json()["data"]
    [level] = item["warehouses"]
    return {**level, "updated_at": item["updated_at"]}
