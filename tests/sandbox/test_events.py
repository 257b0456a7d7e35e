"""The event log, redelivery and order.updated (decision 45)."""

from __future__ import annotations

import json
import time
from typing import Any

from .conftest import order_body
from .spec_client import SpecClient
from .test_webhook_rotation import signed_with
from .test_webhooks import _subscribe, receiver  # noqa: F401  (the receiver fixture)


def logged(client: SpecClient, **params: Any) -> list[dict[str, Any]]:
    """Every event the log lists for these filters, page by page (limit 2, to walk cursors)."""
    rows: list[dict[str, Any]] = []
    query: dict[str, Any] = {**params, "limit": 2}
    while True:
        r = client.get("/events", params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        rows.extend(page["data"])
        if not page["pagination"]["has_more"]:
            return rows
        query = {"cursor": page["pagination"]["next_cursor"], "limit": 2}


def test_every_event_is_logged_without_any_subscription(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    acme.post(f"/sandbox/orders/{order['id']}/hold")
    acme.post(f"/orders/{order['id']}/cancel")
    mine = [e for e in logged(acme) if e["data"].get("id") == order["id"]]
    seen = [(e["event_type"], e["data"]["status"]) for e in mine]
    # The cancel's two events share one transaction's created_at: their order is by event_id.
    assert seen[0] == ("order.updated", "on_hold")
    assert sorted(seen[1:]) == [("order.cancelled", "cancelled"), ("order.updated", "cancelled")]
    assert mine[1]["created_at"] == mine[2]["created_at"]
    keys = [(e["created_at"], e["event_id"]) for e in logged(acme)]
    assert keys == sorted(keys), "oldest first, then by event_id"
    cancels = logged(acme, type="order.cancelled")
    assert [e["data"]["id"] for e in cancels] == [order["id"]]
    since = logged(acme, created_since=mine[1]["created_at"])
    assert {e["event_id"] for e in mine[1:]} <= {e["event_id"] for e in since}
    assert mine[0]["event_id"] not in {e["event_id"] for e in since}
    assert logged(acme, created_since="2999-01-01T00:00:00Z") == []


def test_the_log_is_per_partner(acme: SpecClient, globex: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    acme.post(f"/sandbox/orders/{order['id']}/hold")
    event = logged(acme, type="order.updated")[-1]
    assert all(e["event_id"] != event["event_id"] for e in logged(globex))
    r = globex.post(f"/events/{event['event_id']}/redeliver")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_order_updated_is_delivered_with_the_full_order(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    recv, url = receiver
    _subscribe(acme, url, ["order.updated"])
    order = acme.create_order(order_body()).json()
    amended = acme.patch(f"/orders/{order['id']}", json={"packing_note": "Side door"})
    assert amended.status_code == 200, amended.text
    acme.post(f"/sandbox/orders/{order['id']}/hold")
    bodies = [json.loads(body) for _headers, body in recv.wait_for(2)]
    assert [(b["event_type"], b["data"]["status"]) for b in bodies] == [
        ("order.updated", "received"),
        ("order.updated", "on_hold"),
    ]
    assert bodies[0]["data"]["packing_note"] == "Side door"
    assert bodies[1]["data"] == acme.get(f"/orders/{order['id']}").json()


def test_redelivery_has_the_same_event_id_and_a_fresh_signature(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    recv, url = receiver
    hook = _subscribe(acme, url, ["order.updated"])
    other = _subscribe(acme, url + "?other", ["order.cancelled"])
    order = acme.create_order(order_body()).json()
    acme.post(f"/sandbox/orders/{order['id']}/hold")
    ((first_headers, first_body),) = recv.wait_for(1)
    event = json.loads(first_body)
    time.sleep(1.1)  # so that the redelivery's t is another second
    r = acme.post(f"/events/{event['event_id']}/redeliver", json={"webhook_id": hook["id"]})
    assert r.status_code == 202, r.text
    assert r.json() == {"event_id": event["event_id"], "webhook_ids": [hook["id"]]}
    headers, body = recv.wait_for(2)[1]
    assert json.loads(body)["event_id"] == event["event_id"]
    assert body == first_body, "the logged envelope, byte for byte"
    assert signed_with(hook["secret"], headers["x-webhook-signature"], body) == [True]
    assert headers["x-webhook-signature"] != first_headers["x-webhook-signature"]
    everyone = acme.post(f"/events/{event['event_id']}/redeliver")
    assert everyone.status_code == 202, everyone.text
    assert everyone.json()["webhook_ids"] == [hook["id"]]
    recv.wait_for(3)
    refused = acme.post(f"/events/{event['event_id']}/redeliver", json={"webhook_id": other["id"]})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "webhook_not_deliverable"


def test_redelivery_of_unknown_things_is_404(acme: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    acme.post(f"/sandbox/orders/{order['id']}/hold")
    event = logged(acme, type="order.updated")[-1]
    for path, body in (
        ("/events/evt_nosuchevent/redeliver", None),
        (f"/events/{event['event_id']}/redeliver", {"webhook_id": "whk_nosuchhook"}),
    ):
        r = acme.post(path, json=body) if body else acme.post(path)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
