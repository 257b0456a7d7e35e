"""Servers broken in exactly one way each, for the polling, shipment, inventory, reference-data,
error, auth, security and sandbox checks.

Every class wraps the reference sandbox (`create_app(db_path)`) as ASGI middleware: it buffers a
request, may rewrite it, may call the sandbox itself, and may rewrite the answer. The product
sandbox has no flags for any of this (outline: broken servers live in tests/). The wrappers act
on the API under /v1 only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

PREFIX = "/v1"
POLLED = ("/orders", "/shipments", "/inventory")
ACME = "wms_test_acme_token"
GLOBEX = "wms_test_globex_token"


def parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Request:
    """A buffered request; `path` is relative to /v1 ("/orders"), header names lower-case."""

    scope: dict[str, Any]
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def with_json(self, payload: Any) -> Request:
        return replace(self, body=json.dumps(payload).encode())

    def with_query(self, **changes: str | None) -> Request:
        query = {k: v for k, v in {**self.query, **changes}.items() if v is not None}
        return replace(self, query=query)

    def with_header(self, name: str, value: str | None) -> Request:
        headers = {k: v for k, v in self.headers.items() if k != name.lower()}
        if value is not None:
            headers[name.lower()] = value
        return replace(self, headers=headers)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def is_list(self, *paths: str) -> bool:
        return self.method == "GET" and self.path in (paths or POLLED)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def with_json(self, payload: Any, status: int | None = None) -> Response:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return Response(status or self.status, headers, json.dumps(payload).encode())

    def with_body(self, body: bytes, content_type: str) -> Response:
        headers = [
            (k, v) for k, v in self.headers if k.lower() not in ("content-length", "content-type")
        ]
        return Response(self.status, [*headers, ("content-type", content_type)], body)

    @property
    def code(self) -> Any:
        body = self.json
        error = body.get("error") if isinstance(body, dict) else None
        return error.get("code") if isinstance(error, dict) else None


def with_error(like: Response, status: int, code: str) -> Response:
    """An envelope answer that keeps the sandbox answer's headers (X-Request-Id, rate limits)."""
    request_id = like.header("x-request-id") or "req_broken"
    error = {"code": code, "message": f"broken server: {code}", "request_id": request_id}
    return like.with_json({"error": error}, status=status)


class Middleware:
    """Pass-through wrapper around the sandbox: subclasses override `handle`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        path = scope["path"]
        inside = path.startswith(PREFIX + "/")
        request = Request(
            scope, scope["method"], path[len(PREFIX) :] if inside else path, query, headers, body
        )
        response = await (self.handle(request) if inside else self.call(request, raw_path=True))
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        raw = [(k, v) for k, v in raw if k.lower() != b"content-length"]
        raw.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": raw})
        await send({"type": "http.response.body", "body": response.body})

    async def handle(self, request: Request) -> Response:
        return await self.call(request)

    async def call(self, request: Request, *, raw_path: bool = False) -> Response:
        """Runs `request` through the sandbox and buffers its answer."""
        path = request.path if raw_path else PREFIX + request.path
        headers = {k: v for k, v in request.headers.items() if k != "content-length"}
        headers["content-length"] = str(len(request.body))
        scope = {
            **request.scope,
            "method": request.method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(request.query).encode(),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
        done = asyncio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        response = Response(500)

        async def send_(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                response.headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                response.body += message.get("body", b"")
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send_)
        done.set()
        return response

    async def api(
        self,
        like: Request,
        method: str,
        path: str,
        payload: Any = None,
        token: str | None = None,
        **params: str,
    ) -> Response:
        """Calls the sandbox on the caller's behalf (same token unless `token` is given)."""
        auth = f"Bearer {token}" if token else like.headers.get("authorization", "")
        headers = {"authorization": auth}
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["content-type"] = "application/json"
        return await self.call(Request(like.scope, method, path, dict(params), headers, body))


class PageRewrite(Middleware):
    """Rewrites the rows of list pages (`rows`) or their pagination (`pagination`)."""

    paths: tuple[str, ...] = POLLED

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if request.is_list(*self.paths) and response.status == 200 and isinstance(body, dict):
            body["data"] = self.rows(request, list(body.get("data") or []))
            body["pagination"] = self.pagination(request, dict(body.get("pagination") or {}))
            return response.with_json(body)
        return response

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows

    def pagination(self, request: Request, pagination: dict[str, Any]) -> dict[str, Any]:
        return pagination


