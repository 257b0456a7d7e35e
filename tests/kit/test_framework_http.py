"""ApiClient without a network: httpx.MockTransport plays the target."""

from __future__ import annotations

import json
import time
from typing import Any

import fulfillment_spec
import httpx
import pytest

from conformance import http as kit_http
from conformance.http import ApiClient, HttpSession, RateLimited, RequestFailed
from conformance.outcomes import NotExercised

pytest_plugins = ["pytester"]

BASE = "https://api.example.test/v1"
TOKEN = "tok_secret_for_http_tests"


def client(handler: Any, **kwargs: Any) -> ApiClient:
    session = HttpSession(
        BASE,
        spec=fulfillment_spec.load_openapi(),
        transport=httpx.MockTransport(handler),
        **kwargs,
    )
    return ApiClient(session, TOKEN)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(kit_http.time, "sleep", slept.append)
    return slept


def test_sends_the_bearer_token_and_maps_the_operation() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "ord_1"}, headers={"X-Request-Id": "req_1"})

    api = client(handler)
    resp = api.request("GET", "/orders/ord_1")
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert str(seen[0].url) == f"{BASE}/orders/ord_1"
    assert resp.status == 200 and resp.json == {"id": "ord_1"}
    assert resp.operation_id == "getOrder" and resp.path_template == "/orders/{order_id}"
    assert resp.describe() == "GET /orders/ord_1 -> 200 (request_id req_1)"
    assert api.requests_made == 1 and len(api.session.recorded()) == 1
    assert TOKEN not in repr(api) and TOKEN not in repr(resp)
    assert resp.request_headers["authorization"] == "***"


def test_token_none_sends_no_authorization_and_a_string_replaces_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"error": {"code": "unauthorized"}})

    api = client(handler)
    assert api.request("GET", "/orders", token=None).auth == "none"
    api.request("GET", "/orders", token="bogus-token")
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"] == "Bearer bogus-token"


def test_429_is_retried_after_retry_after_then_succeeds(sleeps: list[float]) -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})]
    )
    api = client(lambda request: next(answers))
    resp = api.request("POST", "/orders", json={}, headers={"Idempotency-Key": "k"})
    assert resp.status == 200
    assert 3.0 in sleeps
    assert api.requests_made == 2  # both attempts count, both are recorded
    assert [r.status for r in api.session.recorded()] == [429, 200]


def test_429_twice_then_200_gives_the_check_the_200(sleeps: list[float]) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(201, json={"id": "ord_1"}),
        ]
    )
    api = client(lambda request: next(answers))
    resp = api.request("POST", "/orders", json={}, headers={"Idempotency-Key": "k"})
    assert resp.status == 201 and not resp.rate_limited
    assert sleeps == [0.0, 2.0]
    assert [r.status for r in api.session.recorded()] == [429, 429, 201]


def test_a_persistent_429_ends_the_check_not_exercised(sleeps: list[float]) -> None:
    api = client(lambda request: httpx.Response(429, headers={"Retry-After": "100000"}))
    with pytest.raises(RateLimited) as info:
        api.request("GET", "/orders", params={"limit": 2})
    retries = kit_http.MAX_429_RETRIES
    assert str(info.value) == f"rate limited: 429 after {retries} retries on GET /orders"
    # Not exercised (a pytest skip the plugin reports as such), never a failed assertion
    # about the 429; still a lost request for code that copes with one.
    assert isinstance(info.value, NotExercised) and isinstance(info.value, RequestFailed)
    assert info.value.response.status == 429
    assert api.requests_made == retries + 1
    # Every refusal is recorded: the rate-limit rules (RATE-001/002) judge each of them.
    assert [r.status for r in api.session.recorded()] == [429] * (retries + 1)
    assert max(sleeps) <= kit_http.MAX_WAIT_SECONDS


