"""order.updated (decision 45) and order.cancelled: the client keeps the newest version of each
order it is told about, applies each version once, and ignores an older one arriving late."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fulfillment_erp_client import ErpClient

from tests.erp_client.conftest import TOKEN, Warehouse, order_body
from tests.erp_client.test_webhooks import Endpoint, endpoint, sign

__all__ = ["endpoint"]  # the fixture, shared with test_webhooks


def wait_for(target: Endpoint, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(target.deliveries) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a delivery beyond the expected ones would show up here
    assert len(target.deliveries) == count, [
        json.loads(b)["event_type"] for b, _, _ in target.deliveries
    ]


def test_order_events_are_applied_once_newest_version_kept(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path, endpoint: tuple[Endpoint, str]
) -> None:
    target, hook_url = endpoint
    secret = warehouse.subscribe(hook_url, ["order.updated", "order.cancelled"])
    with ErpClient(sandbox_url, TOKEN, str(tmp_path / "erp.db")) as erp:
        receiver = target.receiver = erp.webhook_receiver(secret)
        order = erp.create_order(order_body("F-OU"))
        assert erp.amend_order(order["id"], {"packing_note": "Back door"}).outcome == "amended"
        wait_for(target, 1)
        first: dict[str, Any] = json.loads(target.deliveries[0][0])
        assert first["event_type"] == "order.updated"
        assert first["data"]["packing_note"] == "Back door"
        assert erp.store.records("orders")[order["id"]] == first["data"]

        # A cancel sends order.updated and order.cancelled with one version of the order.
        assert erp.orders.cancel(order["id"]).status_code == 200
        wait_for(target, 3)
        types = [json.loads(body)["event_type"] for body, _, _ in target.deliveries[1:]]
        assert sorted(types) == ["order.cancelled", "order.updated"]
        assert target.outcomes == ["applied", "applied", "stale"]
        assert all(status == 200 for _, _, status in target.deliveries)
        kept = erp.store.records("orders")[order["id"]]
        assert kept["status"] == "cancelled"
        assert kept == json.loads(target.deliveries[1][0])["data"]

        # A redelivery (same event_id) is a duplicate; the older version under a new event_id
        # arriving late is stale: neither replaces the cancelled order.
        now = int(time.time())
        raw = target.deliveries[0][0]
        assert receiver.receive(raw, sign(secret, raw, now)).outcome == "duplicate"
        late = json.dumps(dict(first, event_id=f"{first['event_id']}-late")).encode()
        assert receiver.receive(late, sign(secret, late, now)).outcome == "stale"
        assert erp.store.records("orders")[order["id"]]["status"] == "cancelled"
