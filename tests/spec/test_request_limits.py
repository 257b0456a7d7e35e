"""Every value a client sends is bounded (decision 38, API-015).

Every string reachable from a request body or a parameter has a `maxLength` (an `enum` or a
`const` bounds it too) and every array a `maxItems`; `unit_price` is a non-negative decimal with at
most 4 decimals and comes with its currency. The sandbox validates request bodies with these
schemas, so it refuses a value over its limit with 422 `validation_failed` (tested here on the
compiled validator it uses) and the kit probes both sides on createOrder (API-015).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .conftest import iter_operations, resolve

Found = Iterator[tuple[str, dict[str, Any]]]


def _walk(spec: dict[str, Any], node: Any, where: str, seen: set[str]) -> Found:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"]
        if name in seen:
            return
        seen = seen | {name}
    schema = resolve(spec, node)
    yield where, schema
    for name, child in (schema.get("properties") or {}).items():
        yield from _walk(spec, child, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from _walk(spec, schema["items"], f"{where}[]", seen)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(keyword) or ():
            yield from _walk(spec, branch, where, seen)


def _request_schemas(spec: dict[str, Any]) -> Found:
    for method, path, operation in iter_operations(spec):
        for parameter in operation.get("parameters", []) + spec["paths"][path].get(
            "parameters", []
        ):
            parameter = resolve(spec, parameter)
            where = f"{method} {path} {parameter['in']} {parameter['name']}"
            yield from _walk(spec, parameter["schema"], where, set())
        body = resolve(spec, operation.get("requestBody", {}))
        for media in body.get("content", {}).values():
            yield from _walk(spec, media["schema"], f"{method} {path} body", set())


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind}


def test_every_request_string_and_array_is_bounded(spec: dict[str, Any]) -> None:
    unbounded = sorted(
        where
        for where, schema in _request_schemas(spec)
        if ("string" in _types(schema) and not {"maxLength", "enum", "const"} & schema.keys())
        or ("array" in _types(schema) and "maxItems" not in schema)
    )
    assert unbounded == []


def _order_validator(spec: dict[str, Any]) -> Draft202012Validator:
    schema = {**spec["components"]["schemas"]["OrderCreate"], "components": spec["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def order(spec: dict[str, Any]) -> dict[str, Any]:
    examples = spec["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]
    return resolve(spec, next(iter(examples["examples"].values())))["value"]


@pytest.mark.parametrize(
    ("price", "valid"),
    [
        *[("19.99", True), ("0", True), ("0.0125", True), ("999999999999.9999", True)],
        *[("-1.00", False), ("19.99999", False), ("1e3", False), ("1000000000000", False)],
    ],
)
def test_unit_price_is_a_bounded_non_negative_decimal(spec, order, price, valid) -> None:
    line = {**order["items"][0], "unit_price": price}
    assert _order_validator(spec).is_valid({**order, "items": [line]}) is valid


def test_unit_price_needs_its_currency(spec, order) -> None:
    line = {k: v for k, v in order["items"][0].items() if k != "currency"}
    assert "unit_price" in line
    assert not _order_validator(spec).is_valid({**order, "items": [line]})
    bare = {k: v for k, v in line.items() if k != "unit_price"}
    assert _order_validator(spec).is_valid({**order, "items": [bare]})


def _webhook_payloads(spec: dict[str, Any]) -> Found:
    """What the 3PL sends the ERP: each event's envelope (its `data` is a resource, bounded or not
    as the API's responses are) and the signature header."""
    for name, item in spec["webhooks"].items():
        operation = item["post"]
        for parameter in operation.get("parameters", []):
            parameter = resolve(spec, parameter)
            yield from _walk(spec, parameter["schema"], f"{name} header {parameter['name']}", set())
        body = resolve(spec, operation["requestBody"])
        for media in body["content"].values():
            envelope = resolve(spec, media["schema"])
            for field, child in envelope["properties"].items():
                if field != "data":
                    yield from _walk(spec, child, f"{name} body.{field}", set())


def test_every_webhook_envelope_value_is_bounded(spec: dict[str, Any]) -> None:
    found = list(_webhook_payloads(spec))
    assert len(found) >= 4 * len(spec["webhooks"])
    unbounded = sorted(
        where
        for where, schema in found
        if "string" in _types(schema) and not {"maxLength", "enum", "const"} & schema.keys()
    )
    assert unbounded == []


def _inline_headers(spec: dict[str, Any], name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield f"components.headers.{name}", spec["components"]["headers"][name]["schema"]
    for response_name, response in spec["components"]["responses"].items():
        header = response.get("headers", {}).get(name, {})
        if "schema" in header:
            yield f"components.responses.{response_name}.{name}", header["schema"]


def test_headers_an_erp_stores_or_acts_on_are_bounded(spec: dict[str, Any]) -> None:
    """X-Request-Id (logged, quoted to support) and Retry-After (slept on), wherever declared."""
    request_ids = list(_inline_headers(spec, "X-Request-Id"))
    assert [schema.get("maxLength") for _, schema in request_ids] == [200]
    request_id = spec["components"]["schemas"]["Error"]["properties"]["request_id"]
    assert request_id["maxLength"] == 200  # the envelope's copy of the header (ERR-005)
    retry_after = list(_inline_headers(spec, "Retry-After"))
    assert len(retry_after) >= 3
    assert {(where, schema.get("maximum")) for where, schema in retry_after} == {
        (where, 86400) for where, _ in retry_after
    }
