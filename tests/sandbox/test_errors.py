"""The error envelope on every error, request ids, auth, rate limits, isolation between partners."""

from __future__ import annotations

import json

import httpx

from .conftest import ACME, GLOBEX, order_body
from .spec_client import SpecClient, check_response


def test_transport_level_errors_use_the_envelope(acme: SpecClient) -> None:
    cases = [
        (acme.get("/no-such-thing"), 404, "not_found"),
        (acme.get("/orders/ord_missing"), 404, "not_found"),
        (acme.delete("/orders"), 405, "method_not_allowed"),
        (
            acme.post(
                "/orders",
                content=b'{"order_number":',
                headers={"Idempotency-Key": "k1", "Content-Type": "application/json"},
            ),
            400,
            "invalid_json",
        ),
        (
            acme.post(
                "/orders",
                content=b"order_number=1",
                headers={
                    "Idempotency-Key": "k2",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ),
            415,
            "unsupported_media_type",
        ),
        (
            acme.post(
                "/orders",
                content=b"[" + b" " * (1024 * 1024) + b"]",
                headers={"Idempotency-Key": "k3", "Content-Type": "application/json"},
            ),
            413,
            "payload_too_large",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert error["request_id"] == response.headers["X-Request-Id"]
    assert "POST" in cases[2][0].headers["Allow"]


def test_bodies_of_almost_1_mib_are_accepted(acme: SpecClient) -> None:
    # Every field is bounded (decision 38), so the bulk is JSON white space, which is valid.
    content = json.dumps(order_body()).encode() + b" " * 1_000_000
    response = acme.post(
        "/orders",
        content=content,
        headers={"Idempotency-Key": "almost-1-mib", "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_missing_or_unknown_token_is_401(base_url: str) -> None:
    for token in (None, "wms_test_nobody"):
        with SpecClient(base_url, token) as client:
            r = client.get("/orders")
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "unauthorized"
    r = httpx.get(base_url + "/v1/orders", headers={"Authorization": "Basic YWNtZTp4"})
    check_response(r)
    assert r.status_code == 401


def test_request_ids_are_unique(acme: SpecClient) -> None:
    ids = {acme.get("/warehouses").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_rate_limit_gives_429_with_retry_after(sandbox_factory) -> None:
    base = sandbox_factory(rate_limit_per_minute=3)
    with SpecClient(base, ACME) as acme, SpecClient(base, GLOBEX) as globex:
        remaining = [
            int(acme.get("/warehouses").headers["X-RateLimit-Remaining"]) for _ in range(3)
        ]
        assert remaining == [2, 1, 0]
        r = acme.get("/warehouses")
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["X-RateLimit-Limit"] == "3"
        # Limits are per partner.
        assert globex.get("/warehouses").status_code == 200
        # A 429 on a create is not stored against the key: nothing was created.
        r = acme.create_order(order_body(), key="limited")
        assert r.status_code == 429


def test_partners_never_see_each_other(acme: SpecClient, globex: SpecClient) -> None:
    order = acme.create_order(order_body()).json()
    shipment = acme.post(f"/sandbox/orders/{order['id']}/ship").json()
    for path in (f"/orders/{order['id']}", f"/shipments/{shipment['id']}"):
        r = globex.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert globex.post(f"/orders/{order['id']}/cancel").status_code == 404
    assert globex.patch(f"/orders/{order['id']}", json={"packing_note": "x"}).status_code == 404
    assert globex.post(f"/sandbox/shipments/{shipment['id']}/void").status_code == 404
    assert globex.get("/orders").json()["data"] == []
    assert globex.get("/shipments").json()["data"] == []
    # Idempotency keys are per partner too: the same key makes globex its own order.
    acme.create_order(order_body(), key="shared-key")
    assert globex.create_order(order_body(), key="shared-key").status_code == 201
    # The same reference is allowed for another partner.
    assert globex.create_order(order_body(reference=order["reference"])).status_code == 201


def test_a_white_space_body_is_invalid_json_not_no_body(acme: SpecClient) -> None:
    """Found by the kit's fuzzing: `\\n` as the optional body of the ship control endpoint was
    taken for "no body" and the order shipped."""
    order = acme.post("/orders", json=order_body(), headers={"Idempotency-Key": "ws-1"}).json()
    r = acme.post(
        f"/sandbox/orders/{order['id']}/ship",
        content=b"\n",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert acme.get(f"/orders/{order['id']}").json()["status"] == "received"
