"""Servers broken in exactly one way each, for the checks of shipments (SHP): what a shipment
says and how it is found."""

from __future__ import annotations

import re
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    Middleware,
    PageRewrite,
    ResourceRewrite,
    is_list,
    with_error,
)


class JoinedTrackingNumbers(ResourceRewrite):
    """Several parcels come back as one parcel with the tracking numbers joined by a comma."""

    def fix(self, shipment: dict[str, Any]) -> dict[str, Any]:
        parcels = shipment.get("parcels") or []
        if len(parcels) > 1:
            joined = ",".join(str(p.get("tracking_number")) for p in parcels)
            shipment["parcels"] = [{**parcels[0], "tracking_number": joined}]
        return shipment


class NeverPartiallyShipped(ResourceRewrite):
    """An order with some lines shipped reads `shipped`."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        if order.get("status") == "partially_shipped":
            order["status"] = "shipped"
        return order


class OrderHidesShipments(ResourceRewrite):
    """GET /orders/{id} always shows `shipments: []`."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        order["shipments"] = []
        return order


class IgnoresOrderIdFilter(Middleware):
    """GET /shipments?order_id= returns every shipment."""

    async def handle(self, request: Request) -> Response:
        if is_list(request, "/shipments"):
            request = request.with_query(order_id=None)
        return await self.call(request)


class GetShipmentNotFound(Middleware):
    """GET /shipments/{id} is 404 for every shipment."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        found = response.status == 200
        if found and request.method == "GET" and re.fullmatch(r"/shipments/[^/]+", request.path):
            return with_error(response, 404, "not_found")
        return response


class VoidedShipmentsDropped(PageRewrite):
    """Voided shipments disappear from GET /shipments."""

    paths = ("/shipments",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if not r.get("voided")]


class ShipmentUpdatedAtFrozen(ResourceRewrite):
    """A shipment's updated_at never moves from created_at (status changes are not stamped)."""

    def fix(self, shipment: dict[str, Any]) -> dict[str, Any]:
        shipment["updated_at"] = shipment.get("created_at")
        return shipment


class ShipmentWithoutOrderNumber(ResourceRewrite):
    """Shipments carry order_id only; order_number is an empty string."""

    def fix(self, shipment: dict[str, Any]) -> dict[str, Any]:
        shipment["order_number"] = ""
        return shipment


class ShipmentWithoutItems(ResourceRewrite):
    """Shipments never say what shipped (`items: []`)."""

    def fix(self, shipment: dict[str, Any]) -> dict[str, Any]:
        shipment["items"] = []
        return shipment


class ShipmentWithoutCost(ResourceRewrite):
    """Shipments never carry the freight cost (`cost: null`)."""

    def fix(self, shipment: dict[str, Any]) -> dict[str, Any]:
        shipment["cost"] = None
        return shipment


class UnknownShipmentPlain404(Middleware):
    """GET /shipments/{unknown id} gets a plain-text 404."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 404 and re.fullmatch(r"/shipments/[^/]+", request.path):
            return response.with_body(b"Not Found", "text/plain")
        return response


class ShippedQuantityZero(ResourceRewrite):
    """Order lines never count their shipped units."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        for line in order.get("items") or []:
            line["shipped_quantity"] = 0
        return order


class ExceptionShownAsInTransit(ResourceRewrite):
    """A shipment in `exception` is shown as `in_transit`."""

    def fix(self, shipment: dict[str, Any]) -> dict[str, Any]:
        if shipment.get("status") == "exception":
            shipment["status"] = "in_transit"
        return shipment


class VoidedUnitsStillShipped(ResourceRewrite):
    """Voided shipments still count: shipped_quantity and status ignore the void."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        counted: dict[str, int] = {}
        for shipment in order.get("shipments") or []:
            for item in shipment.get("items") or []:
                counted[item["sku"]] = counted.get(item["sku"], 0) + int(item["quantity"])
        lines = order.get("items") or []
        for line in lines:
            line["shipped_quantity"] = counted.get(line["sku"], 0)
        if lines and all(line["shipped_quantity"] >= line["quantity"] for line in lines):
            order["status"] = "shipped"
        return order


class NewShipmentsHidden(PageRewrite):
    """A poll with updated_since never serves a shipment that has not changed since creation."""

    paths = ("/shipments",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "updated_since" not in request.query:
            return rows
        return [r for r in rows if r.get("updated_at") != r.get("created_at")]
