"""Servers broken in exactly one way each, for the webhooks checks.

Two kinds of break. Subscription-management breaks are ASGI middleware around the reference
sandbox, like the other galleries (tests/kit/asgi.py). Delivery breaks change what the sandbox
sends: the delivery worker runs inside the test process (tests/live_server.py serves the app in a
thread), so `DeliveryBreak.install(app)` replaces the `_attempt` method of that one app's
`Deliverer` instance (never the module, so servers running side by side keep their own behaviour).
The product sandbox has no flags for any of this: broken servers live in tests/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import types
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from fulfillment_sandbox import orders, webhooks
from fulfillment_sandbox.delivery import sign
from fulfillment_sandbox.storage import transaction
from starlette.concurrency import run_in_threadpool

from tests.kit.asgi import Request, Response
from tests.kit.rewrites import Middleware

ALL_EVENTS = [
    "shipment.created",
    "shipment.updated",
    "order.cancelled",
    "inventory.updated",
    "inbound.received",
    "inventory.adjusted",
    "return.received",
    "order.updated",
]


def sandbox_of(app: Any) -> Any:
    """The Starlette sandbox app inside any stack of middleware."""
    while not hasattr(app, "state"):
        app = app.app
    return app


# -- delivery breaks ------------------------------------------------------------------------------


class DeliveryBreak:
    """Sends deliveries the way the sandbox does, except where a subclass overrides a step."""

    # Whether the attempt counts as final whatever the receiver answered (no retries).
    no_retry: ClassVar[bool] = False
    # Whether a failure is never final (retried hourly forever, so never disabled).
    endless: ClassVar[bool] = False

    def __init__(self) -> None:
        self.first_t: dict[int, int] = {}
        self.db: Any = None  # the sandbox's database, set by install()

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        return body

    def skip(self, row: dict[str, Any], body: bytes) -> bool:
        """True: pretend the delivery succeeded without sending it."""
        return False

    def hold(self, row: dict[str, Any], body: bytes) -> float:
        """Seconds to put this attempt off by, without counting it (0: send it now)."""
        return 0.0

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        return sign(row["secret"], int(time.time()), body, row.get("previous_secret"))

    @classmethod
    def install(cls, app: Any) -> Any:
        """Make `app`'s delivery worker broken this way; returns `app`."""
        return install(app, [cls])


def install(app: Any, classes: list[type[DeliveryBreak]]) -> Any:
    """Make `app`'s delivery worker broken in each of these (independent) ways: bodies pass
    through every break in turn, a delivery is skipped if any break skips it, the signature is
    the first overriding break's, and no break retries if one does not."""
    deliverer = sandbox_of(app).state.services.deliverer
    breaks = [cls() for cls in classes] or [DeliveryBreak()]
    for brk in breaks:
        brk.db = deliverer.db
    signer = next(
        (b for b in breaks if type(b).signature is not DeliveryBreak.signature), breaks[0]
    )
    no_retry = any(b.no_retry for b in breaks)
    endless = any(b.endless for b in breaks)

    async def attempt(self: Any, row: dict[str, Any]) -> None:
        assert self._client is not None
        body = row["body"].encode("utf-8")
        held = max(brk.hold(row, body) for brk in breaks)
        if held > 0:
            await run_in_threadpool(_postpone, self.db, row["id"], held)
            return
        for brk in breaks:
            body = brk.body(row, body)
        status: int | None = None
        error: str | None = None
        if any(brk.skip(row, body) for brk in breaks):
            status = 200
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "broken-sandbox-webhooks/1",
                "X-Webhook-Signature": signer.signature(row, body),
            }
            try:
                response = await self._client.post(row["url"], content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
        ok = status is not None and 200 <= status < 300
        attempts = len(self.schedule) + 1 if no_retry else row["attempts"]
        if endless:  # one short of the schedule's end, whatever the count says
            attempts = min(attempts, len(self.schedule) - 1)
        await run_in_threadpool(self._record, row["id"], attempts, ok, status, error)

    deliverer._attempt = types.MethodType(attempt, deliverer)
    return app


def _postpone(db: Any, delivery_id: int, seconds: float) -> None:
    with db.write() as conn:
        conn.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE id = ?",
            (time.time() + seconds, delivery_id),
        )


