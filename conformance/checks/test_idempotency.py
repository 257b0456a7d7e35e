"""Idempotent order creation: a retried create never makes a second order.

The guide calls the Idempotency-Key "the single most important guard against duplicate
shipments" (Design principles; §1 Orders). These checks retry creates the ways real clients do
(an immediate retry, a retry after a gap, twenty racing retries, a retry with another body, a
create under a new key that reuses a reference) and then count the orders carrying the
reference, so a server that answers nicely but stores twice still fails (decisions 1-7).
"""

from __future__ import annotations

import json
import string
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import REPLAY_STATUSES, error_code, new_key, orders_with_reference

CONCURRENT_CREATES = 20
# Long enough to look like a client timeout followed by a retry, short enough for CI.
RETRY_PAUSE_SECONDS = 2.0
MAX_PAGES = 5


def post_order(api: ApiClient, body: dict[str, Any], key: str | None) -> ApiResponse:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.request("POST", "/orders", json=body, headers=headers)


def created_id(resp: ApiResponse, what: str) -> str:
    assert resp.status == 201, f"expected 201 for {what}, got {resp.status} ({resp.describe()})"
    order_id = (resp.json or {}).get("id")
    assert isinstance(order_id, str) and order_id, (
        f"expected an order id in the 201 body, got {order_id!r} ({resp.describe()})"
    )
    return order_id


def assert_one_order(api: ApiClient, reference: str, order_id: str) -> None:
    orders = orders_with_reference(api, reference)
    ids = sorted(str(order.get("id")) for order in orders)
    assert ids == [order_id], (
        f"expected exactly one order with reference {reference!r} (id {order_id}), "
        f"got {len(ids)}: {ids}"
    )


def assert_replays(resp: ApiResponse, order_id: str, situation: str) -> None:
    """The answer to a retry is the first create's: 200 (or 201) with the same order id."""
    assert resp.status in REPLAY_STATUSES, (
        f"expected 200 (or 201) for {situation}, got {resp.status} ({resp.describe()})"
    )
    replay_id = (resp.json or {}).get("id")
    assert replay_id == order_id, (
        f"expected the retry to return order {order_id}, got {replay_id!r} ({resp.describe()})"
    )


@requirement("IDEM-001")
def test_create_without_idempotency_key_is_rejected_with_400(
    api: ApiClient, factory: TestData
) -> None:
    """POSTs a valid order without Idempotency-Key: expects 400 idempotency_key_required and
    then finds no order with that reference."""
    body = factory.order_body()
    resp = post_order(api, body, key=None)
    assert resp.status == 400, (
        f"expected 400 for a create without Idempotency-Key, got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == "idempotency_key_required", (
        f"expected error code idempotency_key_required, got {error_code(resp)!r} "
        f"({resp.describe()})"
    )
    orders = orders_with_reference(api, body["reference"])
    assert orders == [], (
        f"expected no order after the refused create, got {len(orders)} with reference "
        f"{body['reference']!r}"
    )


