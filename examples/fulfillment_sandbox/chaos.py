"""Chaos mode: faults the contract allows a warehouse, injected on purpose, seeded, reproducible.

An ERP client that conforms must survive every one of them, so a client can be proved robust
against the sandbox (issue 12; the kit's `client` command). No fault breaks the contract:

- `throttle`: bursts of 429 `rate_limited` with `Retry-After` (RATE-001). A request that comes back
  before the `Retry-After` it was given is refused again and counted as `early`.
- `latency`: answers delayed by up to a third of a second, now and then a whole second.
- `drop-after-commit`: a create, amend or cancel runs and commits, then the connection is cut
  before the body is sent: the classic "timeout, was it created?" (IDEM-002 makes the retry safe).
- `flaky-reads`: a GET answers 503 `internal_error` with `Retry-After` (5xx is outside the
  contract, ERR-012; a client retries it).
- `moving-rows`: while a client walks `/shipments` or `/inventory`, a row it already passed is
  touched and stamped with the newest `updated_at` already issued: the row moves behind the
  walk's cursor and returns at the inclusive boundary of the next walk (PAG-006; the spec only
  forbids a row becoming visible *older* than one already served, PAG-016).
- `webhook-duplicates`: after a delivery succeeded, the same event (same `event_id`, freshly
  signed) is delivered again up to two seconds later, after newer events: a late retry that
  arrives duplicated and out of order (deliveries are at least once and unordered, WHK-010).

The warehouse's own controls (`/v1/sandbox/...`) and requests carrying `X-Chaos-Bypass: 1` (the
client check's judge) are never disturbed. `GET /chaos` (outside `/v1`, so outside the contract)
reports what was injected.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import Services
from .errors import ApiError, error_response
from .storage import transaction

PROFILES = (
    "throttle",
    "latency",
    "drop-after-commit",
    "flaky-reads",
    "moving-rows",
    "webhook-duplicates",
)
BYPASS_HEADER = "x-chaos-bypass"
REPORT_PATH = "/chaos"
RETRY_AFTER_SECONDS = 1
WRITE_METHODS = ("POST", "PATCH", "DELETE")
# list path -> (table, key column) of the rows `moving-rows` touches
MOVING_LISTS = {"/v1/shipments": ("shipments", "id"), "/v1/inventory": ("skus", "sku")}


def parse_profiles(text: str) -> tuple[str, ...]:
    """`throttle,latency` -> ('throttle', 'latency'); `all` is every profile."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return PROFILES
    unknown = sorted(set(names) - set(PROFILES))
    if unknown or not names:
        raise ValueError(
            f"unknown chaos profile {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(PROFILES)} or all"
        )
    return tuple(dict.fromkeys(names))


class DroppedConnection(Exception):
    """Raised after the response head is sent, so the server cuts the connection mid-body."""


@dataclass
class ChaosState:
    """The seeded dice and the log of what was done, shared by every request."""

    profiles: tuple[str, ...]
    seed: int
    rng: random.Random = field(init=False)
    burst_left: dict[str, int] = field(default_factory=dict)
    blocked_until: dict[str, float] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self, profile: str, chance: float) -> bool:
        with self.lock:
            return profile in self.profiles and self.rng.random() < chance

    def count(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"profiles": list(self.profiles), "seed": self.seed, "faults": dict(self.faults)}


