"""The response rules both phases judge, written once over a neutral view of a response.

The scenario checks (`checks/test_zz_responses.py`, over every exchange `ApiClient` recorded) and
the Schemathesis phase (`property/checks.py`, over each generated case's response) build a
`ResponseView` of what they hold and ask the same rule. A rule returns `(judged, problems)`: how
many things it judged in that response, and one sentence per thing that broke it, each ending in
where it happened (method, path, status, request id).

The body-walking rules look only at fields the documented response schema declares (a
`format: date-time`, the decimal pattern, an enum, a Weight or Dimensions shape): a free-text
field that happens to hold "2024-01-01T00:00:00+01:00" is never a false alarm.

A proxy or HTTP server in front of the application commonly answers TRACE, OPTIONS and CONNECT
itself (the API contract covers none of them), so the envelope and X-Request-Id rules do not
judge those answers. The kit's own scenario requests never use them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance import refs

__all__ = [
    "DECIMAL",
    "DECIMAL_PATTERN",
    "NOT_JSON",
    "SNAKE_CASE",
    "ResponseRule",
    "ResponseView",
    "closed_vocabularies",
    "dates_without_time",
    "error_codes_snake_case",
    "errors_use_the_envelope",
    "money_as_decimal_strings",
    "no_success_with_an_error",
    "request_id_header",
    "request_id_matches",
    "timestamps_in_utc_z",
    "units_stated",
    "walk",
]

# Decision 26: money is a decimal string. Any schema node with this pattern is a money amount.
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
DECIMAL = re.compile(DECIMAL_PATTERN)
# Decision 23 and the catalogue: error codes are snake_case.
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FRONT_END_METHODS = frozenset({"TRACE", "OPTIONS", "CONNECT"})
ENVELOPE = '{"error": {code, message, request_id}}'
# The body of a response that has none or whose body is not JSON.
NOT_JSON: Any = object()

Node = tuple[str, Mapping[str, Any], Any]


def walk(
    root: Mapping[str, Any], schema: Any, value: Any, path: str, depth: int = 0
) -> Iterator[Node]:
    """(JSON path, resolved schema node, value) for every node of `value` the schema describes."""
    schema = refs.resolve(root, schema)
    if not isinstance(schema, Mapping) or depth > refs.MAX_DEPTH:
        return
    yield path, schema, value
    for branch in schema.get("allOf") or ():
        yield from walk(root, branch, value, path, depth + 1)
    for keyword in ("anyOf", "oneOf"):
        # Alternatives describe different shapes (the event log's entries are one of eight
        # event types): a value is judged by the alternatives it can be, never by the others'
        # enums and patterns.
        for branch in schema.get(keyword) or ():
            if _may_be(root, branch, value):
                yield from walk(root, branch, value, path, depth + 1)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                yield from walk(root, properties[name], item, f"{path}.{name}", depth + 1)
            elif isinstance(extra, Mapping):
                yield from walk(root, extra, item, f"{path}.{name}", depth + 1)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from walk(root, schema["items"], item, f"{path}[{index}]", depth + 1)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _has_type(value: Any, names: Any) -> bool:
    names = [names] if isinstance(names, str) else list(names)
    if isinstance(value, bool):
        return "boolean" in names
    return any(isinstance(value, _JSON_TYPES.get(name, ())) for name in names)


def _pinned(schema: Mapping[str, Any], value: Any) -> bool:
    """The value meets the schema's `type`, `const` and `enum` (what tells alternatives apart)."""
    if "type" in schema and not _has_type(value, schema["type"]):
        return False
    if "const" in schema and value != schema["const"]:
        return False
    return not (isinstance(schema.get("enum"), list) and value not in schema["enum"])


def _may_be(root: Mapping[str, Any], branch: Any, value: Any) -> bool:
    """Whether `value` can be an instance of the alternative `branch`: its type, and the
    `const`/`enum` of the branch and of its properties the value carries (a discriminating
    `event_type: {const: ...}`). The cheap test that tells the spec's alternatives apart, not a
    validation (API-009 validates)."""
    branch = refs.resolve(root, branch)
    if not isinstance(branch, Mapping) or not _pinned(branch, value):
        return False
    if isinstance(value, dict):
        for name, sub in (branch.get("properties") or {}).items():
            sub = refs.resolve(root, sub)
            if name in value and isinstance(sub, Mapping) and not _pinned(sub, value[name]):
                return False
    return True


