"""The refusal judge of API-010 (conformance/refusal_reasons.py) on answers built by hand: the
codes an operation documents come from the spec, and a reason the API contradicts is a finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fulfillment_spec

from conformance.refusal_reasons import documented_codes, judge_refusal


@dataclass
class Answer:
    status: int
    json: Any = None


@dataclass
class FakeApi:
    """Answers GETs from a table: path -> (status, body)."""

    pages: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def request(self, method: str, path: str, params: Any = None, **_: Any) -> Answer:
        key = path if not params else f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        status, body = self.pages.get(key, (404, {"error": {"code": "not_found"}}))
        return Answer(status, body)


def refused(status: int, code: str) -> Answer:
    return Answer(status, {"error": {"code": code, "message": "no", "request_id": "r"}})


SPEC = fulfillment_spec.load_openapi()
WAREHOUSES = {"/warehouses": (200, {"data": [{"id": "wh_a"}, {"id": "wh_b"}]})}


def stock(on_hand: int, allocated: int) -> dict[str, tuple[int, Any]]:
    entry = {"warehouse_id": "wh_a", "on_hand": on_hand, "allocated": allocated}
    return {"/inventory?sku=S": (200, {"data": [{"sku": "S", "warehouses": [entry]}]})}


def test_documented_codes_come_from_the_spec() -> None:
    assert "invalid_warehouse" in documented_codes(SPEC, "POST", "/orders", 422)
    assert documented_codes(SPEC, "POST", "/sandbox/inventory", 409) == {"stock_allocated"}
    ship = documented_codes(SPEC, "POST", "/sandbox/orders/{order_id}/ship", 422)
    assert "quantity_exceeds_unshipped" in ship
    assert "stock_allocated" not in documented_codes(SPEC, "POST", "/orders", 409)


def test_an_unknown_warehouse_that_is_listed_is_a_finding() -> None:
    api = FakeApi(dict(WAREHOUSES))
    answer = refused(422, "invalid_warehouse")
    listed = judge_refusal(api, SPEC, "POST", "/orders", {}, {"warehouse_id": "wh_b"}, answer)
    assert listed is not None and "GET /warehouses lists 'wh_b'" in listed
    unknown = judge_refusal(api, SPEC, "POST", "/orders", {}, {"warehouse_id": "wh_z"}, answer)
    assert unknown is None


def test_stock_refusals_hold_only_below_the_allocated_units() -> None:
    body = {"sku": "S", "warehouse_id": "wh_a", "on_hand": 3}
    answer = refused(409, "stock_allocated")
    path = "/sandbox/inventory"
    assert judge_refusal(FakeApi(stock(5, 3)), SPEC, "POST", path, {}, body, answer) is not None
    assert judge_refusal(FakeApi(stock(5, 4)), SPEC, "POST", path, {}, body, answer) is None
    adjust = {"sku": "S", "warehouse_id": "wh_a", "quantity_delta": -2, "reason": "lost"}
    short = refused(409, "insufficient_stock")
    path = "/sandbox/inventory-adjustments"
    assert judge_refusal(FakeApi(stock(5, 3)), SPEC, "POST", path, {}, adjust, short) is not None
    assert judge_refusal(FakeApi(stock(4, 3)), SPEC, "POST", path, {}, adjust, short) is None


def test_quantity_beyond_the_unshipped_is_read_from_the_order() -> None:
    order = {"items": [{"sku": "S", "quantity": 2, "shipped_quantity": 1}]}
    api = FakeApi({"/orders/o1": (200, order)})
    path, params = "/sandbox/orders/{order_id}/ship", {"order_id": "o1"}
    answer = refused(422, "quantity_exceeds_unshipped")
    fits = {"items": [{"sku": "S", "quantity": 1}]}
    too_many = {"items": [{"sku": "S", "quantity": 2}]}
    assert judge_refusal(api, SPEC, "POST", path, params, fits, answer) is not None
    assert judge_refusal(api, SPEC, "POST", path, params, too_many, answer) is None


def test_unknown_order_that_exists_is_a_finding() -> None:
    api = FakeApi({"/orders/o1": (200, {"id": "o1"})})
    answer = refused(422, "unknown_order")
    assert judge_refusal(api, SPEC, "POST", "/returns", {}, {"order_id": "o1"}, answer)
    assert judge_refusal(api, SPEC, "POST", "/returns", {}, {"order_id": "o2"}, answer) is None


def test_malformed_undocumented_and_unverifiable_codes_are_findings() -> None:
    api = FakeApi(dict(WAREHOUSES))
    body = {"warehouse_id": "wh_a"}
    malformed = judge_refusal(api, SPEC, "POST", "/orders", {}, body, refused(422, "unknown_field"))
    assert malformed is not None and "malformed" in malformed
    other = judge_refusal(api, SPEC, "POST", "/orders", {}, body, refused(409, "stock_allocated"))
    assert other is not None and "not a refusal" in other
    reused = refused(422, "idempotency_key_reused")
    unverifiable = judge_refusal(api, SPEC, "POST", "/orders", {}, body, reused)
    assert unverifiable is not None and "cannot read" in unverifiable