def map_resources(body: Any, kind: str, fn: Any) -> Any:
    """Applies `fn` to every resource of `kind` ("shipment", "order", "inventory") in a body:
    the object itself, the rows of a list, and an order's embedded shipments."""

    def visit(obj: Any) -> Any:
        if not isinstance(obj, dict):
            return obj
        if "data" in obj and isinstance(obj["data"], list):
            obj["data"] = [visit(row) for row in obj["data"]]
            return obj
        if kind == "shipment" and "shipments" in obj and isinstance(obj["shipments"], list):
            obj["shipments"] = [fn(s) if isinstance(s, dict) else s for s in obj["shipments"]]
        if kind == "shipment" and "parcels" in obj:
            return fn(obj)
        if kind == "order" and "order_number" in obj and "ship_to" in obj:
            return fn(obj)
        if kind == "inventory" and "warehouses" in obj and "sku" in obj:
            return fn(obj)
        return obj

    return visit(body)


class ResourceRewrite(Middleware):
    """Rewrites every resource of `kind` in every successful answer."""

    kind = "shipment"

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if 200 <= response.status < 300 and response.json is not None:
            return response.with_json(map_resources(response.json, self.kind, self.fix))
        return response

    def fix(self, resource: dict[str, Any]) -> dict[str, Any]:
        return resource


# === Pagination (PAG) =============================================================================


class ExclusiveUpdatedSince(PageRewrite):
    """`updated_since` is exclusive: a row whose updated_at equals the bound is left out."""

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        bound = parse_ts(request.query.get("updated_since"))
        return [r for r in rows if bound is None or parse_ts(r.get("updated_at")) != bound]


class DescendingPages(PageRewrite):
    """Each page comes newest first."""

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(reversed(rows))


class HasMoreOnLastPage(PageRewrite):
    """The last page says has_more true, with next_cursor null."""

    def pagination(self, request: Request, pagination: dict[str, Any]) -> dict[str, Any]:
        return {**pagination, "has_more": True}


class PagesOverLimit(Middleware):
    """Serves one row more than `limit` asks for."""

    async def handle(self, request: Request) -> Response:
        limit = request.query.get("limit")
        if request.method == "GET" and limit and limit.isdigit() and 1 <= int(limit) < 200:
            request = request.with_query(limit=str(int(limit) + 1))
        return await self.call(request)


