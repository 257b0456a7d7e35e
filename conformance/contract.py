"""The contract's operations as the kit sees them, each with the profile it belongs to.

The profile of an operation is its `x-profile` in the spec, read at run time and checked against
the profiles the catalogue declares (`conformance.catalogue.PROFILES`): nothing in the kit
restates which tag, path or operation belongs to which profile. A new profile is a catalogue
entry, `x-profile` on its operations, and the checks of its requirements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import fulfillment_spec

from conformance.catalogue import PROFILES, CatalogueError
from conformance.http import HTTP_METHODS, OperationIndex

__all__ = [
    "Operation",
    "operation",
    "operation_ids",
    "operations",
    "profile_of_operation",
    "profile_of_request",
]


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: `method` upper case, `path` the template (`/orders/{id}`)."""

    operation_id: str
    method: str
    path: str
    profile: str
    sandbox_only: bool
    definition: Mapping[str, Any]


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the spec, in spec order (cached for the process)."""
    found = []
    for path, item in (fulfillment_spec.load_openapi().get("paths") or {}).items():
        for method, definition in item.items():
            if method not in HTTP_METHODS or not isinstance(definition, Mapping):
                continue
            profile = definition.get("x-profile")
            if profile not in PROFILES:
                raise CatalogueError(
                    f"{method.upper()} {path} has x-profile {profile!r}: expected one of the"
                    f" catalogue's profiles ({', '.join(PROFILES)})"
                )
            found.append(
                Operation(
                    operation_id=str(definition["operationId"]),
                    method=method.upper(),
                    path=path,
                    profile=str(profile),
                    sandbox_only=bool(definition.get("x-sandbox-only", False)),
                    definition=definition,
                )
            )
    return tuple(found)


@cache
def _by_id() -> dict[str, Operation]:
    return {operation.operation_id: operation for operation in operations()}


@cache
def _index() -> OperationIndex:
    return OperationIndex(fulfillment_spec.load_openapi())


def operation(operation_id: str) -> Operation:
    """The operation `operation_id`; a CatalogueError for an unknown one."""
    try:
        return _by_id()[operation_id]
    except KeyError:
        raise CatalogueError(f"the spec has no operation {operation_id!r}") from None


def profile_of_operation(operation_id: str) -> str:
    """The profile of the operation `operation_id`; a CatalogueError for an unknown one."""
    try:
        return _by_id()[operation_id].profile
    except KeyError:
        raise CatalogueError(f"the spec has no operation {operation_id!r}") from None


def profile_of_request(method: str, path: str) -> str | None:
    """The profile of the operation a request belongs to (`GET`, `/orders/ord_1?limit=2`: a path
    relative to the base URL, concrete or the template); None when the spec has no such one."""
    matched = _index().match(method, path)
    return profile_of_operation(matched[0]) if matched is not None else None


def operation_ids(profiles: Iterable[str], *, sandbox: bool = True) -> list[str]:
    """The operationIds of the given profiles, in spec order; `sandbox=False` leaves out the
    sandbox-only control endpoints."""
    wanted = set(profiles)
    return [
        operation.operation_id
        for operation in operations()
        if operation.profile in wanted and (sandbox or not operation.sandbox_only)
    ]
