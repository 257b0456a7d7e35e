"""Chaos mode (issue 12): every fault happens, is seeded, and stays inside the contract."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fulfillment_sandbox.chaos import PROFILES, parse_profiles
from fulfillment_sandbox.cli import build_parser

from .conftest import ACME, order_body
from .spec_client import ERROR_VALIDATOR, SpecClient, check_response


class ChaosClient(SpecClient):
    """Checks every answer against the spec; a 503 (5xx is outside the per-operation contract,
    ERR-012) must still be the error envelope with Retry-After and X-Request-Id."""

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = httpx.Client.request(self, method, url, **kwargs)
        if response.status_code == 503:
            body = response.json()
            assert not list(ERROR_VALIDATOR.iter_errors(body))
            assert body["error"]["code"] == "internal_error"
            assert response.headers["retry-after"].isdigit()
            assert body["error"]["request_id"] == response.headers["x-request-id"]
        else:
            check_response(response)
        return response


def faults(base: str) -> dict[str, int]:
    report: dict[str, int] = httpx.get(f"{base}/chaos").json()["faults"]
    return report


def test_profiles_parse_and_the_cli_takes_them() -> None:
    assert parse_profiles("all") == PROFILES
    assert parse_profiles("throttle, latency,throttle") == ("throttle", "latency")
    with pytest.raises(ValueError, match="unknown chaos profile bogus"):
        parse_profiles("bogus")
    args = build_parser().parse_args(["--db", "x", "--chaos", "moving-rows", "--chaos-seed", "7"])
    assert (args.chaos, args.chaos_seed) == (("moving-rows",), 7)


def test_throttle_answers_429_bursts_with_retry_after_and_counts_early_retries(
    sandbox_factory: Callable[..., str],
) -> None:
    base = sandbox_factory(chaos=("throttle",), chaos_seed=3)
    with ChaosClient(base, ACME) as client:
        statuses = [client.get("/warehouses").status_code for _ in range(80)]
    assert set(statuses) == {200, 429}
    refused = faults(base)
    # A tight loop ignores Retry-After: every request inside the window is refused and counted.
    assert refused["early_retry"] >= 1
    assert refused["throttle"] == statuses.count(429)


def test_flaky_reads_are_seeded_and_reproducible(sandbox_factory: Callable[..., str]) -> None:
    runs = []
    for _ in range(2):
        base = sandbox_factory(chaos=("flaky-reads",), chaos_seed=11)
        with ChaosClient(base, ACME) as client:
            runs.append([client.get("/warehouses").status_code for _ in range(40)])
            assert client.post("/orders", json=order_body(), headers=_key()).status_code == 201
    assert runs[0] == runs[1]
    assert 503 in runs[0] and 200 in runs[0]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_drop_after_commit_cuts_the_connection_after_the_order_exists(
    sandbox_factory: Callable[..., str],
) -> None:
    base = sandbox_factory(chaos=("drop-after-commit",), chaos_seed=1)
    with ChaosClient(base, ACME) as client:
        for _ in range(30):
            body, key = order_body(), _key()
            try:
                client.post("/orders", json=body, headers=key)
            except httpx.TransportError:
                break
        else:
            pytest.fail("no connection was dropped in 30 creates")
        listed = client.get("/orders", params={"reference": body["reference"]}, headers=BYPASS)
        assert len(listed.json()["data"]) == 1  # committed although the answer was lost
        for _ in range(10):  # the retry with the same key replays it (IDEM-002)
            try:
                replay = client.post("/orders", json=body, headers=key)
                break
            except httpx.TransportError:
                continue
        assert replay.status_code == 200
        assert replay.json()["id"] == listed.json()["data"][0]["id"]
    assert faults(base)["dropped_after_commit"] >= 1


BYPASS = {"X-Chaos-Bypass": "1"}


def test_moving_rows_return_at_the_inclusive_boundary_never_older(
    sandbox_factory: Callable[..., str],
) -> None:
    base = sandbox_factory(chaos=("moving-rows",), chaos_seed=1)
    with ChaosClient(base, ACME) as client:
        for _ in range(4):
            order = client.post("/orders", json=order_body(), headers=_key()).json()
            shipped = client.post(f"/sandbox/orders/{order['id']}/ship", json={"parcels": 2})
            assert shipped.status_code == 201
        served: list[tuple[str, str]] = []
        params: dict[str, Any] = {"limit": 1}
        while True:
            page = client.get("/shipments", params=params).json()
            for row in page["data"]:
                newest = max((t for t, _ in served), default="")
                assert row["updated_at"] >= newest, "a row became visible older than one served"
                served.append((row["updated_at"], row["id"]))
            if not page["pagination"]["has_more"]:
                break
            params = {"cursor": page["pagination"]["next_cursor"]}
        mark = max(t for t, _ in served)
        again = client.get("/shipments", params={"updated_since": mark}, headers=BYPASS).json()
        at_mark = [row["id"] for row in again["data"] if row["updated_at"] == mark]
    assert faults(base)["moved_row"] >= 1
    # The walk's last row and a row moved onto its instant share the mark: an inclusive bound
    # gets both, an exclusive one would lose the moved row.
    assert len(at_mark) >= 2


def test_every_profile_at_once_answers_only_what_the_spec_allows(
    sandbox_factory: Callable[..., str],
) -> None:
    base = sandbox_factory(chaos=PROFILES, chaos_seed=2)
    seen: set[int] = set()
    with ChaosClient(base, ACME) as client:
        for _ in range(12):
            for call in (
                lambda: client.post("/orders", json=order_body(), headers=_key()),
                lambda: client.get("/shipments", params={"limit": 2}),
                lambda: client.get("/inventory", params={"limit": 2}),
            ):
                try:
                    seen.add(call().status_code)
                except httpx.TransportError:
                    seen.add(0)  # a dropped connection: no answer to judge
    assert {0, 201, 200, 429} <= seen


def test_webhook_duplicates_redeliver_the_same_event_late_and_freshly_signed(
    sandbox_factory: Callable[..., str],
) -> None:
    import time
    from collections import Counter

    from fulfillment_sandbox.delivery import sign

    from conformance.webhook_receiver import WebhookReceiver

    base = sandbox_factory(chaos=("webhook-duplicates",), chaos_seed=4)
    with WebhookReceiver("127.0.0.1", 0) as receiver, ChaosClient(base, ACME) as client:
        path = receiver.new_path()
        created = client.post(
            "/webhooks",
            json={"url": receiver.url(path), "events": ["inventory.updated"]},
            headers=_key(),
        ).json()
        for _ in range(4):
            assert client.post("/orders", json=order_body(), headers=_key()).status_code == 201
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and faults(base).get("webhook_duplicate", 0) < 2:
            time.sleep(0.2)
        deliveries = receiver.deliveries(path)
    counts = Counter(d.event_id for d in deliveries)
    assert max(counts.values()) >= 2, "no event was delivered twice"
    for delivery in deliveries:  # every copy is signed afresh over the same bytes
        stamp = int(delivery.headers["x-webhook-signature"].split(",")[0].removeprefix("t="))
        expected = sign(created["secret"], stamp, delivery.body)
        assert delivery.headers["x-webhook-signature"] == expected
    # Out of order: a late copy of an event arrives after a newer event's first delivery.
    first = {}
    for index, delivery in enumerate(deliveries):
        first.setdefault(delivery.event_id, index)
    overtaken = [
        d.event_id
        for index, d in enumerate(deliveries)
        if first[d.event_id] != index
        and any(first[d.event_id] < first[other] < index for other in first)
    ]
    assert overtaken, "no late copy arrived after a newer event"
