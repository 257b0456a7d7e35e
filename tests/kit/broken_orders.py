"""Servers broken in exactly one order-related way, to prove each order check can fail.

Each class is an ASGI wrapper around the reference sandbox (`create_app(db_path)`): it buffers a
request, may rewrite it, may call the sandbox itself (with the caller's token), and may rewrite
the answer. The product sandbox has no flags for any of this (outline: broken servers live in
tests/). `CASES` in test_broken_orders.py maps each class to the requirement it breaks, plus any
requirement the same behaviour legitimately breaks as well.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import replace
from typing import Any

import fulfillment_spec

from tests.kit.asgi import Middleware, Request, Response

ORDERS = "/v1/orders"
ORDER = re.compile(r"^/v1/orders/([^/]+)$")
CANCEL = re.compile(r"^/v1/orders/([^/]+)/cancel$")


def error_response(like: Response, status: int, code: str, **extra: Any) -> Response:
    """An envelope answer reusing the sandbox answer's headers (X-Request-Id, rate limits)."""
    request_id = like.header("x-request-id") or f"req_broken_{uuid.uuid4().hex[:12]}"
    error = {"code": code, "message": f"broken server: {code}", "request_id": request_id, **extra}
    headers = [(k, v) for k, v in like.headers if k.lower() not in ("etag",)]
    return Response(status, headers, b"").with_json({"error": error}, status=status)


def now_z() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _is_create(request: Request) -> bool:
    return request.method == "POST" and request.path == ORDERS


class OrdersMiddleware(Middleware):
    """Pass-through wrapper on absolute paths ("/v1/orders"): subclasses override `handle`."""

    async def order(self, like: Request, order_id: str) -> dict[str, Any]:
        found = (await self.api(like, "GET", f"{ORDERS}/{order_id}")).json
        return found if isinstance(found, dict) else {}


# --- Idempotency (IDEM) -------------------------------------------------------------------------


class MissingKeyAccepted(OrdersMiddleware):
    """A create without Idempotency-Key is given a random key and goes through (201)."""

    async def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == ORDERS and request.key() is None:
            request = request.with_header("idempotency-key", uuid.uuid4().hex)
        return await self.call(request)


class ReplayCreatesNewId(OrdersMiddleware):
    """A replay (same key, same body) answers 201 with a fresh order id."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "POST" and request.path == ORDERS and response.status == 200:
            order = dict(response.json)
            order["id"] = f"ord_{uuid.uuid4().hex[:10]}"
            return response.with_json(order, status=201)
        return response


class FingerprintsRawBytes(OrdersMiddleware):
    """The body fingerprint is the raw bytes, so the same JSON with another key order or white
    space is taken for another body: 422 idempotency_key_reused."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.first_bytes: dict[str, bytes] = {}

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if request.method == "POST" and request.path == ORDERS and key:
            first = self.first_bytes.setdefault(key, request.body)
            if first != request.body:
                response = await self.call(request)
                return error_response(response, 422, "idempotency_key_reused")
        return await self.call(request)


class KeyReuseReplaysFirstOrder(OrdersMiddleware):
    """A reused key with another body is not refused: the first order is replayed (200)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.first: dict[str, Response] = {}

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        key = request.key()
        if request.method == "POST" and request.path == ORDERS and key:
            if response.status == 201:
                self.first[key] = response
            elif response.status == 422 and key in self.first:
                return replace(self.first[key], status=200)
        return response


class RacingCreatesDuplicate(OrdersMiddleware):
    """No lock on the key: a duplicate arriving while the first create is still in flight makes
    a second order (stored under a suffixed reference, reported under the one sent)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.in_flight: set[str] = set()

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if not (request.method == "POST" and request.path == ORDERS and key):
            return await self.call(request)
        if key in self.in_flight and isinstance(request.json, dict):
            body = dict(request.json)
            sent_reference = body.get("reference")
            body["reference"] = f"{sent_reference}-race-{uuid.uuid4().hex[:6]}"
            raced = request.with_json(body).with_header("idempotency-key", uuid.uuid4().hex)
            response = await self.call(raced)
            if response.status == 201:
                return response.with_json({**response.json, "reference": sent_reference})
            return response
        self.in_flight.add(key)
        try:
            await asyncio.sleep(0.3)  # the window in which a racing duplicate slips through
            return await self.call(request)
        finally:
            self.in_flight.discard(key)


