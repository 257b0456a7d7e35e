"""Servers with subtle bugs: each passes the obvious checks and breaks one rule only where the
data is adversarial (ties, colliding filter values, rare transitions, edge values, chunked
bodies). Written before the checks that catch them (issue 15); test_broken_subtle.py maps each to
the requirement it breaks and measures how many the kit catches.

The classes:
- orderings that are only right when no two rows share an `updated_at` (tests/kit/clocks.py);
- exact filters implemented loosely: prefix, case-insensitive or substring match (`_LooseFilter`);
- illegal state transitions a control endpoint accepts or refuses with the wrong code;
- over-validation: schema-valid orders refused with 422 `validation_failed`;
- request framing: chunked bodies (Transfer-Encoding: chunked, no Content-Length) mishandled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.clocks import BurstClock, ms
from tests.kit.rewrites import Middleware, is_list, with_error

# --- ties: a clock that gives one stamp to a burst of writes -------------------------------------


class BurstTiesInArrivalOrder(BurstClock):
    """`ORDER BY updated_at` alone: rows sharing an `updated_at` come in the order they were
    written, not by id (PAG-005's tie-break)."""


class BurstTiesByIdDescending(BurstClock):
    """Rows sharing an `updated_at` are served by id descending (`ORDER BY updated_at, id DESC`
    copied from a "newest first" screen)."""

    def tie_order(self, rows: list[Any]) -> list[Any]:
        def key(row: Any) -> str:
            return str(row.get("id") or row.get("sku") or "") if isinstance(row, dict) else ""

        by_id = sorted(rows, key=key, reverse=True)
        return sorted(by_id, key=lambda row: ms(row.get("updated_at")) or 0)


# --- filters that collide ------------------------------------------------------------------------


class _LooseFilter(Middleware):
    """An exact filter (`param` on `path`) implemented loosely by `matches`: the rows of every
    value the server knows (from the creates it served) that `matches` the one asked for."""

    path = "/orders"
    param = "reference"
    key = "id"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.known: set[str] = set()

    def matches(self, stored: str, wanted: str) -> bool:
        raise NotImplementedError

    def learn(self, request: Request) -> Iterable[str]:
        body = request.json
        if request.method == "POST" and request.path == self.path and isinstance(body, dict):
            yield str(body.get(self.param) or "")

    async def handle(self, request: Request) -> Response:
        wanted = request.query.get(self.param)
        if not (is_list(request, self.path) and wanted and "cursor" not in request.query):
            response = await self.call(request)
            if response.status < 300:
                self.known.update(value for value in self.learn(request) if value)
            return response
        response = await self.call(request)
        body = response.json
        if response.status != 200 or not isinstance(body, dict):
            return response
        rows = {str(row.get(self.key)): row for row in body.get("data") or []}
        for other in sorted(self.known):
            if other != wanted and self.matches(other, wanted):
                extra = (await self.call(request.with_query(**{self.param: other}))).json
                for row in (extra or {}).get("data") or []:
                    rows.setdefault(str(row.get(self.key)), row)
        body["data"] = sorted(rows.values(), key=lambda r: (str(r.get("updated_at")), r[self.key]))
        return response.with_json(body)


class ReferencePrefixMatch(_LooseFilter):
    """`reference=X` is `reference LIKE 'X%'`: X also finds X-2 (ORD-004)."""

    def matches(self, stored: str, wanted: str) -> bool:
        return stored.startswith(wanted)


class ReferenceCaseInsensitive(_LooseFilter):
    """`reference=X` compares under a case-insensitive collation: ABC also finds abc."""

    def matches(self, stored: str, wanted: str) -> bool:
        return stored.lower() == wanted.lower()


class OrderNumberSubstringMatch(_LooseFilter):
    """`order_number=X` is a search box: `LIKE '%X%'` (ORD-003)."""

    param = "order_number"

    def matches(self, stored: str, wanted: str) -> bool:
        return wanted in stored


class _LooseSkuFilter(_LooseFilter):
    path, param, key = "/inventory", "sku", "sku"

    def learn(self, request: Request) -> Iterable[str]:
        body = request.json
        if request.method == "POST" and request.path == "/sandbox/inventory":
            yield str((body or {}).get("sku") or "")


class SkuPrefixMatch(_LooseSkuFilter):
    """`sku=X` is a prefix search: X also lists X-RED (INV-007)."""

    def matches(self, stored: str, wanted: str) -> bool:
        return stored.startswith(wanted)


class SkuCaseInsensitive(_LooseSkuFilter):
    """`sku=X` matches case-insensitively: sku-1 also lists SKU-1 (INV-007)."""

    def matches(self, stored: str, wanted: str) -> bool:
        return stored.lower() == wanted.lower()


# --- illegal transitions -------------------------------------------------------------------------

ORDER_CONTROL = re.compile(r"^/sandbox/orders/([^/]+)/(pick|hold|ship)$")
SHIPMENT_CONTROL = re.compile(r"^/sandbox/shipments/([^/]+)/(advance|void)$")


class _AcceptsTransition(Middleware):
    """A control endpoint that answers 200 to one impossible move (`accepts`), with the
    resource as it would look had the move been made (the stored state stays as it was)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method != "POST" or response.code != "invalid_transition":
            return response
        order = ORDER_CONTROL.fullmatch(request.path)
        shipment = SHIPMENT_CONTROL.fullmatch(request.path)
        match = order or shipment
        if match is None:
            return response
        kind = "/orders" if order else "/shipments"
        current = (await self.api(request, "GET", f"{kind}/{match.group(1)}")).json or {}
        step = match.group(2)
        target = (request.json or {}).get("status") if step == "advance" else None
        moved = self.accepts(step, str(current.get("status")), target)
        if moved is None:
            return response
        return response.with_json({**current, "status": moved}, status=200)

    def accepts(self, step: str, status: str, target: str | None) -> str | None:
        """The status the server claims after `step` from `status`, or None to refuse."""
        raise NotImplementedError


class HoldOfShippedOrderAccepted(_AcceptsTransition):
    """Hold only checks "not cancelled": a shipped order can be put on hold (SBX-004)."""

    def accepts(self, step: str, status: str, target: str | None) -> str | None:
        return "on_hold" if step == "hold" and status == "shipped" else None


class PickOfPartiallyShippedAccepted(_AcceptsTransition):
    """Pick accepts a partially shipped order (it "still has open lines")."""

    def accepts(self, step: str, status: str, target: str | None) -> str | None:
        return "processing" if step == "pick" and status == "partially_shipped" else None


class ShipmentMovesBackward(_AcceptsTransition):
    """advance takes any non-final status, so a late in_transit scan moves an
    out_for_delivery shipment backwards."""

    def accepts(self, step: str, status: str, target: str | None) -> str | None:
        backward = status == "out_for_delivery" and target == "in_transit"
        return target if step == "advance" and backward else None


class DeliveredShipmentTakesException(_AcceptsTransition):
    """A delivered shipment can still be advanced to exception (a damaged-on-arrival report)."""

    def accepts(self, step: str, status: str, target: str | None) -> str | None:
        late = status == "delivered" and target == "exception"
        return target if step == "advance" and late else None


class VoidOfExceptionShipmentAccepted(_AcceptsTransition):
    """void accepts a shipment in exception (the label "never scanned properly")."""

    def accepts(self, step: str, status: str, target: str | None) -> str | None:
        return "voided" if step == "void" and status == "exception" else None


class ShipOfCancelledOrderWrongCode(Middleware):
    """Shipping a cancelled order is refused, but with 409 `order_cancelled` instead of the
    documented `invalid_transition`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        error = body.get("error") if isinstance(body, dict) else None
        match = ORDER_CONTROL.fullmatch(request.path)
        ship = match is not None and match.group(2) == "ship"
        if ship and isinstance(error, dict) and error.get("order_status") == "cancelled":
            return with_error(response, 409, "order_cancelled")
        return response


# --- over-validation -----------------------------------------------------------------------------


def _is_create(request: Request) -> bool:
    return request.method == "POST" and request.path == "/orders"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class _RefusesCreate(Middleware):
    """POST /orders refused with 422 `validation_failed` naming `field` when `refuses` says so."""

    field = ""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if _is_create(request) and isinstance(body, dict) and self.refuses(body):
            response = await self.call(replace(request, method="GET", body=b""))
            refused = with_error(response, 422, "validation_failed")
            error = {**refused.json["error"], "field": self.field}
            return refused.with_json({"error": error}, status=422)
        return await self.call(request)

    def refuses(self, body: dict[str, Any]) -> bool:
        raise NotImplementedError


class NonAsciiShipToRefused(_RefusesCreate):
    """The address validator only knows ASCII: José or Zürich gets 422 (API-010)."""

    field = "ship_to.name"

    def refuses(self, body: dict[str, Any]) -> bool:
        return any(not text.isascii() for text in _strings(body.get("ship_to")))


class AstralCharactersRefused(_RefusesCreate):
    """A database in 3-byte UTF-8 (MySQL utf8mb3): an emoji anywhere in the order gets 422."""

    field = "packing_note"

    def refuses(self, body: dict[str, Any]) -> bool:
        return any(ord(char) > 0xFFFF for text in _strings(body) for char in text)


class QuantityAtMaximumRefused(_RefusesCreate):
    """The quantity bound is checked with `>=`: exactly 1,000,000 (the schema's maximum) is
    refused."""

    field = "items[0].quantity"

    def refuses(self, body: dict[str, Any]) -> bool:
        items = body.get("items") or []
        return any(isinstance(i, dict) and i.get("quantity") == 1_000_000 for i in items)


class NullOptionalRefused(_RefusesCreate):
    """An optional field sent as null (which the schema allows) is refused, as if null were a
    wrong type."""

    field = "ship_to.company"

    def refuses(self, body: dict[str, Any]) -> bool:
        ship_to = body.get("ship_to") if isinstance(body.get("ship_to"), dict) else {}
        return any(value is None for value in (*body.values(), *ship_to.values()))


# --- request framing -----------------------------------------------------------------------------


def _chunked(request: Request) -> bool:
    return "content-length" not in request.headers and bool(request.header("transfer-encoding"))


class ChunkedBodyTreatedAsEmpty(Middleware):
    """The body is read up to Content-Length, so a chunked body (no Content-Length) arrives
    empty: a valid chunked order is refused."""

    async def handle(self, request: Request) -> Response:
        if _chunked(request):
            request = replace(request, body=b"")
        return await self.call(request)


class ChunkedBodyLimitNotEnforced(Middleware):
    """The size limit is checked on Content-Length only: a 16 MiB chunked order is read whole
    and accepted (its oversized note cut to fit)."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if _chunked(request) and len(request.body) > 1024 * 1024 and isinstance(body, dict):
            note = body.get("packing_note")
            if isinstance(note, str):
                request = request.with_json({**body, "packing_note": note[:1000]})
        return await self.call(request)


# --- data-dependent refusals under the schema's code ---------------------------------------------


class _DataRefusalAsValidationFailed(Middleware):
    """A data-dependent refusal (`code` on `pattern`) answered with the schema's
    `validation_failed`, as the contract said before issue 9 settled it: a client cannot tell a
    malformed request from one about an unknown order."""

    pattern = re.compile(r"/returns")
    code = "unknown_order"

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if self.pattern.fullmatch(request.path) and response.code == self.code:
            error = {**response.json["error"], "code": "validation_failed"}
            return response.with_json({"error": error})
        return response


class ReturnUnknownOrderAsValidationFailed(_DataRefusalAsValidationFailed):
    """An RMA for an unknown order gets 422 `validation_failed`, not `unknown_order` (RET-004)."""


class ShipOverQuantityAsValidationFailed(_DataRefusalAsValidationFailed):
    """Shipping more than is unshipped gets 422 `validation_failed`, not
    `quantity_exceeds_unshipped` (SBX-005)."""

    pattern = re.compile(r"/sandbox/orders/[^/]+/ship")
    code = "quantity_exceeds_unshipped"


# --- data-dependent refusals whose reason does not hold (API-010 with teeth) -----------------


class SecondWarehouseRefusedAsUnknown(Middleware):
    """The warehouse lookup reads a cache that only ever learned the first warehouse an order
    was placed at: an order for any other warehouse GET /warehouses lists gets 422
    `invalid_warehouse` (a data-dependent code, so API-010's malformed-code rule never sees it)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.known: str | None = None

    async def handle(self, request: Request) -> Response:
        body = request.json
        warehouse = body.get("warehouse_id") if isinstance(body, dict) else None
        if not (_is_create(request) and isinstance(warehouse, str)):
            return await self.call(request)
        if self.known is not None and warehouse != self.known:
            like = await self.call(replace(request, method="GET", body=b""))
            refused = with_error(like, 422, "invalid_warehouse")
            message = f"warehouse_id {warehouse!r} is not a known warehouse."
            error = {**refused.json["error"], "message": message, "field": "warehouse_id"}
            return refused.with_json({"error": error}, status=422)
        response = await self.call(request)
        if response.status == 201 and self.known is None:
            self.known = warehouse
        return response


class _RefusesAtAllocated(Middleware):
    """A stock change to `path` that would leave on_hand exactly at the allocated units is
    refused 409 `code`: the bound is checked with `<=` where the contract says below."""

    path = ""
    code = ""

    def new_on_hand(self, body: dict[str, Any], on_hand: int) -> int | None:
        raise NotImplementedError

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method != "POST" or request.path != self.path or not isinstance(body, dict):
            return await self.call(request)
        sku, warehouse = str(body.get("sku")), body.get("warehouse_id")
        read = await self.api(request, "GET", "/inventory", sku=sku)
        rows = read.json.get("data") if isinstance(read.json, dict) else None
        entry = next(
            (
                e
                for row in rows or []
                for e in row.get("warehouses") or []
                if row.get("sku") == sku and e.get("warehouse_id") == warehouse
            ),
            None,
        )
        if entry is not None:
            new = self.new_on_hand(body, int(entry.get("on_hand") or 0))
            allocated = int(entry.get("allocated") or 0)
            if new is not None and allocated > 0 and new == allocated:
                return with_error(read, 409, self.code)
        return await self.call(request)


class SetStockToAllocatedRefused(_RefusesAtAllocated):
    """POST /sandbox/inventory with on_hand exactly the allocated units gets 409
    `stock_allocated`, though nothing would be short."""

    path = "/sandbox/inventory"
    code = "stock_allocated"

    def new_on_hand(self, body: dict[str, Any], on_hand: int) -> int | None:
        value = body.get("on_hand")
        return value if isinstance(value, int) else None


class AdjustmentToAllocatedRefused(_RefusesAtAllocated):
    """An adjustment that takes on_hand down to exactly the allocated units gets 409
    `insufficient_stock`."""

    path = "/sandbox/inventory-adjustments"
    code = "insufficient_stock"

    def new_on_hand(self, body: dict[str, Any], on_hand: int) -> int | None:
        delta = body.get("quantity_delta")
        return on_hand + delta if isinstance(delta, int) and delta < 0 else None


# --- free text at its edges in the creates beyond orders (API-010) ---------------------------


class _RefusesField(Middleware):
    """POST `path` refused 422 `validation_failed` naming `field` when `refuses` its value."""

    path = ""
    field = ""

    def refuses(self, value: str) -> bool:
        raise NotImplementedError

    async def handle(self, request: Request) -> Response:
        body = request.json
        value = body.get(self.field) if isinstance(body, dict) else None
        ours = request.method == "POST" and request.path == self.path
        if ours and isinstance(value, str) and self.refuses(value):
            like = await self.call(replace(request, method="GET", path="/warehouses", body=b""))
            refused = with_error(like, 422, "validation_failed")
            error = {**refused.json["error"], "field": self.field}
            return refused.with_json({"error": error}, status=422)
        return await self.call(request)


class AsnSupplierAsciiOnly(_RefusesField):
    """The ASN import maps `supplier` to a Latin-1 column: Müller or 商事 gets 422."""

    path = "/inbound-shipments"
    field = "supplier"

    def refuses(self, value: str) -> bool:
        return not value.isascii()


class AdjustmentNoteAtMaximumRefused(_RefusesField):
    """The adjustment note is checked with `>=` against its maxLength: exactly 500 characters
    is refused."""

    path = "/sandbox/inventory-adjustments"
    field = "note"

    def refuses(self, value: str) -> bool:
        return len(value) >= 500