class EmptyPageWithMore(Middleware):
    """The first time a cursor is used it answers an empty page that still says has_more."""

    async def handle(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        if request.is_list() and cursor and not cursor.startswith("empty:"):
            response = await self.call(request.with_query(cursor=cursor))
            if response.status == 200:
                page = {
                    "data": [],
                    "pagination": {"next_cursor": "empty:" + cursor, "has_more": True},
                }
                return response.with_json(page)
            return response
        if cursor and cursor.startswith("empty:"):
            request = request.with_query(cursor=cursor[len("empty:") :])
        return await self.call(request)


class IgnoresUpdatedSince(Middleware):
    """`updated_since` is accepted and ignored."""

    async def handle(self, request: Request) -> Response:
        if request.is_list():
            request = request.with_query(updated_since=None)
        return await self.call(request)


class LimitClamped(Middleware):
    """limit above 200 is silently clamped to 200 instead of refused."""

    async def handle(self, request: Request) -> Response:
        limit = request.query.get("limit")
        if request.method == "GET" and limit and limit.isdigit() and int(limit) > 200:
            request = request.with_query(limit="200")
        return await self.call(request)


class MalformedCursorRestarts(Middleware):
    """A cursor the server never issued is ignored: the walk silently restarts from the top."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.issued: set[str] = set()

    async def handle(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        if request.is_list() and cursor and cursor not in self.issued:
            request = request.with_query(cursor=None)
        response = await self.call(request)
        body = response.json
        if isinstance(body, dict) and isinstance(body.get("pagination"), dict):
            issued = body["pagination"].get("next_cursor")
            if issued:
                self.issued.add(issued)
        return response


class CursorIgnoresFilters(Middleware):
    """With a cursor, every other filter is dropped, so other filters are never refused."""

    async def handle(self, request: Request) -> Response:
        if request.is_list() and request.query.get("cursor"):
            keep = {k: v for k, v in request.query.items() if k in ("cursor", "limit")}
            request = replace(request, query=keep)
        return await self.call(request)


class KeysetProxy(Middleware):
    """Serves the polled lists with its own keyset cursors over the sandbox's full result;
    `shift` moves each page boundary (+1 skips a row, -1 serves a row twice)."""

    shift = 0

    @staticmethod
    def _key(row: dict[str, Any]) -> tuple[Any, str]:
        return (parse_ts(row.get("updated_at")), str(row.get("id") or row.get("sku")))

    async def _all_rows(
        self, request: Request, filters: dict[str, str]
    ) -> tuple[list[Any], Response]:
        rows: list[dict[str, Any]] = []
        query = {**filters, "limit": "200"}
        while True:
            response = await self.call(replace(request, query=query))
            body = response.json
            if response.status != 200 or not isinstance(body, dict):
                return [], response
            rows += body.get("data") or []
            cursor = (body.get("pagination") or {}).get("next_cursor")
            if not cursor:
                return rows, response
            query = {**filters, "limit": "200", "cursor": cursor}

    async def handle(self, request: Request) -> Response:
        if not request.is_list():
            return await self.call(request)
        filters = {k: v for k, v in request.query.items() if k not in ("cursor", "limit")}
        raw_limit = request.query.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
            return await self.call(request)  # the sandbox's own 400
        limit = int(raw_limit)
        after: tuple[Any, str] | None = None
        if "cursor" in request.query:
            refused = await self.call(request.with_query(cursor=None))
            refused = with_error(refused, 400, "invalid_cursor")
            try:
                state = json.loads(base64.urlsafe_b64decode(request.query["cursor"].encode()))
                after = (parse_ts(state["u"]), state["i"])
            except (ValueError, KeyError, TypeError):
                return refused
            if any(state["f"].get(k) != v for k, v in filters.items()):
                return refused
            filters = state["f"]
        rows, response = await self._all_rows(request, filters)
        if response.status != 200:
            return response
        start = (
            0
            if after is None
            else next((n for n, row in enumerate(rows) if self._key(row) > after), len(rows))
        )
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        cursor = None
        if more:
            boundary = rows[start + limit - 1 + self.shift]
            state = {"u": boundary.get("updated_at"), "i": self._key(boundary)[1], "f": filters}
            cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return response.with_json(
            {"data": page, "pagination": {"next_cursor": cursor, "has_more": more}}
        )


class CursorSkipsRow(KeysetProxy):
    """Each next_cursor points one row past the page's end: one row per page is never served."""

    shift = 1


class CursorRepeatsRow(KeysetProxy):
    """Each next_cursor points one row before the page's end: that row is served twice."""

    shift = -1


# === Shipments (SHP) ==============================================================================


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
        if request.is_list("/shipments"):
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


# === Inventory (INV) ==============================================================================


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
        if request.is_list("/inventory"):
            request = request.with_query(sku=None)
        return await self.call(request)


class IgnoresWarehouseFilter(Middleware):
    """GET /inventory?warehouse_id= returns every warehouse's entry."""

    async def handle(self, request: Request) -> Response:
        if request.is_list("/inventory"):
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


# === Reference data (REF) =========================================================================


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


# === Errors, auth, API rules (ERR, AUTH, API) =====================================================


class NoTokenAccepted(Middleware):
    """A request without Authorization is served as the acme partner."""

    async def handle(self, request: Request) -> Response:
        if "authorization" not in request.headers:
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


class UnknownTokenAccepted(Middleware):
    """A bearer token no partner has is served as the acme partner."""

    async def handle(self, request: Request) -> Response:
        if request.token not in (None, ACME, GLOBEX):
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


class OneOperationUnprotected(Middleware):
    """GET /shipping-methods answers without a token (every other operation is protected)."""

    async def handle(self, request: Request) -> Response:
        if request.is_list("/shipping-methods") and "authorization" not in request.headers:
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


class UnauthorizedWithoutEnvelope(Middleware):
    """401 answers carry a bare `{"message": ...}` body."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 401:
            return response.with_json({"message": "Unauthorized"})
        return response


class UnknownPathPlain404(Middleware):
    """A path the API does not have gets a plain-text 404."""

    KNOWN = re.compile(
        r"^/(orders|shipments|inventory|warehouses|shipping-methods|inbound-shipments|"
        r"inventory-adjustments|returns|webhooks|sandbox)(/|$)"
    )

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 404 and not self.KNOWN.match(request.path):
            return response.with_body(b"Not Found", "text/plain")
        return response


class UnknownOrderPlain404(Middleware):
    """GET /orders/{unknown id} gets a plain-text 404."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 404 and re.fullmatch(r"/orders/[^/]+", request.path):
            return response.with_body(b"Not Found", "text/plain")
        return response


class MalformedJson422(Middleware):
    """A body that is not JSON gets 422 `validation_failed` instead of 400 `invalid_json`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.code == "invalid_json":
            return with_error(response, 422, "validation_failed")
        return response


class UnknownFieldsDropped(Middleware):
    """Unknown top-level fields of an order are silently dropped (201)."""

    KNOWN: ClassVar[set[str]] = {
        "order_number",
        "reference",
        "order_date",
        "warehouse_id",
        "shipping_method_id",
        "shipping_method",
        "signature_required",
        "insurance",
        "gift_message",
        "packing_note",
        "ship_to",
        "items",
    }

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == "/orders" and isinstance(body, dict):
            request = request.with_json({k: v for k, v in body.items() if k in self.KNOWN})
        return await self.call(request)


class AnyContentTypeAccepted(Middleware):
    """A body declared text/plain is parsed as JSON anyway."""

    async def handle(self, request: Request) -> Response:
        if request.body and request.headers.get("content-type", "").startswith("text/plain"):
            request = request.with_header("content-type", "application/json")
        return await self.call(request)


class ServedUnderApi(Middleware):
    """The API lives under /api instead of /v1 (no version in the path)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            path = PREFIX + scope["path"][len("/api") :]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        elif scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            scope = {**scope, "path": "/gone" + scope["path"], "raw_path": b"/gone"}
        await self.app(scope, receive, send)


# === Security (SEC) ===============================================================================


class CrossPartner(Middleware):
    """Requests of the globex token matching `method` and `pattern` are served as acme."""

    method = "GET"
    pattern = ""

    async def handle(self, request: Request) -> Response:
        if (
            request.token == GLOBEX
            and request.method == self.method
            and re.fullmatch(self.pattern, request.path)
        ):
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


class CrossPartnerOrderRead(CrossPartner):
    """The globex token can read acme's orders by id."""

    pattern = r"/orders/[^/]+"


class CrossPartnerAmend(CrossPartner):
    """The globex token can amend acme's orders."""

    method, pattern = "PATCH", r"/orders/[^/]+"


class CrossPartnerCancel(CrossPartner):
    """The globex token can cancel acme's orders."""

    method, pattern = "POST", r"/orders/[^/]+/cancel"


class CrossPartnerControl(CrossPartner):
    """Sandbox control endpoints act on any partner's orders and shipments."""

    method, pattern = "POST", r"/sandbox/(orders/[^/]+/(pick|ship)|shipments/[^/]+/void)"


class CrossPartnerWebhooks(CrossPartner):
    """The globex token can read and delete acme's webhook subscriptions."""

    method, pattern = "GET", r"/webhooks/[^/]+"


class CrossPartnerOrderList(Middleware):
    """The globex token's GET /orders lists acme's orders."""

    async def handle(self, request: Request) -> Response:
        if request.token == GLOBEX and request.is_list("/orders"):
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


class CrossPartnerShipments(Middleware):
    """The globex token sees acme's shipments (by id and in lists)."""

    async def handle(self, request: Request) -> Response:
        if (
            request.token == GLOBEX
            and request.method == "GET"
            and request.path.startswith("/shipments")
        ):
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


class CrossPartnerInventory(Middleware):
    """The globex token sees acme's stock."""

    async def handle(self, request: Request) -> Response:
        if request.token == GLOBEX and request.is_list("/inventory"):
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


# === Sandbox (SBX) ================================================================================


class ShipmentsNeverPolled(PageRewrite):
    """Shipments made through the sandbox never show up in GET /shipments."""

    paths = ("/shipments",)

    def rows(self, request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return []


class HoldEndpointMissing(Middleware):
    """POST /sandbox/orders/{id}/hold is 404."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if re.fullmatch(r"/sandbox/orders/[^/]+/hold", request.path) and response.status != 401:
            return with_error(response, 404, "not_found")
        return response


class TransitionsWrongCode(Middleware):
    """An impossible warehouse step gets 422 `validation_failed` instead of 409."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.path.startswith("/sandbox/") and response.code == "invalid_transition":
            return with_error(response, 422, "validation_failed")
        return response


class IdempotencyKeysGlobal(Middleware):
    """Idempotency keys are global: a key one partner used replays that order to the other."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.seen: dict[str, Response] = {}

    async def handle(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        if request.method == "POST" and request.path == "/orders" and key:
            if key in self.seen:
                stored = self.seen[key]
                return Response(200, stored.headers, stored.body)
            response = await self.call(request)
            if response.status == 201:
                self.seen[key] = response
            return response
        return await self.call(request)


class ReferencesGlobal(Middleware):
    """An order reference is unique across partners: the second partner gets 409."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.owner: dict[str, str | None] = {}

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path == "/orders" and isinstance(body, dict):
            reference = str(body.get("reference"))
            owner = self.owner.get(reference)
            if owner is not None and owner != request.token:
                return with_error(
                    await self.call(request.with_json({})), 409, "duplicate_reference"
                )
            response = await self.call(request)
            if response.status == 201:
                self.owner[reference] = request.token
            return response
        return await self.call(request)


# === Added for the full catalogue ================================================================


class ReferenceListWithoutHasMore(Middleware):
    """GET /warehouses answers a pagination object without has_more."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if request.is_list("/warehouses") and isinstance(body, dict):
            (body.get("pagination") or {}).pop("has_more", None)
            return response.with_json(body)
        return response


class RejectsOffsetUpdatedSince(Middleware):
    """updated_since with a numeric UTC offset (valid RFC 3339) is refused with 400."""

    async def handle(self, request: Request) -> Response:
        since = request.query.get("updated_since", "")
        if request.is_list() and re.search(r"[+-]\d{2}:\d{2}$", since):
            return with_error(
                await self.call(request.with_query(updated_since=None)), 400, "validation_failed"
            )
        return await self.call(request)


class DefaultLimit100(Middleware):
    """Without limit a page holds up to 100 rows."""

    async def handle(self, request: Request) -> Response:
        if (
            request.method == "GET"
            and "limit" not in request.query
            and "cursor" not in request.query
        ):
            request = request.with_query(limit="100")
        return await self.call(request)


class MalformedUpdatedSinceIgnored(Middleware):
    """An updated_since that is not a date-time is dropped instead of refused."""

    async def handle(self, request: Request) -> Response:
        since = request.query.get("updated_since")
        if request.is_list() and since is not None and parse_ts(since) is None:
            request = request.with_query(updated_since=None)
        return await self.call(request)


class SecondPrecisionTimestamps(Middleware):
    """Every updated_at is served truncated to the whole second."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.body and (response.header("content-type") or "").startswith("application/json"):
            text = re.sub(rb'("updated_at": ?"[^".]+)\.\d+Z"', rb'\1Z"', response.body)
            return Response(response.status, response.headers, text)
        return response


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


class AnySchemeAccepted(Middleware):
    """`Token <t>` and `Basic <t>` are accepted like `Bearer <t>`."""

    async def handle(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if token and scheme.lower() in ("token", "basic"):
            request = request.with_header("authorization", f"Bearer {token}")
        return await self.call(request)


class ValidTokenRefusedOnGetShipment(Middleware):
    """GET /shipments/{id} answers 401 whatever the token."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.method == "GET" and re.fullmatch(r"/shipments/[^/]+", request.path):
            return with_error(response, 401, "unauthorized")
        return response


class OversizedAccepted(Middleware):
    """A body over the size limit gets 422 validation_failed instead of 413."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 413:
            return with_error(response, 422, "validation_failed")
        return response


class WrongMethod404(Middleware):
    """A method a known path does not support gets 404 not_found instead of 405."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 405:
            return with_error(response, 404, "not_found")
        return response


class ErrorsListMalformed(Middleware):
    """422 answers carry an errors[] whose items are bare strings."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if response.status == 422 and isinstance(body, dict):
            body["errors"] = ["quantity is wrong", "country is wrong"]
            return response.with_json(body)
        return response


class PickIsNoOp(Middleware):
    """POST /sandbox/orders/{id}/pick answers 200 with the order unchanged."""

    async def handle(self, request: Request) -> Response:
        match = re.fullmatch(r"/sandbox/orders/([^/]+)/pick", request.path)
        if request.method == "POST" and match:
            return await self.api(request, "GET", f"/orders/{match.group(1)}")
        return await self.call(request)


class ShipIgnoresParcels(Middleware):
    """The ship control endpoint always makes one parcel."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if request.method == "POST" and request.path.endswith("/ship") and isinstance(body, dict):
            body.pop("parcels", None)
            request = request.with_json(body)
        return await self.call(request)


class SetStockBelowAllocatedAccepted(Middleware):
    """Setting on_hand below allocated answers 200 (and changes nothing) instead of 409."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.code == "stock_allocated":
            body = request.json or {}
            item: dict[str, Any] = {
                "sku": body.get("sku"),
                "updated_at": "2026-01-01T00:00:00.000Z",
                "warehouses": [],
            }
            return response.with_json(item, status=200)
        return response


class VoidWithoutFlag(Middleware):
    """The void control endpoint answers the shipment with `voided: false`."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if request.path.endswith("/void") and response.status == 200 and isinstance(body, dict):
            body["voided"] = False
            return response.with_json(body)
        return response