def envelope(body: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(body)
    return value


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class SignsReserializedJson(DeliveryBreak):
    """Sends pretty-printed JSON but signs the compact re-serialization of it, not the raw bytes
    (a receiver that re-serializes would verify; one that checks the raw bytes cannot)."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        return json.dumps(envelope(body), indent=2).encode()

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        return sign(
            row["secret"], int(time.time()), compact(envelope(body)), row.get("previous_secret")
        )


class StaleTimestamp(DeliveryBreak):
    """Signs correctly, but with a t ten minutes in the past."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        return sign(row["secret"], int(time.time()) - 600, body, row.get("previous_secret"))


class SignatureWithoutTimestamp(DeliveryBreak):
    """X-Webhook-Signature: v1=<hex> only (the HMAC of the body alone), no t."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        digest = hmac.new(row["secret"].encode(), body, hashlib.sha256).hexdigest()
        return f"v1={digest}"


class SpacedSignatureHeader(DeliveryBreak):
    """A valid signature written `t=<t>, v1=<hex>` (with a space)."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        return sign(row["secret"], int(time.time()), body, row.get("previous_secret")).replace(
            ",", ", "
        )


class EventIdChangesOnRetry(DeliveryBreak):
    """Every retry carries a new event_id."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        if row["attempts"] == 0:
            return body
        return compact({**envelope(body), "event_id": f"evt_retry{uuid.uuid4().hex[:12]}"})


class NoRetryAfter500(DeliveryBreak):
    """A failed delivery is never tried again."""

    no_retry = True


class RetryKeepsFirstSignature(DeliveryBreak):
    """A retry reuses the first attempt's t (and so its signature)."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        t = self.first_t.setdefault(row["id"], int(time.time()))
        return sign(row["secret"], t, body, row.get("previous_secret"))


class ThinPayload(DeliveryBreak):
    """shipment.created and inventory.updated carry only the resource's id."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        event = envelope(body)
        if event["event_type"] not in ("shipment.created", "inventory.updated"):
            return body
        data = event["data"]
        key = "id" if "id" in data else "sku"
        return compact({**event, "data": {key: data[key]}})


class AmericanCancelSpelling(DeliveryBreak):
    """order.cancelled goes out as event_type `order.canceled`."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        event = envelope(body)
        if event["event_type"] != "order.cancelled":
            return body
        return compact({**event, "event_type": "order.canceled"})


class SharedEventId(DeliveryBreak):
    """Every event of a subscription carries the same event_id."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        return compact({**envelope(body), "event_id": "evt_always_the_same"})


class FutureUpdatedAt(DeliveryBreak):
    """Shipment events carry a data.updated_at an hour ahead of what polling serves."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        event = envelope(body)
        if not str(event["event_type"]).startswith("shipment."):
            return body
        return compact({**event, "data": {**event["data"], "updated_at": "2099-01-01T00:00:00Z"}})


class VoidNotAnnounced(DeliveryBreak):
    """A void sends no shipment.updated (status changes still do)."""

    def skip(self, row: dict[str, Any], body: bytes) -> bool:
        event = envelope(body)
        return bool(event["event_type"] == "shipment.updated" and event["data"].get("voided"))


class LateCancelNotice(DeliveryBreak):
    """The first attempt of every order.cancelled event is made a minute after the cancel, well
    past the spec's 30 s (the event is sent then, or when retries are triggered)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[int] = set()

    def hold(self, row: dict[str, Any], body: bytes) -> float:
        if envelope(body)["event_type"] != "order.cancelled" or row["id"] in self.held:
            return 0.0
        self.held.add(row["id"])
        return 60.0


class InboundNotAnnounced(DeliveryBreak):
    """inbound.received is never sent."""

    def skip(self, row: dict[str, Any], body: bytes) -> bool:
        return bool(envelope(body)["event_type"] == "inbound.received")


# -- subscription-management breaks ----------------------------------------------------------------


class RetriesForever(DeliveryBreak):
    """A delivery that keeps failing is retried hourly forever: its subscription is never
    disabled, however long the retry window has run."""

    endless = True


class RotationSignsNewSecretOnly(DeliveryBreak):
    """During a rotation's overlap window deliveries carry the new secret's v1 only."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        return sign(row["secret"], int(time.time()), body)


class RotationSignsOldSecretOnly(DeliveryBreak):
    """During a rotation's overlap window deliveries carry the previous secret's v1 only."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        return sign(row.get("previous_secret") or row["secret"], int(time.time()), body)


def _stored_previous_secret(db: Any, hook_id: str) -> str | None:
    with db.read() as conn:
        row = conn.execute("SELECT previous_secret FROM webhooks WHERE id = ?", (hook_id,))
        found = row.fetchone()
    return None if found is None else found["previous_secret"]


class OldSecretSignsForever(DeliveryBreak):
    """The previous secret keeps signing after the overlap window has ended."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        # Called on the event loop: one indexed read of a tiny table.
        previous = _stored_previous_secret(self.db, row["webhook_id"])
        return sign(row["secret"], int(time.time()), body, previous)


def is_create(request: Request) -> bool:
    return request.method == "POST" and request.path == "/webhooks"


def is_rotation(request: Request) -> bool:
    return request.method == "POST" and request.path.endswith("/rotate-secret")


