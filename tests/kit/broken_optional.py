"""Servers broken in exactly one way each, for the inbound (INB), adjustment (ADJ) and return
(RET) checks of the optional profiles.

Every class wraps the reference sandbox (`create_app(db_path)`) with the /v1 middleware of
rewrites.py: it buffers a request, may rewrite it, may call the sandbox itself (with the
caller's token), and may rewrite the answer. The product sandbox has no flags for any of this;
the wrappers act on the API under /v1 only.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.broken_pagination import DescendingPages, ExclusiveUpdatedSince
from tests.kit.rewrites import Middleware, is_list, with_error

INBOUND = re.compile(r"/inbound-shipments(/[^/]+)?")
RETURNS = re.compile(r"/returns(/[^/]+)?")
RECEIVE_INBOUND = re.compile(r"/sandbox/inbound-shipments/([^/]+)/receive")
PROCESS_RETURN = re.compile(r"/sandbox/returns/([^/]+)/process")


def rows_of(body: Any) -> list[dict[str, Any]]:
    """The resource(s) of a body: the rows of a list page, or the object itself."""
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("data"), list):
        return [row for row in body["data"] if isinstance(row, dict)]
    return [body] if "id" in body else []


class BodyRewrite(Middleware):
    """Rewrites each resource of successful answers to `method` requests matching `pattern`."""

    method = "GET"
    pattern: re.Pattern[str] = INBOUND

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if (
            request.method == self.method
            and self.pattern.fullmatch(request.path)
            and 200 <= response.status < 300
            and isinstance(body, dict)
        ):
            for row in rows_of(body):
                self.fix(row)
            return response.with_json(body)
        return response

    def fix(self, resource: dict[str, Any]) -> None:
        pass


class DropsQuery(Middleware):
    """Drops the query parameter `name` of GET `path` (the filter is ignored)."""

    path = ""
    name = ""

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == self.path:
            request = request.with_query(**{self.name: None})
        return await self.call(request)


async def on_hand_by_warehouse(mw: Middleware, like: Request, sku: str) -> dict[str, int]:
    page = (await mw.api(like, "GET", "/inventory", sku=sku)).json or {}
    found: dict[str, int] = {}
    for item in page.get("data") or []:
        if isinstance(item, dict) and item.get("sku") == sku:
            for entry in item.get("warehouses") or []:
                found[str(entry.get("warehouse_id"))] = int(entry.get("on_hand") or 0)
    return found


async def restore(mw: Middleware, like: Request, before: dict[str, dict[str, int]]) -> None:
    """Sets on_hand back to the numbers read before (the stock movement is lost)."""
    for sku, levels in before.items():
        for warehouse, on_hand in levels.items():
            body = {"sku": sku, "warehouse_id": warehouse, "on_hand": on_hand}
            await mw.api(like, "POST", "/sandbox/inventory", body)


class FreshKeyMiddleware(Middleware):
    """POSTs to `path` get a fresh Idempotency-Key: in place of the one sent (`always`, so a
    retry is a new request), or when none was sent."""

    path = ""
    always = False

    async def handle(self, request: Request) -> Response:
        keyed = "idempotency-key" in request.headers
        if request.method == "POST" and request.path == self.path and self.always == keyed:
            request = request.with_header("Idempotency-Key", f"broken-{uuid.uuid4().hex}")
        return await self.call(request)


class CodeRewrite(Middleware):
    """Error answers to `method path_pattern` with code `old` carry `new` (or no envelope)."""

    method = "POST"
    pattern: re.Pattern[str] = INBOUND
    old = ""
    new: str | None = None

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if (
            request.method == self.method
            and self.pattern.fullmatch(request.path)
            and response.code == self.old
        ):
            if self.new is None:
                return response.with_body(b"Not Found", "text/plain")
            return with_error(response, response.status, self.new)
        return response


# === Inbound shipments (INB) ======================================================================


class InboundKeyOptional(FreshKeyMiddleware):
    """POST /inbound-shipments without Idempotency-Key creates the ASN anyway."""

    path = "/inbound-shipments"


class InboundCreatedAsOpen(BodyRewrite):
    """The 201 of a new ASN says status `open` instead of `expected`."""

    method = "POST"

    def fix(self, resource: dict[str, Any]) -> None:
        resource["status"] = "open"


class InboundReplayDuplicates(FreshKeyMiddleware):
    """Every POST /inbound-shipments is a new request: a retry creates a second ASN."""

    path = "/inbound-shipments"
    always = True


class InboundUnknownWarehouseWrongCode(CodeRewrite):
    """An ASN for an unknown warehouse gets 422 validation_failed, not invalid_warehouse."""

    old, new = "invalid_warehouse", "validation_failed"


class UnknownInboundPlain404(CodeRewrite):
    """GET of an unknown inbound shipment is a plain-text 404 without the error envelope."""

    method, old = "GET", "not_found"


class InboundIgnoresStatusFilter(DropsQuery):
    """GET /inbound-shipments?status= returns every status."""

    path, name = "/inbound-shipments", "status"


class InboundExclusiveUpdatedSince(ExclusiveUpdatedSince):
    """GET /inbound-shipments leaves out the ASN whose updated_at equals updated_since."""

    paths = ("/inbound-shipments",)


class DiscrepancySignFlipped(BodyRewrite):
    """Discrepancies are expected - received (positive when short)."""

    def fix(self, resource: dict[str, Any]) -> None:
        for line in resource.get("items") or []:
            line["discrepancy"] = line["expected_quantity"] - line["received_quantity"]


class NeverPartiallyReceived(BodyRewrite):
    """A partly received ASN still reads `expected`."""

    def fix(self, resource: dict[str, Any]) -> None:
        if resource.get("status") == "partially_received":
            resource["status"] = "expected"


class ReceivedStockNotOnHand(Middleware):
    """Receiving an ASN leaves on_hand where it was (the units never reach the shelf)."""

    async def handle(self, request: Request) -> Response:
        match = RECEIVE_INBOUND.fullmatch(request.path)
        if request.method != "POST" or match is None:
            return await self.call(request)
        asn = (await self.api(request, "GET", f"/inbound-shipments/{match.group(1)}")).json or {}
        warehouse = str(asn.get("warehouse_id"))
        before = {}
        for line in asn.get("items") or []:
            levels = await on_hand_by_warehouse(self, request, line["sku"])
            before[line["sku"]] = {warehouse: levels.get(warehouse, 0)}
        response = await self.call(request)
        if response.status == 200:
            await restore(self, request, before)
        return response


class IncomingNotShown(BodyRewrite):
    """Inventory never shows open inbound units as incoming (always 0)."""

    pattern = re.compile(r"/inventory")

    def fix(self, resource: dict[str, Any]) -> None:
        for entry in resource.get("warehouses") or []:
            entry["incoming"] = 0

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_list(request, "/inventory") and response.status == 200 and isinstance(body, dict):
            for item in body.get("data") or []:
                if isinstance(item, dict):
                    self.fix(item)
            return response.with_json(body)
        return response


class ReceivedAsnReceivableAgain(Middleware):
    """Receiving a fully received ASN answers 200 (and silently does nothing)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        match = RECEIVE_INBOUND.fullmatch(request.path)
        if request.method == "POST" and match and response.code == "invalid_transition":
            asn = await self.api(request, "GET", f"/inbound-shipments/{match.group(1)}")
            return response.with_json(asn.json, status=200)
        return response


