"""Every example in the contract validates against its own schema, formats included.

The examples are the kit's and the sandbox's reference data, so an example that drifts from its
schema is a contract bug. Date-times must carry the trailing `Z` (the schemas' patterns enforce it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fulfillment_spec import load_openapi

from .conftest import HTTP_METHODS, pointer, resolve

_SPEC = load_openapi()


def _media_examples() -> Iterator[tuple[str, str, Any]]:
    """Yield (test id, schema pointer, example value) for every request and response body."""
    for section in ("paths", "webhooks"):
        for path, item in _SPEC.get(section, {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                bodies: list[tuple[list[str], str, dict[str, Any]]] = []
                if "requestBody" in operation:
                    bodies.append(
                        (
                            [section, path, method, "requestBody"],
                            "request",
                            resolve(_SPEC, operation["requestBody"]),
                        )
                    )
                for status, response in operation["responses"].items():
                    target = response.get("$ref", "").removeprefix("#/").split("/")
                    where = (
                        target
                        if "$ref" in response
                        else [section, path, method, "responses", status]
                    )
                    bodies.append((where, status, resolve(_SPEC, response)))
                for where, label, body in bodies:
                    for media_type, media in body.get("content", {}).items():
                        base = [*where, "content", media_type]
                        name = f"{method.upper()} {path} {label} {media_type}"
                        if "example" in media:
                            yield name, pointer(*base, "schema"), media["example"]
                        for key, example in media.get("examples", {}).items():
                            example = resolve(_SPEC, example)
                            yield f"{name} [{key}]", pointer(*base, "schema"), example["value"]


def _parameter_and_header_examples() -> Iterator[tuple[str, str, Any]]:
    components = _SPEC["components"]
    for kind in ("parameters", "headers"):
        for name, obj in components.get(kind, {}).items():
            if "example" in obj:
                yield f"{kind}/{name}", pointer("components", kind, name, "schema"), obj["example"]
    for name, response in components.get("responses", {}).items():
        for header, obj in response.get("headers", {}).items():
            if "example" in obj:
                where = pointer("components", "responses", name, "headers", header, "schema")
                yield f"responses/{name} header {header}", where, obj["example"]


def _schema_examples() -> Iterator[tuple[str, str, Any]]:
    for name, schema in _SPEC["components"]["schemas"].items():
        for index, example in enumerate(schema.get("examples", [])):
            yield f"schemas/{name}[{index}]", pointer("components", "schemas", name), example


BODY_EXAMPLES = list(_media_examples())
OTHER_EXAMPLES = list(_parameter_and_header_examples()) + list(_schema_examples())


@pytest.mark.parametrize(
    ("where", "schema_pointer", "value"), BODY_EXAMPLES, ids=[e[0] for e in BODY_EXAMPLES]
)
def test_body_example_validates_against_its_schema(
    validator_at, where, schema_pointer, value
) -> None:
    errors = sorted(validator_at(schema_pointer).iter_errors(value), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    ("where", "schema_pointer", "value"), OTHER_EXAMPLES, ids=[e[0] for e in OTHER_EXAMPLES]
)
def test_parameter_header_and_schema_examples_validate(
    validator_at, where, schema_pointer, value
) -> None:
    errors = list(validator_at(schema_pointer).iter_errors(value))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_examples_were_found() -> None:
    """Guard against a walker bug that would make the parametrized tests vacuous."""
    assert len(BODY_EXAMPLES) > 80
    assert len(OTHER_EXAMPLES) > 20


def _bodies_of(item: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for method in HTTP_METHODS:
        operation = item.get(method)
        if operation is None:
            continue
        if "requestBody" in operation:
            yield f"{method} request", resolve(_SPEC, operation["requestBody"])
        for status, response in operation["responses"].items():
            yield f"{method} {status}", resolve(_SPEC, response)


def test_every_body_has_exactly_one_example() -> None:
    missing = []
    for section in ("paths", "webhooks"):
        for path, item in _SPEC[section].items():
            for label, body in _bodies_of(item):
                for media_type, media in body.get("content", {}).items():
                    count = len(media.get("examples", {})) + ("example" in media)
                    if count != 1:
                        missing.append(f"{path} {label} {media_type}: {count} examples")
    assert missing == []


def test_webhook_examples_carry_their_event_type() -> None:
    for event, item in _SPEC["webhooks"].items():
        media = item["post"]["requestBody"]["content"]["application/json"]
        (example,) = media["examples"].values()
        assert example["value"]["event_type"] == event
        assert example["value"]["data"]["updated_at"].endswith("Z")