class ForgetsKeysAfterOneSecond(OrdersMiddleware):
    """Idempotency keys are kept one second instead of 24 hours: a later retry is a new create
    (the sandbox then refuses the repeated reference with 409)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.first_seen: dict[str, float] = {}

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if request.method == "POST" and request.path == ORDERS and key:
            seen = self.first_seen.setdefault(key, time.monotonic())
            if time.monotonic() - seen > 1.0:
                request = request.with_header("idempotency-key", uuid.uuid4().hex)
        return await self.call(request)


class ReferenceReuseCreatesSecondOrder(OrdersMiddleware):
    """A reused reference under a new key is not refused: a second order is made (201)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if _is_create(request) and _code(response) == "duplicate_reference":
            body = dict(request.json)
            sent_reference = body["reference"]
            body["reference"] = f"{sent_reference}-second"
            fresh = request.with_json(body).with_header("idempotency-key", uuid.uuid4().hex)
            again = await self.call(fresh)
            if again.status == 201:
                return again.with_json({**again.json, "reference": sent_reference})
        return response


class QuotedKeyRefused(OrdersMiddleware):
    """An Idempotency-Key sent as a quoted string is refused with 400."""

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if request.method == "POST" and request.path == ORDERS and key and key.startswith('"'):
            like = Response(200, [("content-type", "application/json")])
            return error_response(like, 400, "validation_failed", field="Idempotency-Key")
        return await self.call(request)


class KeyCharsetTooNarrow(OrdersMiddleware):
    """An Idempotency-Key with a space or punctuation other than `-`, `_` or quotes is refused
    with 400, though printable ASCII is a valid key."""

    async def handle(self, request: Request) -> Response:
        key = request.key()
        narrow = key is not None and not re.fullmatch(r'[A-Za-z0-9_"-]+', key)
        if request.method == "POST" and request.path == ORDERS and narrow:
            like = Response(200, [("content-type", "application/json")])
            return error_response(like, 400, "validation_failed", field="Idempotency-Key")
        return await self.call(request)


class ControlCharacterKeyAccepted(OrdersMiddleware):
    """An Idempotency-Key with a tab or another control character is accepted (the character is
    replaced by `_` before the sandbox sees it), so the create goes through."""

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if request.method == "POST" and request.path == ORDERS and key:
            request = request.with_header("idempotency-key", re.sub(r"[^ -~]", "_", key))
        return await self.call(request)


def _order_create_limits() -> dict[tuple[str, ...], int]:
    """The documented maxLength of the createOrder fields API-015 probes, and maxItems of items."""
    schemas = fulfillment_spec.load_openapi()["components"]["schemas"]
    create, ship_to = schemas["OrderCreate"]["properties"], schemas["ShipToInput"]["properties"]
    return {
        ("order_number",): create["order_number"]["maxLength"],
        ("packing_note",): create["packing_note"]["maxLength"],
        ("ship_to", "name"): ship_to["name"]["maxLength"],
        ("ship_to", "address1"): ship_to["address1"]["maxLength"],
        ("items",): create["items"]["maxItems"],
    }


