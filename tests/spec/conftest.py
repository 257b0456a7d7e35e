"""Shared fixtures for the spec tests: the parsed contract and a JSON Schema resolver over it.

The tests read `spec/openapi.yaml` through `fulfillment_spec`, the same loader the kit and the
sandbox use, so they test exactly the document those consumers see.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import fulfillment_spec
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:fulfillment:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """A private deep copy of the parsed OpenAPI document (the loader's copy is shared)."""
    return copy.deepcopy(fulfillment_spec.load_openapi())


def pointer(*segments: str) -> str:
    """A URI-fragment JSON pointer to the path segments (RFC 6901 escaped, percent-encoded)."""
    escaped = (str(s).replace("~", "~0").replace("/", "~1") for s in segments)
    return "/" + "/".join(quote(s, safe="") for s in escaped)


@pytest.fixture(scope="session")
def validator_at(spec: dict[str, Any]):
    """Build a format-checking Draft 2020-12 validator for the schema at a pointer in the document.

    `$ref`s such as `#/components/schemas/Order` resolve against the whole document.
    """
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(SPEC_URI, resource)

    def build(schema_pointer: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{schema_pointer}"},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    return build


def iter_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (METHOD, path, operation) for every operation under `paths`."""
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` chain (`#/components/...`) to the object it names."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
