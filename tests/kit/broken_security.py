"""Servers broken in exactly one way each, for the checks of partner isolation (SEC)."""

from __future__ import annotations

import re
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import (
    ACME,
    GLOBEX,
    Middleware,
    is_list,
    with_error,
)


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
        if request.token == GLOBEX and is_list(request, "/orders"):
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
        if request.token == GLOBEX and is_list(request, "/inventory"):
            request = request.with_header("authorization", f"Bearer {ACME}")
        return await self.call(request)


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


# -- permission-scoped tokens (AUTH-006, decision 43) -----------------------------------------
class ScopeHidesOwnership(Middleware):
    """Another partner's order is refused with 403 `insufficient_scope` instead of 404: a scope
    answer that confirms the order exists (SEC-001 holds whatever the token's scopes)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if (
            request.token == GLOBEX
            and request.method == "GET"
            and re.fullmatch(r"/orders/[^/]+", request.path)
            and response.status == 404
        ):
            return with_error(response, 403, "insufficient_scope")
        return response


class ForbiddenWithAnotherCode(Middleware):
    """The kit's token may not list stock, and is told so with 403 `forbidden`: a 403 that is
    not `insufficient_scope` (AUTH-006)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if request.token == ACME and is_list(request, "/inventory") and response.status == 200:
            return with_error(response, 403, "forbidden")
        return response
