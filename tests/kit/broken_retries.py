"""Servers broken in exactly one way about exact idempotency (decisions 40, 41), to prove the
checks of IDEM-013, IDEM-015 and IDEM-016 can fail. ASGI wrappers around the sandbox, like
tests/kit/broken_orders.py, whose `OrdersMiddleware` and `error_response` they reuse."""

from __future__ import annotations

import json
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.broken_orders import ORDERS, OrdersMiddleware, error_response


def _is_create(request: Request) -> bool:
    return request.method == "POST" and request.path == ORDERS and bool(request.key())


def _replayed(response: Response) -> bool:
    return (response.header("idempotent-replayed") or "").lower() == "true"


class SpelledOutRetryIsAnotherBody(OrdersMiddleware):
    """The fingerprint is the canonical JSON of the body as parsed, without the schema's rules: a
    retry that writes out a default, an optional null or 1.0 for 1 gets 422
    idempotency_key_reused (key order and white space still do not count)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.first: dict[str, str] = {}

    async def handle(self, request: Request) -> Response:
        if not _is_create(request):
            return await self.call(request)
        canonical = json.dumps(request.json, sort_keys=True)
        first = self.first.setdefault(str(request.key()), canonical)
        response = await self.call(request)
        if first != canonical and _replayed(response):
            return error_response(response, 422, "idempotency_key_reused")
        return response


class ReplayAnswersCurrentOrder(OrdersMiddleware):
    """A replay answers the order as it is now (amended since), not the response as first sent."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if _is_create(request) and _replayed(response) and isinstance(response.json, dict):
            current = await self.order(request, str(response.json.get("id")))
            return response.with_json(current)
        return response


class ReplayNotMarked(OrdersMiddleware):
    """A replay leaves out the Idempotent-Replayed header."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        if _is_create(request):
            return response.without_headers(lambda name: name.lower() == "idempotent-replayed")
        return response
