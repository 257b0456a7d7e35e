"""The cross-cutting response rules (conformance/checks/test_zz_responses.py) on crafted
responses: each passes a correct response and fails one broken in exactly its way. One test
runs the rules through the CLI against the reference sandbox and a server broken in two ways."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import fulfillment_spec
import httpx
import pytest

from conformance.checks import test_zz_responses as zz
from conformance.http import ApiClient, ApiResponse, HttpSession
from conformance.validation import SpecValidator
from tests.kit.harness import outcome, run_kit
from tests.live_server import serve

VALIDATOR = SpecValidator(fulfillment_spec.load_openapi())
NOW = int(time.time())
GOOD_HEADERS = {
    "X-Request-Id": "req_1",
    "X-RateLimit-Limit": "600",
    "X-RateLimit-Remaining": "599",
    # A day ahead: NOW is taken at collection, and a full suite may reach this test much later.
    "X-RateLimit-Reset": str(NOW + 86_400),
}
WAREHOUSES = {
    "data": [
        {
            "id": "wh_1",
            "name": "Sydney",
            "address": {"address1": "1 St", "city": "Sydney", "country": "AU"},
        }
    ],
    "pagination": {"next_cursor": None, "has_more": False},
}
NOT_FOUND = {"error": {"code": "not_found", "message": "No such order.", "request_id": "req_1"}}


RATE_LIMITED = {"error": {"code": "rate_limited", "message": "Slow down.", "request_id": "req_1"}}
NO_SCOPE = {
    "error": {"code": "insufficient_scope", "message": "Read-only token.", "request_id": "req_1"}
}


def good_429() -> httpx.Response:
    return httpx.Response(
        429,
        json=RATE_LIMITED,
        headers={**GOOD_HEADERS, "X-RateLimit-Remaining": "0", "Retry-After": "30"},
    )


def responses(
    *answers: httpx.Response, path: str = "/warehouses", retry_on_429: bool = True
) -> list[ApiResponse]:
    queue = list(answers)
    session = HttpSession(
        "https://api.example.test/v1",
        spec=fulfillment_spec.load_openapi(),
        transport=httpx.MockTransport(lambda request: queue.pop(0)),
    )
    api = ApiClient(session, "tok_for_rules")
    for _ in answers:
        # A 403 insufficient_scope is kept to be judged (AUTH-006), not taken for a skip.
        api.request("GET", path, retry_on_429=retry_on_429, scope_refusal_ends_check=False)
    return session.recorded()


def good_list() -> httpx.Response:
    return httpx.Response(200, json=WAREHOUSES, headers=GOOD_HEADERS)


def good_404() -> httpx.Response:
    return httpx.Response(404, json=NOT_FOUND, headers=GOOD_HEADERS)


def spec_example(path: str) -> dict[str, Any]:
    """The spec's own (validated) 200 example of GET `path`: a correct body to start from."""
    media = fulfillment_spec.load_openapi()["paths"][path]["get"]["responses"]["200"]["content"]
    example: dict[str, Any] = next(iter(media["application/json"]["examples"].values()))["value"]
    return copy.deepcopy(example)


SHIPMENT_PATH = "/shipments/{shipment_id}"
INBOUND_PATH = "/inbound-shipments/{inbound_shipment_id}"


def shipment_with_weight(weight: Any) -> httpx.Response:
    body = spec_example(SHIPMENT_PATH)
    body["parcels"][0]["weight"] = weight
    return httpx.Response(200, json=body, headers=GOOD_HEADERS)


def inbound_expected_at(value: Any) -> httpx.Response:
    body = spec_example(INBOUND_PATH)
    body["expected_at"] = value
    return httpx.Response(200, json=body, headers=GOOD_HEADERS)


def problems(rule: Callable[..., tuple[int, list[str]]], recorded: list[ApiResponse]) -> list[str]:
    judged, found = rule(recorded, VALIDATOR)
    assert judged > 0
    return found


