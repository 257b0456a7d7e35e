"""Subtle broken servers: each right on every single call the scenario checks make, wrong only in
what a sequence of operations shows (stock after a warehouse event, one view against another, a
timestamp after a warehouse-side change). The kit's model-based phase
(conformance/checks/test_model_based.py) is what catches them; the kit without it did not.

Several keep a ledger of phantom stock: the sandbox stays right underneath, and every inventory
answer is shifted by what the bug would have left behind (a unit still allocated, a unit
allocated twice). The others rewrite one view of a resource (the order as listed, its embedded
shipments, its `updated_at` or `version`) from what they remember of an earlier answer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import Middleware, is_list, map_resources

ORDER_ACTION = re.compile(r"/(?:sandbox/)?orders/([^/]+)(?:/(cancel|pick|hold|ship))?")
SHIPMENT_ACTION = re.compile(r"/sandbox/shipments/([^/]+)/(advance|void)")


def order_action(request: Request, action: str) -> str | None:
    """The order id of a successful-looking POST `action` (cancel, pick, hold, ship), or None."""
    match = ORDER_ACTION.fullmatch(request.path)
    if request.method == "POST" and match is not None and match.group(2) == action:
        return match.group(1)
    return None


def shipment_action(request: Request, action: str) -> str | None:
    match = SHIPMENT_ACTION.fullmatch(request.path)
    if request.method == "POST" and match is not None and match.group(2) == action:
        return match.group(1)
    return None


def units(resource: dict[str, Any]) -> dict[str, int]:
    """Units per SKU of an order's lines or a shipment's items."""
    found: dict[str, int] = defaultdict(int)
    for line in resource.get("items") or []:
        found[str(line.get("sku"))] += int(line.get("quantity") or 0)
    return dict(found)


class StockLedger(Middleware):
    """Shows every SKU's stock shifted by `phantom` units still allocated at a warehouse."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.phantom: dict[tuple[str, str], int] = defaultdict(int)

    def book(self, warehouse_id: Any, quantities: dict[str, int], sign: int) -> None:
        for sku, quantity in quantities.items():
            self.phantom[(sku, str(warehouse_id))] += sign * quantity

    async def handle(self, request: Request) -> Response:
        response = await self.event(request)
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, "inventory", self.shift))
        return response

    async def event(self, request: Request) -> Response:
        return await self.call(request)

    def shift(self, item: dict[str, Any]) -> dict[str, Any]:
        for entry in item.get("warehouses") or []:
            extra = self.phantom.get((str(item.get("sku")), str(entry.get("warehouse_id"))), 0)
            if extra and isinstance(entry.get("available"), int):
                entry["available"] -= extra
                if isinstance(entry.get("allocated"), int):
                    entry["allocated"] += extra
        return item


class CancelOnHoldKeepsAllocation(StockLedger):
    """Cancelling an order that was on hold leaves its units allocated (a received order's cancel
    releases them, which is the case the scenario check tries)."""

    async def event(self, request: Request) -> Response:
        order_id = order_action(request, "cancel")
        if order_id is None:
            return await self.call(request)
        before = (await self.api(request, "GET", f"/orders/{order_id}")).json or {}
        response = await self.call(request)
        if response.status == 200 and before.get("status") == "on_hold":
            self.book(before.get("warehouse_id"), units(before), +1)
        return response


class VoidLosesAllocation(StockLedger):
    """A voided shipment's units come back to on_hand but not to the order's allocation: the
    order still needs them, yet `available` counts them as free."""

    async def event(self, request: Request) -> Response:
        shipment_id = shipment_action(request, "void")
        if shipment_id is None:
            return await self.call(request)
        response = await self.call(request)
        if response.status == 200 and isinstance(response.json, dict):
            shipment = response.json
            self.book(shipment.get("warehouse_id"), units(shipment), -1)
        return response


class HoldReleasesAllocation(StockLedger):
    """Putting an order on hold shows its units as free again, though they stay reserved."""

    async def event(self, request: Request) -> Response:
        order_id = order_action(request, "hold")
        response = await self.call(request)
        if order_id is not None and response.status == 200 and isinstance(response.json, dict):
            order = response.json
            self.book(order.get("warehouse_id"), units(order), -1)
        return response


