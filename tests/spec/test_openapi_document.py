"""The contract is a valid OpenAPI 3.1 document that uses 3.1 idioms and what the guide needs."""

from __future__ import annotations

from typing import Any

import fulfillment_spec
from openapi_spec_validator import validate


def test_spec_validates_against_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec, base_uri=fulfillment_spec.OPENAPI_PATH.as_uri())


def test_openapi_and_info_versions(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == "1.0.0"
    assert fulfillment_spec.spec_version() == "1.0.0"


def test_servers_are_sandbox_and_production_under_v1(spec: dict[str, Any]) -> None:
    urls = [server["url"] for server in spec["servers"]]
    assert urls == ["https://api.sandbox.your-3pl.com/v1", "https://api.your-3pl.com/v1"]


def test_bearer_security_is_global(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]


def _walk(node: Any, path: str = "#") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "nullable":
                found.append(f"{path}/{key}")
            found.extend(_walk(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_walk(value, f"{path}/{index}"))
    return found


def test_no_openapi_3_0_nullable_anywhere(spec: dict[str, Any]) -> None:
    """3.1 writes `type: [T, "null"]`; openapi-spec-validator does not flag a stray `nullable`."""
    assert _walk(spec) == []


def test_every_x_extension_is_documented_in_info(spec: dict[str, Any]) -> None:
    """GitHub's house rule: a document explains every `x-` extension it uses."""
    used: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith("x-"):
                    used.add(key)
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec)
    undocumented = sorted(x for x in used if f"`{x}`" not in spec["info"]["description"])
    assert undocumented == []