def test_every_rule_passes_correct_responses() -> None:
    recorded = (
        responses(good_list())
        + responses(good_404(), path="/orders/ord_x")
        + responses(httpx.Response(200, json=order(), headers=GOOD_HEADERS), path="/orders/ord_1")
        + responses(good_429(), retry_on_429=False)
        + responses(httpx.Response(403, json=NO_SCOPE, headers=GOOD_HEADERS))
        + responses(shipment_with_weight({"value": 1.2, "unit": "kg"}), path="/shipments/shp_1")
        + responses(inbound_expected_at("2026-07-08"), path="/inbound-shipments/ib_1")
    )
    for param in zz.RULES:
        rule = param.values[0]
        assert problems(rule, recorded) == [], param.id


@pytest.mark.parametrize(
    ("rule", "answer", "path", "expected"),
    [
        (
            zz.json_bodies,
            httpx.Response(200, text="<html/>", headers=GOOD_HEADERS),
            "/warehouses",
            "expected Content-Type application/json",
        ),
        (
            zz.status_documented,
            httpx.Response(418, json=NOT_FOUND, headers=GOOD_HEADERS),
            "/warehouses",
            "expected a status documented for listWarehouses",
        ),
        (
            zz.body_matches_schema,
            httpx.Response(200, json={"data": 1}, headers=GOOD_HEADERS),
            "/warehouses",
            "expected a body valid against the 200 schema of listWarehouses",
        ),
        (
            zz.errors_use_the_envelope,
            httpx.Response(404, json={"message": "x"}, headers=GOOD_HEADERS),
            "/orders/o",
            'expected a body {"error"',
        ),
        (
            zz.error_codes_snake_case,
            httpx.Response(
                404,
                json={"error": {**NOT_FOUND["error"], "code": "NotFound"}},
                headers=GOOD_HEADERS,
            ),
            "/orders/o",
            "expected a snake_case error.code, got 'NotFound'",
        ),
        (
            zz.no_success_with_an_error,
            httpx.Response(200, json={**WAREHOUSES, "error": {"code": "x"}}, headers=GOOD_HEADERS),
            "/warehouses",
            "expected no `error` in a 200 body",
        ),
        (
            zz.request_id_header,
            httpx.Response(200, json=WAREHOUSES),
            "/warehouses",
            "expected an X-Request-Id header",
        ),
        (
            zz.request_id_matches,
            httpx.Response(404, json=NOT_FOUND, headers={**GOOD_HEADERS, "X-Request-Id": "req_2"}),
            "/orders/o",
            "expected error.request_id equal to X-Request-Id 'req_2'",
        ),
        (
            zz.no_server_errors,
            httpx.Response(500, json=NOT_FOUND, headers=GOOD_HEADERS),
            "/orders/o",
            "expected no 5xx, got 500",
        ),
        (
            zz.rate_limit_headers_present,
            httpx.Response(200, json=WAREHOUSES, headers={"X-Request-Id": "r"}),
            "/warehouses",
            "expected X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset",
        ),
        (
            zz.rate_limit_header_values,
            httpx.Response(
                200, json=WAREHOUSES, headers={**GOOD_HEADERS, "X-RateLimit-Reset": "60"}
            ),
            "/warehouses",
            "expected X-RateLimit-Reset in Unix epoch seconds",
        ),
        (
            zz.property_names_snake_case,
            httpx.Response(200, json={**WAREHOUSES, "nextCursor": None}, headers=GOOD_HEADERS),
            "/warehouses",
            "expected a snake_case property name at $, got 'nextCursor'",
        ),
        (
            zz.dates_without_time,
            inbound_expected_at("2026-07-08T00:00:00Z"),
            "/inbound-shipments/ib_1",
            "expected an ISO 8601 date YYYY-MM-DD at $.expected_at",
        ),
        (
            zz.units_stated,
            shipment_with_weight(1.2),
            "/shipments/shp_1",
            "expected an object with an explicit unit at $.parcels[0].weight, got 1.2",
        ),
        (
            zz.forbidden_only_for_scope,
            httpx.Response(
                403,
                json={**NO_SCOPE, "error": {**NO_SCOPE["error"], "code": "forbidden"}},
                headers=GOOD_HEADERS,
            ),
            "/warehouses",
            "expected a 403 only with code 'insufficient_scope', got 'forbidden'",
        ),
        (
            zz.rate_limited_retry_after,
            httpx.Response(429, json=RATE_LIMITED, headers=GOOD_HEADERS),
            "/warehouses",
            "expected Retry-After in whole seconds on a 429, got None",
        ),
        (
            zz.rate_limited_envelope,
            httpx.Response(
                429, json={"message": "slow down"}, headers={**GOOD_HEADERS, "Retry-After": "1"}
            ),
            "/warehouses",
            "expected error.code rate_limited on a 429, got None",
        ),
    ],
)
def test_each_rule_fails_a_response_broken_its_way(
    rule: Any, answer: httpx.Response, path: str, expected: str
) -> None:
    found = problems(rule, responses(answer, path=path, retry_on_429=False))
    assert found and expected in found[0], found