# === Inventory adjustments (ADJ) ==================================================================


class AdjustmentDeltaUnsigned(BodyRewrite):
    """Listed adjustments show the size of the change, not its sign."""

    pattern = re.compile(r"/inventory-adjustments")

    def fix(self, resource: dict[str, Any]) -> None:
        if isinstance(resource.get("quantity_delta"), int):
            resource["quantity_delta"] = abs(resource["quantity_delta"])


class AdjustmentNotApplied(Middleware):
    """An adjustment is recorded but on_hand does not move."""

    async def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/sandbox/inventory-adjustments":
            return await self.call(request)
        body = request.json if isinstance(request.json, dict) else {}
        sku, warehouse = str(body.get("sku")), str(body.get("warehouse_id"))
        levels = await on_hand_by_warehouse(self, request, sku)
        response = await self.call(request)
        if response.status in (200, 201) and warehouse in levels:
            await restore(self, request, {sku: {warehouse: levels[warehouse]}})
        return response


class AdjustmentsIgnoreSkuFilter(DropsQuery):
    """GET /inventory-adjustments?sku= returns every SKU's adjustments."""

    path, name = "/inventory-adjustments", "sku"


class AdjustmentCursorRestarts(Middleware):
    """A cursor the server did not issue for these filters restarts the walk from the top."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if (
            request.method == "GET"
            and request.path == "/inventory-adjustments"
            and response.code == "invalid_cursor"
        ):
            return await self.call(request.with_query(cursor=None))
        return response


class AdjustBelowAllocatedAccepted(Middleware):
    """An adjustment below allocated stock answers 201 (recording nothing) instead of 409."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if (
            request.method == "POST"
            and request.path == "/sandbox/inventory-adjustments"
            and response.code == "insufficient_stock"
        ):
            body = request.json if isinstance(request.json, dict) else {}
            return response.with_json({"id": "adj_ghost", **body}, status=201)
        return response


