"""Receiving webhooks: verify, deduplicate, apply only what is newer.

Framework-neutral: give `receive` the raw body bytes and the `X-Webhook-Signature` header from
whatever web framework serves the endpoint, and answer with the status it returns. Webhooks are
an optimisation on top of polling (WHK-020): an event applied here and the same row polled later
are deduplicated by the same (`id`, `updated_at`) store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fulfillment_erp_client.polling import INVENTORY, ORDERS, SHIPMENTS
from fulfillment_erp_client.store import Store

TOLERANCE_SECONDS = 300  # WHK-009: reject a `t` more than 300 s in the past or the future
# event_type -> the polled feed its `data` belongs to (others are only deduplicated).
FEEDS = {
    "shipment.created": SHIPMENTS,
    "shipment.updated": SHIPMENTS,
    "inventory.updated": INVENTORY,
    # Both carry the full order. A cancel sends the two with one version of the order: the
    # second is not newer than the first, so the cancel is applied once.
    "order.updated": ORDERS,
    "order.cancelled": ORDERS,
}


class BadSignature(Exception):
    """Answer 400: not signed by the warehouse with our secret, or too old (a replay)."""


@dataclass(frozen=True)
class Received:
    status: int  # what to answer: 2xx acknowledges (WHK-010 retries anything else)
    outcome: str  # applied | stale | duplicate | refused
    event: dict[str, Any] | None = None


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float) -> None:
    """`t=<unix seconds>,v1=<hex>` (WHK-007); v1 = HMAC-SHA256(secret, "{t}." + raw body)
    (WHK-008), compared in constant time over the bytes as received, never re-serialised JSON."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        stamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise BadSignature("no timestamp") from None
    if abs(now - stamp) > tolerance:
        raise BadSignature(f"timestamp {stamp} is outside the {tolerance:g} s window")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    # Several v1 values are allowed, as in Stripe's scheme, while a secret is being rotated.
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise BadSignature("signature does not match")


class WebhookReceiver:
    def __init__(
        self,
        store: Store,
        secret: str,
        *,
        tolerance: float = TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.secret, self.tolerance, self.clock = store, secret, tolerance, clock

    def receive(self, body: bytes, signature: str | None) -> Received:
        try:
            verify(self.secret, signature or "", body, now=self.clock(), tolerance=self.tolerance)
        except BadSignature:
            return Received(400, "refused")
        event = json.loads(body)
        now = datetime.now(UTC).isoformat()
        with self.store.transaction() as conn:
            # One event_id on every attempt (WHK-010, WHK-019): a redelivery is acknowledged
            # again (so the warehouse stops retrying) and not applied twice.
            if not Store.first_sight(conn, event["event_id"], now):
                return Received(200, "duplicate", event)
            feed = FEEDS.get(event["event_type"])
            if feed is None:
                return Received(200, "applied", event)
            data = event["data"]
            # Deliveries may arrive out of order: an older `updated_at` than stored is stale.
            fresh = Store.apply(conn, feed.name, str(data[feed.key]), data)
            return Received(200, "applied" if fresh else "stale", event)
