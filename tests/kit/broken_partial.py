"""Servers broken in exactly one partial-fulfilment way (decision 47), to prove each PART check
can fail. ASGI wrappers around the reference sandbox; the gallery is
tests/kit/test_broken_partial.py.
"""

from __future__ import annotations

import re
from typing import Any

from tests.kit.asgi import Middleware, Request, Response
from tests.kit.broken_orders import error_response
from tests.kit.rewrites import ResourceRewrite

CUT = re.compile(r"^/v1/orders/([^/]+)/cancel-remainder$")


class _CutMiddleware(Middleware):
    """Hands a remainder cancel to `cut` with the order as it stands; other requests pass."""

    async def handle(self, request: Request) -> Response:
        match = CUT.match(request.path)
        if request.method != "POST" or match is None:
            return await self.call(request)
        order = (await self.api(request, "GET", f"/v1/orders/{match[1]}")).json
        if not isinstance(order, dict) or "status" not in order:
            return await self.call(request)
        return await self.cut(request, order)

    async def cut(self, request: Request, order: dict[str, Any]) -> Response:
        return await self.call(request)


class BackorderNotPerLine(ResourceRewrite):
    """Lines never report a backorder: `backordered_quantity` is always 0."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        items = [{**line, "backordered_quantity": 0} for line in order.get("items") or []]
        return {**order, "items": items}


class PartialCutKeepsOrderOpen(_CutMiddleware):
    """A remainder cancel of a partially shipped order answers 200 and does nothing."""

    async def cut(self, request: Request, order: dict[str, Any]) -> Response:
        if order["status"] == "partially_shipped":
            return await self.api(request, "GET", f"/v1/orders/{order['id']}")
        return await self.call(request)


class BackorderedCutAnswersShipped(_CutMiddleware):
    """A backordered order whose remainder is cancelled is said to be `shipped`, without
    `cancelled_at`."""

    async def cut(self, request: Request, order: dict[str, Any]) -> Response:
        response = await self.call(request)
        body = response.json
        if isinstance(body, dict) and body.get("status") == "cancelled":
            return response.with_json({**body, "status": "shipped", "cancelled_at": None})
        return response


class SecondCutConflicts(_CutMiddleware):
    """A remainder cancel of an order it already closed gets 409 no_remainder."""

    async def cut(self, request: Request, order: dict[str, Any]) -> Response:
        if order["status"] in ("shipped", "cancelled"):
            like = await self.call(request)
            return error_response(like, 409, "no_remainder", order_status=order["status"])
        return await self.call(request)


class ReceivedOrderCutIsCancelled(_CutMiddleware):
    """A remainder cancel of a received order cancels the whole order (200)."""

    async def cut(self, request: Request, order: dict[str, Any]) -> Response:
        if order["status"] == "received":
            return await self.api(request, "POST", f"/v1/orders/{order['id']}/cancel")
        return await self.call(request)


VOID = re.compile(r"^/v1/sandbox/shipments/([^/]+)/void$")


class VoidLeavesClosedOrderShipped(ResourceRewrite):
    """A void on an order closed short keeps it closed: the order still reads `shipped`, the
    voided units added to the lines' `cancelled_quantity` (decision 56 says they are owed
    again)."""

    kind = "order"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.closed: set[str] = set()

    async def handle(self, request: Request) -> Response:
        match = VOID.match(self.prefix + request.path)
        if request.method == "POST" and match is not None:
            shipment = (await self.api(request, "GET", f"/shipments/{match[1]}")).json or {}
            order_id = shipment.get("order_id")
            order = (await self.api(request, "GET", f"/orders/{order_id}")).json or {}
            cut = any(line.get("cancelled_quantity") for line in order.get("items") or [])
            if order.get("status") == "shipped" and cut:
                self.closed.add(str(order_id))
        return await super().handle(request)

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        if order.get("id") not in self.closed:
            return order
        items = [
            {
                **line,
                "backordered_quantity": 0,
                "cancelled_quantity": line["quantity"] - line["shipped_quantity"],
            }
            for line in order.get("items") or []
        ]
        return {**order, "status": "shipped", "items": items}