class OverLongFieldsCut(OrdersMiddleware):
    """A create whose fields are longer than documented is not refused: each is cut to its limit
    (an order_number of 900,000 characters is stored as its first 64) and the order is made."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == ORDERS and isinstance(body, dict):
            for path, limit in _order_create_limits().items():
                parent = body.get(path[0]) if len(path) == 2 else body
                value = parent.get(path[-1]) if isinstance(parent, dict) else None
                if isinstance(value, str | list) and len(value) > limit:
                    parent[path[-1]] = value[:limit]  # type: ignore[index]
            request = request.with_json(body)
        return await self.call(request)


class CarrierAddressLineLimit(OrdersMiddleware):
    """ship_to.address1 longer than 35 characters (a carrier's label line) is refused with 422,
    though the contract allows 100: the order of an ERP with long address lines is lost."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        ship_to = body.get("ship_to") if isinstance(body, dict) else None
        line = ship_to.get("address1") if isinstance(ship_to, dict) else None
        if request.method == "POST" and isinstance(line, str) and len(line) > 35:
            like = Response(200, [("content-type", "application/json")])
            return error_response(like, 422, "validation_failed", field="ship_to.address1")
        return await self.call(request)


class LongKeyTruncated(OrdersMiddleware):
    """An Idempotency-Key over 255 characters is cut to 255 and the create goes through."""

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if request.method == "POST" and request.path == ORDERS and key and len(key) > 255:
            request = request.with_header("idempotency-key", key[:255])
        return await self.call(request)


class KeyLockedAfterError(OrdersMiddleware):
    """A key whose create was refused with a 4xx stays locked: its retry gets 409
    idempotency_key_in_use instead of the stored 422."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.refused: set[str] = set()

    async def handle(self, request: Request) -> Response:
        key = request.key()
        if not (request.method == "POST" and request.path == ORDERS and key):
            return await self.call(request)
        response = await self.call(request)
        if key in self.refused:
            return error_response(response, 409, "idempotency_key_in_use").with_header(
                "Retry-After", "1"
            )
        if response.status == 422:
            self.refused.add(key)
        return response


class FirstCreateSaysReplayed(OrdersMiddleware):
    """Every create answer carries Idempotent-Replayed: true, the first one too."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "POST" and request.path == ORDERS:
            return response.with_header("Idempotent-Replayed", "true")
        return response


# --- Create, read, list (ORD) -------------------------------------------------------------------


class CreateAnswersProcessing(OrdersMiddleware):
    """The create answer says status processing instead of received."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "POST" and request.path == ORDERS and response.status == 201:
            return response.with_json({**response.json, "status": "processing"})
        return response


class GetSwapsNumberAndReference(OrdersMiddleware):
    """GET /orders/{id} answers with order_number and reference swapped."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "GET" and ORDER.match(request.path) and response.status == 200:
            order = dict(response.json)
            order["order_number"], order["reference"] = order["reference"], order["order_number"]
            return response.with_json(order)
        return response


class _IgnoresListFilter(OrdersMiddleware):
    ignored = ""

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == ORDERS and self.ignored in request.query:
            query = {k: v for k, v in request.query.items() if k != self.ignored}
            request = replace(request, query=query)
        return await self.call(request)


class IgnoresOrderNumberFilter(_IgnoresListFilter):
    """GET /orders ignores order_number."""

    ignored = "order_number"


class IgnoresReferenceFilter(_IgnoresListFilter):
    """GET /orders ignores reference."""

    ignored = "reference"


class IgnoresStatusFilter(_IgnoresListFilter):
    """GET /orders ignores status."""

    ignored = "status"


class UnknownOrderWithoutEnvelope(OrdersMiddleware):
    """An unknown order id gets a bare 404 text body instead of the error envelope."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "GET" and ORDER.match(request.path) and response.status == 404:
            return Response(404, [("content-type", "text/plain")], b"Not Found")
        return response


class MissingShipToAccepted(OrdersMiddleware):
    """A create without ship_to is completed with a default address and accepted."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        posted = request.method == "POST" and request.path == ORDERS
        if posted and isinstance(body, dict) and "ship_to" not in body:
            default = {"name": "Warehouse", "address1": "1 Dock Rd", "city": "Sydney"}
            request = request.with_json({**body, "ship_to": {**default, "country": "AU"}})
        return await self.call(request)


class QuantityZeroAccepted(OrdersMiddleware):
    """A line with quantity 0 is silently taken as quantity 1."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == ORDERS and isinstance(body, dict):
            items = body.get("items")
            if isinstance(items, list) and any(
                isinstance(i, dict) and i.get("quantity") == 0 for i in items
            ):
                fixed = [{**i, "quantity": i.get("quantity") or 1} for i in items]
                request = request.with_json({**body, "items": fixed})
        return await self.call(request)


class UnknownWarehouseWithoutField(OrdersMiddleware):
    """A create for an unknown warehouse gets its 422 without naming the field."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "POST" and request.path == ORDERS and response.status == 422:
            body = response.json
            error = dict(body.get("error") or {})
            if error.get("field") == "warehouse_id":
                error.pop("field")
                return response.with_json({"error": error})
        return response


class UnknownShippingMethodIgnored(OrdersMiddleware):
    """An unknown shipping_method_id is dropped and the order accepted without a method."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        refused = _is_create(request) and _code(response) == "invalid_shipping_method"
        if refused and isinstance(request.json, dict):
            body = {k: v for k, v in request.json.items() if k != "shipping_method_id"}
            fresh = request.with_json(body).with_header("idempotency-key", uuid.uuid4().hex)
            return await self.call(fresh)
        return response


class UnknownSkuAsValidationFailed(OrdersMiddleware):
    """An unknown SKU on create gets 422 validation_failed instead of unknown_sku."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "POST" and request.path == ORDERS and _code(response) == "unknown_sku":
            error = {**response.json["error"], "code": "validation_failed"}
            return response.with_json({"error": error})
        return response


class ShipmentsCarryOrderNumber(OrdersMiddleware):
    """Shipments carry the ERP's order_number in order_id instead of the order's id."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        shipments = request.path.startswith("/v1/shipments")
        if request.method == "GET" and shipments and response.status == 200:
            body = response.json
            if "data" not in body:
                return response.with_json({**body, "order_id": body.get("order_number")})
            rows = [{**row, "order_id": row.get("order_number")} for row in body.get("data") or []]
            return response.with_json({**body, "data": rows})
        return response


class GiftMessageDropped(OrdersMiddleware):
    """gift_message sent on create is not stored (reads show null)."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == ORDERS and isinstance(body, dict):
            request = request.with_json({k: v for k, v in body.items() if k != "gift_message"})
        return await self.call(request)


class CountryNameAccepted(OrdersMiddleware):
    """ship_to.country is normalised ("Australia", "au" -> "AU") instead of refused."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == ORDERS and isinstance(body, dict):
            ship_to = body.get("ship_to")
            if isinstance(ship_to, dict) and isinstance(ship_to.get("country"), str):
                country = ship_to["country"][:2].upper()
                request = request.with_json({**body, "ship_to": {**ship_to, "country": country}})
        return await self.call(request)


class MissingItemsIs400(OrdersMiddleware):
    """A create without items (or with none) gets 400 instead of 422."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        response = await self.call(request)
        no_items = isinstance(body, dict) and not body.get("items")
        if _is_create(request) and no_items and response.status == 422:
            return replace(response, status=400)
        return response


class UnitPriceAsNumber(OrdersMiddleware):
    """Reads of an order give unit_price as a JSON number (floating-point money)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "GET" and ORDER.match(request.path) and response.status == 200:
            order = response.json
            items = [
                {**line, "unit_price": float(line["unit_price"])}
                if line.get("unit_price")
                else line
                for line in order.get("items") or []
            ]
            return response.with_json({**order, "items": items})
        return response


class ShippingMethodNameRefused(OrdersMiddleware):
    """A create naming shipping_method without shipping_method_id is refused with 422."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        by_name = isinstance(body, dict) and not body.get("shipping_method_id")
        if _is_create(request) and by_name and body.get("shipping_method"):
            like = Response(200, [("content-type", "application/json")])
            return error_response(like, 422, "invalid_shipping_method", field="shipping_method")
        return await self.call(request)


# --- Amend (AMD) ---------------------------------------------------------------------------------


def _is_patch(request: Request) -> re.Match[str] | None:
    return ORDER.match(request.path) if request.method == "PATCH" else None


class PatchResetsUnsentFlags(OrdersMiddleware):
    """PATCH is a replace for the handling flags: signature_required and insurance not sent are
    reset to false."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if _is_patch(request) and isinstance(body, dict):
            request = request.with_json({"signature_required": False, "insurance": False, **body})
        return await self.call(request)


class PatchMergesItems(OrdersMiddleware):
    """items[] in a PATCH is merged into the existing lines instead of replacing them."""

    async def handle(self, request: Request) -> Response:
        match, body = _is_patch(request), request.json
        if match and isinstance(body, dict) and isinstance(body.get("items"), list):
            current = await self.order(request, match.group(1))
            sent = {item.get("sku") for item in body["items"]}
            kept = [
                {"sku": line["sku"], "quantity": line["quantity"]}
                for line in current.get("items") or []
                if line.get("sku") not in sent
            ]
            request = request.with_json({**body, "items": [*kept, *body["items"]]})
        return await self.call(request)


class UpdatedAtFrozen(OrdersMiddleware):
    """An order's updated_at never moves: reads show created_at."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if ORDER.match(request.path) and response.status == 200:
            order = response.json
            return response.with_json({**order, "updated_at": order.get("created_at")})
        return response


class VersionFrozen(OrdersMiddleware):
    """An order's version never moves: every representation says "1", ETag too, and If-Match
    "1" is taken as the current version (so a stale If-Match cannot be detected either)."""

    async def handle(self, request: Request) -> Response:
        match = _is_patch(request)
        if match and request.headers.get("if-match"):
            current = await self.order(request, match.group(1))
            request = request.with_header("if-match", f'"{current.get("version")}"')
        response = await self.call(request)
        order = response.json
        answered = request.path.startswith(ORDERS) and response.status in (200, 201)
        if answered and isinstance(order, dict) and "version" in order:
            return response.with_json({**order, "version": "1"}).with_header("ETag", '"1"')
        return response


class EtagWeak(OrdersMiddleware):
    """ETag is sent weak, `W/"<version>"`: If-Match compares strongly (RFC 9110 section 13.1.1),
    so a client echoing it could never match."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        etag = response.header("etag")
        if etag and ORDER.match(request.path):
            return response.with_header("ETag", f"W/{etag}")
        return response


class EtagUnquoted(OrdersMiddleware):
    """ETag carries the bare version, without the quotes of an entity tag."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        etag = response.header("etag")
        if etag and ORDER.match(request.path):
            return response.with_header("ETag", etag.strip('"'))
        return response


class IgnoresIfMatch(OrdersMiddleware):
    """If-Match is replaced by the current version: a stale edit silently wins."""

    async def handle(self, request: Request) -> Response:
        match = _is_patch(request)
        if match and request.headers.get("if-match"):
            current = await self.order(request, match.group(1))
            request = request.with_header("if-match", f'"{current.get("version")}"')
        return await self.call(request)


class StaleIfMatchRefusedButApplied(OrdersMiddleware):
    """A stale If-Match gets 409 version_conflict, but the edit is applied anyway."""

    async def handle(self, request: Request) -> Response:
        match = _is_patch(request)
        if match and request.headers.get("if-match"):
            current = await self.order(request, match.group(1))
            if request.headers["if-match"] != f'"{current.get("version")}"':
                fresh = request.with_header("if-match", f'"{current.get("version")}"')
                applied = await self.call(fresh)
                if applied.status == 404:  # an unknown order stays 404 (ORD-006)
                    return applied
                return error_response(applied, 409, "version_conflict")
        return await self.call(request)


class MissingIfMatchRefusedButApplied(OrdersMiddleware):
    """A PATCH without If-Match gets 428 precondition_required, but is applied anyway."""

    async def handle(self, request: Request) -> Response:
        match = _is_patch(request)
        if match and not request.headers.get("if-match"):
            current = await self.order(request, match.group(1))
            applied = await self.call(
                request.with_header("if-match", f'"{current.get("version")}"')
            )
            return error_response(applied, 428, "precondition_required")
        return await self.call(request)


class PreconditionBeforeExistence(OrdersMiddleware):
    """Every PATCH without If-Match is refused with 428 before the order is looked up, so an
    unknown order id gets 428 instead of 404."""

    async def handle(self, request: Request) -> Response:
        if _is_patch(request) and request.header("if-match") is None:
            probe = await self.api(request, "GET", ORDERS)
            return error_response(probe, 428, "precondition_required", field="If-Match")
        return await self.call(request)


class AmendAfterPickAnswers200(OrdersMiddleware):
    """An amend refused with too_late_to_amend is answered 200 with the (unchanged) order."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        match = _is_patch(request)
        if match and response.status == 409 and _code(response) == "too_late_to_amend":
            return response.with_json(await self.order(request, match.group(1)), status=200)
        return response


class WarehouseAmendIgnored(OrdersMiddleware):
    """warehouse_id in a PATCH is silently dropped and the rest applied (200)."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        match = _is_patch(request)
        if match and isinstance(body, dict) and "warehouse_id" in body:
            rest = {k: v for k, v in body.items() if k != "warehouse_id"}
            if not rest:  # nothing else to apply: answer with the order as it is
                response = await self.api(request, "GET", request.path)
                return response
            request = request.with_json(rest)
        return await self.call(request)


class MergePatchRefused(OrdersMiddleware):
    """A PATCH sent as application/merge-patch+json gets 415."""

    async def handle(self, request: Request) -> Response:
        media = request.headers.get("content-type", "")
        if _is_patch(request) and media.startswith("application/merge-patch+json"):
            like = Response(200, [("content-type", "application/json")])
            return error_response(like, 415, "unsupported_media_type")
        return await self.call(request)


class PatchAnswersOldOrder(OrdersMiddleware):
    """A successful PATCH answers 200 with the order as it was before the change."""

    async def handle(self, request: Request) -> Response:
        match = _is_patch(request)
        if not match:
            return await self.call(request)
        before = await self.order(request, match.group(1))
        response = await self.call(request)
        if response.status == 200:
            return response.with_json(before)
        return response


class OnHoldAmendRefused(OrdersMiddleware):
    """An on_hold order cannot be amended (409 too_late_to_amend)."""

    async def handle(self, request: Request) -> Response:
        match = _is_patch(request)
        if match:
            current = await self.order(request, match.group(1))
            if current.get("status") == "on_hold":
                like = Response(200, [("content-type", "application/json")])
                return error_response(like, 409, "too_late_to_amend", order_status="on_hold")
        return await self.call(request)


class InvalidAmendBumpsVersion(OrdersMiddleware):
    """An amend refused with 422 still bumps the order's version (a half-applied write)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        match = _is_patch(request)
        if match and response.status == 422:
            current = await self.order(request, match.group(1))
            same = {"signature_required": bool(current.get("signature_required"))}
            await self.api(request, "PATCH", request.path, same)
        return response


# --- Cancel (CAN) --------------------------------------------------------------------------------


def _code(response: Response) -> Any:
    body = response.json
    return (body.get("error") or {}).get("code") if isinstance(body, dict) else None


class _CancelMiddleware(OrdersMiddleware):
    async def handle(self, request: Request) -> Response:
        match = CANCEL.match(request.path) if request.method == "POST" else None
        if not match:
            return await self.call(request)
        before = await self.order(request, match.group(1))
        return await self.cancel(request, before)

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        return await self.call(request)


class CancelAnswersOldStatus(_CancelMiddleware):
    """Cancelling a received order answers with the order as it was (status received)."""

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        response = await self.call(request)
        if before.get("status") == "received" and response.status == 200:
            return response.with_json({**response.json, "status": "received"})
        return response


class SecondCancelConflicts(_CancelMiddleware):
    """Cancelling an already cancelled order answers 409 instead of 200 (not idempotent)."""

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        response = await self.call(request)
        if before.get("status") == "cancelled":
            return error_response(response, 409, "invalid_transition", order_status="cancelled")
        return response


class _RefusesCancelIn(_CancelMiddleware):
    refused_status = ""

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        if before.get("status") == self.refused_status:
            like = Response(200, [("content-type", "application/json")])
            return error_response(like, 409, "too_late_to_cancel", order_status=self.refused_status)
        return await self.call(request)


class OnHoldCancelRefused(_RefusesCancelIn):
    """An on_hold order cannot be cancelled (409)."""

    refused_status = "on_hold"


class BackorderedCancelRefused(_RefusesCancelIn):
    """A backordered order cannot be cancelled (409)."""

    refused_status = "backordered"


class _SwallowsCancelConflict(_CancelMiddleware):
    swallowed = ""
    in_status = ""

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        response = await self.call(request)
        conflict = response.status == 409 and _code(response) == self.swallowed
        if conflict and before.get("status") == self.in_status:
            fake = {**before, "status": "cancelled", "cancelled_at": now_z()}
            return response.with_json(fake, status=200)
        return response


class CancelAfterPickAnswers200(_SwallowsCancelConflict):
    """A cancel refused with too_late_to_cancel is answered 200 with status cancelled."""

    swallowed = "too_late_to_cancel"
    in_status = "processing"


class CancelAfterShipAnswers200(_SwallowsCancelConflict):
    """A cancel of a shipped order is answered 200 with status cancelled."""

    swallowed = "already_shipped"
    in_status = "shipped"


class CancelAfterPartialShipAnswers200(_SwallowsCancelConflict):
    """A cancel of a partially shipped order is answered 200 with status cancelled."""

    swallowed = "already_shipped"
    in_status = "partially_shipped"


class CancelledAtMissing(OrdersMiddleware):
    """Reads of an order never show cancelled_at (always null)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "GET" and ORDER.match(request.path) and response.status == 200:
            return response.with_json({**response.json, "cancelled_at": None})
        return response


class CancelKeepsStock(_CancelMiddleware):
    """Cancelling does not give the stock back: available stays as it was with the order.
    (Emulated by lowering on_hand by the order's quantities through the sandbox after the
    cancel, which is what the ERP sees when the allocation is never released.)"""

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        response = await self.call(request)
        if response.status != 200 or before.get("status") == "cancelled":
            return response
        warehouse = before.get("warehouse_id")
        for line in before.get("items") or []:
            inventory = (await self.api(request, "GET", "/v1/inventory", sku=line["sku"])).json
            for item in (inventory or {}).get("data") or []:
                for stock in item.get("warehouses") or []:
                    if stock.get("warehouse_id") == warehouse:
                        lowered = max(0, stock["on_hand"] - line["quantity"])
                        payload = {
                            "sku": line["sku"],
                            "warehouse_id": warehouse,
                            "on_hand": lowered,
                        }
                        await self.api(request, "POST", "/v1/sandbox/inventory", payload)
        return response


class CancelRefusesBody(_CancelMiddleware):
    """A cancel sent with any body (even `{}`) is refused with 400: cancel takes no body."""

    async def cancel(self, request: Request, before: dict[str, Any]) -> Response:
        if request.body.strip():
            probe = await self.api(request, "GET", ORDERS)
            return error_response(probe, 400, "validation_failed")
        return await self.call(request)
