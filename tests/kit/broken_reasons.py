"""Servers broken in exactly one reasons way (decisions 52 and 53), to prove each RSN check can
fail. ASGI wrappers around the reference sandbox; the gallery is tests/kit/test_broken_reasons.py.
"""

from __future__ import annotations

import re
from typing import Any

from tests.kit.asgi import Middleware, Request, Response
from tests.kit.rewrites import ResourceRewrite

CANCEL = re.compile(r"^/v1/orders/([^/]+)/cancel$")
CUT = re.compile(r"^/v1/orders/([^/]+)/cancel-remainder$")


class CancelReasonIgnored(Middleware):
    """The ERP's cancel drops its body: the reason it sends is never recorded."""

    async def handle(self, request: Request) -> Response:
        if request.method == "POST" and CANCEL.match(request.path) and request.body:
            return await self.call(request.with_json({}))
        return await self.call(request)


class RepeatCancelRewritesReason(Middleware):
    """A cancel of an order already cancelled answers with the new call's reason in place of the
    first one."""

    async def handle(self, request: Request) -> Response:
        match = CANCEL.match(request.path)
        if request.method != "POST" or match is None:
            return await self.call(request)
        before = (await self.api(request, "GET", f"/v1/orders/{match[1]}")).json
        response = await self.call(request)
        body, sent = response.json, request.json
        if not (isinstance(before, dict) and before.get("status") == "cancelled"):
            return response
        if not (isinstance(body, dict) and isinstance(sent, dict)):
            return response
        rewritten = {
            "reason_code": sent.get("reason_code"),
            "cancelled_by": "erp",
            "message": sent.get("message"),
        }
        return response.with_json({**body, "cancellation": rewritten})


class WarehouseCancelSaysErp(ResourceRewrite):
    """An order the warehouse cancelled reads `cancelled_by: erp`."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        cancellation = order.get("cancellation")
        if isinstance(cancellation, dict) and cancellation.get("cancelled_by") == "warehouse":
            return {**order, "cancellation": {**cancellation, "cancelled_by": "erp"}}
        return order


class RemainderCancelWithoutCancellation(Middleware):
    """A remainder cancel that cancels a backordered order answers `cancellation: null`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        cut = request.method == "POST" and CUT.match(request.path) is not None
        if cut and isinstance(body, dict) and body.get("status") == "cancelled":
            return response.with_json({**body, "cancellation": None})
        return response


class HoldWithoutReason(ResourceRewrite):
    """Orders on hold read `hold: null`: the reason is never shown."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "hold": None} if "hold" in order else order


class CancellationOmitsNullMembers(ResourceRewrite):
    """A cancellation leaves out its members that are null (a cancel without a reason or a
    message) instead of giving them as `null`: the contract requires all three."""

    kind = "order"

    def fix(self, order: dict[str, Any]) -> dict[str, Any]:
        cancellation = order.get("cancellation")
        if not isinstance(cancellation, dict):
            return order
        given = {key: value for key, value in cancellation.items() if value is not None}
        return {**order, "cancellation": given}
