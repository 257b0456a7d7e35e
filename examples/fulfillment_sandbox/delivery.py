"""Webhook delivery: a background task that drains the outbox (decisions 28-30).

Each attempt signs the exact bytes it sends, with a fresh timestamp:
`X-Webhook-Signature: t=<unix>,v1=<hex hmac_sha256(secret, f"{t}." + body)>`, and during a secret
rotation's overlap window also with the previous secret (`t=..,v1=<new>,v1=<old>`); the `event_id`
inside the body never changes between attempts. 2xx is success; anything else, timeouts included,
is retried on the schedule (10 s, 1 m, 5 m, 30 m, then hourly for a day by default). Secrets and
bodies are never logged.

Scheduling is fair: one subscription's failures never delay another subscription's deliveries.

* A pass takes the oldest due delivery of each subscription, never the oldest N overall: a dead
  receiver with 30,000 deliveries backed up gets one turn per pass, like everyone else.
* A subscription has at most one attempt in flight. A receiver that never answers holds one slot
  for one timeout, and once a subscription is deleted or disabled nothing more is sent to it.
* At most `concurrency` attempts run at once, and the loop never waits for them: each attempt is
  a task of its own, which wakes the loop when it ends so that its subscription's next due
  delivery goes at once.
* Half of those slots are for subscriptions whose last attempt failed, half for the others
  (two semaphores). However many receivers are down or hang, healthy subscriptions always have
  slots of their own.

A delivery that used up the whole schedule, at a subscription that had no successful delivery since
that delivery's first attempt, disables the subscription (`webhooks.disable`): it gets no new
events and GET /webhooks/{id} says when and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from . import webhooks
from .storage import Database

DEFAULT_SCHEDULE: list[float] = [10.0, 60.0, 300.0, 1800.0] + [3600.0] * 24
# Attempts in flight at once, all subscriptions together (half for failing ones). Each attempt
# also takes a worker thread for its commit, so this stays well under the thread pool's 40 (the
# API needs threads too).
DEFAULT_CONCURRENCY = 16
log = logging.getLogger("fulfillment_sandbox.webhooks")

# The oldest due delivery of each active subscription, and whether that subscription's last
# attempt failed. The subquery runs once per subscription and is one seek in the deliveries_next
# index, so a pass costs the same whether 10 or 30,000 deliveries are due (ranking the due rows
# with a window function would read them all, every pass).
DUE_SQL = """
SELECT d.id, d.webhook_id, d.attempts, w.partner, w.url, w.secret, e.body, e.id AS event_id,
       CASE WHEN w.previous_secret_expires > :now THEN w.previous_secret END AS previous_secret,
       COALESCE(w.last_failure_at, 0) > COALESCE(w.last_success_at, 0) AS failing
FROM webhooks w
JOIN deliveries d ON d.id = (
    SELECT id FROM deliveries
    WHERE webhook_id = w.id AND state = 'pending' AND next_attempt_at <= :now
    ORDER BY next_attempt_at, id LIMIT 1)
