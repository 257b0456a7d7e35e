"""Whether a data-dependent refusal's reason really holds (API-010 with teeth; issue 15).

A schema-valid request may still be refused for a reason that depends on the target's data: an
unknown warehouse, stock that is short, an order that does not exist, more units than are left
to ship. API-010 allows those refusals, each with its own code, *when their reason holds*. A
server that answers `invalid_warehouse` for a warehouse it lists, or `stock_allocated` when the
stock suffices, is over-validating just as surely as one that answers `validation_failed`.

`judge_refusal` takes a refused request and its answer and decides:
- the code must be one the operation documents for that status: named in the description or an
  example of the response the spec declares for it (read at run time, never restated here);
- where the kit can read the reason back through the API, it must hold: the warehouse is not in
  GET /warehouses, the SKU's stock at the warehouse really is short (GET /inventory), the order
  really is unknown (GET /orders/{id}), the quantity really exceeds what is left to ship.
It returns a finding (a sentence), or None when the reason verifiably holds. The checks that use
it build requests no data-dependent reason applies to, so a code whose reason the kit cannot read
back is a finding too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from conformance.refs import resolve

__all__ = ["documented_codes", "judge_refusal"]

_CODE = re.compile(r"`([a-z][a-z0-9_]*)`")


class Answer(Protocol):
    """What the judge reads of a response: `conformance.http.ApiResponse`, or a test's stand-in."""

    @property
    def status(self) -> int: ...

    @property
    def json(self) -> Any: ...


class Reader(Protocol):
    """What the judge asks of a client (GETs to read a reason back): `ApiClient`, or a stand-in."""

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Answer: ...


def _operation(spec: Mapping[str, Any], method: str, path: str) -> Mapping[str, Any]:
    item = (spec.get("paths") or {}).get(path) or {}
    operation = item.get(method.lower()) if isinstance(item, Mapping) else None
    return operation if isinstance(operation, Mapping) else {}


def documented_codes(spec: Mapping[str, Any], method: str, path: str, status: int) -> set[str]:
    """The error codes the operation (`path` as the spec spells it, with `{name}` parameters)
    documents for `status`: the spec's error codes its response for `status` names in backticks
    or shows in an example, and those its own description gives with that status ("MUST get
    422 `quantity_exceeds_unshipped`")."""
    known = set(_error_code_enum(spec))
    operation = _operation(spec, method, path)
    with_status = re.compile(rf"\b{status}\s+`([a-z][a-z0-9_]*)`")
    named = set(with_status.findall(str(operation.get("description") or "")))
    response = (operation.get("responses") or {}).get(str(status))
    if not isinstance(response, Mapping):
        return named & known
    response = resolve(spec, response)
    named |= set(_CODE.findall(str(response.get("description") or "")))
    for media in (response.get("content") or {}).values():
        for example in ((media or {}).get("examples") or {}).values():
            value = resolve(spec, example).get("value") if isinstance(example, Mapping) else None
            error = value.get("error") if isinstance(value, Mapping) else None
            if isinstance(error, Mapping) and isinstance(error.get("code"), str):
                named.add(error["code"])
    return named & known


def _error_code_enum(spec: Mapping[str, Any]) -> list[str]:
    schemas = (spec.get("components") or {}).get("schemas") or {}
    # The list is open (decision 39): the codes this version names are the schema's examples.
    schema = schemas.get("ErrorCode") or {}
    return [str(code) for code in schema.get("enum") or schema.get("examples") or []]


# -- reading a reason back -------------------------------------------------------------------


def _ids(api: Reader, path: str) -> set[str] | None:
    resp = api.request("GET", path)
    rows = resp.json.get("data") if resp.status == 200 and isinstance(resp.json, dict) else None
    if not isinstance(rows, list):
        return None
    return {str(row.get("id")) for row in rows if isinstance(row, dict)}


def _stock(api: Reader, sku: str, warehouse_id: str) -> dict[str, Any] | None:
    resp = api.request("GET", "/inventory", params={"sku": sku})
    rows = resp.json.get("data") if resp.status == 200 and isinstance(resp.json, dict) else None
    for row in rows or []:
        if isinstance(row, dict) and row.get("sku") == sku:
            for entry in row.get("warehouses") or []:
                if isinstance(entry, dict) and entry.get("warehouse_id") == warehouse_id:
                    return entry
    return None