@dataclass(frozen=True)
class ResponseView:
    """What a rule sees of one response, whichever phase got it.

    `headers` maps lower-case names to the (first) value; `body` is the parsed JSON or
    `NOT_JSON`; `schema` is the documented JSON schema of the body for this status (None when
    the operation documents none) inside `root`, the spec; `describe()` gives the tail of every
    message (`GET /orders -> 404 (request_id req_1)`), asked for only when something broke."""

    method: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    body: Any
    describe: Callable[[], str]
    root: Mapping[str, Any]
    schema: Any = None

    @property
    def where(self) -> str:
        return self.describe()

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def front_end(self) -> bool:
        return self.method.upper() in FRONT_END_METHODS

    @property
    def error(self) -> Any:
        """The body's `error` member (whatever it is), or None."""
        return self.body.get("error") if isinstance(self.body, dict) else None

    def nodes(self) -> Iterator[Node]:
        """Every (path, schema node, value) of the body that the documented schema describes."""
        return iter(self._nodes)

    @functools.cached_property
    def _nodes(self) -> tuple[Node, ...]:
        # Several rules walk the same body: the walk (the costliest part of judging a
        # response) is done once per view.
        if self.schema is not None and isinstance(self.body, dict | list):
            return tuple(walk(self.root, self.schema, self.body, "$"))
        return ()

    def snippet(self, chars: int = 80) -> str:
        if self.body is NOT_JSON:
            return repr(self.content[:chars].decode("utf-8", "replace"))
        text = json.dumps(self.body, sort_keys=True)
        return text if len(text) <= chars else text[: chars - 3] + "..."


ResponseRule = Callable[[ResponseView], tuple[int, list[str]]]


def _over_nodes(
    view: ResponseView,
    applies: Callable[[Mapping[str, Any], Any], bool],
    ok: Callable[[Mapping[str, Any], Any], bool],
    expected: Callable[[Mapping[str, Any]], str],
) -> tuple[int, list[str]]:
    judged, problems = 0, []
    for path, schema, value in view.nodes():
        if applies(schema, value):
            judged += 1
            if not ok(schema, value):
                problems.append(
                    f"expected {expected(schema)} at {path}, got {value!r} ({view.where})"
                )
    return judged, problems


def timestamps_in_utc_z(view: ResponseView) -> tuple[int, list[str]]:
    """API-003: every documented date-time ends in Z (JSON Schema's format accepts +00:00) and
    matches the spec's own pattern where it has one (the Timestamp schema's: no fraction, or 3 to
    6 digits, so a strptime `%f` parser reads it), read from the spec, never copied here."""
    return _over_nodes(
        view,
        lambda schema, value: schema.get("format") == "date-time" and isinstance(value, str),
        lambda schema, value: value.endswith("Z") and _matches_own_pattern(schema, value),
        lambda schema: (
            "a UTC timestamp ending in Z"
            + (f" matching {schema['pattern']}" if schema.get("pattern") else "")
        ),
    )


def _matches_own_pattern(schema: Mapping[str, Any], value: str) -> bool:
    pattern = schema.get("pattern")
    return not isinstance(pattern, str) or re.search(pattern, value) is not None


def dates_without_time(view: ResponseView) -> tuple[int, list[str]]:
    """API-004: every documented date-only field is YYYY-MM-DD, without a time part."""
    return _over_nodes(
        view,
        lambda schema, value: schema.get("format") == "date" and value is not None,
        lambda _schema, value: isinstance(value, str) and bool(ISO_DATE.match(value)),
        lambda _schema: "an ISO 8601 date YYYY-MM-DD",
    )


def money_as_decimal_strings(view: ResponseView) -> tuple[int, list[str]]:
    """API-005: every documented decimal amount is a decimal string, never a float."""
    return _over_nodes(
        view,
        lambda schema, value: schema.get("pattern") == DECIMAL_PATTERN and value is not None,
        lambda _schema, value: isinstance(value, str) and bool(DECIMAL.match(value)),
        lambda _schema: "a decimal string",
    )


