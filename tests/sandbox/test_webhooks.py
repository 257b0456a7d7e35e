"""Webhooks: subscriptions, signed deliveries from the outbox, retries with fresh signatures, and
subscriptions disabled after failing for their whole retry window."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fulfillment_sandbox.app import create_app
from fulfillment_sandbox.storage import Database
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
        self.arrived: list[float] = []  # time.monotonic() of each delivery, in order
        self.fail_if: Callable[[bytes], bool] | None = None  # 500 to the bodies it matches
        self.gate: threading.Event | None = None  # when given, answers wait until it is set
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append((dict(request.headers), body))
            self.arrived.append(time.monotonic())
            status = self.statuses.pop(0) if self.statuses else 200
        if self.fail_if is not None and self.fail_if(body):
            status = 500
        while self.gate is not None and not self.gate.is_set():
            await asyncio.sleep(0.01)
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


@contextlib.contextmanager
def running_sandbox(tmp_path: Path, **options: Any) -> Iterator[tuple[SpecClient, Database]]:
    """A sandbox served on a free loopback port: an acme client, and the database (to look at
    deliveries)."""
    app = create_app(str(tmp_path / "sandbox.sqlite3"), **options)
    with serve(app) as base, SpecClient(base, ACME) as acme:
        yield acme, app.state.services.db


def wait_until(check: Callable[[], Any], timeout: float = 10) -> Any:
    """Poll `check` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"still not true after {timeout} s")


def deliveries_of(db: Database, hook_id: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            "SELECT id, state, attempts FROM deliveries WHERE webhook_id = ? ORDER BY id",
            (hook_id,),
        ).fetchall()
    return [dict(row) for row in rows]


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
    assert hook["status"] == "active" and "disabled_at" not in hook
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


