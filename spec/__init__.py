"""The fulfillment API contract as data: the OpenAPI 3.1 document and the requirement catalogue.

This package is the only thing the conformance kit and the reference sandbox share. Both read the
contract from here at run time, so neither keeps a second copy of a schema.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "OPENAPI_PATH",
    "REQUIREMENTS_PATH",
    "load_openapi",
    "load_profiles",
    "load_requirements",
    "load_transitions",
    "spec_sha256",
    "spec_version",
]

# libyaml's parser where PyYAML has it (about six times faster: every kit run, sandbox and
# test process parses both documents at start), the pure-Python one otherwise; both safe.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SPEC_DIR = Path(__file__).resolve().parent
OPENAPI_PATH = SPEC_DIR / "openapi.yaml"
REQUIREMENTS_PATH = SPEC_DIR / "requirements.yaml"


@cache
def load_openapi() -> dict[str, Any]:
    """The parsed OpenAPI document (cached; callers must not mutate it)."""
    with OPENAPI_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_SafeLoader)
    return document


def _load_catalogue() -> dict[str, Any]:
    # By path, read when called: a test may point REQUIREMENTS_PATH at another catalogue.
    return _parse_catalogue(REQUIREMENTS_PATH)


@cache
def _parse_catalogue(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        catalogue: dict[str, Any] = yaml.load(handle, Loader=_SafeLoader)
    return catalogue


@cache
def load_requirements() -> list[dict[str, Any]]:
    """The requirement catalogue's entries, in catalogue order."""
    requirements: list[dict[str, Any]] = _load_catalogue()["requirements"]
    return requirements


@cache
def load_profiles() -> dict[str, dict[str, Any]]:
    """The profiles the catalogue declares (name -> title, description), in catalogue order."""
    profiles: dict[str, dict[str, Any]] = _load_catalogue()["profiles"]
    return profiles


def load_transitions() -> dict[str, dict[str, dict[str, Any]]]:
    """The transition table: status schema name -> operationId -> {"moves", "refused"}, from the
    `x-transitions` extensions of the spec's status schemas (see the spec's Extensions)."""
    schemas = load_openapi()["components"]["schemas"]
    return {
        name: schema["x-transitions"]
        for name, schema in schemas.items()
        if isinstance(schema, dict) and "x-transitions" in schema
    }


def spec_sha256() -> str:
    """Hex SHA-256 of the OpenAPI document's bytes: a report names the exact contract it tested."""
    return hashlib.sha256(OPENAPI_PATH.read_bytes()).hexdigest()


def spec_version() -> str:
    """The contract's `info.version`."""
    return str(load_openapi()["info"]["version"])
