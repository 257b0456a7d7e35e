"""The end of the retry window, made to pass at once by the sandbox control: a subscription whose
last attempt fails is disabled (when and why shown), gets nothing more, and PATCH
{"status": "active"} brings it back for the events that follow."""

from __future__ import annotations

import json
import time

from .conftest import order_body
from .spec_client import SpecClient
from .test_webhooks import _subscribe, receiver  # noqa: F401  (the receiver fixture)


def ship_one(acme: SpecClient) -> str:
    order = acme.create_order(order_body()).json()
    return str(acme.post(f"/sandbox/orders/{order['id']}/ship").json()["id"])


def test_exhausted_retries_disable_and_patch_reenables(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    recv, url = receiver
    recv.fail_if = lambda _body: True
    hook = _subscribe(acme, url, ["shipment.created"])
    ship_one(acme)
    recv.wait_for(1)
    r = acme.post(f"/sandbox/webhooks/{hook['id']}/exhaust-retries")
    assert r.status_code == 200, r.text
    assert len(recv.received) == 2, "the last attempt is made before the answer"
    disabled = r.json()
    assert disabled["status"] == "disabled" and disabled["disabled_at"].endswith("Z")
    reason = disabled["disabled_reason"]
    assert "Retries exhausted" in reason and url not in reason
    assert acme.get(f"/webhooks/{hook['id']}").json() == disabled
    listed = [h for h in acme.get("/webhooks").json()["data"] if h["id"] == hook["id"]]
    assert listed == [disabled]

    ship_one(acme)
    time.sleep(0.5)
    assert len(recv.received) == 2, "a disabled subscription gets no new events"

    recv.fail_if = None
    r = acme.patch(f"/webhooks/{hook['id']}", json={"status": "active"})
    assert r.status_code == 200, r.text
    active = r.json()
    assert active["status"] == "active" and "disabled_at" not in active
    assert "disabled_reason" not in active
    assert acme.get(f"/webhooks/{hook['id']}").json() == active
    shipment_id = ship_one(acme)
    _headers, body = recv.wait_for(3)[2]
    assert json.loads(body)["data"]["id"] == shipment_id, "events after re-enabling are delivered"


def test_patch_refuses_other_changes_and_unknown_subscriptions(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    _recv, url = receiver
    hook = _subscribe(acme, url, ["shipment.created"])
    same = acme.patch(f"/webhooks/{hook['id']}", json={"status": "active"})
    assert same.status_code == 200 and same.json()["status"] == "active"
    bad = acme.patch(f"/webhooks/{hook['id']}", json={"status": "disabled"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"
    missing = acme.patch("/webhooks/whk_nosuchhook", json={"status": "active"})
    assert missing.status_code == 404
    assert acme.post("/sandbox/webhooks/whk_nosuchhook/exhaust-retries").status_code == 404


def test_a_last_attempt_that_succeeds_keeps_the_subscription_active(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    recv, url = receiver
    recv.statuses = [500]
    hook = _subscribe(acme, url, ["shipment.created"])
    ship_one(acme)
    recv.wait_for(1)
    r = acme.post(f"/sandbox/webhooks/{hook['id']}/exhaust-retries")
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert len(recv.received) == 2