def _order(api: Reader, order_id: str) -> dict[str, Any] | None:
    resp = api.request("GET", f"/orders/{order_id}")
    return resp.json if resp.status == 200 and isinstance(resp.json, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


Reason = Callable[[Reader, dict[str, Any], dict[str, str]], str | None]


def _not_listed(field: str, path: str, what: str) -> Reason:
    """The reason "`field` names no known `what`": it holds unless GET `path` lists it."""

    def reason(api: Reader, body: dict[str, Any], params: dict[str, str]) -> str | None:
        value = body.get(field)
        listed = _ids(api, path)
        if value is None or listed is None or str(value) not in listed:
            return None
        return f"GET {path} lists {value!r}: the {what} is known"

    return reason


def _below_allocated(api: Reader, body: dict[str, Any], params: dict[str, str]) -> str | None:
    """stock_allocated (set stock) and insufficient_stock (adjust): the new on_hand is below
    what is allocated, plus what is set aside as `unavailable` (decision 57; absent, 0)."""
    sku, warehouse = body.get("sku"), body.get("warehouse_id")
    entry = _stock(api, str(sku), str(warehouse)) if sku and warehouse else None
    on_hand = _int((entry or {}).get("on_hand"))
    allocated = _int((entry or {}).get("allocated"))
    if on_hand is None or allocated is None:
        return None
    aside = _int(body.get("unavailable", (entry or {}).get("unavailable", 0)))
    delta = _int(body.get("quantity_delta"))
    new = _int(body.get("on_hand")) if delta is None else on_hand + delta
    if new is None or aside is None or new < allocated + aside:
        return None
    held = f" and unavailable {aside}" if aside else ""
    return (
        f"GET /inventory shows {sku} at {warehouse} with on_hand {on_hand} and allocated "
        f"{allocated}{held}: the new on_hand {new} is not below the units it must cover"
    )


def _order_unknown(api: Reader, body: dict[str, Any], params: dict[str, str]) -> str | None:
    order_id = body.get("order_id") or params.get("order_id")
    if not order_id or _order(api, str(order_id)) is None:
        return None
    return f"GET /orders/{order_id} answers 200: the order exists"


def _exceeds_unshipped(api: Reader, body: dict[str, Any], params: dict[str, str]) -> str | None:
    order = _order(api, params.get("order_id", "")) if params.get("order_id") else None
    if order is None:
        return None
    left: dict[str, int] = {}
    for line in order.get("items") or []:
        if isinstance(line, dict):
            quantity = _int(line.get("quantity")) or 0
            shipped = _int(line.get("shipped_quantity")) or 0
            left[str(line.get("sku"))] = left.get(str(line.get("sku")), 0) + quantity - shipped
    asked: dict[str, int] = {}
    for item in body.get("items") or []:
        if isinstance(item, dict):
            sku = str(item.get("sku"))
            asked[sku] = asked.get(sku, 0) + (_int(item.get("quantity")) or 0)
    if not asked or any(quantity > left.get(sku, 0) for sku, quantity in asked.items()):
        return None
    return f"GET /orders/{params['order_id']} leaves {left} unshipped: the {asked} asked for fit"


# The codes that say "your request is malformed": never an answer to a schema-valid request.
MALFORMED = ("invalid_json", "validation_failed", "unknown_field", "unsupported_media_type")

# The codes whose reason the kit reads back, and how.
REASONS: dict[str, Reason] = {
    "invalid_warehouse": _not_listed("warehouse_id", "/warehouses", "warehouse"),
    "invalid_shipping_method": _not_listed("shipping_method_id", "/shipping-methods", "method"),
    "stock_allocated": _below_allocated,
    "insufficient_stock": _below_allocated,
    "unknown_order": _order_unknown,
    "quantity_exceeds_unshipped": _exceeds_unshipped,
}


def judge_refusal(
    api: Reader,
    spec: Mapping[str, Any],
    method: str,
    path: str,
    params: dict[str, str],
    body: Any,
    response: Answer,
) -> str | None:
    """A finding when the 4xx `response` to a schema-valid request is not a data-dependent
    refusal whose reason verifiably holds; None when it is.
    `path` is the spec's template (`/orders/{order_id}/cancel`), `params` its values."""
    payload = response.json if isinstance(response.json, dict) else {}
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    status = response.status
    if code in MALFORMED or status == 415:
        return f"{status} {code!r} says the request is malformed, yet it is valid against the spec"
    documented = documented_codes(spec, method, path, status)
    if code not in documented:
        return (
            f"{status} {code!r} is not a refusal {method} {path} documents for {status} "
            f"(documented: {sorted(documented) or 'none'})"
        )
    reason = REASONS.get(str(code))
    if reason is None:
        return (
            f"{status} {code!r} for a request built so that no data-dependent reason applies, "
            f"and the kit cannot read a reason for {code!r} back"
        )
    contradiction = reason(api, body if isinstance(body, dict) else {}, params)
    if contradiction is None:
        return None
    return f"{status} {code!r}, but {contradiction}: the refusal's reason does not hold"