def test_a_check_ending_rate_limited_is_reported_not_exercised(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        from conformance.http import ApiClient, HttpSession

        def test_check():
            session = HttpSession(
                "https://api.example.test/v1",
                transport=httpx.MockTransport(
                    lambda request: httpx.Response(429, headers={"Retry-After": "0"})
                ),
            )
            ApiClient(session, "tok").request("GET", "/orders")
            raise AssertionError("a 429 was judged as the answer")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*rate limited: 429 after * retries on GET /orders*"])


def test_a_503_with_retry_after_is_waited_out_and_one_without_is_the_answer(
    sleeps: list[float],
) -> None:
    answers = iter(
        [
            httpx.Response(503, headers={"Retry-After": "1"}),
            httpx.Response(200, json={}),
            httpx.Response(503, json={"error": {"code": "unavailable"}}),
        ]
    )
    api = client(lambda request: next(answers))
    assert api.request("GET", "/warehouses").status == 200 and sleeps == [1.0]
    assert api.request("GET", "/warehouses").status == 503  # a 5xx like any other: judged


def test_429_is_returned_as_is_when_asked(sleeps: list[float]) -> None:
    api = client(lambda request: httpx.Response(429, headers={"Retry-After": "1"}))
    resp = api.request("GET", "/orders", retry_on_429=False)
    assert resp.status == 429 and resp.rate_limited
    assert api.requests_made == 1 and not sleeps


def test_impolite_requests_skip_the_remaining_zero_pause(sleeps: list[float]) -> None:
    reset = str(int(time.time()) + 30)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    api = client(lambda request: httpx.Response(200, json={}, headers=headers))
    api.request("GET", "/warehouses")
    api.request("GET", "/warehouses", polite=False)
    assert not sleeps
    api.request("GET", "/warehouses")
    assert sleeps and max(sleeps) > 20


def test_remaining_zero_pauses_until_reset_bounded(sleeps: list[float]) -> None:
    reset = str(int(time.time()) + 5)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    api = client(lambda request: httpx.Response(200, json={}, headers=headers))
    api.request("GET", "/warehouses")
    api.request("GET", "/warehouses")
    assert sleeps and 0 < max(sleeps) <= 6


def test_max_rps_spaces_requests(sleeps: list[float]) -> None:
    api = client(lambda request: httpx.Response(200, json={}), max_rps=2)
    for _ in range(3):
        api.request("GET", "/warehouses")
    assert sum(sleeps) >= 0.9  # three requests at 2 per second take at least a second


def test_redirects_are_never_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://evil.example/steal"})

    resp = client(handler).request("GET", "/orders")
    assert resp.status == 302 and seen == [f"{BASE}/orders"]


def test_oversized_bodies_are_truncated_and_flagged() -> None:
    big = b'{"data": "' + b"x" * 2000 + b'"}'
    api = client(lambda request: httpx.Response(200, content=big), max_body_bytes=100)
    resp = api.request("GET", "/orders")
    assert resp.truncated and len(resp.content) == 100 and resp.json is None


def test_non_json_body_gives_json_none() -> None:
    api = client(lambda request: httpx.Response(200, text="<html>hello</html>"))
    resp = api.request("GET", "/orders")
    assert resp.json is None and resp.text.startswith("<html>")


def test_timeout_fails_the_check_with_one_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(
        RequestFailed, match=r"expected a response within 2 s, got none \(GET /orders\)"
    ):
        client(handler, timeout=2).request("GET", "/orders")


def test_connection_error_message_has_no_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused for {TOKEN}", request=request)

    with pytest.raises(RequestFailed) as info:
        client(handler).request("GET", "/orders")
    assert TOKEN not in str(info.value)


def dropping_first(error: type[httpx.TransportError]) -> tuple[list[str], Any]:
    """A handler whose first connection breaks before any answer, then answers 200."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            raise error("Server disconnected without sending a response.", request=request)
        return httpx.Response(200, json={"data": []})

    return seen, handler


@pytest.mark.parametrize("error", [httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError])
def test_a_read_on_a_broken_connection_is_sent_again_once(
    error: type[httpx.TransportError],
) -> None:
    seen, handler = dropping_first(error)
    api = client(handler)
    assert api.request("GET", "/orders").status == 200
    assert seen == ["GET", "GET"]
    assert api.session.resent_after_lost_connection == 1


def test_a_keyed_create_on_a_broken_connection_is_sent_again() -> None:
    seen, handler = dropping_first(httpx.RemoteProtocolError)
    api = client(handler)
    resp = api.request("POST", "/orders", json={}, headers={"Idempotency-Key": "k-1"})
    assert resp.status == 200 and seen == ["POST", "POST"]


def test_a_post_without_a_key_is_never_sent_twice() -> None:
    """It may have been processed: sending it again could cancel or create twice."""
    seen, handler = dropping_first(httpx.RemoteProtocolError)
    with pytest.raises(RequestFailed, match=r"got an error: .*\(POST /orders/o_1/cancel\)"):
        client(handler).request("POST", "/orders/o_1/cancel")
    assert seen == ["POST"]


def test_a_connection_that_breaks_twice_fails_the_check() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    api = client(handler)
    with pytest.raises(RequestFailed, match="Server disconnected"):
        api.request("GET", "/orders")
    assert api.session.resent_after_lost_connection == 1


def test_a_path_outside_the_base_url_is_refused() -> None:
    api = client(lambda request: httpx.Response(200, json={}))
    with pytest.raises(RequestFailed):
        api.request("GET", "https://elsewhere.example/v1/orders")


def test_json_body_and_explicit_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={})

    client(handler).request(
        "PATCH",
        "/orders/o1",
        json={"b": 1},
        headers={"Content-Type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert json.loads(seen[0].content) == {"b": 1}
    assert seen[0].headers["content-type"] == "application/merge-patch+json"
    assert seen[0].headers["if-match"] == '"1"'


def test_unknown_operation_is_not_mapped() -> None:
    resp = client(lambda request: httpx.Response(405, json={})).request("DELETE", "/orders")
    assert resp.operation_id is None


def test_every_client_of_a_process_shares_one_verifying_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx builds a TLS context (the whole CA bundle read) for each client; the kit builds one
    per process and hands it to each client, still verifying certificates."""
    import ssl

    built: list[bool] = []
    real = httpx.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(kwargs.get("trust_env", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    kit_http.tls_context.cache_clear()
    try:
        sessions = [HttpSession(BASE, spec=fulfillment_spec.load_openapi()) for _ in range(3)]
        for session in sessions:
            session.close()
        assert built == [True], f"expected one TLS context for three sessions, built {built}"
        context = kit_http.tls_context()
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        kit_http.tls_context.cache_clear()
