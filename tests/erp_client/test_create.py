"""Creating orders: a lost response, a crash and a 429 never make a second order."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fulfillment_erp_client import ErpClient, Refused, RetryPolicy
from fulfillment_sandbox.ratelimit import RateLimit

from tests.erp_client.conftest import TOKEN, Crash, Recorder, Warehouse, order_body


def lose_first_create(error: Exception) -> Callable[[httpx.Request, httpx.Response, int], None]:
    """The server created the order, then its answer never reached the client."""
    lost: list[bool] = []

    def fault(request: httpx.Request, response: httpx.Response, _: int) -> None:
        if request.method == "POST" and request.url.path.endswith("/orders") and not lost:
            lost.append(True)
            raise error

    return fault


def test_a_lost_response_is_retried_with_the_same_key(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    timeout = httpx.ReadTimeout("the response was lost")
    recorder = Recorder(lose_first_create(timeout))
    policy = RetryPolicy(sleep=lambda _: None)
    with ErpClient(
        sandbox_url, TOKEN, str(tmp_path / "erp.db"), transport=recorder, policy=policy
    ) as erp:
        order = erp.create_order(order_body("F-1"))

    posts = recorder.matching("POST", "/orders")
    assert [r.status_code for _, r in posts] == [201, 200]  # created, then replayed
    keys = {q.headers["Idempotency-Key"] for q, _ in posts}
    assert len(keys) == 1 and posts[1][1].json()["id"] == order["id"]
    assert [o["id"] for o in warehouse.orders_with_reference("F-1")] == [order["id"]]


def test_a_crash_after_sending_reuses_the_stored_key_on_restart(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    store = str(tmp_path / "erp.db")
    recorder = Recorder(lose_first_create(Crash()))
    with ErpClient(sandbox_url, TOKEN, store, transport=recorder) as erp, pytest.raises(Crash):
        erp.create_order(order_body("F-2"))

    after = Recorder()
    with ErpClient(sandbox_url, TOKEN, store, transport=after) as erp:
        (resumed,) = erp.resume()
        again = erp.create_order(order_body("F-2"))  # the ERP's own retry: no request at all

    first_key = recorder.matching("POST", "/orders")[0][0].headers["Idempotency-Key"]
    ((retry, replay),) = after.matching("POST", "/orders")
    assert retry.headers["Idempotency-Key"] == first_key and replay.status_code == 200
    assert resumed["id"] == again["id"]
    assert [o["id"] for o in warehouse.orders_with_reference("F-2")] == [resumed["id"]]


def test_429_is_waited_out_for_its_retry_after(
    make_sandbox: Callable[..., str], tmp_path: Path
) -> None:
    url = make_sandbox(rate_limit=RateLimit(limit=2, window=1))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    recorder = Recorder()
    with ErpClient(
        url, TOKEN, str(tmp_path / "erp.db"), transport=recorder, policy=RetryPolicy(sleep=sleep)
    ) as erp:
        orders = [erp.create_order(order_body(f"F-RL-{n}")) for n in range(6)]

    limited = [r for _, r in recorder.exchanges if r.status_code == 429]
    assert limited, "the burst should have met the limit"
    assert slept == [float(r.headers["Retry-After"]) for r in limited]
    assert len({o["id"] for o in orders}) == 6
    time.sleep(1.1)  # a fresh window for the one check below
    listed = Warehouse(url).http.get("/orders", params={"limit": 200}).json()["data"]
    assert sorted(o["reference"] for o in listed) == [f"F-RL-{n}" for n in range(6)]


def test_a_refused_create_can_be_corrected_under_a_new_key(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    recorder = Recorder()
    wrong = order_body("F-X")
    wrong["warehouse_id"] = "wh_nowhere"
    with ErpClient(sandbox_url, TOKEN, str(tmp_path / "erp.db"), transport=recorder) as erp:
        with pytest.raises(Refused) as refused:
            erp.create_order(wrong)
        assert (refused.value.status, refused.value.code) == (422, "invalid_warehouse")
        assert erp.resume() == []  # nothing left to retry at the next start
        order = erp.create_order(order_body("F-X"))

    keys = [q.headers["Idempotency-Key"] for q, _ in recorder.matching("POST", "/orders")]
    assert len(set(keys)) == 2
    assert [o["id"] for o in warehouse.orders_with_reference("F-X")] == [order["id"]]


def test_a_5xx_is_retried_with_the_same_key(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    calls: list[httpx.Request] = []
    real = httpx.HTTPTransport()

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:  # a proxy in front of the warehouse fails before the server sees it
            return httpx.Response(503, json={"error": {"code": "internal_error"}})
        return real.handle_request(request)

    policy = RetryPolicy(sleep=lambda _: None)
    with ErpClient(
        sandbox_url,
        TOKEN,
        str(tmp_path / "erp.db"),
        transport=httpx.MockTransport(flaky),
        policy=policy,
    ) as erp:
        order = erp.create_order(order_body("F-5"))
    assert len(calls) == 2 and len({q.headers["Idempotency-Key"] for q in calls}) == 1
    assert [o["id"] for o in warehouse.orders_with_reference("F-5")] == [order["id"]]