# === Returns (RET) ================================================================================


class ReturnKeyOptional(FreshKeyMiddleware):
    """POST /returns without Idempotency-Key creates the return anyway."""

    path = "/returns"


class ReturnCreatedWithoutOrderNumber(BodyRewrite):
    """The 201 of a new RMA has no order_number."""

    method, pattern = "POST", RETURNS

    def fix(self, resource: dict[str, Any]) -> None:
        resource.pop("order_number", None)


class ReturnReplayDuplicates(FreshKeyMiddleware):
    """Every POST /returns is a new request: a retry creates a second return."""

    path = "/returns"
    always = True


class ReturnUnknownSkuWrongCode(CodeRewrite):
    """An RMA of a SKU not on the order gets validation_failed instead of unknown_sku."""

    pattern, old, new = RETURNS, "unknown_sku", "validation_failed"


class UnknownReturnPlain404(CodeRewrite):
    """GET of an unknown return is a plain-text 404 without the error envelope."""

    method, pattern, old = "GET", RETURNS, "not_found"


class ReturnsIgnoreStatusFilter(DropsQuery):
    """GET /returns?status= returns every status."""

    path, name = "/returns", "status"


class ReturnsDescendingPages(DescendingPages):
    """Each page of GET /returns comes newest first."""

    paths = ("/returns",)


class ReturnConditionDropped(BodyRewrite):
    """Received return lines never carry their condition."""

    pattern = RETURNS

    def fix(self, resource: dict[str, Any]) -> None:
        for line in resource.get("items") or []:
            line["condition"] = None


class RestockedReturnNotStocked(Middleware):
    """Restocked return lines never reach on_hand."""

    async def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/sandbox/returns":
            return await self.call(request)
        body = request.json if isinstance(request.json, dict) else {}
        restocked = {line.get("sku") for line in body.get("items") or [] if line.get("restocked")}
        before = {sku: await on_hand_by_warehouse(self, request, sku) for sku in restocked}
        response = await self.call(request)
        if response.status in (200, 201):
            await restore(self, request, before)
        return response


class RmaReceiptCreatesSecondReturn(Middleware):
    """A return received against an RMA is recorded as a new return; the RMA stays expected."""

    async def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/sandbox/returns":
            body = request.json if isinstance(request.json, dict) else {}
            request = request.with_json({k: v for k, v in body.items() if k != "return_id"})
        return await self.call(request)


class UnannouncedReturnLosesOrder(BodyRewrite):
    """Listed returns received without an RMA carry no order_id."""

    pattern = re.compile(r"/returns")

    def fix(self, resource: dict[str, Any]) -> None:
        if resource.get("rma") is None:
            resource["order_id"] = None


class ProcessedReturnStaysReceived(BodyRewrite):
    """A processed return still reads `received`."""

    pattern = RETURNS

    def fix(self, resource: dict[str, Any]) -> None:
        if resource.get("status") == "processed":
            resource["status"] = "received"


# === Damaged units on inbound receipts (decision 54) ==============================================
class DamagedNotReported(BodyRewrite):
    """Inbound lines read `damaged_quantity: 0` whatever arrived damaged."""

    def fix(self, resource: dict[str, Any]) -> None:
        for line in resource.get("items") or []:
            line["damaged_quantity"] = 0


class DamagedUnitsStocked(Middleware):
    """Units received damaged land in on_hand as if whole (put back by a `found` adjustment)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        match = RECEIVE_INBOUND.fullmatch(request.path)
        body = request.json if isinstance(request.json, dict) else {}
        if request.method != "POST" or match is None or response.status != 200:
            return response
        warehouse = (response.json or {}).get("warehouse_id")
        for line in body.get("items") or []:
            if line.get("damaged_quantity"):
                adjustment = {
                    "sku": line["sku"],
                    "warehouse_id": warehouse,
                    "quantity_delta": line["damaged_quantity"],
                    "reason": "found",
                }
                await self.api(request, "POST", "/sandbox/inventory-adjustments", adjustment)
        return response


class DamagedBeyondReceivedAccepted(Middleware):
    """A receipt line with more damaged than received units is taken as all of them damaged."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        receipt = request.method == "POST" and RECEIVE_INBOUND.fullmatch(request.path)
        if receipt and isinstance(body, dict) and isinstance(body.get("items"), list):
            request = request.with_json({**body, "items": [clamp(line) for line in body["items"]]})
        return await self.call(request)


def clamp(line: Any) -> Any:
    if not (isinstance(line, dict) and "damaged_quantity" in line):
        return line
    return {**line, "damaged_quantity": min(line["damaged_quantity"], line["received_quantity"])}
