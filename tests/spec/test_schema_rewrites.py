"""The generator-friendly schemas say what their compositions said (decision 34, docs/decisions.md).

`ShipTo` used to be `allOf: [Address, {name: non-empty string, required}]` and each event
`allOf: [envelope whose event_type is an EventType, {event_type: const, data: $ref}]`. Code
generators cannot merge those narrowings and dropped the schemas, so both are now written out as
plain objects. Here each old composition is rebuilt from the spec's own parts and both forms must
accept and refuse exactly the same documents: the spec's examples and counter-examples that break
one rule each.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .conftest import SPEC_URI
from .test_examples import BODY_EXAMPLES

EVENT_SCHEMAS = {
    "shipment.created": "ShipmentCreatedEvent",
    "shipment.updated": "ShipmentUpdatedEvent",
    "order.cancelled": "OrderCancelledEvent",
    "inventory.updated": "InventoryUpdatedEvent",
    "inbound.received": "InboundReceivedEvent",
    "inventory.adjusted": "InventoryAdjustedEvent",
    "return.received": "ReturnReceivedEvent",
}


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    registry: Registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    rooted = {"$id": "urn:fulfillment:test", **_rebase(schema)}
    return Draft202012Validator(
        rooted, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _rebase(node: Any) -> Any:
    """Point the document-local `$ref`s of a detached schema at the whole spec."""
    if isinstance(node, dict):
        return {
            k: (SPEC_URI + v if k == "$ref" and v.startswith("#/") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _old_ship_to() -> dict[str, Any]:
    narrowing = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "minLength": 1}},
    }
    return {"allOf": [_ref("Address"), narrowing]}


def _old_event(event_type: str, data_schema: str) -> dict[str, Any]:
    envelope = {
        "type": "object",
        "required": ["event_id", "event_type", "created_at", "data"],
        "properties": {
            "event_id": {"type": "string"},
            "event_type": _ref("EventType"),
            "created_at": _ref("Timestamp"),
            "data": {"type": "object"},
        },
    }
    specific = {
        "type": "object",
        "properties": {"event_type": {"const": event_type}, "data": _ref(data_schema)},
    }
    return {"allOf": [envelope, specific]}


def _event_examples() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for _name, _pointer, value in BODY_EXAMPLES:
        if isinstance(value, dict) and value.get("event_type") in EVENT_SCHEMAS:
            found.setdefault(value["event_type"], value)
    return found


def _order_examples() -> list[dict[str, Any]]:
    return [
        value
        for _name, _pointer, value in BODY_EXAMPLES
        if isinstance(value, dict) and isinstance(value.get("ship_to"), dict) and "id" in value
    ]


def _same_verdicts(old: Draft202012Validator, new: Draft202012Validator, docs: list[Any]) -> None:
    for doc in docs:
        assert old.is_valid(doc) == new.is_valid(doc), doc


def _ship_to_variants(ship_to: dict[str, Any]) -> list[Any]:
    def changed(**fields: Any) -> dict[str, Any]:
        out = copy.deepcopy(ship_to)
        for key, value in fields.items():
            if value is KeyError:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    return [
        ship_to,
        changed(name=None),
        changed(name=""),
        changed(name=KeyError),
        changed(name=42),
        changed(company=None, address2=None, state=None, postcode=None, email=None, phone=None),
        changed(address1=""),
        changed(address1=None),
        changed(city=KeyError),
        changed(country="aus"),
        changed(email="not-an-email"),
        changed(extra_field="responses are open"),
        "not an object",
        [],
    ]


def test_ship_to_accepts_and_refuses_what_address_narrowed_did(spec: dict[str, Any]) -> None:
    orders = _order_examples()
    assert orders, "the spec has order examples"
    old = _validator(spec, _old_ship_to())
    new = _validator(spec, _ref("ShipTo"))
    for order in orders:
        _same_verdicts(old, new, _ship_to_variants(order["ship_to"]))
    assert new.is_valid(orders[0]["ship_to"])
    assert not new.is_valid({**orders[0]["ship_to"], "name": None})


@pytest.mark.parametrize("event_type", sorted(EVENT_SCHEMAS))
def test_event_accepts_and_refuses_what_the_envelope_narrowed_did(
    spec: dict[str, Any], event_type: str
) -> None:
    examples = _event_examples()
    assert event_type in examples, "every event has an example in the webhooks section"
    example = examples[event_type]
    # Every other event's example is the natural counter-example: valid envelope, wrong body.
    others = [value for key, value in examples.items() if key != event_type]
    data_ref = spec["components"]["schemas"][EVENT_SCHEMAS[event_type]]["properties"]["data"]
    old = _validator(spec, _old_event(event_type, data_ref["$ref"].rsplit("/", 1)[1]))
    new = _validator(spec, _ref(EVENT_SCHEMAS[event_type]))
    broken = [
        {**example, "event_type": other} for other in [*EVENT_SCHEMAS, "order.created", "", None]
    ]
    broken += [{k: v for k, v in example.items() if k != field} for field in example]
    broken += [
        {**example, "data": "not an object"},
        {**example, "data": {}},
        {**example, "event_id": 7},
        {**example, "created_at": "2026-07-02 22:04:12"},
        {**example, "extra_field": "responses are open"},
    ]
    _same_verdicts(old, new, [example, *others, *broken])
    assert new.is_valid(example)
    assert not any(new.is_valid(doc) for doc in others)
