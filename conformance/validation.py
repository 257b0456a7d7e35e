"""Validates a response against the contract: status documented, body valid against its schema.

Checks and the cross-cutting response check share this one validator, so "valid" means the same
thing everywhere: the status is one the operation documents (exact, `4XX`-style or `default`),
the content type is documented for it, and the body is valid against the documented schema with
JSON Schema 2020-12 and format checking, `$ref`s resolved against the whole spec (never a copy).
Problems are returned as one-line messages in the kit's layout ("expected ..., got ...").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance import refs
from conformance.http import ApiResponse, OperationIndex

__all__ = ["SPEC_URI", "Problem", "SpecValidator", "json_path", "pointer_token"]

SPEC_URI = "urn:fulfillment-spec:openapi"
MAX_ERRORS = 3
_MAX_VALUE_CHARS = 120
_MAX_REMEMBERED = 20_000


@dataclass(frozen=True)
class Problem:
    """One way a response departs from the contract. `kind` groups problems by requirement."""

    kind: str  # undocumented_status | content_type | not_json | schema | truncated
    message: str

    def __str__(self) -> str:
        return self.message


def json_path(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def pointer_token(token: str) -> str:
    """`token` escaped for a JSON pointer (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


class SpecValidator:
    """Compiled validators for the spec's schemas (cached per schema location)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.index = OperationIndex(spec)
        resource = Resource.from_contents(dict(spec), default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        # The cross-cutting checks judge each recorded response by several rules, all from the
        # same problems: computed once per response (kept alive with it, keyed by identity).
        self._problems: dict[int, tuple[ApiResponse, list[Problem]]] = {}

    # -- locating things in the spec -------------------------------------------------------
    def _deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow local `$ref`s of a (response) object; returns the target and its pointer."""
        return refs.follow(self.spec, node, pointer)

    def operation(self, method: str, template: str) -> Mapping[str, Any] | None:
        item = (self.spec.get("paths") or {}).get(template) or {}
        operation = item.get(method.lower())
        return operation if isinstance(operation, Mapping) else None

    def documented_response(
        self, method: str, template: str, status: int
    ) -> tuple[Mapping[str, Any], str] | None:
        """The response documented for `status` (exact, `4XX`, then `default`) and its pointer."""
        operation = self.operation(method, template)
        if operation is None:
            return None
        responses = operation.get("responses") or {}
        base = f"/paths/{pointer_token(template)}/{method.lower()}/responses"
        for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
            if key in responses:
                node, pointer = self._deref(responses[key], f"{base}/{pointer_token(key)}")
                if isinstance(node, Mapping):
                    return node, pointer
        return None

    def documented_statuses(self, method: str, template: str) -> list[str]:
        operation = self.operation(method, template) or {}
        return [str(key) for key in (operation.get("responses") or {})]

    # -- validating -------------------------------------------------------------------------
    def _validator(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"},
                registry=self.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
            self._validators[pointer] = validator
        return validator

    def is_valid_at(self, pointer: str, instance: Any) -> bool:
        """Whether `instance` is valid against the schema at `pointer` in the spec."""
        return bool(self._validator(pointer).is_valid(instance))

    def errors_at(self, pointer: str, instance: Any) -> list[ValidationError]:
        """Every way `instance` departs from the schema at `pointer` (empty: valid)."""
        return list(self._validator(pointer).iter_errors(instance))

    def validate_component(self, instance: Any, name: str) -> list[str]:
        """Each way `instance` departs from `components/schemas/<name>` (empty: valid)."""
        if name not in ((self.spec.get("components") or {}).get("schemas") or {}):
            raise KeyError(f"the spec has no schema {name!r}")
        pointer = f"/components/schemas/{pointer_token(name)}"
        return self._errors(instance, pointer, f"schema {name}")

    def _errors(self, instance: Any, pointer: str, what: str) -> list[str]:
        errors: list[ValidationError] = sorted(
            self._validator(pointer).iter_errors(instance), key=lambda error: list(error.path)
        )
        messages = []
        for error in errors[:MAX_ERRORS]:
            message = error.message
            if len(message) > _MAX_VALUE_CHARS * 2:
                message = message[: _MAX_VALUE_CHARS * 2] + "..."
            messages.append(f"{json_path(error.absolute_path)}: {message}")
        if len(errors) > MAX_ERRORS:
            messages.append(f"and {len(errors) - MAX_ERRORS} more")
        return (
            [f"expected a body valid against {what}, got {'; '.join(messages)}"] if messages else []
        )

    def response_problems(self, resp: ApiResponse) -> list[Problem]:
        """Every way `resp` departs from what its operation documents (empty: conformant).

        A request the spec has no operation for is not judged (returns no problems).
        """
        known = self._problems.get(id(resp))
        if known is None or known[0] is not resp:
            if len(self._problems) >= _MAX_REMEMBERED:
                self._problems.clear()  # the recorder drops old responses too: so may we
            known = (resp, self._response_problems(resp))
            self._problems[id(resp)] = known
        return list(known[1])

    def _response_problems(self, resp: ApiResponse) -> list[Problem]:
        if resp.operation_id is None or resp.path_template is None:
            return []
        where = f"({resp.describe()})"
        documented = self.documented_response(resp.method, resp.path_template, resp.status)
        if documented is None:
            statuses = ", ".join(self.documented_statuses(resp.method, resp.path_template))
            return [
                Problem(
                    "undocumented_status",
                    f"expected a status documented for {resp.operation_id} ({statuses}),"
                    f" got {resp.status} {where}",
                )
            ]
        response_object, pointer = documented
        content = response_object.get("content") or {}
        if resp.truncated:
            return [Problem("truncated", f"expected a body of at most 5 MB, got more {where}")]
        if not content:
            return []  # nothing documented (204, or a bodiless response): nothing to validate
        media_type = resp.content_type
        if not resp.content:
            return [
                Problem(
                    "not_json",
                    f"expected a {', '.join(content)} body for {resp.status},"
                    f" got an empty body {where}",
                )
            ]
        if media_type not in content:
            return [
                Problem(
                    "content_type",
                    f"expected Content-Type {' or '.join(content)},"
                    f" got {media_type or 'none'} {where}",
                )
            ]
        if "json" in (media_type or "") and not resp.is_json:
            return [Problem("not_json", f"expected a JSON body, got unparseable text {where}")]
        media = content[media_type]
        if not isinstance(media, Mapping) or "schema" not in media:
            return []
        schema_pointer = f"{pointer}/content/{pointer_token(str(media_type))}/schema"
        what = f"the {resp.status} schema of {resp.operation_id}"
        return [
            Problem("schema", f"{message} {where}")
            for message in self._errors(resp.json, schema_pointer, what)
        ]

    def __call__(self, target: Any, schema_name: str | None = None) -> list[str]:
        """`schema_validator(resp)` -> problems of a response; `schema_validator(body, "Order")`
        -> problems of a body against a component schema."""
        if isinstance(target, ApiResponse) and schema_name is None:
            return [str(problem) for problem in self.response_problems(target)]
        if schema_name is None:
            raise TypeError("pass a component schema name to validate a plain body")
        return self.validate_component(target, schema_name)
