"""What a handler receives and returns; kept apart so handler modules do not import the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers

from .auth import Authenticator
from .cursors import CursorCodec
from .delivery import Deliverer
from .paging import DEFAULT_LIMIT, ListQuery
from .ratelimit import RateLimiter
from .storage import Database
from .validation import Contract


@dataclass
class Services:
    db: Database
    contract: Contract
    codec: CursorCodec
    deliverer: Deliverer
    limiter: RateLimiter
    auth: Authenticator


@dataclass
class Ctx:
    services: Services
    operation_id: str
    partner: str
    request_id: str
    path: dict[str, str]
    query: dict[str, Any]
    body: Any
    headers: Headers

    def list_query(self, *filters: str) -> ListQuery:
        return ListQuery(
            filters={name: self.query.get(name) for name in ("updated_since", *filters)},
            cursor=self.query.get("cursor"),
            limit=int(self.query.get("limit", DEFAULT_LIMIT)),
        )


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