class ReplayAllocatesTwice(StockLedger):
    """A replayed create (same Idempotency-Key and body) answers the same order, but allocates
    its units a second time."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.keys: set[str] = set()

    async def event(self, request: Request) -> Response:
        key = request.key()
        if request.method != "POST" or request.path != "/orders" or not key:
            return await self.call(request)
        response = await self.call(request)
        if response.status in (200, 201) and isinstance(response.json, dict):
            if key in self.keys:
                self.book(response.json.get("warehouse_id"), units(response.json), +1)
            self.keys.add(key)
        return response


class EmbeddedShipmentsStale(Middleware):
    """An order embeds each shipment as it was first shipped: later status changes and voids
    show on GET /shipments but never in the order's `shipments`."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.first_seen: dict[str, dict[str, Any]] = {}

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if not (200 <= response.status < 300) or response.json is None:
            return response
        return response.with_json(map_resources(response.json, "order", self.stale))

    def stale(self, order: dict[str, Any]) -> dict[str, Any]:
        shipments = order.get("shipments") or []
        for index, shipment in enumerate(shipments):
            if isinstance(shipment, dict) and shipment.get("id"):
                shipments[index] = self.first_seen.setdefault(str(shipment["id"]), shipment)
        return order


class ListedOrderLagsOneShipment(Middleware):
    """GET /orders rows of a partially shipped order leave out its newest shipment (the list is
    served from a copy refreshed one event late); GET /orders/{id} is right."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if not (is_list(request, "/orders") and response.status == 200):
            return response
        for row in body.get("data") or []:
            if row.get("status") == "partially_shipped" and len(row.get("shipments") or []) > 1:
                row["shipments"] = row["shipments"][:-1]
        return response.with_json(body)


class FrozenOrderStamp(Middleware):
    """After a warehouse-side `action` on an order, its `updated_at` keeps the value it had
    before, as long as nothing else changed it (its version is still the one after `action`)."""

    action = ""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.frozen: dict[str, tuple[Any, Any]] = {}  # order id -> (version after, stamp before)

    async def handle(self, request: Request) -> Response:
        order_id = order_action(request, self.action)
        if order_id is not None:
            before = (await self.api(request, "GET", f"/orders/{order_id}")).json or {}
            response = await self.call(request)
            after = (await self.api(request, "GET", f"/orders/{order_id}")).json or {}
            if response.status in (200, 201) and after.get("version") != before.get("version"):
                self.frozen[order_id] = (after.get("version"), before.get("updated_at"))
        else:
            response = await self.call(request)
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, "order", self.freeze))
        return response

    def freeze(self, order: dict[str, Any]) -> dict[str, Any]:
        version, stamp = self.frozen.get(str(order.get("id")), (None, None))
        if version is not None and order.get("version") == version:
            order["updated_at"] = stamp
        return order


class PickKeepsOrderStamp(FrozenOrderStamp):
    """Picking an order moves it to processing without advancing its `updated_at`: a poller
    never learns that the order can no longer be cancelled."""

    action = "pick"


class ShipKeepsOrderStamp(FrozenOrderStamp):
    """Shipping an order changes its status and lines without advancing its `updated_at`: a
    poller of GET /orders never sees it ship."""

    action = "ship"


class AdvanceRegressesOrderStatus(Middleware):
    """Once a shipment of a partially shipped order moves on (in_transit, ...), the order reads
    `processing` again: its status moves backwards on a carrier update."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.orders: set[str] = set()

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if shipment_action(request, "advance") and response.status == 200:
            order_id = (response.json or {}).get("order_id")
            if order_id:
                self.orders.add(str(order_id))
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, "order", self.regress))
        return response

    def regress(self, order: dict[str, Any]) -> dict[str, Any]:
        if str(order.get("id")) in self.orders and order.get("status") == "partially_shipped":
            order["status"] = "processing"
        return order


class ShippedQuantityInLineOrder(Middleware):
    """Shipped units are credited to the order's lines first to last, whatever SKU shipped: a
    shipment of the second line's SKU shows as shipped on the first line."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, "order", self.credit))
        return response

    def credit(self, order: dict[str, Any]) -> dict[str, Any]:
        lines = [line for line in order.get("items") or [] if isinstance(line, dict)]
        left = sum(int(line.get("shipped_quantity") or 0) for line in lines)
        for line in lines:
            line["shipped_quantity"] = min(left, int(line.get("quantity") or 0))
            left -= line["shipped_quantity"]
        return order


class AmendItemsKeepsVersion(Middleware):
    """An amend that replaces the lines keeps the order's `version` (and ETag) as it was; the
    old version still works as If-Match. An amend of other fields changes it, as it must."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.shown: dict[str, dict[str, str]] = {}  # order id -> real version -> shown version

    async def handle(self, request: Request) -> Response:
        match = ORDER_ACTION.fullmatch(request.path)
        order_id = match.group(1) if match and not request.path.startswith("/sandbox") else None
        if request.method == "PATCH" and order_id is not None:
            request = self.real_if_match(request, order_id)
            before = (await self.api(request, "GET", request.path)).json or {}
            response = await self.call(request)
            payload = request.json if isinstance(request.json, dict) else {}
            body = response.json if isinstance(response.json, dict) else {}
            if response.status == 200 and "items" in payload and body.get("version"):
                aliases = self.shown.setdefault(order_id, {})
                old = str(before.get("version"))
                aliases[str(body["version"])] = aliases.get(old, old)
        else:
            response = await self.call(request)
        if 200 <= response.status < 300 and response.json is not None:
            body = map_resources(response.json, "order", self.alias)
            response = response.with_json(body)
            if order_id is not None and isinstance(body, dict) and body.get("version"):
                response = response.with_header("etag", f'"{body["version"]}"')
        return response

    def alias(self, order: dict[str, Any]) -> dict[str, Any]:
        aliases = self.shown.get(str(order.get("id")), {})
        order["version"] = aliases.get(str(order.get("version")), order.get("version"))
        return order

    def real_if_match(self, request: Request, order_id: str) -> Request:
        given = (request.header("if-match") or "").strip().removeprefix("W/").strip('"')
        aliases = self.shown.get(order_id, {})
        real = [version for version, shown in aliases.items() if shown == given]
        return request.with_header("if-match", f'"{real[-1]}"') if real else request


