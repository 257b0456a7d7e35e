"""Evidence for a failed rule: which exchanges are picked, and that no secret travels with them."""

from __future__ import annotations

import json

import httpx

from conformance.evidence import MAX_EVIDENCE, describe_exchange, pick_exchanges
from conformance.http import ApiResponse


def exchange(
    method: str = "POST",
    path: str = "/orders",
    status: int = 422,
    request_id: str = "req_1",
    body: object = None,
    request_body: object = None,
) -> ApiResponse:
    return ApiResponse(
        method=method,
        path=path,
        status=status,
        headers=httpx.Headers({"content-type": "application/json", "x-request-id": request_id}),
        content=json.dumps(body if body is not None else {"error": {"code": "x"}}).encode(),
        url=f"http://127.0.0.1:8000/v1{path}",
        request_headers={
            "authorization": "***",
            "content-type": "application/json",
            "idempotency-key": "key-1",
            "user-agent": "fulfillment-conformance",
        },
        request_body=None if request_body is None else json.dumps(request_body).encode(),
    )


def test_the_exchange_whose_request_id_the_message_names_is_picked() -> None:
    first, second = exchange(request_id="req_a"), exchange(request_id="req_b")
    picked = pick_exchanges("expected 201, got 422 (request_id req_a)", [first, second], [])
    assert picked == [first]


def test_a_request_id_found_among_the_whole_run_counts_too() -> None:
    """Cross-cutting rules judge exchanges other checks made: the message names their ids."""
    elsewhere = exchange(request_id="req_z")
    picked = pick_exchanges("bad timestamp (request_id req_z)", [exchange()], [elsewhere])
    assert picked == [elsewhere]


def test_else_the_named_request_line_else_the_checks_last_exchange() -> None:
    get = exchange("GET", "/orders/ord_1", 200, "req_g")
    post = exchange("POST", "/orders", 201, "req_p")
    assert pick_exchanges("GET /orders/ord_1 answered without ...", [get, post], []) == [get]
    assert pick_exchanges("something else", [get, post], []) == [post]
    assert pick_exchanges("something else", [], []) == []


def test_at_most_a_few_exchanges_are_kept() -> None:
    many = [exchange(request_id=f"req_{n}") for n in range(10)]
    message = " ".join(f"req_{n}" for n in range(10))
    assert len(pick_exchanges(message, many, [])) == MAX_EVIDENCE


def test_an_item_has_request_response_and_a_curl_line_without_secrets() -> None:
    resp = exchange(
        body={"id": "whk_1", "secret": "whsec_abcdef", "url": "https://x"},
        request_body={"url": "https://x", "events": ["shipment.created"]},
        status=201,
    )
    item = describe_exchange(resp)
    assert item["request"]["method"] == "POST"
    assert item["request"]["url"] == "http://127.0.0.1:8000/v1/orders"
    assert item["request"]["headers"]["idempotency-key"] == "key-1"
    assert "user-agent" not in item["request"]["headers"]
    assert item["response"]["status"] == 201
    assert "whsec_abcdef" not in json.dumps(item)
    assert json.loads(item["response"]["body"])["secret"] == "***"
    curl = item["curl"]
    assert curl.startswith("curl -X POST 'http://127.0.0.1:8000/v1/orders'")
    assert '"Authorization: Bearer $CONFORMANCE_TOKEN"' in curl
    assert "-H 'idempotency-key: key-1'" in curl and "--data-raw" in curl


def test_a_long_body_is_cut_with_a_note() -> None:
    item = describe_exchange(exchange(body={"text": "x" * 10_000}))
    assert len(item["response"]["body"]) < 2_100
    assert item["response"]["body"].endswith("more characters)")