@requirement("IDEM-002")
def test_retry_with_same_key_and_body_returns_the_same_order(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order, sends the identical request again with the same key, and expects a 2xx
    (200 or 201) carrying the same id, then exactly one order with that reference."""
    body = factory.order_body()
    key = new_key(run_id)
    order_id = created_id(post_order(api, body, key), "the first create")
    replay = post_order(api, body, key)
    assert_replays(replay, order_id, "a retry with the same key and body")
    assert_one_order(api, body["reference"], order_id)


@requirement("IDEM-003")
def test_retry_with_reordered_json_counts_as_the_same_body(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Replays a create with the same key and the same JSON written with another key order and
    white space: expects the same order back, not 422 (decision 3, canonical fingerprint)."""
    body = factory.order_body()
    key = new_key(run_id)
    order_id = created_id(post_order(api, body, key), "the first create")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    replay = api.request(
        "POST",
        "/orders",
        content=reordered.encode("utf-8"),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert_replays(replay, order_id, "the same body with another key order")
    assert_one_order(api, body["reference"], order_id)


@requirement("IDEM-004")
def test_same_key_with_another_body_is_rejected_with_422(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order, then sends another order (new order_number and reference) under the same
    key: expects 422 idempotency_key_reused and no order with the second reference."""
    first = factory.order_body()
    key = new_key(run_id)
    order_id = created_id(post_order(api, first, key), "the first create")
    second = factory.order_body()
    resp = post_order(api, second, key)
    assert resp.status == 422, (
        f"expected 422 for a reused key with another body, got {resp.status} ({resp.describe()})"
    )
    assert error_code(resp) == "idempotency_key_reused", (
        f"expected error code idempotency_key_reused, got {error_code(resp)!r} ({resp.describe()})"
    )
    extra = orders_with_reference(api, second["reference"])
    assert extra == [], f"expected no order for the refused body, got {len(extra)}"
    assert_one_order(api, first["reference"], order_id)


@requirement("IDEM-005")
def test_concurrent_creates_with_one_key_make_exactly_one_order(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Fires 20 identical creates with one key at once (threads released by a barrier): every
    answer must be a 2xx with the same id or 409 idempotency_key_in_use, and exactly one order
    with that reference must exist afterwards (decision 4)."""
    body = factory.order_body()
    key = new_key(run_id)
    barrier = threading.Barrier(CONCURRENT_CREATES)

    def one_attempt(_: int) -> ApiResponse:
        barrier.wait(timeout=30)
        return post_order(api, body, key)

    with ThreadPoolExecutor(max_workers=CONCURRENT_CREATES) as pool:
        answers = list(pool.map(one_attempt, range(CONCURRENT_CREATES)))

    ids: set[str] = set()
    for resp in answers:
        if resp.status in REPLAY_STATUSES:
            ids.add(str((resp.json or {}).get("id")))
            continue
        assert resp.status == 409 and error_code(resp) == "idempotency_key_in_use", (
            f"expected 200/201 or 409 idempotency_key_in_use for a concurrent duplicate, got "
            f"{resp.status} {error_code(resp)!r} ({resp.describe()})"
        )
        assert resp.headers.get("Retry-After"), (
            f"expected Retry-After on 409 idempotency_key_in_use, got none ({resp.describe()})"
        )
    assert len(ids) == 1, (
        f"expected every successful answer to carry one and the same order id, got {sorted(ids)}"
    )
    assert_one_order(api, body["reference"], ids.pop())


@requirement("IDEM-006")
def test_retry_after_a_pause_returns_the_same_order(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order, waits as a client would after a timeout, retries with the same key and
    body: expects a 2xx with the same id and still one order (decision 5: keys are kept 24 h)."""
    body = factory.order_body()
    key = new_key(run_id)
    order_id = created_id(post_order(api, body, key), "the first create")
    time.sleep(RETRY_PAUSE_SECONDS)
    retry = post_order(api, body, key)
    assert_replays(retry, order_id, f"a retry after {RETRY_PAUSE_SECONDS:g}s")
    assert_one_order(api, body["reference"], order_id)


@requirement("IDEM-007")
def test_reference_reuse_under_another_key_is_rejected_with_409(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order, then creates it again under a new key with the same reference: expects
    409 duplicate_reference naming the existing order, and still one order (decision 6)."""
    body = factory.order_body()
    order_id = created_id(post_order(api, body, new_key(run_id)), "the first create")
    resp = post_order(api, body, new_key(run_id))
    assert resp.status == 409, (
        f"expected 409 for a reused reference under a new key, got {resp.status} "
        f"({resp.describe()})"
    )
    assert error_code(resp) == "duplicate_reference", (
        f"expected error code duplicate_reference, got {error_code(resp)!r} ({resp.describe()})"
    )
    existing = ((resp.json or {}).get("error") or {}).get("existing_order_id")
    assert existing == order_id, (
        f"expected existing_order_id {order_id} in the error, got {existing!r} ({resp.describe()})"
    )
    assert_one_order(api, body["reference"], order_id)


@requirement("IDEM-008")
def test_keys_of_up_to_255_characters_bare_or_quoted_are_accepted(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates one order each under a bare UUID key, a quoted structured-field string key, a
    255-character key and a key of printable ASCII punctuation with a space inside (decision 33):
    each is a new order (201); the quoted key replays to the same order."""
    long_key = f"{run_id}-{uuid.uuid4().hex}".ljust(255, "k")
    keys = {
        "a bare UUID": str(uuid.uuid4()),
        "a quoted string": f'"{run_id}-{uuid.uuid4().hex}"',
        "255 characters": long_key,
        "punctuation and a space": f"{uuid.uuid4().hex} {string.punctuation}",
    }
    for what, key in keys.items():
        body = factory.order_body()
        order_id = created_id(post_order(api, body, key), f"a create keyed with {what}")
        if what == "a quoted string":
            replay = post_order(api, body, key)
            replay_id = (replay.json or {}).get("id") if isinstance(replay.json, dict) else None
            assert replay.status in REPLAY_STATUSES and replay_id == order_id, (
                f"expected the quoted key to replay order {order_id} with 200 (or 201), got "
                f"{replay.status} with id {replay_id!r} ({replay.describe()})"
            )


@requirement("IDEM-009")
def test_key_longer_than_255_characters_is_refused_with_400(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """POSTs an order under a 256-character key: expects 400 (422 accepted) and no order."""
    body = factory.order_body()
    resp = post_order(api, body, f"{run_id}-{uuid.uuid4().hex}".ljust(256, "k"))
    assert resp.status in (400, 422), (
        f"expected 400 (or 422) for a 256-character Idempotency-Key, got {resp.status} "
        f"({resp.describe()})"
    )
    orders = orders_with_reference(api, body["reference"])
    assert orders == [], f"expected no order after the refused key, got {len(orders)}"


@requirement("IDEM-014")
def test_key_outside_printable_ascii_is_refused_with_400(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """POSTs an order under a key with a tab inside (a legal HTTP header value, outside the key's
    pattern): expects 400 validation_failed naming Idempotency-Key, and no order."""
    body = factory.order_body()
    resp = post_order(api, body, f"{run_id}\t{uuid.uuid4().hex}")
    assert (resp.status, error_code(resp)) == (400, "validation_failed"), (
        f"expected 400 validation_failed for an Idempotency-Key with a tab, got {resp.status} "
        f"{error_code(resp)!r} ({resp.describe()})"
    )
    field = ((resp.json or {}).get("error") or {}).get("field")
    assert isinstance(field, str) and field.lower() == "idempotency-key", (
        f"expected error.field Idempotency-Key, got {field!r} ({resp.describe()})"
    )
    orders = orders_with_reference(api, body["reference"])
    assert orders == [], f"expected no order after the refused key, got {len(orders)}"


@requirement("IDEM-011")
def test_a_refused_create_replays_its_422_for_the_same_key(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Sends an order for an unknown warehouse twice under one key: both answers are the same
    422 with the same code (a deterministic 4xx is an outcome, decision 7) and no order exists."""
    body = factory.order_body(warehouse_id=f"wh-unknown-{run_id}")
    key = new_key(run_id)
    first = post_order(api, body, key)
    assert first.status == 422, (
        f"expected 422 for an unknown warehouse, got {first.status} ({first.describe()})"
    )
    again = post_order(api, body, key)
    assert (again.status, error_code(again)) == (first.status, error_code(first)), (
        f"expected the retry to get {first.status} {error_code(first)!r} again, got "
        f"{again.status} {error_code(again)!r} ({again.describe()})"
    )
    orders = orders_with_reference(api, body["reference"])
    assert orders == [], f"expected no order after the refused creates, got {len(orders)}"


@requirement("IDEM-013")
def test_only_a_replay_says_idempotent_replayed(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """Creates an order and retries it with the same key and body: the first answer must not
    carry Idempotent-Replayed: true, the replay must (decision 49)."""
    body = factory.order_body()
    key = new_key(run_id)
    resp = post_order(api, body, key)
    created_id(resp, "a new order")
    replayed = resp.headers.get("Idempotent-Replayed")
    assert (replayed or "").strip().lower() != "true", (
        f"expected no Idempotent-Replayed: true on a first create, got {replayed!r} "
        f"({resp.describe()})"
    )
    replay = post_order(api, body, key)
    assert replay.status in REPLAY_STATUSES, (
        f"expected 200 (or 201) for the retry, got {replay.status} ({replay.describe()})"
    )
    flag = replay.headers.get("Idempotent-Replayed")
    assert (flag or "").strip().lower() == "true", (
        f"expected Idempotent-Replayed: true on the replay, got {flag!r} ({replay.describe()})"
    )
