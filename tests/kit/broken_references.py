"""Servers that accept a second ASN reference or RMA number (decision 51), to prove the checks of
INB-012 and RET-012 can fail. ASGI wrappers around the sandbox, on tests/kit/rewrites.py."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import Middleware


class _DuplicateAccepted(Middleware):
    """A create the sandbox refuses as `duplicate_reference` is made anyway: sent again under a
    fresh key with a suffixed `field`, and answered 201 with the value as the client sent it."""

    path: ClassVar[str] = ""
    field: ClassVar[str] = ""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = request.json
        if not (
            request.method == "POST"
            and request.path == self.path
            and response.code == "duplicate_reference"
            and isinstance(body, dict)
        ):
            return response
        sent = body.get(self.field)
        twin = request.with_json({**body, self.field: f"{sent}~{uuid.uuid4().hex[:6]}"})
        made = await self.call(twin.with_header("idempotency-key", uuid.uuid4().hex))
        created: Any = made.json
        if made.status == 201 and isinstance(created, dict):
            return made.with_json({**created, self.field: sent})
        return made


class SecondAsnWithSameReference(_DuplicateAccepted):
    """A second ASN with a reference another ASN already has is created (201)."""

    path, field = "/inbound-shipments", "reference"


class SecondReturnWithSameRma(_DuplicateAccepted):
    """A second return with an RMA number another return already has is created (201)."""

    path, field = "/returns", "rma"
