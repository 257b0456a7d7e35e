"""When two request bodies are "the same body" for an Idempotency-Key (decision 48).

Two bodies are the same when their parsed JSON values are equal after three rules, all read from
the request schema in the spec at run time: a property the schema gives a `default` counts as sent
with that default; an optional property the schema allows to be `null` counts as absent when it is
`null`; numbers compare by value (`2 == 2.0`). So a client that writes out a documented default, an
explicit `null` or `2.0` on its retry is still retrying, not reusing the key for another request.
"""

from __future__ import annotations

from typing import Any

from .validation import Contract


def request_schema(contract: Contract, operation_id: str) -> dict[str, Any] | None:
    """The JSON request body schema of the operation, or None when it takes no body."""
    for item in contract.document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                body = contract.resolve(operation.get("requestBody") or {})
                media = body.get("content", {}).get("application/json", {})
                schema = media.get("schema")
                return None if schema is None else contract.resolve(schema)
    return None


def normal_form(contract: Contract, schema: dict[str, Any] | None, value: Any) -> Any:
    """The value with the schema's defaults filled in, optional nulls dropped and integral
    numbers written as integers; parts the schema does not describe are kept as sent."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    node = contract.resolve(schema) if isinstance(schema, dict) else {}
    if isinstance(value, list):
        items = node.get("items") if isinstance(node.get("items"), dict) else None
        return [normal_form(contract, items, item) for item in value]
    if not isinstance(value, dict):
        return value
    properties: dict[str, Any] = node.get("properties") or {}
    required = set(node.get("required") or ())
    result: dict[str, Any] = {}
    for name, member in value.items():
        prop = contract.resolve(properties.get(name) or {})
        if member is None and name not in required and _allows_null(prop) and "default" not in prop:
            continue
        result[name] = normal_form(contract, prop, member)
    for name, prop in properties.items():
        resolved = contract.resolve(prop)
        if name not in result and "default" in resolved and name not in value:
            result[name] = resolved["default"]
    return result


def _allows_null(prop: dict[str, Any]) -> bool:
    kind = prop.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)