JOIN events e ON e.id = d.event_id
WHERE w.deleted = 0 AND w.status = 'active' AND (:partner IS NULL OR w.partner = :partner)
ORDER BY d.next_attempt_at, d.id
"""


def sign(secret: str, timestamp: int, body: bytes, previous: str | None = None) -> str:
    """The signature header: one `v1` per secret, the current one first, then (during a
    rotation's overlap window) the previous one, so receivers holding either secret verify."""
    signed = f"{timestamp}.".encode() + body
    values = [
        hmac.new(key.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        for key in (secret, previous)
        if key
    ]
    return ",".join([f"t={timestamp}", *(f"v1={value}" for value in values)])


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # One per process: httpx would build one per client, reading the whole CA bundle each time
    # (30-60 ms of CPU), and a process may start many sandboxes (tests, chaos runs).
    return httpx.create_ssl_context(trust_env=False)


class Deliverer:
    def __init__(
        self,
        db: Database,
        schedule: list[float] | None = None,
        timeout: float = 5.0,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.db = db
        self.schedule = list(schedule) if schedule else list(DEFAULT_SCHEDULE)
        self.timeout = timeout
        self._healthy_slots = asyncio.Semaphore(concurrency - concurrency // 2)
        self._failing_slots = asyncio.Semaphore(max(1, concurrency // 2))
        # Subscriptions with an attempt in flight: webhook id -> (partner, the attempt's task).
        self._busy: dict[str, tuple[str, asyncio.Task[None]]] = {}
        # One pass at a time, so a pass knows which subscriptions were busy when it queried.
        self._pass_lock = asyncio.Lock()
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        # Chaos mode's hook (chaos.py): told of every successful attempt, in the event loop.
        self.after_success: Callable[[dict[str, Any]], None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=self.timeout, trust_env=False, verify=_tls_context()
        )
        self._task = asyncio.create_task(self._run(), name="webhook-deliveries")

    async def stop(self) -> None:
        """Stop the loop, then cancel the attempts in flight (their deliveries stay pending)."""
        if self._task is not None:  # first, so that no pass starts new attempts meanwhile
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        attempts = [task for _partner, task in self._busy.values()]
        for task in attempts:
            task.cancel()
        await asyncio.gather(*attempts, return_exceptions=True)
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
            # Woken by a commit that queued deliveries or by a finished attempt; the timeout picks
            # up retries whose time has come. (Not asyncio.wait_for: on Python 3.11 it can swallow
            # a cancellation that arrives as the event is set, and then stop() would never end.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self._event.wait()
            self._event.clear()
            try:
                await self._start_due()
            except Exception:  # keep the worker alive; the next tick retries
                log.exception("webhook delivery pass failed")

    # --- scheduling ------------------------------------------------------------------------

    async def settle(self, partner: str | None = None, timeout: float = 10.0) -> None:
        """Wait until the attempts now in flight (for `partner`'s subscriptions, or for all) have
        ended and been recorded, so that a retry-now is not undone by an outcome recorded after it.
        """
        tasks = [task for owner, task in self._busy.values() if partner in (None, owner)]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def quiesce(self, partner: str | None = None, timeout: float = 10.0) -> None:
        """Wait for a pass under way to have started its attempts, then for those to end: after
        this, every attempt reads the subscriptions as they are now."""
        async with self._pass_lock:
            pass
        await self.settle(partner, timeout)

    async def deliver_due(self, partner: str | None = None, timeout: float = 10.0) -> int:
        """Send the oldest due delivery of each subscription (of `partner`) now, and wait until
        every attempt in flight for them has ended (the retry-now endpoint answers after that).
        Later due deliveries follow from the background loop. Returns how many were started."""
        started = await self._start_due(partner)
        await self.settle(partner, timeout)
        return started

    async def _start_due(self, partner: str | None = None) -> int:
        """One pass: start the oldest due delivery of every idle subscription; never waits for
        the attempts themselves."""
        async with self._pass_lock:
            busy = set(self._busy)
            rows = await run_in_threadpool(self._due, partner)
            # A subscription busy when the query ran is skipped even if its attempt has ended
            # since: the row read may predate that attempt's outcome. Its end wakes the next pass.
            idle = [row for row in rows if row["webhook_id"] not in busy]
            for row in idle:
                task = asyncio.create_task(self._send(row), name=f"webhook-delivery-{row['id']}")
                self._busy[row["webhook_id"]] = (row["partner"], task)
                task.add_done_callback(functools.partial(self._finished, row["webhook_id"]))
            return len(idle)

    def _due(self, partner: str | None) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(DUE_SQL, {"now": time.time(), "partner": partner}).fetchall()
        return [dict(row) for row in rows]

    async def _send(self, row: dict[str, Any]) -> None:
        slots = self._failing_slots if row["failing"] else self._healthy_slots
        async with slots:
            await self._attempt(row)

    def _finished(self, hook_id: str, task: asyncio.Task[None]) -> None:
        del self._busy[hook_id]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # No wake-up: the delivery stays due and is tried on the next tick, not in a hot loop.
            log.error("webhook delivery for %s failed to run", hook_id, exc_info=error)
            return
        if self._event is not None:
            self._event.set()  # the subscription is free: its next due delivery can go now

    # --- one attempt -----------------------------------------------------------------------

    async def post(self, row: dict[str, Any]) -> tuple[int | None, str | None]:
        """One signed POST of the delivery's event (a fresh `t` each time); records nothing."""
        assert self._client is not None
        body: bytes = row["body"].encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "fulfillment-sandbox-webhooks/1",
            "X-Webhook-Signature": sign(
                row["secret"], int(time.time()), body, row.get("previous_secret")
            ),
        }
        try:
            response = await self._client.post(row["url"], content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, type(exc).__name__
        return response.status_code, None

    async def _attempt(self, row: dict[str, Any]) -> None:
        status, error = await self.post(row)
        ok = status is not None and 200 <= status < 300
        log.info("delivery %s of %s: %s", row["id"], row["event_id"], status or error)
        await run_in_threadpool(self._record, row["id"], row["attempts"], ok, status, error)
        if ok and self.after_success is not None:
            self.after_success(row)

    def _record(
        self, delivery_id: int, attempts: int, ok: bool, status: int | None, error: str | None
    ) -> None:
        """Store one attempt's outcome: delivered, pending until the schedule's next step, or
        failed; a failure that ends a retry window with no success in it disables the subscription.
        """
        now = time.time()
        attempts += 1
        with self.db.write() as conn:
            # Deleting or disabling a subscription cancels its pending deliveries, so an attempt
            # that was in flight then finds its delivery no longer pending and records nothing.
            row = conn.execute(
                "SELECT d.webhook_id, d.event_id, COALESCE(d.first_attempt_at, ?) AS first_at, "
                "w.last_success_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
                "WHERE d.id = ? AND d.state = 'pending'",
                (now, delivery_id),
            ).fetchone()
            if row is None:
                return
            state, next_at = self._next_state(ok, attempts, now)
            conn.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, "
                "first_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?",
                (state, attempts, next_at, row["first_at"], status, error, delivery_id),
            )
            hook_id = row["webhook_id"]
            if ok:
                conn.execute("UPDATE webhooks SET last_success_at = ? WHERE id = ?", (now, hook_id))
            else:
                conn.execute("UPDATE webhooks SET last_failure_at = ? WHERE id = ?", (now, hook_id))
            if state == "failed" and (row["last_success_at"] or 0.0) < row["first_at"]:
                reason = _disabled_reason(row["event_id"], attempts, status, error)
                webhooks.disable(conn, self.db.stamp("webhooks"), hook_id, reason)

    def _next_state(self, ok: bool, attempts: int, now: float) -> tuple[str, float]:
        if ok:
            return "delivered", 0.0
        if attempts <= len(self.schedule):
            return "pending", now + self.schedule[attempts - 1]
        return "failed", 0.0


def _disabled_reason(event_id: str, attempts: int, status: int | None, error: str | None) -> str:
    """What GET /webhooks/{id} shows: no URL (it may carry a token) and no body."""
    last = f"HTTP {status}" if status is not None else (error or "no answer")
    return (
        f"Retries exhausted: all {attempts} attempts to deliver event {event_id} failed "
        f"(the last one: {last}) and no delivery succeeded in that time. PATCH it with "
        '{"status": "active"} to receive events again.'
    )