class VoidKeepsInventoryStamp(Middleware):
    """A void puts units back on hand without advancing the SKU's `updated_at`: an inventory
    poller never sees the stock come back."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.frozen: dict[str, tuple[str, Any]] = {}  # sku -> (quantities after, stamp before)

    async def handle(self, request: Request) -> Response:
        shipment_id = shipment_action(request, "void")
        if shipment_id is None:
            response = await self.call(request)
        else:
            shipment = (await self.api(request, "GET", f"/shipments/{shipment_id}")).json or {}
            skus = sorted(units(shipment))
            before = {sku: await self.item(request, sku) for sku in skus}
            response = await self.call(request)
            if response.status == 200:
                for sku in skus:
                    after = await self.item(request, sku)
                    self.frozen[sku] = (self.quantities(after), before[sku].get("updated_at"))
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, "inventory", self.freeze))
        return response

    async def item(self, request: Request, sku: str) -> dict[str, Any]:
        body = (await self.api(request, "GET", "/inventory", sku=sku)).json or {}
        rows = [row for row in body.get("data") or [] if row.get("sku") == sku]
        return rows[0] if rows else {}

    @staticmethod
    def quantities(item: dict[str, Any]) -> str:
        return repr(
            sorted(
                (str(e.get("warehouse_id")), e.get("on_hand"), e.get("allocated"))
                for e in item.get("warehouses") or []
            )
        )

    def freeze(self, item: dict[str, Any]) -> dict[str, Any]:
        quantities, stamp = self.frozen.get(str(item.get("sku")), ("", None))
        if stamp is not None and self.quantities(item) == quantities:
            item["updated_at"] = stamp
        return item


class AmendOnHoldKeepsAllocation(StockLedger):
    """Amending the lines of an order that is on hold changes the lines but not the reservation:
    the stock keeps the old quantities allocated (the hold screen edits the order, not the
    allocation, which only a received order's amend rebalances)."""

    async def event(self, request: Request) -> Response:
        match = ORDER_ACTION.fullmatch(request.path)
        body = request.json
        if request.method != "PATCH" or match is None or match.group(2) is not None:
            return await self.call(request)
        if not isinstance(body, dict) or "items" not in body:
            return await self.call(request)
        before = (await self.api(request, "GET", f"/orders/{match.group(1)}")).json or {}
        response = await self.call(request)
        if response.status == 200 and before.get("status") == "on_hold":
            old, new = units(before), units(response.json or {})
            kept = {sku: old.get(sku, 0) - new.get(sku, 0) for sku in set(old) | set(new)}
            self.book(before.get("warehouse_id"), kept, +1)
        return response


class PickAfterHoldDropsAllocation(StockLedger):
    """An order that went on hold and back to the floor (picked) loses its reservation: its
    units show as free, though it still ships them (the hold parked the allocation and the pick
    never restored it)."""

    async def event(self, request: Request) -> Response:
        order_id = order_action(request, "pick")
        if order_id is None:
            return await self.call(request)
        before = (await self.api(request, "GET", f"/orders/{order_id}")).json or {}
        response = await self.call(request)
        if response.status == 200 and before.get("status") == "on_hold":
            self.book(before.get("warehouse_id"), units(before), -1)
        return response


class OnHandLedger(StockLedger):
    """A StockLedger that can also show `on_hand` (and so `available`) shifted by `extra`."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.extra: dict[tuple[str, str], int] = defaultdict(int)

    def shift(self, item: dict[str, Any]) -> dict[str, Any]:
        item = super().shift(item)
        for entry in item.get("warehouses") or []:
            extra = self.extra.get((str(item.get("sku")), str(entry.get("warehouse_id"))), 0)
            for name in ("on_hand", "available"):
                if extra and isinstance(entry.get(name), int):
                    entry[name] += extra
        return item

    async def allocated(self, request: Request, sku: str, warehouse_id: Any) -> int:
        """The SKU's allocated units at the warehouse, as the sandbox has them."""
        page = (await self.api(request, "GET", "/inventory", sku=sku)).json or {}
        for row in page.get("data") or []:
            for entry in row.get("warehouses") or [] if row.get("sku") == sku else []:
                if entry.get("warehouse_id") == warehouse_id:
                    return int(entry.get("allocated") or 0)
        return 0


class ReceiptCreditsOverflowWhenAllocated(OnHandLedger):
    """A receipt of a SKU that has units allocated at the ASN's warehouse is put away at an
    overflow site: on_hand at the ASN's warehouse does not rise (a receipt of a SKU nobody
    ordered, the scenario check's case, is credited right)."""

    async def event(self, request: Request) -> Response:
        match = re.fullmatch(r"/sandbox/inbound-shipments/([^/]+)/receive", request.path)
        body = request.json
        if request.method != "POST" or match is None or not isinstance(body, dict):
            return await self.call(request)
        asn = (await self.api(request, "GET", f"/inbound-shipments/{match.group(1)}")).json or {}
        warehouse = asn.get("warehouse_id")
        lines = [i for i in body.get("items") or [] if isinstance(i, dict)]
        busy = {
            str(i.get("sku")) for i in lines if await self.allocated(request, i["sku"], warehouse)
        }
        response = await self.call(request)
        if response.status == 200:
            for line in lines:
                if str(line.get("sku")) in busy:
                    key = (str(line.get("sku")), str(warehouse))
                    self.extra[key] -= int(line.get("received_quantity") or 0)
        return response


class NegativeAdjustmentReleasesAllocation(OnHandLedger):
    """A negative adjustment of a SKU with units allocated takes them from the reservation:
    on_hand falls by the delta, but allocated falls too (the damaged units were "the reserved
    ones"), so available does not move."""

    async def event(self, request: Request) -> Response:
        body = request.json
        if request.method != "POST" or request.path != "/sandbox/inventory-adjustments":
            return await self.call(request)
        if not isinstance(body, dict) or not isinstance(body.get("quantity_delta"), int):
            return await self.call(request)
        sku, warehouse, delta = (
            str(body.get("sku")),
            body.get("warehouse_id"),
            body["quantity_delta"],
        )
        held = await self.allocated(request, sku, warehouse) if delta < 0 else 0
        response = await self.call(request)
        if response.status in (200, 201) and held:
            self.book(warehouse, {sku: max(delta, -held)}, +1)
        return response


class DamagedReturnRestockedWhenAllocated(OnHandLedger):
    """A returned line not restocked (damaged, defective) still goes back on hand when the SKU
    has units allocated at the warehouse (the returns desk tops up the pick face for waiting
    orders); with nothing allocated, the scenario check's case, it is right."""

    async def event(self, request: Request) -> Response:
        body = request.json
        if request.method != "POST" or request.path != "/sandbox/returns":
            return await self.call(request)
        if not isinstance(body, dict):
            return await self.call(request)
        order = (await self.api(request, "GET", f"/orders/{body.get('order_id')}")).json or {}
        warehouse = body.get("warehouse_id") or order.get("warehouse_id")
        kept = [
            line
            for line in body.get("items") or []
            if isinstance(line, dict) and line.get("restocked") is False
        ]
        busy = {
            str(i.get("sku")) for i in kept if await self.allocated(request, i["sku"], warehouse)
        }
        response = await self.call(request)
        if response.status in (200, 201):
            for line in kept:
                if str(line.get("sku")) in busy:
                    self.extra[(str(line.get("sku")), str(warehouse))] += int(
                        line.get("quantity") or 0
                    )
        return response


SERVERS = (
    CancelOnHoldKeepsAllocation,
    VoidLosesAllocation,
    HoldReleasesAllocation,
    ReplayAllocatesTwice,
    EmbeddedShipmentsStale,
    ListedOrderLagsOneShipment,
    PickKeepsOrderStamp,
    ShipKeepsOrderStamp,
    AdvanceRegressesOrderStatus,
    ShippedQuantityInLineOrder,
    AmendItemsKeepsVersion,
    VoidKeepsInventoryStamp,
    AmendOnHoldKeepsAllocation,
    PickAfterHoldDropsAllocation,
    ReceiptCreditsOverflowWhenAllocated,
    NegativeAdjustmentReleasesAllocation,
    DamagedReturnRestockedWhenAllocated,
)