def test_the_429_rules_judge_nothing_when_the_run_met_no_429() -> None:
    """RATE-001/002 apply only when the server rate-limits: no 429 means nothing judged, which
    the check turns into a pass with a note (not a skip that would block certification). Dates
    and units likewise: a core run may meet no date-only field and no optional weight."""
    recorded = responses(good_list())
    for rule in zz.CONDITIONAL_RULES:
        assert rule(recorded, VALIDATOR) == (0, [])


def order(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "ord_1",
        "order_number": "SO-1",
        "reference": "R-1",
        "status": "received",
        "warehouse_id": "wh_1",
        "shipping_method_id": "sm_1",
        "shipping_method": "Express",
        "order_date": "2026-07-02T09:15:00Z",
        "signature_required": False,
        "insurance": False,
        "fulfillment_policy": "ship_available",
        "gift_message": None,
        "packing_note": None,
        "ship_to": {"name": "A", "address1": "1 St", "city": "Sydney", "country": "AU"},
        "items": [
            {
                "line_id": "1",
                "sku": "S",
                "quantity": 1,
                "unit_price": "19.99",
                "currency": "AUD",
                "shipped_quantity": 0,
                "backordered_quantity": 0,
                "cancelled_quantity": 0,
            }
        ],
        "version": "1",
        "created_at": "2026-07-02T09:15:00Z",
        "updated_at": "2026-07-02T09:15:00.123Z",
        "cancelled_at": None,
        "cancellation": None,
        "hold": None,
        "shipments": [],
    }
    base.update(changes)
    return base


def test_timestamps_money_and_statuses_follow_the_schema() -> None:
    good = responses(httpx.Response(200, json=order(), headers=GOOD_HEADERS), path="/orders/ord_1")
    for rule in (zz.timestamps_in_utc_z, zz.money_as_decimal_strings, zz.closed_vocabularies):
        assert problems(rule, good) == []
    offset = order(updated_at="2026-07-02T09:15:00+00:00")
    bad = responses(httpx.Response(200, json=offset, headers=GOOD_HEADERS), path="/orders/ord_1")
    [problem] = problems(zz.timestamps_in_utc_z, bad)
    assert "ending in Z" in problem and "at $.updated_at" in problem
    nine = order(updated_at="2026-07-02T09:15:00.123456789Z")
    bad = responses(httpx.Response(200, json=nine, headers=GOOD_HEADERS), path="/orders/ord_1")
    [problem] = problems(zz.timestamps_in_utc_z, bad)
    assert "matching" in problem and "at $.updated_at" in problem
    micro = order(updated_at="2026-07-02T09:15:00.123456Z")
    fine = responses(httpx.Response(200, json=micro, headers=GOOD_HEADERS), path="/orders/ord_1")
    assert problems(zz.timestamps_in_utc_z, fine) == []
    floaty = order(items=[{**order()["items"][0], "unit_price": 19.99}])
    bad = responses(httpx.Response(200, json=floaty, headers=GOOD_HEADERS), path="/orders/ord_1")
    assert (
        "decimal string at $.items[0].unit_price" in problems(zz.money_as_decimal_strings, bad)[0]
    )
    odd = responses(
        httpx.Response(200, json=order(status="RECEIVED"), headers=GOOD_HEADERS), path="/orders/o"
    )
    assert "got 'RECEIVED'" in problems(zz.closed_vocabularies, odd)[0]


