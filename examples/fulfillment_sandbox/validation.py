"""Request validation driven by the contract itself: no second copy of any schema in Python.

At start-up the sandbox reads `spec/openapi.yaml` through `fulfillment_spec.load_openapi()` and
builds, per operation, a JSON Schema (Draft 2020-12, format checking on) validator for the request
body and one per query parameter, all resolving `$ref`s against the whole document. A failure
becomes a 422 (`validation_failed`, or `unknown_field` for a property the closed request schema
does not know, decision 27) naming the offending field as a dotted path such as `items[1].sku`;
a bad query parameter becomes a 400 `validation_failed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import fulfillment_spec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .errors import ApiError

SPEC_URI = "urn:fulfillment-api:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _pointer(*parts: str) -> str:
    escaped = [part.replace("~", "~0").replace("/", "~1") for part in parts]
    return quote("/" + "/".join(escaped), safe="/~")


@dataclass
class QueryParam:
    name: str
    kind: str
    validator: Draft202012Validator


@dataclass
class Operation:
    """What the sandbox needs to know about one operation of the spec."""

    operation_id: str
    method: str
    path: str
    body_required: bool = False
    media_types: tuple[str, ...] = ()
    body_validator: Draft202012Validator | None = None
    query: list[QueryParam] = field(default_factory=list)
    # The members an open request object defines (ReasonRequest, CAN-010); None for a closed one.
    open_body_members: frozenset[str] | None = None

    def defined_part(self, body: Any) -> Any:
        """An open body without the members its schema does not define: the operation ignores
        them, so neither validation nor the storage limits may refuse the request for them (a
        huge integer in an unknown member is no reason to refuse a cancel)."""
        if self.open_body_members is None or not isinstance(body, dict):
            return body
        return {key: value for key, value in body.items() if key in self.open_body_members}


def field_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


class Contract:
    """The loaded OpenAPI document and one `Operation` per operationId."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else fulfillment_spec.load_openapi()
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self.operations: dict[str, Operation] = {}
        for path, item in self.document.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method in item:
                    self._add(path, method, item[method], shared)

    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _add(
        self, path: str, method: str, spec: dict[str, Any], shared: list[dict[str, Any]]
    ) -> None:
        op = Operation(spec["operationId"], method.upper(), path)
        body = spec.get("requestBody")
        if body is not None:
            body_ptr = ["paths", path, method, "requestBody"]
            if "$ref" in body:
                body = self.resolve(body)
                body_ptr = body["$ref"].removeprefix("#/").split("/") if "$ref" in body else []
            op.body_required = bool(body.get("required", False))
            op.media_types = tuple(body.get("content", {}))
            if op.media_types and body_ptr:
                first = op.media_types[0]
                op.body_validator = self._validator(_pointer(*body_ptr, "content", first, "schema"))
                schema = self.resolve(body["content"][first].get("schema", {}))
                if (
                    schema.get("type") == "object"
                    and schema.get("additionalProperties") is not False
                ):
                    op.open_body_members = frozenset(schema.get("properties", {}))
        by_name: dict[tuple[str, str], tuple[dict[str, Any], list[str]]] = {}
        for index, param in enumerate(shared):
            ptr = ["paths", path, "parameters", str(index)]
            by_name[self._param_key(param)] = (param, ptr)
        for index, param in enumerate(spec.get("parameters", [])):
            ptr = ["paths", path, method, "parameters", str(index)]
            by_name[self._param_key(param)] = (param, ptr)
        for (name, where), (param, ptr) in by_name.items():
            if where != "query":
                continue
            if "$ref" in param:
                ptr = param["$ref"].removeprefix("#/").split("/")
                param = self.resolve(param)
            schema = self.resolve(param.get("schema", {}))
            op.query.append(
                QueryParam(
                    name,
                    str(schema.get("type", "string")),
                    self._validator(_pointer(*ptr, "schema")),
                )
            )
        self.operations[op.operation_id] = op

    def _param_key(self, param: dict[str, Any]) -> tuple[str, str]:
        resolved = self.resolve(param)
        return str(resolved["name"]), str(resolved["in"])

    # --- checks ----------------------------------------------------------------------------

    def check_body(self, operation_id: str, body: Any) -> None:
        op = self.operations[operation_id]
        if op.body_validator is None:
            return
        errors = sorted(op.body_validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return
        described = [item for error in errors for item in _describe(error)]
        described.sort(key=lambda item: item["code"] != "unknown_field")
        first = described[0]
        raise ApiError(
            422,
            first["code"],
            first["message"],
            field=first.get("field"),
            errors=described if len(described) > 1 else None,
        )

    def parse_query(self, operation_id: str, params: Any) -> dict[str, Any]:
        """Typed query parameters of the operation (absent ones omitted), or 400."""
        values: dict[str, Any] = {}
        for param in self.operations[operation_id].query:
            raw = params.get(param.name)
            if raw is None:
                continue
            value: Any = raw
            if param.kind == "integer":
                value = int(raw) if re.fullmatch(r"-?\d{1,18}", raw) else raw
            elif param.kind == "boolean":
                value = {"true": True, "false": False}.get(raw, raw)
            error = next(iter(param.validator.iter_errors(value)), None)
            if error is not None:
                raise ApiError(
                    400,
                    "validation_failed",
                    f"Query parameter {param.name}: {error.message}",
                    field=param.name,
                )
            values[param.name] = value
        return values


def _describe(error: ValidationError) -> list[dict[str, Any]]:
    """One or more envelope errors (without request_id) for one schema error."""
    base = field_path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - known)
        return [
            {
                "code": "unknown_field",
                "message": f"'{_join(base, name)}' is not a field of this request.",
                "field": _join(base, name),
            }
            for name in extra
        ]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return [
            {
                "code": "validation_failed",
                "message": f"'{_join(base, name)}' is required.",
                "field": _join(base, name),
            }
            for name in missing
        ]
    if error.validator == "dependentRequired" and isinstance(error.instance, dict):
        # `unit_price` without `currency`: the error names the missing field (items[0].currency),
        # not the line that holds it.
        return [
            {
                "code": "validation_failed",
                "message": f"'{_join(base, name)}' is required when '{_join(base, sent)}' is sent.",
                "field": _join(base, name),
            }
            for sent, needed in error.validator_value.items()
            if sent in error.instance
            for name in needed
            if name not in error.instance
        ]
    if error.context:
        from jsonschema.exceptions import best_match

        inner = best_match(error.context)
        if inner is not None:
            return _describe(inner)
    message = error.message if len(error.message) < 300 else error.message[:300] + "..."
    where = base or "body"
    return [{"code": "validation_failed", "message": f"{where}: {message}", "field": base or None}]


MAX_INTEGER = 2**31 - 1


def check_json_limits(value: Any, path: tuple[Any, ...] = ()) -> None:
    """Refuse what SQLite cannot store: integers beyond 32 bits (422) and lone surrogates (400).

    The contract sets no upper bound on quantities; the sandbox's bound keeps every sum of them
    inside SQLite's 64-bit integers.
    """
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise ApiError(
                422,
                "validation_failed",
                f"{field_path(path) or 'body'}: integers above {MAX_INTEGER} are not accepted.",
                field=field_path(path) or None,
            )
    elif isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_json_limits(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_limits(item, (*path, index))


def check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "invalid_json", "The request contains a string that is not valid Unicode."
        ) from None
