"""Servers broken in exactly one way each, for the checks of inventory (INV): stock per warehouse,
allocation and its filters."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    Middleware,
    PageRewrite,
    ResourceRewrite,
    is_list,
)


class WarehousesCollapsed(ResourceRewrite):
    """A SKU's stock is one total under the first warehouse, not one entry per warehouse."""

    kind = "inventory"

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        entries = item.get("warehouses") or []
        if len(entries) > 1:
            total = dict(entries[0])
            for name in ("on_hand", "available", "allocated", "incoming", "backordered"):
                total[name] = sum(int(e.get(name) or 0) for e in entries)
            item["warehouses"] = [total]
        return item


class AvailableNotReduced(ResourceRewrite):
    """Orders do not reduce `available` (it always equals on_hand)."""

    kind = "inventory"

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        for entry in item.get("warehouses") or []:
            entry["available"] = entry.get("on_hand")
        return item


class NegativeAvailable(ResourceRewrite):
    """Demand beyond stock shows as negative `available` instead of backordered."""

    kind = "inventory"

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        for entry in item.get("warehouses") or []:
            entry["available"] = int(entry.get("available") or 0) - int(
                entry.get("backordered") or 0
            )
        return item


class CancelKeepsAllocation(Middleware):
    """Cancelling an order leaves its units allocated (a ghost order keeps holding them)."""

    async def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/orders/([^/]+)/cancel", request.path)
        if request.method != "POST" or match is None:
            return await self.call(request)
        order = (await self.api(request, "GET", f"/orders/{match.group(1)}")).json or {}
        response = await self.call(request)
        if response.status == 200 and order.get("status") != "cancelled":
            ghost = {k: order[k] for k in ("warehouse_id", "ship_to") if k in order}
            ghost["order_number"] = f"ghost-{order.get('order_number')}"
            ghost["reference"] = f"ghost-{order.get('reference')}"
            ghost["items"] = [
                {"sku": i["sku"], "quantity": i["quantity"]} for i in order.get("items", [])
            ]
            internal = Request(
                request.scope,
                "POST",
                "/orders",
                {},
                {
                    "authorization": request.headers.get("authorization", ""),
                    "content-type": "application/json",
                    "idempotency-key": ghost["reference"],
                },
                json.dumps(ghost).encode(),
            )
            await self.call(internal)
        return response


class ShipKeepsOnHand(Middleware):
    """Shipping releases the allocation but the shipped units stay in on_hand."""

    async def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/sandbox/orders/([^/]+)/ship", request.path)
        if request.method != "POST" or match is None:
            return await self.call(request)
        order = (await self.api(request, "GET", f"/orders/{match.group(1)}")).json or {}
        warehouse = order.get("warehouse_id")
        before: dict[str, int] = {}
        for sku in {i["sku"] for i in order.get("items", [])}:
            page = (await self.api(request, "GET", "/inventory", sku=sku)).json or {}
            for item in page.get("data") or []:
                for entry in item.get("warehouses") or []:
                    if entry.get("warehouse_id") == warehouse:
                        before[sku] = int(entry.get("on_hand") or 0)
        response = await self.call(request)
        if response.status in (200, 201):
            for sku, on_hand in before.items():
                body = {"sku": sku, "warehouse_id": warehouse, "on_hand": on_hand}
                await self.api(request, "POST", "/sandbox/inventory", body)
        return response


class IgnoresSkuFilter(Middleware):
    """GET /inventory?sku= returns every SKU."""

    async def handle(self, request: Request) -> Response:
        if is_list(request, "/inventory"):
            request = request.with_query(sku=None)
        return await self.call(request)


class IgnoresWarehouseFilter(Middleware):
    """GET /inventory?warehouse_id= returns every warehouse's entry."""

    async def handle(self, request: Request) -> Response:
        if is_list(request, "/inventory"):
            request = request.with_query(warehouse_id=None)
        return await self.call(request)


class InventoryUpdatedAtFrozen(ResourceRewrite):
    """A SKU's updated_at stays at the first value ever served."""

    kind = "inventory"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.first: dict[str, Any] = {}

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        item["updated_at"] = self.first.setdefault(str(item.get("sku")), item.get("updated_at"))
        return item


