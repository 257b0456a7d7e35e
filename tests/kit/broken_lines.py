"""Servers broken in exactly one order-line-id way (decision 46), to prove each LIN check can
fail. ASGI wrappers around the reference sandbox, like tests/kit/broken_orders.py; the gallery
is tests/kit/test_broken_lines.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.kit.asgi import Middleware, Request, Response
from tests.kit.rewrites import ResourceRewrite

ORDERS = "/v1/orders"
ORDER = re.compile(r"^/v1/orders/([^/]+)$")
# The sandbox numbers lines it assigns ids to 1, 2, ...; the kit's own ids have two characters.
ASSIGNED = re.compile(r"^\d$")


def _items_sent(request: Request) -> list[dict[str, Any]] | None:
    """The `items` of a create or an amend, or None for any other request."""
    writes = (request.method == "POST" and request.path == ORDERS) or (
        request.method == "PATCH" and ORDER.match(request.path)
    )
    body = request.json if writes else None
    items = body.get("items") if isinstance(body, dict) else None
    return items if isinstance(items, list) else None


class CreateAnswerRenumbersLines(Middleware):
    """The create's 201 shows the lines numbered by position ("1", "2", ...) instead of the ids
    the ERP sent (stored correctly: a later GET shows them)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "POST" and request.path == ORDERS and response.status == 201:
            order = dict(response.json)
            order["items"] = [
                {**line, "line_id": str(position)}
                for position, line in enumerate(order.get("items") or [], start=1)
            ]
            return response.with_json(order)
        return response


class AssignedIdsChangeOnEveryRead(ResourceRewrite):
    """A line sent without `line_id` is given one afresh on every read (rendered, not stored)."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        items = [
            {**line, "line_id": f"{line['line_id']}-{uuid.uuid4().hex[:6]}"}
            if ASSIGNED.match(str(line.get("line_id")))
            else line
            for line in order.get("items") or []
        ]
        return {**order, "items": items}


class DuplicateLineIdsAccepted(Middleware):
    """Two lines with one `line_id` are accepted: the later ones are quietly renamed."""

    async def handle(self, request: Request) -> Response:
        items = _items_sent(request)
        if items is not None:
            seen: set[Any] = set()
            renamed = []
            for line in items:
                line_id = line.get("line_id") if isinstance(line, dict) else None
                if line_id is not None and line_id in seen:
                    line = {**line, "line_id": f"{line_id}-{len(renamed)}"}
                seen.add(line_id)
                renamed.append(line)
            request = request.with_json({**request.json, "items": renamed})
        return await self.call(request)


class ShippedCountedBySku(ResourceRewrite):
    """An order line's `shipped_quantity` is its SKU's shipped units handed out first line
    first, whatever line the shipment items name (the sandbox before line ids)."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        left: dict[str, int] = {}
        for shipment in order.get("shipments") or []:
            if not shipment.get("voided"):
                for item in shipment.get("items") or []:
                    left[item["sku"]] = left.get(item["sku"], 0) + item["quantity"]
        items = []
        for line in order.get("items") or []:
            shipped = min(line["quantity"], left.get(line["sku"], 0))
            left[line["sku"]] = left.get(line["sku"], 0) - shipped
            items.append({**line, "shipped_quantity": shipped})
        return {**order, "items": items}


class AmendDropsLineIds(Middleware):
    """An amend ignores the `line_id`s sent: its lines are numbered afresh by position."""

    async def handle(self, request: Request) -> Response:
        items = _items_sent(request)
        if items is not None and request.method == "PATCH":
            stripped = [
                {k: v for k, v in line.items() if k != "line_id"}
                if isinstance(line, dict)
                else line
                for line in items
            ]
            request = request.with_json({**request.json, "items": stripped})
        return await self.call(request)


class ErrorsWithoutLineId(Middleware):
    """Errors about one line name its array position only, never its `line_id`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        error = body.get("error") if isinstance(body, dict) else None
        if response.status >= 400 and isinstance(error, dict) and "line_id" in error:
            error = {k: v for k, v in error.items() if k != "line_id"}
            return response.with_json({**body, "error": error})
        return response


class ReturnLinesForgetLineId(Middleware):
    """A return's lines come back with `line_id: null`, whatever the RMA named."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if (
            request.path.startswith("/v1/returns")
            and 200 <= response.status < 300
            and isinstance(body, dict)
            and isinstance(body.get("items"), list)
        ):
            items = [{**line, "line_id": None} for line in body["items"]]
            return response.with_json({**body, "items": items})
        return response
