"""The kit removes the webhook subscriptions a run created, and only those (conformance.cleanup)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from conformance.cleanup import SINK_MARKER, created_webhook_ids, sink_url, sweep_webhooks
from conformance.http import ApiClient, HttpSession
from tests.kit.conftest import ACME_TOKEN, GLOBEX_TOKEN


def subscribe(base_url: str, token: str, url: str) -> str:
    resp = httpx.post(
        f"{base_url}/webhooks",
        json={"url": url, "events": ["shipment.created"]},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 201, resp.text
    hook_id: str = resp.json()["id"]
    return hook_id


def listed(base_url: str, token: str) -> set[str]:
    resp = httpx.get(
        f"{base_url}/webhooks", params={"limit": 100}, headers={"Authorization": f"Bearer {token}"}
    )
    return {row["id"] for row in resp.json()["data"]}


def test_the_sink_url_carries_the_run_id() -> None:
    assert sink_url("case1", "ckabc") == f"https://127.0.0.1:9/{SINK_MARKER}/ckabc/case1"


def test_a_sweep_deletes_this_runs_subscriptions_for_every_partner(sandbox_url: str) -> None:
    mine_acme = subscribe(sandbox_url, ACME_TOKEN, sink_url("c1", "ckmine"))
    mine_globex = subscribe(sandbox_url, GLOBEX_TOKEN, sink_url("c2", "ckmine"))
    scenario = subscribe(sandbox_url, ACME_TOKEN, "http://127.0.0.1:1/receiver/hook-1")
    # The kit's receiver tags its paths with the run id: found without a recorded 201 (Ctrl-C).
    unanswered = subscribe(sandbox_url, ACME_TOKEN, "http://127.0.0.1:1/ckmine/hook/abc")
    concurrent = subscribe(sandbox_url, ACME_TOKEN, sink_url("c3", "ckother"))
    customer = subscribe(sandbox_url, ACME_TOKEN, "https://erp.example.com/hooks")

    cleanup = sweep_webhooks(
        sandbox_url, [ACME_TOKEN, GLOBEX_TOKEN], run_id="ckmine", created_ids=[scenario]
    )

    assert cleanup.deleted == 4 and cleanup.left == []
    assert unanswered not in listed(sandbox_url, ACME_TOKEN)
    assert listed(sandbox_url, ACME_TOKEN) == {concurrent, customer}
    assert mine_globex not in listed(sandbox_url, GLOBEX_TOKEN)
    assert mine_acme not in listed(sandbox_url, ACME_TOKEN)


def test_sink_subscriptions_of_a_killed_run_go_once_they_are_an_hour_old(
    sandbox_url: str,
) -> None:
    """A young one may belong to a run going on at the same time: it stays."""
    leftover = subscribe(sandbox_url, ACME_TOKEN, sink_url("c1", "ckkilled"))
    customer = subscribe(sandbox_url, ACME_TOKEN, "https://erp.example.com/hooks")

    young = sweep_webhooks(sandbox_url, [ACME_TOKEN], run_id="cknow")
    assert young.deleted == 0 and leftover in listed(sandbox_url, ACME_TOKEN)

    later = datetime.now(UTC) + timedelta(hours=2)
    old = sweep_webhooks(sandbox_url, [ACME_TOKEN], run_id="cklater", now=later)
    assert old.deleted == 1
    assert listed(sandbox_url, ACME_TOKEN) == {customer}


def test_created_ids_come_from_recorded_201s_of_post_webhooks(sandbox_url: str) -> None:
    session = HttpSession(sandbox_url, spec={"paths": {"/webhooks": {"post": {}}}})
    api = ApiClient(session, ACME_TOKEN)
    body = {"url": "https://erp.example.com/x", "events": ["shipment.created"]}
    made = api.request("POST", "/webhooks", json=body, headers={"Idempotency-Key": "k-1"})
    api.request("POST", "/webhooks", json={"url": "nope"}, headers={"Idempotency-Key": "k-2"})
    assert created_webhook_ids(session.recorded()) == [made.json["id"]]
    session.close()


def test_a_target_without_webhooks_leaves_nothing_and_says_so(sandbox_url: str) -> None:
    cleanup = sweep_webhooks(
        sandbox_url + "/nothing-here", [ACME_TOKEN], run_id="ck1", created_ids=["whk_gone"]
    )
    assert cleanup.deleted == 0
    assert "cleanup: 0 webhook subscription(s) deleted" in cleanup.describe()