class SecretShownAgain(Middleware):
    """GET /webhooks/{id} shows the subscription's secret again."""

    # The requests whose answer carries the secret to show again.
    records = staticmethod(is_create)

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.secrets: dict[str, str] = {}

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if self.records(request) and isinstance(body, dict) and "secret" in body:
            self.secrets[str(body.get("id"))] = str(body["secret"])
        elif request.method == "GET" and request.path.startswith("/webhooks/"):
            hook_id = request.path.rsplit("/", 1)[-1]
            if isinstance(body, dict) and hook_id in self.secrets:
                return response.with_json({**body, "secret": self.secrets[hook_id]})
        return response


class CreateWithoutKeyAccepted(Middleware):
    """POST /webhooks without Idempotency-Key creates the subscription anyway."""

    async def handle(self, request: Request) -> Response:
        if is_create(request) and "idempotency-key" not in request.headers:
            request = request.with_header("idempotency-key", uuid.uuid4().hex)
        return await self.call(request)


class CreatedWithoutCreatedAt(Middleware):
    """The createWebhook answer has no created_at."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_create(request) and isinstance(body, dict) and "created_at" in body:
            return response.with_json({k: v for k, v in body.items() if k != "created_at"})
        return response


class DeleteIsNoOp(Middleware):
    """DELETE /webhooks/{id} answers 204 but the subscription stays."""

    async def handle(self, request: Request) -> Response:
        if request.method == "DELETE" and request.path.startswith("/webhooks/"):
            return Response(204, [("x-request-id", "req_broken")])
        return await self.call(request)


class AnyUrlAccepted(Middleware):
    """A url that is not an absolute http(s) URL is accepted (stored as a dead loopback URL)."""

    async def handle(self, request: Request) -> Response:
        body = request.json
        if is_create(request) and isinstance(body, dict):
            url = str(body.get("url"))
            if not url.startswith(("http://", "https://")):
                request = request.with_json({**body, "url": "http://127.0.0.1:9/dead"})
        return await self.call(request)


def _set_column(app: Any, hook_id: str, column: str, value: str) -> None:
    db = sandbox_of(app).state.services.db
    with db.write() as conn:
        conn.execute(f"UPDATE webhooks SET {column} = ? WHERE id = ?", (value, hook_id))


class OneSecretForAll(Middleware):
    """Every subscription is signed with (and shown) the first subscription's secret."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.secret: str | None = None

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_create(request) and isinstance(body, dict) and "secret" in body:
            if self.secret is None:
                self.secret = str(body["secret"])
            elif body["secret"] != self.secret:
                await run_in_threadpool(_set_column, self.app, body["id"], "secret", self.secret)
                return response.with_json({**body, "secret": self.secret})
        return response


class DeliversEveryType(Middleware):
    """Every subscription gets every event type, whatever it asked for."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_create(request) and isinstance(body, dict) and isinstance(body.get("id"), str):
            await run_in_threadpool(
                _set_column, self.app, body["id"], "events", json.dumps(ALL_EVENTS)
            )
        return response


class KeyIgnoredOnCreate(Middleware):
    """createWebhook ignores the Idempotency-Key: a retry creates a second subscription."""

    async def handle(self, request: Request) -> Response:
        if is_create(request) and "idempotency-key" in request.headers:
            request = request.with_header("idempotency-key", uuid.uuid4().hex)
        return await self.call(request)


class RotationOverlap(Middleware):
    """A rotation's overlap window lasts `hours` (stored, and said in the answer)."""

    hours: ClassVar[float] = 24.0

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if is_rotation(request) and isinstance(body, dict) and response.status == 200:
            ends = datetime.now(UTC) + timedelta(hours=self.hours)
            await run_in_threadpool(_end_overlap_at, self.app, str(body["id"]), ends.timestamp())
            stamp = ends.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return response.with_json({**body, "previous_secret_expires_at": stamp})
        return response


def _end_overlap_at(app: Any, hook_id: str, until: float) -> None:
    db = sandbox_of(app).state.services.db
    with db.write() as conn:
        conn.execute(
            "UPDATE webhooks SET previous_secret_expires = ? WHERE id = ?", (until, hook_id)
        )


class ShortRotationOverlap(RotationOverlap):
    """A rotation's overlap window is one hour, not at least 24."""

    hours = 1.0


class RotatedSecretShownAgain(SecretShownAgain):
    """GET /webhooks/{id} shows the secret a rotation returned."""

    records = staticmethod(is_rotation)


def is_hook_read(request: Request) -> bool:
    return request.method == "GET" and request.path.startswith("/webhooks")


