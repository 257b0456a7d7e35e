"""Servers broken in exactly one fulfilment-policy way (decision 55), to prove each POL check can
fail. ASGI wrappers around the reference sandbox; the gallery is tests/kit/test_broken_policy.py.
"""

from __future__ import annotations

import re
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import Middleware, ResourceRewrite, map_resources, with_error

COMPLETE = "ship_complete"
ORDER = re.compile(r"^/orders/([^/]+)$")


def is_complete(order: dict[str, Any]) -> bool:
    return order.get("fulfillment_policy") == COMPLETE


def open_units(line: dict[str, Any]) -> int:
    shipped = int(line.get("shipped_quantity") or 0) + int(line.get("cancelled_quantity") or 0)
    return max(0, int(line.get("quantity") or 0) - shipped)


def all_waiting(order: dict[str, Any]) -> dict[str, Any]:
    """The order as a short ship_complete order reads: every open unit backordered."""
    items = [{**line, "backordered_quantity": open_units(line)} for line in order["items"]]
    return {**order, "items": items}


class PolicyAlwaysShipAvailable(ResourceRewrite):
    """Every order reads `fulfillment_policy: ship_available`, whatever was sent (the policy
    is applied, never echoed)."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "fulfillment_policy": "ship_available"}


class BackorderOnlyOnShortLines(Middleware):
    """A short ship_complete order reports as backordered only the lines whose SKU is short:
    a line the warehouse could cover reads `backordered_quantity` 0 though nothing is
    allocated to it."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        order = response.json
        if not (200 <= response.status < 300 and isinstance(order, dict) and is_complete(order)):
            return response
        if order.get("status") != "backordered" or "items" not in order:
            return response
        items = []
        for line in order["items"]:
            stock = await self.api(
                request, "GET", "/inventory", sku=line["sku"], warehouse_id=order["warehouse_id"]
            )
            rows = (stock.json or {}).get("data") or [{}]
            levels = rows[0].get("warehouses") or [{}]
            covered = int(levels[0].get("available") or 0) >= open_units(line)
            items.append({**line, "backordered_quantity": 0} if covered else line)
        return response.with_json({**order, "items": items})


class CompleteOrderStaysBackordered(ResourceRewrite):
    """A ship_complete order reads `backordered` with every unit waiting even once stock covers
    it and it is allocated (`received`)."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        if is_complete(order) and order.get("status") == "received":
            return {**all_waiting(order), "status": "backordered"}
        return order


class ShortCompleteOrderHoldsStock(Middleware):
    """A ship_complete order is allocated as ship_available under the hood (what is on hand is
    held for it) while it reads as ship_complete, every unit backordered."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.complete: set[str] = set()
        self.keys: set[str] = set()

    async def handle(self, request: Request) -> Response:
        body = request.json
        first = request.key() not in self.keys
        strip = request.method == "POST" and request.path == "/orders" and first
        strip = strip and isinstance(body, dict) and body.get("fulfillment_policy") == COMPLETE
        if request.method == "POST" and request.path == "/orders" and request.key():
            self.keys.add(str(request.key()))
        if strip:
            body = {k: v for k, v in body.items() if k != "fulfillment_policy"}
            request = request.with_json(body)
        response = await self.call(request)
        created = response.json
        if strip and response.status == 201 and isinstance(created, dict):
            self.complete.add(str(created.get("id")))
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, "order", self.fix))
        return response

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        if order.get("id") not in self.complete:
            return order
        order = {**order, "fulfillment_policy": COMPLETE}
        return all_waiting(order) if order.get("status") == "backordered" else order


class AmendIgnoresPolicy(Middleware):
    """An amend drops `fulfillment_policy` (answering 200 with the order as it was when
    nothing else was sent)."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        match = ORDER.match(request.path)
        if request.method != "PATCH" or match is None or not isinstance(body, dict):
            return await self.call(request)
        if "fulfillment_policy" not in body:
            return await self.call(request)
        rest = {k: v for k, v in body.items() if k != "fulfillment_policy"}
        if not rest:
            return await self.api(request, "GET", f"/orders/{match[1]}")
        return await self.call(request.with_json(rest))


class DefaultPolicyIsAnotherBody(Middleware):
    """A retry that writes out `fulfillment_policy` where the first body left it out (or the
    other way round) is another body: 422 idempotency_key_reused."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.sent: dict[str, bool] = {}

    async def handle(self, request: Request) -> Response:
        key, body = request.key(), request.json
        if request.method != "POST" or request.path != "/orders" or not key:
            return await self.call(request)
        has_policy = isinstance(body, dict) and "fulfillment_policy" in body
        if key in self.sent and self.sent[key] != has_policy:
            like = await self.api(request, "GET", "/warehouses")
            return with_error(like, 422, "idempotency_key_reused")
        self.sent.setdefault(key, has_policy)
        return await self.call(request)