def test_inventory_events_on_hand_only_skip_allocation_changes(
    sandbox_factory: Callable[..., str], receiver
) -> None:
    """The other legal choice (issue 16, place 10): only on_hand changes fire inventory.updated;
    the order's allocation and its release by the cancel fire none."""
    recv, url = receiver
    with SpecClient(sandbox_factory(inventory_events="on_hand_only"), ACME) as acme:
        _subscribe(acme, url, ["inventory.updated"])
        sku = new_sku(acme, {"wh_syd_1": 4})
        order = acme.create_order(order_body(items=[{"sku": sku, "quantity": 1}])).json()
        acme.post(f"/orders/{order['id']}/cancel")
        acme.post(
            "/sandbox/inventory-adjustments",
            json={"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 2, "reason": "found"},
        )
        deliveries = recv.wait_for(2)
        time.sleep(0.5)  # nothing more may arrive
    assert len(recv.received) == 2, [json.loads(body) for _h, body in recv.received]
    on_hand = [
        json.loads(body)["data"]["warehouses"][0]["on_hand"] for _headers, body in deliveries
    ]
    assert on_hand == [4, 6]  # set stock, adjust


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


def test_http_is_accepted_for_any_loopback_address_only(acme: SpecClient) -> None:
    cases = {
        "http://127.0.0.1:8080/hook": True,
        "http://127.0.0.2:8080/hook": True,
        "http://127.255.255.254/hook": True,
        "http://[::1]:8080/hook": True,
        "http://localhost:8080/hook": True,
        "https://10.0.0.1/hook": True,
        "http://10.0.0.1/hook": False,
        "http://128.0.0.1/hook": False,
        "http://0.0.0.0/hook": False,
        "http://localhost.example.com/hook": False,
        "http://[::2]/hook": False,
    }
    for url, accepted in cases.items():
        r = acme.post(
            "/webhooks",
            json={"url": url, "events": ["order.cancelled"]},
            headers={"Idempotency-Key": f"url-{url}"},
        )
        assert r.status_code == (201 if accepted else 422), (url, r.text)
        if not accepted:
            assert r.json()["error"]["field"] == "url"


def test_a_subscription_failing_for_its_whole_retry_window_is_disabled(
    tmp_path: Path, receiver
) -> None:
    recv, url = receiver
    recv.fail_if = lambda _body: True
    with running_sandbox(tmp_path, webhook_retry_schedule=[0.2, 0.2]) as (acme, db):
        hook = _subscribe(acme, url, ["inventory.updated"])
        later = _queue_delivery(db, hook["id"], due_in=3600)  # pending, not yet due
        new_sku(acme, {"wh_syd_1": 1})  # one inventory.updated
        wait_until(lambda: acme.get(f"/webhooks/{hook['id']}").json()["status"] == "disabled")
        shown = acme.get(f"/webhooks/{hook['id']}").json()
        assert len(recv.received) == 3, "the first attempt and the schedule's two retries"
        assert shown["disabled_at"] >= hook["created_at"]
        assert "Retries exhausted" in shown["disabled_reason"]
        assert "HTTP 500" in shown["disabled_reason"]
        assert url not in shown["disabled_reason"]
        [listed] = acme.get("/webhooks").json()["data"]
        assert listed == shown
        validator = _validator(["components", "schemas", "Webhook"])
        assert not list(validator.iter_errors(listed))
        states = {d["id"]: d["state"] for d in deliveries_of(db, hook["id"])}
        assert states.pop(later) == "cancelled", "its other pending deliveries are dropped"
        assert list(states.values()) == ["failed"]
        # A disabled subscription gets nothing new: no delivery queued, nothing sent.
        new_sku(acme, {"wh_syd_1": 1})
        assert len(deliveries_of(db, hook["id"])) == 2
        assert acme.post("/sandbox/webhook-deliveries/retry").json() == {"retried": 0}
        time.sleep(0.3)
        assert len(recv.received) == 3


def test_a_success_inside_the_retry_window_keeps_the_subscription_active(
    tmp_path: Path, receiver
) -> None:
    """One event the receiver always rejects, another it accepts: the rejected delivery fails
    for good, but the receiver is alive, so the subscription stays active."""
    recv, url = receiver
    recv.fail_if = lambda body: b"REJECTED-SKU" in body
    with running_sandbox(tmp_path, webhook_retry_schedule=[0.3, 0.3]) as (acme, db):
        hook = _subscribe(acme, url, ["inventory.updated"])
        acme.post(
            "/sandbox/inventory",
            json={"sku": "REJECTED-SKU", "warehouse_id": "wh_syd_1", "on_hand": 1},
        )
        recv.wait_for(1)  # its first attempt, then an accepted delivery before its retries
        new_sku(acme, {"wh_syd_1": 1})
        wait_until(
            lambda: (
                sorted(d["state"] for d in deliveries_of(db, hook["id"])) == ["delivered", "failed"]
            )
        )
        assert acme.get(f"/webhooks/{hook['id']}").json()["status"] == "active"


@pytest.mark.parametrize("answer", [200, 500])
def test_delete_drops_pending_and_in_flight_deliveries(
    tmp_path: Path, receiver, answer: int
) -> None:
    """Deleted while an attempt is in flight: whatever the receiver then answers, the delivery is
    neither delivered nor retried, and the pending one behind it is never sent."""
    recv, url = receiver
    recv.gate = threading.Event()
    recv.statuses = [answer]
    with running_sandbox(tmp_path, webhook_retry_schedule=[0.2]) as (acme, db):
        hook = _subscribe(acme, url, ["inventory.updated"])
        new_sku(acme, {"wh_syd_1": 1})
        recv.wait_for(1)  # in flight, held by the receiver
        new_sku(acme, {"wh_syd_1": 1})  # pending behind it (one attempt at a time)
        assert acme.delete(f"/webhooks/{hook['id']}").status_code == 204
        recv.gate.set()
        # The retry endpoint first waits for attempts in flight to end and be recorded.
        assert acme.post("/sandbox/webhook-deliveries/retry").json() == {"retried": 0}
        assert [(d["state"], d["attempts"]) for d in deliveries_of(db, hook["id"])] == [
            ("cancelled", 0),
            ("cancelled", 0),
        ]
        time.sleep(0.5)  # longer than the schedule's retry step
        assert len(recv.received) == 1


def test_a_database_from_an_older_sandbox_gets_the_new_columns(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite3")
    conn = sqlite3.connect(path)
    conn.executescript(  # the two tables as an older sandbox created them
        """
        CREATE TABLE webhooks (
          id TEXT PRIMARY KEY, partner TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL,
          secret TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
          deleted INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE deliveries (
          id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, webhook_id TEXT NOT NULL,
          state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
          last_status INTEGER, last_error TEXT);
        INSERT INTO webhooks VALUES ('whk_old', 'acme', 'https://erp.example.com/hook',
          '["order.cancelled"]', 'whsec_x', '2026-01-01T00:00:00.000Z',
          '2026-01-01T00:00:00.000Z', 0);
        """
    )
    conn.close()
    db = Database(path)
    try:
        with db.read() as read:
            row = read.execute("SELECT status, disabled_at FROM webhooks").fetchone()
            columns = {c["name"] for c in read.execute("PRAGMA table_info(deliveries)")}
        assert (row["status"], row["disabled_at"]) == ("active", None)
        assert "first_attempt_at" in columns
    finally:
        db.close()


def _queue_delivery(db: Database, hook_id: str, due_in: float) -> int:
    """A pending delivery of a made-up event, due `due_in` seconds from now."""
    event_id = f"evt_queued{int(time.time() * 1000)}"
    body = json.dumps({"event_id": event_id, "event_type": "inventory.updated", "data": {}})
    with db.write() as conn:
        conn.execute(
            "INSERT INTO events (id, partner, type, created_at, body) "
            "VALUES (?, 'acme', 'inventory.updated', '2026-01-01T00:00:00.000Z', ?)",
            (event_id, body),
        )
        cursor = conn.execute(
            "INSERT INTO deliveries (event_id, webhook_id, state, attempts, next_attempt_at) "
            "VALUES (?, ?, 'pending', 0, ?)",
            (event_id, hook_id, time.time() + due_in),
        )
    return int(cursor.lastrowid or 0)