def event_log(*events: dict[str, Any]) -> httpx.Response:
    body = {"data": list(events), "pagination": {"next_cursor": None, "has_more": False}}
    return httpx.Response(200, json=body, headers=GOOD_HEADERS)


def test_an_alternative_is_judged_by_its_own_schema_only() -> None:
    """The event log's entries are one of eight event types (`oneOf`): an order event's
    `data.status` is judged by the order statuses, never by the inbound event's."""
    cancelled = {
        "event_id": "evt_1",
        "event_type": "order.updated",
        "created_at": "2026-07-02T09:15:00Z",
        "data": order(
            status="cancelled",
            cancelled_at="2026-07-02T09:15:00Z",
            cancellation={"reason_code": None, "cancelled_by": "erp", "message": None},
        ),
    }
    logged = responses(event_log(cancelled), path="/events")
    assert problems(zz.closed_vocabularies, logged) == []
    odd = {**cancelled, "data": order(status="CANCELLED")}
    [problem] = problems(zz.closed_vocabularies, responses(event_log(odd), path="/events"))
    assert "got 'CANCELLED'" in problem and "$.data[0].data.status" in problem


class DropRequestIdAndRateHeaders:
    """A sandbox that forgets X-Request-Id and the rate-limit headers on every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def strip(message: Any) -> None:
            if message["type"] == "http.response.start":
                dropped = (
                    b"x-request-id",
                    b"x-ratelimit-limit",
                    b"x-ratelimit-remaining",
                    b"x-ratelimit-reset",
                )
                message = {
                    **message,
                    "headers": [
                        (name, value)
                        for name, value in message["headers"]
                        if name.lower() not in dropped
                    ],
                }
            await send(message)

        await self.app(scope, receive, strip if scope["type"] == "http" else send)


IDS = (
    "API-002",
    "API-003",
    "API-005",
    "API-008",
    "API-009",
    "ERR-001",
    "ERR-003",
    "ERR-004",
    "ERR-005",
    "ERR-012",
    "RATE-003",
    "RATE-004",
)


def only(*ids: str) -> list[str]:
    return ["--no-property-based", *[arg for rid in ids for arg in ("--only", rid)]]


def test_sandbox_passes_and_a_broken_one_fails_the_response_rules(
    sandbox_app: Any, tmp_path: Any
) -> None:
    with serve(sandbox_app) as url:
        healthy = run_kit(
            f"{url}/v1", "wms_test_acme_token", extra_args=only(*IDS), tmp_path=tmp_path
        )
    assert {rid: outcome(healthy.report, rid) for rid in IDS} == dict.fromkeys(IDS, "passed"), (
        healthy.stdout[-3000:]
    )
    with serve(DropRequestIdAndRateHeaders(sandbox_app)) as url:
        broken = run_kit(
            f"{url}/v1",
            "wms_test_acme_token",
            extra_args=only("ERR-004", "RATE-003", "API-009"),
            tmp_path=tmp_path,
        )
    assert outcome(broken.report, "ERR-004") == "failed"
    assert outcome(broken.report, "RATE-003") == "warning"
    assert outcome(broken.report, "API-009") == "passed"
    assert broken.exit_code == 1