def _is_measure_schema(schema: Mapping[str, Any]) -> bool:
    """The Weight and Dimensions shapes: an object whose properties include `unit`."""
    properties = schema.get("properties") or {}
    return "unit" in properties and ("value" in properties or "length" in properties)


def units_stated(view: ResponseView) -> tuple[int, list[str]]:
    """API-006: a weight or dimensions value is an object that names its unit."""
    return _over_nodes(
        view,
        lambda schema, value: _is_measure_schema(schema) and value is not None,
        lambda _schema, value: isinstance(value, dict) and isinstance(value.get("unit"), str),
        lambda _schema: "an object with an explicit unit",
    )


def closed_vocabularies(view: ResponseView) -> tuple[int, list[str]]:
    """API-012: every value of a documented enum (statuses, reasons) is one of its values."""
    return _over_nodes(
        view,
        lambda schema, value: isinstance(schema.get("enum"), list) and isinstance(value, str),
        lambda schema, value: value in schema["enum"],
        lambda schema: f"one of {', '.join(map(str, schema['enum']))}",
    )


def errors_use_the_envelope(view: ResponseView) -> tuple[int, list[str]]:
    """ERR-001: every 4xx and 5xx body is {"error": {code, message, request_id}}, undocumented
    statuses (a 405, a 404 on an unknown path) included, where no schema would judge."""
    if not 400 <= view.status < 600 or view.front_end:
        return 0, []
    if view.body is NOT_JSON:
        return 1, [
            f"expected a JSON error envelope {ENVELOPE}, got {view.snippet()} ({view.where})"
        ]
    error = view.error
    if not isinstance(error, dict):
        return 1, [f"expected a body {ENVELOPE}, got {view.snippet()} ({view.where})"]
    empty = [
        name
        for name in ("code", "message", "request_id")
        if not (isinstance(error.get(name), str) and error[name])
    ]
    if empty:
        return 1, [
            f"expected non-empty string error.{', error.'.join(empty)}, got"
            f" {', '.join(repr(error.get(name)) for name in empty)} ({view.where})"
        ]
    return 1, []


def error_codes_snake_case(view: ResponseView) -> tuple[int, list[str]]:
    """ERR-002: error.code is a snake_case machine code (`validation_failed`, not `E422`)."""
    error = view.error
    if not isinstance(error, dict) or view.front_end:
        return 0, []
    code = error.get("code")
    if isinstance(code, str) and SNAKE_CASE.match(code):
        return 1, []
    return 1, [f"expected a snake_case error.code, got {code!r} ({view.where})"]


def forbidden_only_for_scope(view: ResponseView) -> tuple[int, list[str]]:
    """AUTH-006: a 403 says only that the token lacks a permission: code `insufficient_scope`
    (decision 43). Whether it hid another partner's resource is SEC-001's to judge."""
    if view.status != 403 or view.front_end:
        return 0, []
    error = view.error
    code = error.get("code") if isinstance(error, dict) else None
    if code == "insufficient_scope":
        return 1, []
    return 1, [f"expected a 403 only with code 'insufficient_scope', got {code!r} ({view.where})"]


def no_success_with_an_error(view: ResponseView) -> tuple[int, list[str]]:
    """ERR-003: a success never carries an error: no 2xx body with a top-level `error`."""
    if not 200 <= view.status < 300:
        return 0, []
    if isinstance(view.body, dict) and "error" in view.body:
        return 1, [
            f"expected no `error` in a {view.status} body, got {view.error!r} ({view.where})"
        ]
    return 1, []


def request_id_header(view: ResponseView) -> tuple[int, list[str]]:
    """ERR-004: every response carries a non-empty X-Request-Id (decision 23)."""
    if view.front_end:
        return 0, []
    if (view.header("X-Request-Id") or "").strip():
        return 1, []
    return 1, [f"expected an X-Request-Id header, got none ({view.where})"]


def request_id_matches(view: ResponseView) -> tuple[int, list[str]]:
    """ERR-005: error.request_id equals the X-Request-Id header of the same response."""
    error = view.error
    if not isinstance(error, dict) or view.front_end:
        return 0, []
    header = view.header("X-Request-Id")
    in_body = error.get("request_id")
    if in_body == header:
        return 1, []
    return 1, [
        f"expected error.request_id equal to X-Request-Id {header!r}, got {in_body!r}"
        f" ({view.where})"
    ]
