"""Servers broken in exactly one way each, for the checks of the sandbox control endpoints (SBX)."""

from __future__ import annotations

import re
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    Middleware,
    PageRewrite,
    with_error,
)


class ShipmentsNeverPolled(PageRewrite):
    """Shipments made through the sandbox never show up in GET /shipments."""

    paths = ("/shipments",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return []


class HoldEndpointMissing(Middleware):
    """POST /sandbox/orders/{id}/hold is 404."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if re.fullmatch(r"/sandbox/orders/[^/]+/hold", request.path) and response.status != 401:
            return with_error(response, 404, "not_found")
        return response


class TransitionsWrongCode(Middleware):
    """An impossible warehouse step gets 422 `validation_failed` instead of 409."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.path.startswith("/sandbox/") and response.code == "invalid_transition":
            return with_error(response, 422, "validation_failed")
        return response


class PickIsNoOp(Middleware):
    """POST /sandbox/orders/{id}/pick answers 200 with the order unchanged."""

    async def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/sandbox/orders/([^/]+)/pick", request.path)
        if request.method == "POST" and match:
            return await self.api(request, "GET", f"/orders/{match.group(1)}")
        return await self.call(request)


class ShipIgnoresParcels(Middleware):
    """The ship control endpoint always makes one parcel."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path.endswith("/ship") and isinstance(body, dict):
            body.pop("parcels", None)
            request = request.with_json(body)
        return await self.call(request)


class SetStockBelowAllocatedAccepted(Middleware):
    """Setting on_hand below allocated answers 200 (and changes nothing) instead of 409."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.code == "stock_allocated":
            body = request.json or {}
            item: dict[str, Any] = {
                "sku": body.get("sku"),
                "updated_at": "2026-01-01T00:00:00.000Z",
                "warehouses": [],
            }
            return response.with_json(item, status=200)
        return response


class VoidWithoutFlag(Middleware):
    """The void control endpoint answers the shipment with `voided: false`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if request.path.endswith("/void") and response.status == 200 and isinstance(body, dict):
            body["voided"] = False
            return response.with_json(body)
        return response
