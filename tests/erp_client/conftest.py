"""A fresh sandbox per test on a free loopback port, and helpers that play the warehouse."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import serve
from tests.sandbox.conftest import order_body as base_order_body

TOKEN = "wms_test_acme_token"


def order_body(reference: str, *, quantity: int = 2) -> dict[str, Any]:
    return base_order_body(
        order_number=f"SO-{reference}",
        reference=reference,
        items=[{"sku": "WIDGET-BLUE-M", "quantity": quantity}],
    )


class Recorder(httpx.BaseTransport):
    """A real transport that records every exchange, and can fail one on purpose: `fault`
    gets each (request, response) after the server answered and may raise to lose it."""

    def __init__(
        self, fault: Callable[[httpx.Request, httpx.Response, int], None] | None = None
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []
        self.fault = fault

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        if self.fault is not None:
            self.fault(request, response, len(self.exchanges))
        return response

    def matching(self, method: str, path_end: str) -> list[tuple[httpx.Request, httpx.Response]]:
        return [
            (q, r)
            for q, r in self.exchanges
            if q.method == method and q.url.path.endswith(path_end)
        ]


class Crash(Exception):
    """The ERP process dies here: nothing after it runs."""


class Warehouse:
    """The sandbox's /sandbox control endpoints, on the test's behalf."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response = self.http.post(path, json=body, **kw)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def subscribe(self, url: str, events: list[str]) -> str:
        """A webhook subscription to `events` at `url`; returns its signing secret."""
        subscription = self.post(
            "/webhooks",
            {"url": url, "events": events},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        return str(subscription["secret"])

    def ship(self, order_id: str) -> dict[str, Any]:
        return self.post(f"/sandbox/orders/{order_id}/ship", {"parcels": 1})

    def orders_with_reference(self, reference: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.http.get(
            "/orders", params={"reference": reference}
        ).json()["data"]
        return data

    def all_shipments(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 200}
        while True:
            page = self.http.get("/shipments", params=params).json()
            rows += page["data"]
            if not page["pagination"]["has_more"]:
                return rows
            params["cursor"] = page["pagination"]["next_cursor"]


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start a sandbox (optionally wrapped, optionally rate limited); returns its /v1 URL."""
    from contextlib import ExitStack

    from fulfillment_sandbox.app import create_app

    with ExitStack() as stack:

        def start(wrap: Callable[[Any], Any] | None = None, **options: Any) -> str:
            app = create_app(str(tmp_path / "sandbox.db"), **options)
            url = stack.enter_context(serve(wrap(app) if wrap else app))
            return f"{url}/v1"

        yield start


@pytest.fixture
def sandbox_url(make_sandbox: Callable[..., str]) -> str:
    return make_sandbox()


@pytest.fixture
def warehouse(sandbox_url: str) -> Iterator[Warehouse]:
    w = Warehouse(sandbox_url)
    yield w
    w.http.close()
