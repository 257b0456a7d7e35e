"""Schema conventions: closed requests, open responses, UTC `Z` timestamps, described properties."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .conftest import iter_operations

Z_PATTERN_SUFFIX = "Z$"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if (
                key == "$ref"
                and isinstance(value, str)
                and value.startswith("#/components/schemas/")
            ):
                yield value.rsplit("/", 1)[1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(spec: dict[str, Any], roots: set[str]) -> set[str]:
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _body_schema_names(spec: dict[str, Any]) -> tuple[set[str], set[str]]:
    requests: set[str] = set()
    responses: set[str] = set()
    components = spec["components"]
    for _, _, operation in iter_operations(spec):
        requests.update(_refs(operation.get("requestBody", {})))
        for response in operation["responses"].values():
            responses.update(_refs(response))
    for response in components["responses"].values():
        responses.update(_refs(response))
    for item in spec["webhooks"].values():
        responses.update(_refs(item["post"]["requestBody"]))  # a payload the 3PL sends: open
    return _closure(spec, requests), _closure(spec, responses)


def _object_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield node
        for value in node.values():
            yield from _object_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _object_schemas(value)


# Request objects left open on purpose, with the rule that needs it.
OPEN_BY_DESIGN = {
    # CAN-010: a cancel's body with members it does not define (a `reason`) is still a cancel.
    "ReasonRequest",
}


def test_request_objects_are_closed(spec: dict[str, Any]) -> None:
    requests, _ = _body_schema_names(spec)
    schemas = spec["components"]["schemas"]
    open_requests = [
        name
        for name in sorted(requests - OPEN_BY_DESIGN)
        for obj in _object_schemas(schemas[name])
        if obj.get("additionalProperties") is not False
    ]
    assert requests and open_requests == []


def test_response_objects_are_open(spec: dict[str, Any]) -> None:
    requests, responses = _body_schema_names(spec)
    schemas = spec["components"]["schemas"]
    closed = [name for name in sorted(responses) if "additionalProperties" in str(schemas[name])]
    assert responses and closed == []
    assert not [name for name in requests & responses if schemas[name].get("type") == "object"]


def test_response_date_times_require_utc_z(spec: dict[str, Any]) -> None:
    _, responses = _body_schema_names(spec)
    schemas = spec["components"]["schemas"]
    offenders: list[str] = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("format") == "date-time" and not node.get("pattern", "").endswith(
                Z_PATTERN_SUFFIX
            ):
                offenders.append(where)
            for key, value in node.items():
                visit(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(value, f"{where}/{index}")

    for name in sorted(responses):
        visit(schemas[name], name)
    assert offenders == []


def _integers_without_a_format(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            yield where
        for key, value in node.items():
            yield from _integers_without_a_format(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _integers_without_a_format(value, f"{where}/{index}")


def test_every_integer_declares_int64(spec: dict[str, Any]) -> None:
    """Generators map `format: int64` to a 64-bit integer (1.0.0's changelog): an integer without
    it becomes a 32-bit one in some languages, and a count past 2^31 breaks the client."""
    assert list(_integers_without_a_format(spec, "#")) == []


def test_every_property_has_a_description(spec: dict[str, Any]) -> None:
    missing = [
        f"{name}.{prop}"
        for name, schema in spec["components"]["schemas"].items()
        for obj in _object_schemas(schema)
        for prop, definition in obj["properties"].items()
        if not definition.get("description")
    ]
    assert missing == []


def test_value_patterns(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["DecimalString"]["pattern"] == r"^-?\d+(\.\d+)?$"
    assert schemas["CurrencyCode"]["pattern"] == "^[A-Z]{3}$"
    assert schemas["Parcel"]["properties"]["tracking_number"]["pattern"] == r"^[^,;\s]+$"
    assert schemas["Order"]["properties"]["version"]["type"] == "string"
    assert schemas["WebhookCreated"]["allOf"][1]["properties"]["secret"]["pattern"] == "^whsec_"
    assert "warehouse_id" not in schemas["OrderAmend"]["properties"]
    for name in (
        "Order",
        "Shipment",
        "InboundShipment",
        "InventoryAdjustment",
        "Return",
        "Webhook",
    ):
        assert "pattern" not in schemas[name]["properties"]["id"], name  # ids are opaque


def test_error_envelope(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    assert schemas["Error"]["required"] == ["code", "message", "request_id"]
    # The list of codes is open (decision 39): known codes are listed, any snake_case code is valid.
    error_code = schemas["ErrorCode"]
    assert "enum" not in error_code
    codes = error_code["examples"]
    assert len(codes) == len(set(codes)) == 36
    assert all(re.fullmatch(error_code["pattern"], code) for code in codes)
    assert all(f"`{code}`" in error_code["description"] for code in codes)
    assert re.fullmatch(error_code["pattern"], "address_undeliverable")
    assert not re.search(error_code["pattern"], "E422")
