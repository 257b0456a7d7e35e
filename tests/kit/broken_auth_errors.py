"""Servers broken in exactly one way each, for the checks of authentication, the error envelope and
API rules (AUTH, ERR, API)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    ACME,
    GLOBEX,
    PREFIX,
    Middleware,
    is_list,
    with_error,
)


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
        if is_list(request, "/shipping-methods") and "authorization" not in request.headers:
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
        "fulfillment_policy",
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


class WrongMethodWithoutAllow(Middleware):
    """A 405 in the envelope, but without the Allow header RFC 9110 requires."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if response.status == 405:
            return response.with_header("Allow", None)
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
