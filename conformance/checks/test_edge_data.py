"""Schema-valid orders at the edges are accepted (API-010 with teeth; issue 15, adversarial data).

Over-validation is invisible to checks that only send tidy ASCII data: a server that refuses
every order with a non-ASCII name, an emoji (a database in 3-byte UTF-8), a quantity at exactly
its maximum, an optional field sent as null, or a body sent chunked is certified by them. These
checks send such orders, each valid against the spec's own schema (derived from it at run time,
never restated), for a known warehouse and a SKU the run stocked: nothing about them can be
refused for a data-dependent reason, so the only acceptable answer is 201. A refusal fails with
the request as evidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import fulfillment_spec

from conformance.catalogue import requirement
from conformance.factories import TestData
from conformance.http import ApiClient
from conformance.refs import resolve
from conformance.scenarios import error_of, in_stock_body, new_key

# Free text for every language an ERP ships to, inside the Basic Multilingual Plane ...
BMP_TEXT = "José Müller-Łukasiewicz, Ōsaka 商事, Zürich, Île-de-France"
# ... and beyond it (4-byte UTF-8: emoji and rarer CJK), which 3-byte-UTF-8 databases refuse.
ASTRAL_TEXT = "Happy birthday 🎂🎉 𠜎"
# String properties that are identifiers or looked up (ids, SKUs, the unique order number and
# reference, a shipping method name resolved to a method) or a phone / postcode a carrier reads:
# free text goes everywhere else.
NOT_FREE_TEXT = ("order_number", "reference", "sku", "shipping_method", "phone", "postcode")
# Identifiers the order itself introduces (unique, so a longer one is still fresh): stretched to
# their bound like free text. Every other identifier names existing data (a warehouse, a SKU, a
# method) and a longer one would be refused for a data-dependent reason, not over-validation.
FRESH_IDENTIFIERS = ("order_number", "reference")


def order_schema() -> dict[str, Any]:
    """The createOrder request body schema, read from the spec."""
    for item in fulfillment_spec.load_openapi()["paths"].values():
        post = item.get("post") if isinstance(item, dict) else None
        if isinstance(post, dict) and post.get("operationId") == "createOrder":
            content = post["requestBody"]["content"]["application/json"]
            found: dict[str, Any] = resolve_schema(content["schema"])
            return found
    raise AssertionError("expected createOrder in the spec")


def resolve_schema(schema: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = resolve(fulfillment_spec.load_openapi(), schema)
    return found


def types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def is_free_text(name: str, schema: dict[str, Any]) -> bool:
    plain = not any(key in schema for key in ("format", "pattern", "enum", "const", "$ref"))
    identifier = name in NOT_FREE_TEXT or name.endswith("_id")
    return "string" in types(schema) and plain and not identifier


Edit = Callable[[str, dict[str, Any], Any], Any]  # (name, property schema, value) -> new value


def edited(body: Any, schema: dict[str, Any], edit: Edit) -> Any:
    """`body` with `edit` applied to every property the schema declares (objects and arrays
    followed), the property's schema `$ref`s resolved; a property absent from the body is offered
    to `edit` too (value `...`), which may add it by returning something else."""
    schema = resolve_schema(schema)
    if isinstance(body, list):
        return [edited(item, schema.get("items") or {}, edit) for item in body]
    if not isinstance(body, dict):
        return body
    out = dict(body)
    for name, raw in (schema.get("properties") or {}).items():
        prop = resolve_schema(raw)
        value = out.get(name, ...)
        if isinstance(value, dict | list):
            value = edited(value, prop, edit)
        value = edit(name, prop, value)
        if value is not ...:
            out[name] = value
    return out


def with_text(text: str) -> Edit:
    def edit(name: str, prop: dict[str, Any], value: Any) -> Any:
        if not is_free_text(name, prop):
            return value
        # Within the property's own limit (code points, as JSON Schema counts), so the request
        # stays schema-valid: a refusal then can only be over-validation.
        return f"{text} ({name})"[: prop.get("maxLength")]

    return edit


def at_bounds(name: str, prop: dict[str, Any], value: Any) -> Any:
    """Free-text strings and the order's own identifiers at exactly maxLength, integers at their
    maximum, numbers whole-valued floats."""
    if value is ...:
        return value
    stretchable = is_free_text(name, prop) or name in FRESH_IDENTIFIERS
    if "string" in types(prop) and isinstance(value, str) and "maxLength" in prop and stretchable:
        return (value * prop["maxLength"])[: prop["maxLength"]]
    if "integer" in types(prop) and "maximum" in prop and not isinstance(value, bool):
        return prop["maximum"]
    if "number" in types(prop) and isinstance(value, int | float) and not isinstance(value, bool):
        return float(max(1, round(value)))
    return value


def nulls_for_optional(required: set[str]) -> Edit:
    def edit(name: str, prop: dict[str, Any], value: Any) -> Any:
        return None if "null" in types(prop) and name not in required else value

    return edit


def optional_nulls(body: dict[str, Any]) -> dict[str, Any]:
    """Every optional nullable property of the order and its ship_to sent as null, except the
    shipping method pair (one of them names how the order ships)."""
    top = order_schema()
    keep = {name: body.get(name) for name in ("shipping_method_id", "shipping_method")}
    nulled = edited(body, top, nulls_for_optional(set(top.get("required") or [])))
    ship_to_schema = resolve_schema(top["properties"]["ship_to"])
    nulled["ship_to"] = edited(
        body["ship_to"], ship_to_schema, nulls_for_optional(set(ship_to_schema["required"]))
    )
    nulled.update({name: value for name, value in keep.items() if value is not None})
    if keep["shipping_method"] is None and "shipping_method" in nulled:
        del nulled["shipping_method"]
    return nulled


def assert_accepted(
    api: ApiClient, body: dict[str, Any], run_id: str, what: str, **kwargs: Any
) -> None:
    resp = api.request(
        "POST",
        "/orders",
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", "Idempotency-Key": new_key(run_id)},
        **kwargs,
    )
    error = error_of(resp)
    assert resp.status == 201, (
        f"expected 201 for a schema-valid order with {what}, got {resp.status} "
        f"{error.get('code')!r} field {error.get('field')!r}: nothing in it can be refused for a "
        f"data-dependent reason (known warehouse, stocked SKU, fresh reference); request body "
        f"{json.dumps(body, ensure_ascii=False)[:600]} ({resp.describe()})"
    )


@requirement("API-010")
def test_orders_with_unicode_free_text_are_accepted(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """An in-stock order with non-ASCII text in every free-text property (names, address lines,
    city, notes, line description), then one with 4-byte UTF-8 (emoji): each 201."""
    for text, what in ((BMP_TEXT, "non-ASCII free text"), (ASTRAL_TEXT, "emoji in free text")):
        body = edited(in_stock_body(factory), order_schema(), with_text(text))
        assert_accepted(api, body, run_id, what)


@requirement("API-010")
def test_orders_at_their_bounds_are_accepted(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """An order whose every bounded value sits exactly on its bound (a quantity at its maximum,
    strings at maxLength, whole-valued floats for numbers), for a SKU without stock (so the
    quantity backorders instead of draining the run's stock): 201."""
    sku = factory.sku(stock={factory.warehouse_ids[0]: 0})
    body = edited(
        factory.order_body(items=[{"sku": sku, "quantity": 1}]), order_schema(), at_bounds
    )
    assert_accepted(api, body, run_id, "every bounded value at its bound")


@requirement("API-010")
def test_orders_with_optional_nulls_are_accepted(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """An in-stock order with every optional nullable property sent as null (gift_message,
    packing_note, ship_to.company, address2, ...): 201."""
    assert_accepted(api, optional_nulls(in_stock_body(factory)), run_id, "optional fields null")


@requirement("API-010")
def test_chunked_order_is_accepted(api: ApiClient, factory: TestData, run_id: str) -> None:
    """An in-stock order sent with Transfer-Encoding: chunked and no Content-Length (HTTP/1.1
    framing a client may choose): 201, as with Content-Length."""
    assert_accepted(api, in_stock_body(factory), run_id, "a chunked body", chunked=True)