class AvailableOffByOne(ResourceRewrite):
    """With units allocated, available is one short of on_hand - allocated."""

    kind = "inventory"

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        for entry in item.get("warehouses") or []:
            if entry.get("allocated"):
                entry["available"] = max(0, int(entry["available"]) - 1)
        return item


class InventoryWithoutExtras(ResourceRewrite):
    """Warehouse entries carry only on_hand and available."""

    kind = "inventory"

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        item["warehouses"] = [
            {k: e[k] for k in ("warehouse_id", "on_hand", "available") if k in e}
            for e in item.get("warehouses") or []
        ]
        return item


class AmendIgnoresItems(Middleware):
    """An amend's items[] is accepted but the lines (and allocations) stay as they were."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "PATCH" and isinstance(body, dict) and "items" in body:
            body.pop("items")
            body.setdefault("packing_note", "amended")
            request = request.with_json(body)
        return await self.call(request)


class BackorderSticky(ResourceRewrite):
    """An order once served as backordered stays backordered."""

    kind = "order"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.backordered: set[str] = set()

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        if order.get("status") == "backordered":
            self.backordered.add(str(order.get("id")))
        elif str(order.get("id")) in self.backordered and order.get("status") == "received":
            order["status"] = "backordered"
        return order


class SoldOutRowsDropped(PageRewrite):
    """GET /inventory lists only stock on hand (`WHERE on_hand > 0`): a warehouse entry at 0 is
    dropped, and a SKU with no entry left disappears from the list, sell-out and all."""

    paths = ("/inventory",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for row in rows:
            entries = [e for e in row.get("warehouses") or [] if e.get("on_hand") != 0]
            if entries:
                kept.append({**row, "warehouses": entries})
        return kept


class SellsUnavailableUnits(ResourceRewrite):
    """Units set aside as `unavailable` (quarantined, damaged) are still counted as available:
    `available = on_hand - allocated`, the bucket served but not subtracted (decision 57)."""

    kind = "inventory"

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        for entry in item.get("warehouses") or []:
            if entry.get("unavailable"):
                entry["available"] = int(entry["on_hand"]) - int(entry.get("allocated") or 0)
        return item


class AllocatesUnavailableUnits(ResourceRewrite):
    """The bucket is bookkeeping only: orders are allocated out of the units set aside. The
    set-stock control's `unavailable` is remembered but never reaches the stock, and a read
    shows as much of it as the allocations left, so every number adds up while an order of
    more than the sellable units is allocated in full instead of backordered."""

    kind = "inventory"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.aside: dict[tuple[str, str], int] = {}

    async def handle(self, request: Request) -> Response:
        body = request.json
        if (
            request.method == "POST"
            and request.path == "/sandbox/inventory"
            and isinstance(body, dict)
            and isinstance(body.get("unavailable"), int)
        ):
            key = (str(body.get("sku")), str(body.get("warehouse_id")))
            self.aside[key] = body.pop("unavailable")
            request = request.with_json(body)
        return await super().handle(request)

    def fix(self, item: dict[str, Any]) -> dict[str, Any]:
        for entry in item.get("warehouses") or []:
            key = (str(item.get("sku")), str(entry.get("warehouse_id")))
            if key in self.aside:
                free = int(entry["on_hand"]) - int(entry.get("allocated") or 0)
                entry["unavailable"] = min(self.aside[key], free)
                entry["available"] = free - entry["unavailable"]
        return item


class WarehouseFilterHidesSoldOut(PageRewrite):
    """GET /inventory?warehouse_id=W reads "stocked at W" as "on hand at W now": a SKU whose
    entry at W dropped to 0 is left out of that warehouse's poll (a lookup by sku still shows
    it, so INV-013 holds)."""

    paths = ("/inventory",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        warehouse = request.query.get("warehouse_id")
        if not warehouse:
            return rows
        return [
            row
            for row in rows
            if any(
                e.get("warehouse_id") == warehouse and e.get("on_hand") != 0
                for e in row.get("warehouses") or []
            )
        ]


class PollDropsSoldOutEntries(SoldOutRowsDropped):
    """The unfiltered poll (no `sku`) serves only stock on hand: an entry at 0 is dropped, and a
    SKU with no entry left disappears from the poll; a lookup by sku is served in full (so
    INV-013 holds)."""

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if request.query.get("sku"):
            return rows
        return super().rows(request, rows)
