"""Webhook delivery: a background task that drains the outbox (decisions 28-30).

Each attempt signs the exact bytes it sends, with a fresh timestamp:
`X-Webhook-Signature: t=<unix>,v1=<hex hmac_sha256(secret, f"{t}." + body)>`; the `event_id`
inside the body never changes between attempts. 2xx is success; anything else, timeouts included,
is retried on the schedule (10 s, 1 m, 5 m, 30 m, then hourly for a day by default). Secrets and
bodies are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from .storage import Database

DEFAULT_SCHEDULE: list[float] = [10.0, 60.0, 300.0, 1800.0] + [3600.0] * 24
log = logging.getLogger("fulfillment_sandbox.webhooks")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Deliverer:
    def __init__(
        self, db: Database, schedule: list[float] | None = None, timeout: float = 5.0
    ) -> None:
        self.db = db
        self.schedule = list(schedule) if schedule else list(DEFAULT_SCHEDULE)
        self.timeout = timeout
        self._inflight: set[int] = set()
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False)
        self._task = asyncio.create_task(self._run(), name="webhook-deliveries")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        """Thread-safe: called after a commit that queued deliveries."""
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def _run(self) -> None:
        assert self._event is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=0.5)
            self._event.clear()
            try:
                await self.deliver_due()
            except Exception:  # keep the worker alive; the next tick retries
                log.exception("webhook delivery pass failed")

    # --- delivery --------------------------------------------------------------------------

    def _due(self, partner: str | None) -> list[dict[str, Any]]:
        sql = (
            "SELECT d.id, d.attempts, w.url, w.secret, e.body, e.id AS event_id "
            "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
            "JOIN events e ON e.id = d.event_id "
            "WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND w.deleted = 0"
        )
        params: list[Any] = [time.time()]
        if partner is not None:
            sql += " AND w.partner = ?"
            params.append(partner)
        with self.db.read() as conn:
            rows = conn.execute(sql + " ORDER BY d.id LIMIT 200", params).fetchall()
        return [dict(row) for row in rows]

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until no attempt is in flight (so its outcome is recorded before a retry-now)."""
        deadline = time.monotonic() + timeout
        while self._inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def deliver_due(self, partner: str | None = None) -> int:
        rows = [
            r for r in await run_in_threadpool(self._due, partner) if r["id"] not in self._inflight
        ]
        for row in rows:
            self._inflight.add(row["id"])
        try:
            await asyncio.gather(*(self._attempt(row) for row in rows))
        finally:
            for row in rows:
                self._inflight.discard(row["id"])
        return len(rows)

    async def _attempt(self, row: dict[str, Any]) -> None:
        assert self._client is not None
        body: bytes = row["body"].encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "fulfillment-sandbox-webhooks/1",
            "X-Webhook-Signature": sign(row["secret"], int(time.time()), body),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(row["url"], content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        ok = status is not None and 200 <= status < 300
        log.info("delivery %s of %s: %s", row["id"], row["event_id"], status or error)
        await run_in_threadpool(self._record, row["id"], row["attempts"], ok, status, error)

    def _record(
        self, delivery_id: int, attempts: int, ok: bool, status: int | None, error: str | None
    ) -> None:
        attempts += 1
        if ok:
            state, next_at = "delivered", 0.0
        elif attempts <= len(self.schedule):
            state, next_at = "pending", time.time() + self.schedule[attempts - 1]
        else:
            state, next_at = "failed", 0.0
        with self.db.write() as conn:
            conn.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, "
                "last_status = ?, last_error = ? WHERE id = ? AND state = 'pending'",
                (state, attempts, next_at, status, error, delivery_id),
            )
