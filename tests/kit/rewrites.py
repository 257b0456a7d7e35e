"""The /v1 side of the broken-server galleries: the middleware whose `handle` sees the API's paths
relative to /v1, and the rewrites many broken servers share (list pages, every resource of a kind
in an answer, an error envelope keeping the sandbox's headers).

The area galleries build on it: broken_pagination.py, broken_shipments.py, broken_inventory.py,
broken_reference_data.py, broken_auth_errors.py, broken_sandbox_control.py, broken_security.py,
and broken_optional.py and broken_webhooks.py for the optional profiles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.kit import asgi
from tests.kit.asgi import Request, Response

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


def with_error(like: Response, status: int, code: str) -> Response:
    """An envelope answer that keeps the sandbox answer's headers (X-Request-Id, rate limits)."""
    request_id = like.header("x-request-id") or "req_broken"
    error = {"code": code, "message": f"broken server: {code}", "request_id": request_id}
    return like.with_json({"error": error}, status=status)


class Middleware(asgi.Middleware):
    """Pass-through wrapper on the API under /v1: `handle` sees paths relative to it."""

    prefix = PREFIX


def is_list(request: Request, *paths: str) -> bool:
    """A GET of one of the list `paths` (default: the polled lists)."""
    return request.method == "GET" and request.path in (paths or POLLED)


class PageRewrite(Middleware):
    """Rewrites the rows of list pages (`rows`) or their pagination (`pagination`)."""

    paths: tuple[str, ...] = POLLED

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_list(request, *self.paths) and response.status == 200 and isinstance(body, dict):
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
