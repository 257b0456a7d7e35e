"""Servers broken in exactly one way each, for the checks of reference data (REF): warehouses and
shipping methods."""

from __future__ import annotations

from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    Middleware,
    PageRewrite,
    with_error,
)


class UnstableWarehouseIds(PageRewrite):
    """Every other read of GET /warehouses leaves the last warehouse out."""

    paths = ("/warehouses",)

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.reads = 0

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.reads += 1
        return rows[:-1] if self.reads % 2 == 0 and len(rows) > 1 else rows


class PhantomShippingMethod(PageRewrite):
    """GET /shipping-methods lists a method first that orders then refuse."""

    paths = ("/shipping-methods",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        phantom = {"id": "sm_phantom", "name": "Phantom", "carrier": "nobody"}
        return [phantom, *rows] if "cursor" not in request.query else rows


class UnknownWarehouseWrongCode(Middleware):
    """An unknown warehouse gets 422 `validation_failed` instead of `invalid_warehouse`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.code == "invalid_warehouse":
            return with_error(response, 422, "validation_failed")
        return response


class UnknownShippingMethodAccepted(Middleware):
    """An unknown shipping_method_id on a create is dropped and the order goes through."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == "/orders" and isinstance(body, dict):
            listed = (await self.api(request, "GET", "/shipping-methods", limit="200")).json or {}
            known = {m.get("id") for m in listed.get("data") or []}
            if body.get("shipping_method_id") not in known:
                body.pop("shipping_method_id", None)
                request = request.with_json(body)
        return await self.call(request)


class WarehouseLowercaseCountry(PageRewrite):
    """Warehouse addresses carry the country in lower case ("au")."""

    paths = ("/warehouses",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            address = row.get("address") or {}
            address["country"] = str(address.get("country", "")).lower()
        return rows


class MethodWithoutCarrier(PageRewrite):
    """Shipping methods carry an empty carrier."""

    paths = ("/shipping-methods",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**row, "carrier": ""} for row in rows]