class ChaosMiddleware:
    """ASGI middleware over the sandbox app (outermost): decides, per request, which fault."""

    def __init__(self, app: ASGIApp, services: Services, state: ChaosState) -> None:
        self.app, self.services, self.state = app, services, state
        self._late: set[asyncio.Task[None]] = set()
        if "webhook-duplicates" in state.profiles:
            services.deliverer.after_success = self._echo

    def _echo(self, row: dict[str, Any]) -> None:
        """Maybe deliver this event again, late (runs in the deliverer's event loop)."""
        if not self.state.roll("webhook-duplicates", 0.5):
            return
        with self.state.lock:
            delay = self.state.rng.uniform(0.1, 2.0)
        task = asyncio.get_running_loop().create_task(self._deliver_late(row, delay))
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _deliver_late(self, row: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        status, _error = await self.services.deliverer.post(row)
        self.state.count("webhook_duplicate" if status is not None else "webhook_duplicate_lost")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == REPORT_PATH and scope["method"] == "GET":
            await JSONResponse(self.state.report())(scope, receive, send)
            return
        headers = Headers(scope=scope)
        partner = self.services.auth.partner_for(headers.get("authorization"))
        calm = (
            partner is None or headers.get(BYPASS_HEADER) == "1" or path.startswith("/v1/sandbox/")
        )
        if calm:
            await self.app(scope, receive, send)
            return
        assert partner is not None
        if self._throttled(partner):
            await self._refuse(scope, receive, send, 429, "rate_limited", "Slow down (chaos).")
            return
        await self._delay()
        method: str = scope["method"]
        if method == "GET" and self.state.roll("flaky-reads", 0.12):
            self.state.count("flaky_read")
            await self._refuse(scope, receive, send, 503, "internal_error", "Try again (chaos).")
            return
        if method == "GET" and path in MOVING_LISTS and self.state.roll("moving-rows", 0.5):
            await asyncio.to_thread(self._move_a_row, partner, *MOVING_LISTS[path])
        if method in WRITE_METHODS and self.state.roll("drop-after-commit", 0.3):
            await self._drop_after(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _throttled(self, partner: str) -> bool:
        state = self.state
        now = asyncio.get_running_loop().time()
        with state.lock:
            if now < state.blocked_until.get(partner, 0.0):
                state.faults["early_retry"] += 1  # came back before Retry-After: still refused
                state.faults["throttle"] += 1
                return True
            left = state.burst_left.get(partner, 0)
            if left == 0 and "throttle" in state.profiles and state.rng.random() < 0.08:
                left = state.rng.randint(1, 3)
            if left == 0:
                return False
            state.burst_left[partner] = left - 1
            state.blocked_until[partner] = now + RETRY_AFTER_SECONDS
            state.faults["throttle"] += 1
            return True

    async def _delay(self) -> None:
        if "latency" not in self.state.profiles:
            return
        with self.state.lock:
            spike = self.state.rng.random() < 0.03
            pause = 1.0 if spike else self.state.rng.uniform(0.0, 0.33)
            self.state.faults["latency_spike" if spike else "latency"] += 1
        await asyncio.sleep(pause)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        request_id = "req_" + secrets.token_hex(12)
        extra = {
            "Retry-After": str(RETRY_AFTER_SECONDS),
            "X-Request-Id": request_id,
            **self.services.limiter.peek().headers(),
        }
        error = ApiError(status, code, message, headers=extra)
        await error_response(error, request_id)(scope, receive, send)

    async def _drop_after(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the write run and commit; if it succeeded, send the head and cut the body."""
        head: Message | None = None
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            nonlocal head
            if message["type"] == "http.response.start":
                head = message
            else:
                messages.append(message)

        await self.app(scope, receive, hold)
        assert head is not None
        if 200 <= head["status"] < 300:
            self.state.count("dropped_after_commit")
            await send(head)
            raise DroppedConnection(f"chaos: connection cut after {scope['method']} committed")
        await send(head)
        for message in messages:
            await send(message)

    def _move_a_row(self, partner: str, table: str, key: str) -> None:
        """Touch the partner's oldest row with the newest stamp already issued (a tie, never
        an older stamp than one served)."""
        db = self.services.db
        with transaction(db, partner) as tx:
            conn = tx.conn
            newest = conn.execute(
                f"SELECT MAX(updated_at) FROM {table} WHERE partner = ?", (partner,)
            ).fetchone()[0]
            oldest = conn.execute(
                f"SELECT {key} FROM {table} WHERE partner = ? AND updated_at < ? "
                f"ORDER BY updated_at, {key} LIMIT 1",
                (partner, newest),
            ).fetchone()
            if oldest is None:
                return
            conn.execute(
                f"UPDATE {table} SET updated_at = ? WHERE partner = ? AND {key} = ?",
                (newest, partner, oldest[0]),
            )
        self.state.count("moved_row")


__all__ = ["PROFILES", "ChaosMiddleware", "ChaosState", "parse_profiles"]
