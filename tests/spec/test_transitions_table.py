"""The transition table (`x-transitions` on the status schemas) agrees with the rest of the spec:
every status it names is in the schema's enum, every operation exists, each row is total (every
status is either a legal start or refused with a code), every refusal code is one the operation
documents under 409, and a target the request chooses is one its schema allows.
"""

from __future__ import annotations

from typing import Any

import fulfillment_spec
import pytest
import yaml

from tests.spec.conftest import HTTP_METHODS

TABLE = fulfillment_spec.load_transitions()
ROWS = [(schema, operation) for schema, ops in TABLE.items() for operation in ops]
# Status schemas whose resources change state through an operation of the spec.
EXPECTED = {"OrderStatus", "ShipmentStatus", "InboundShipmentStatus", "ReturnStatus"}


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A response object with its `$ref` (to components/responses) followed."""
    ref = node.get("$ref")
    if not ref:
        return node
    found: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return dict(found)


def enum(spec: dict[str, Any], schema: str) -> list[str]:
    return list(spec["components"]["schemas"][schema]["enum"])


def test_every_status_schema_with_moves_has_a_table() -> None:
    assert set(TABLE) == EXPECTED, f"expected tables on {sorted(EXPECTED)}, got {sorted(TABLE)}"


@pytest.mark.parametrize(("schema", "operation"), ROWS, ids=lambda v: str(v))
def test_row_names_only_statuses_of_the_enum(spec, schema: str, operation: str) -> None:
    statuses = set(enum(spec, schema))
    row = TABLE[schema][operation]
    named = set(row["moves"]) | {to for targets in row["moves"].values() for to in targets}
    if isinstance(row["refused"], dict):
        named |= set(row["refused"])
    assert named <= statuses, f"expected only {sorted(statuses)}, got {sorted(named - statuses)}"


@pytest.mark.parametrize(("schema", "operation"), ROWS, ids=lambda v: str(v))
def test_row_is_total_and_refusals_are_documented_409s(spec, schema: str, operation: str) -> None:
    ops = operations(spec)
    assert operation in ops, f"expected operation {operation} in the spec"
    row = TABLE[schema][operation]
    statuses = enum(spec, schema)
    refused = row["refused"]
    codes = set(refused.values()) if isinstance(refused, dict) else {refused}
    if isinstance(refused, dict):
        covered = set(row["moves"]) | set(refused)
        assert covered == set(statuses), f"expected every status covered, got {sorted(covered)}"
        assert not set(row["moves"]) & set(refused), "expected no status both legal and refused"
    documented = yaml.safe_dump(resolve(spec, ops[operation]["responses"].get("409", {})))
    missing = [code for code in codes if code not in documented]
    assert not missing, f"expected {operation} to document 409 {missing}"


def test_chosen_targets_are_what_the_request_allows(spec) -> None:
    """sandboxAdvanceShipment's request names the target: every target in the table is one of
    its `status` enum, and `voided` is reached only through sandboxVoidShipment."""
    request = spec["components"]["schemas"]["SandboxAdvanceShipmentRequest"]
    allowed = set(request["properties"]["status"]["enum"])
    row = TABLE["ShipmentStatus"]["sandboxAdvanceShipment"]
    targets = {to for targets in row["moves"].values() for to in targets}
    assert targets <= allowed, f"expected targets within {sorted(allowed)}, got {sorted(targets)}"


def test_shipment_forward_skips_are_legal(spec) -> None:
    """Issue 16 place 2: carriers skip scans, so forward skips are in the table."""
    moves = TABLE["ShipmentStatus"]["sandboxAdvanceShipment"]["moves"]
    assert "delivered" in moves["in_transit"] and "out_for_delivery" in moves["shipped"]
    assert "in_transit" not in moves.get("out_for_delivery", []), "backwards is never legal"
