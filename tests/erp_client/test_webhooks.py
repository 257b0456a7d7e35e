"""Webhooks: the sandbox's real deliveries are verified; forged, old and repeated ones are not
applied."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fulfillment_erp_client import ErpClient, WebhookReceiver
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.erp_client.conftest import TOKEN, Warehouse, order_body
from tests.live_server import serve


def sign(secret: str, body: bytes, stamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


class Endpoint:
    """The ERP's webhook endpoint: hands raw bytes and the header to the receiver."""

    def __init__(self) -> None:
        self.receiver: WebhookReceiver | None = None
        self.deliveries: list[tuple[bytes, str, int]] = []
        self.outcomes: list[str] = []  # per delivery, what the receiver did with it

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        header = request.headers.get("X-Webhook-Signature", "")
        assert self.receiver is not None
        received = self.receiver.receive(body, header)
        self.deliveries.append((body, header, received.status))
        self.outcomes.append(received.outcome)
        return Response(status_code=received.status)


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, str]]:
    target = Endpoint()
    app = Starlette(routes=[Route("/hooks", target.handle, methods=["POST"])])
    with serve(app) as url:
        yield target, f"{url}/hooks"


def test_real_deliveries_are_verified_and_replays_refused_or_deduplicated(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path, endpoint: tuple[Endpoint, str]
) -> None:
    target, hook_url = endpoint
    secret = warehouse.subscribe(hook_url, ["shipment.created"])
    with ErpClient(sandbox_url, TOKEN, str(tmp_path / "erp.db")) as erp:
        receiver = target.receiver = erp.webhook_receiver(secret)
        order = erp.create_order(order_body("F-H"))
        shipment = warehouse.ship(order["id"])
        deadline = time.monotonic() + 30
        while not target.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        ((body, header, status),) = target.deliveries
        assert status == 200 and json.loads(body)["data"]["id"] == shipment["id"]
        assert (
            erp.store.records("shipments")[shipment["id"]]["updated_at"] == shipment["updated_at"]
        )

        now = int(time.time())
        assert receiver.receive(body, sign(secret, body, now)).outcome == "duplicate"
        assert receiver.receive(body, sign("whsec_wrong", body, now)).status == 400
        assert receiver.receive(body + b" ", header).status == 400  # not the bytes signed
        assert receiver.receive(body, sign(secret, body, now - 301)).status == 400
        assert receiver.receive(body, sign(secret, body, now + 301)).status == 400
        assert receiver.receive(body, None).status == 400

        # A late redelivery of an older version (a new event_id): acknowledged, not applied.
        event = json.loads(body)
        older = dict(
            event,
            event_id=f"{event['event_id']}-older",
            data=dict(event["data"], updated_at="2020-01-01T00:00:00.000Z"),
        )
        raw = json.dumps(older).encode()
        assert receiver.receive(raw, sign(secret, raw, now)).outcome == "stale"

        # Polling afterwards does not hand the same shipment version to the ERP again.
        assert erp.poll_shipments() == []
