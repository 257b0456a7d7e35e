"""Webhooks: subscriptions, signed deliveries from the outbox, retries with fresh signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.live_server import serve

from .conftest import ACME, new_sku, order_body
from .spec_client import DOCUMENT, SpecClient, _validator


class Receiver:
    """A local webhook endpoint answering with scripted statuses (then 200)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append((dict(request.headers), body))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    recv = Receiver()
    with serve(Starlette(routes=[Route("/hook", recv.handle, methods=["POST"])])) as url:
        yield recv, url + "/hook"


def verify(secret: str, header: str, body: bytes) -> int:
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(expected.hexdigest(), parts["v1"]), "bad signature"
    assert abs(time.time() - int(parts["t"])) < 300
    return int(parts["t"])


def _subscribe(client: SpecClient, url: str, events: list[str]) -> dict[str, Any]:
    r = client.post(
        "/webhooks",
        json={"url": url, "events": events},
        headers={"Idempotency-Key": f"hook-{url}-{events}"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_subscription_secret_is_shown_only_on_create(acme: SpecClient, receiver) -> None:
    _recv, url = receiver
    hook = _subscribe(acme, url, ["shipment.created"])
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in acme.get(f"/webhooks/{hook['id']}").json()
    assert all("secret" not in h for h in acme.get("/webhooks").json()["data"])
    bad = acme.post(
        "/webhooks",
        json={"url": "http://example.com/x", "events": ["order.cancelled"]},
        headers={"Idempotency-Key": "plain-http"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "url"
    assert acme.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert acme.get(f"/webhooks/{hook['id']}").status_code == 404


def test_delivery_is_signed_and_a_500_is_retried_with_a_fresh_signature(
    sandbox_factory, receiver
) -> None:
    recv, url = receiver
    recv.statuses = [500]
    base = sandbox_factory(webhook_retry_schedule=[1.1])
    with SpecClient(base, ACME) as acme:
        hook = _subscribe(acme, url, ["shipment.created", "order.cancelled"])
        order = acme.create_order(order_body()).json()
        shipment = acme.post(f"/sandbox/orders/{order['id']}/ship").json()
        (h1, b1), (h2, b2) = recv.wait_for(2)
    assert b1 == b2, "a retry must resend the same event"
    t1 = verify(hook["secret"], h1["x-webhook-signature"], b1)
    t2 = verify(hook["secret"], h2["x-webhook-signature"], b2)
    assert t2 > t1, "each attempt is signed with a fresh timestamp"
    event = json.loads(b1)
    assert event["event_type"] == "shipment.created"
    assert event["event_id"].startswith("evt_")
    assert event["data"]["id"] == shipment["id"]
    errors = list(_validator(["components", "schemas", "ShipmentCreatedEvent"]).iter_errors(event))
    assert not errors, errors[0].message
    assert "ShipmentCreatedEvent" in DOCUMENT["components"]["schemas"]


def test_events_follow_the_changes_that_cause_them(acme: SpecClient, receiver) -> None:
    recv, url = receiver
    hook = _subscribe(acme, url, ["order.cancelled", "inventory.updated", "inventory.adjusted"])
    sku = new_sku(acme, {"wh_syd_1": 4})
    order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 1}])).json()
    acme.post(f"/orders/{order['id']}/cancel")
    acme.post(f"/orders/{order['id']}/cancel")  # already cancelled: no second event
    acme.post(
        "/sandbox/inventory-adjustments",
        json={"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 2, "reason": "found"},
    )
    deliveries = recv.wait_for(6)
    time.sleep(0.3)  # nothing more may arrive
    assert len(recv.received) == 6
    events = [json.loads(body) for _headers, body in deliveries]
    for headers, body in deliveries:
        verify(hook["secret"], headers["x-webhook-signature"], body)
    types = [e["event_type"] for e in events]
    assert types.count("order.cancelled") == 1
    assert types.count("inventory.adjusted") == 1
    assert types.count("inventory.updated") == 4  # set stock, allocate, release, adjust
    schemas = {
        "order.cancelled": "OrderCancelledEvent",
        "inventory.updated": "InventoryUpdatedEvent",
        "inventory.adjusted": "InventoryAdjustedEvent",
    }
    for event in events:
        validator = _validator(["components", "schemas", schemas[event["event_type"]]])
        assert not list(validator.iter_errors(event))


def test_retry_now_sends_pending_deliveries(sandbox_factory, receiver) -> None:
    recv, url = receiver
    recv.statuses = [503]
    base = sandbox_factory(webhook_retry_schedule=[3600])
    with SpecClient(base, ACME) as acme:
        _subscribe(acme, url, ["shipment.created"])
        order = acme.create_order(order_body()).json()
        acme.post(f"/sandbox/orders/{order['id']}/ship")
        recv.wait_for(1)
        r = acme.post("/sandbox/webhook-deliveries/retry")
        assert r.status_code == 200 and r.json() == {"retried": 1}
        (_h1, b1), (_h2, b2) = recv.wait_for(2, timeout=2)
        assert json.loads(b1)["event_id"] == json.loads(b2)["event_id"]
        assert acme.post("/sandbox/webhook-deliveries/retry").json() == {"retried": 0}