class DisabledWithoutReason(Middleware):
    """GET /webhooks and /webhooks/{id} show a disabled subscription without disabled_reason."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if not is_hook_read(request) or not isinstance(body, dict):
            return response
        rows = body.get("data") if isinstance(body.get("data"), list) else [body]
        for row in rows:
            if isinstance(row, dict):
                row.pop("disabled_reason", None)
        return response.with_json(body)


class PatchIgnored(Middleware):
    """PATCH /webhooks/{id} answers 200 with the subscription shown as active, and changes
    nothing: it stays disabled."""

    async def handle(self, request: Request) -> Response:
        if request.method != "PATCH" or not request.path.startswith("/webhooks/"):
            return await self.call(request)
        response = await self.call(replace(request, method="GET", body=b""))
        body = response.json
        if response.status != 200 or not isinstance(body, dict):
            return response
        shown = {k: v for k, v in body.items() if k not in ("disabled_at", "disabled_reason")}
        return response.with_json({**shown, "status": "active"})


# -- legal variations: a correct server making another choice passes ------------------------------


class OldSignatureFirst(DeliveryBreak):
    """Legal: during the overlap window the previous secret's v1 comes first (order carries no
    meaning: a receiver accepts any one matching v1)."""

    def signature(self, row: dict[str, Any], body: bytes) -> str:
        previous = row.get("previous_secret")
        if previous is None:
            return super().signature(row, body)
        return sign(previous, int(time.time()), body, row["secret"])


class LongerRotationOverlap(RotationOverlap):
    """Legal: a rotation's overlap window lasts 72 hours (the spec asks for at least 24)."""

    hours = 72.0


# -- the event log, redelivery and order.updated (decision 45) -------------------------------------


def _delivered_event_ids(app: Any, event_ids: list[str]) -> set[str]:
    db = sandbox_of(app).state.services.db
    with db.read() as conn:
        marks = ",".join("?" for _ in event_ids)
        rows = conn.execute(
            f"SELECT DISTINCT event_id FROM deliveries WHERE event_id IN ({marks})", event_ids
        ).fetchall()
    return {str(row[0]) for row in rows}


class LogsOnlyDeliveredEvents(Middleware):
    """GET /events lists only events some subscription wanted (the sandbox's old outbox, which
    stored an event only when it had somewhere to deliver it)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if request.method == "GET" and request.path == "/events" and isinstance(body, dict):
            rows = list(body.get("data") or [])
            ids = [str(row.get("event_id")) for row in rows]
            kept = await run_in_threadpool(_delivered_event_ids, self.app, ids) if ids else set()
            return response.with_json(
                {**body, "data": [row for row in rows if row.get("event_id") in kept]}
            )
        return response


class RedeliveryGetsNewEventId(DeliveryBreak):
    """A redelivery (a second delivery row of one event to one subscription) carries a new
    event_id, so the receiver cannot dedupe it."""

    def body(self, row: dict[str, Any], body: bytes) -> bytes:
        with self.db.read() as conn:
            earlier = conn.execute(
                "SELECT COUNT(*) FROM deliveries WHERE event_id = ? AND webhook_id = ? AND id < ?",
                (row["event_id"], row["webhook_id"], row["id"]),
            ).fetchone()[0]
        if not earlier:
            return body
        return compact({**envelope(body), "event_id": f"evt_again{uuid.uuid4().hex[:12]}"})


class RedeliverAnythingAccepted(Middleware):
    """POST /events/{id}/redeliver answers 202 (queued for nobody) where it should answer 404."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        redeliver = request.method == "POST" and request.path.endswith("/redeliver")
        if redeliver and response.status == 404:
            event_id = request.path.split("/")[-2]
            accepted = {"event_id": event_id, "webhook_ids": []}
            return response.with_json(accepted, status=202)
        return response


class HoldNotAnnounced(DeliveryBreak):
    """An order going on hold sends no order.updated (amends and cancels still do)."""

    def skip(self, row: dict[str, Any], body: bytes) -> bool:
        event = envelope(body)
        return bool(
            event["event_type"] == "order.updated" and event["data"].get("status") == "on_hold"
        )


# -- legal choices (never failures) ----------------------------------------------------------------


def _announce_order(app: Any, partner: str, order_id: str) -> None:
    with transaction(sandbox_of(app).state.services.db, partner) as tx:
        webhooks.emit(tx, "order.updated", orders.get(tx.conn, tx.partner, order_id))


class OrderUpdatedOnCreate(Middleware):
    """Also fires order.updated when an order is created (the contract asks for one on every
    change after creation and is silent on creation itself: a server may announce it too)."""

    async def handle(self, request: Request) -> Response:
        response = await self.call(request)
        body = response.json
        if request.method == "POST" and request.path == "/orders" and response.status == 201:
            auth = sandbox_of(self.app).state.services.auth
            partner = auth.partner_for(request.headers.get("authorization"))
            if partner is not None and isinstance(body, dict):
                await run_in_threadpool(_announce_order, self.app, partner, str(body["id"]))
        return response
