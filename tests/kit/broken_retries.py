"""Servers broken in exactly one way about exact idempotency (decisions 48, 49), to prove the
checks of IDEM-013, IDEM-015 and IDEM-016 can fail. ASGI wrappers around the sandbox, like
tests/kit/broken_orders.py, whose `OrdersMiddleware` and `error_response` they reuse."""

from __future__ import annotations

import json
from typing import Any

from tests.kit.asgi import Request, Response
from tests.kit.broken_orders import ORDER, ORDERS, OrdersMiddleware, error_response


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


# --- The amend as a merge patch (AMD-013, AMD-014) ----------------------------------------------

REQUIRED_SHIP_TO = ("name", "address1", "city", "country")


def _ship_to_patch(request: Request) -> dict[str, Any] | None:
    if request.method != "PATCH" or not ORDER.match(request.path):
        return None
    body = request.json
    ship_to = body.get("ship_to") if isinstance(body, dict) else None
    return ship_to if isinstance(ship_to, dict) else None


class PartialShipToRefused(OrdersMiddleware):
    """A ship_to is taken as the whole new address: a partial one (without name, address1, city
    or country) gets 422 validation_failed."""

    async def handle(self, request: Request) -> Response:
        ship_to = _ship_to_patch(request)
        response = await self.call(request)
        missing = [m for m in REQUIRED_SHIP_TO if ship_to is not None and m not in ship_to]
        if missing and response.status == 200:
            return error_response(response, 422, "validation_failed", field=f"ship_to.{missing[0]}")
        return response


class ShipToReplacedWhole(OrdersMiddleware):
    """A ship_to replaces the stored address as a whole: members not sent (the company) are
    erased, as if sent as null."""

    SHIP_TO_MEMBERS = (
        *REQUIRED_SHIP_TO,
        "company",
        "email",
        "phone",
        "address2",
        "state",
        "postcode",
    )

    async def handle(self, request: Request) -> Response:
        ship_to = _ship_to_patch(request)
        if ship_to is not None and all(m in ship_to for m in REQUIRED_SHIP_TO):
            whole = {m: ship_to.get(m) for m in self.SHIP_TO_MEMBERS}
            request = request.with_json({**request.json, "ship_to": whole})
        return await self.call(request)


class NullRequiredMemberIgnored(OrdersMiddleware):
    """A ship_to member the address needs, sent as null, is silently dropped and the rest of the
    amend applied (200)."""

    async def handle(self, request: Request) -> Response:
        ship_to = _ship_to_patch(request)
        if ship_to is not None:
            kept = {k: v for k, v in ship_to.items() if not (k in REQUIRED_SHIP_TO and v is None)}
            request = request.with_json({**request.json, "ship_to": kept})
        return await self.call(request)


# --- References freed by a cancel (IDEM-017) ------------------------------------------------------


class CancelledReferenceStaysTaken(OrdersMiddleware):
    """A cancelled order keeps its reference taken: recreating it gets 409 duplicate_reference
    naming the cancelled order (the new order the sandbox made is cancelled again at once)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = request.json
        if not (_is_create(request) and response.status == 201 and isinstance(body, dict)):
            return response
        listed = await self.api(request, "GET", ORDERS, reference=str(body.get("reference")))
        made = response.json.get("id") if isinstance(response.json, dict) else None
        rows = listed.json.get("data", []) if isinstance(listed.json, dict) else []
        older = [row["id"] for row in rows if row.get("id") != made]
        if not older:
            return response
        await self.api(request, "POST", f"{ORDERS}/{made}/cancel")
        return error_response(response, 409, "duplicate_reference", existing_order_id=older[0])
