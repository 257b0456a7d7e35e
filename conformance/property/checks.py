"""The kit's own Schemathesis checks: the contract rules that JSON Schema alone cannot express.

`format: date-time` accepts `+00:00`, a float passes `type: number` where a decimal string was
meant, and an undocumented 4xx has no schema to validate against. Each rule here is one named
function registered with `@schemathesis.check` (registration is global for the process, so
importing this module is enough); each docstring names the requirement ids it serves, and
`conformance.property.mapping` maps its name to those ids for the report.

The date-time and money checks walk the body alongside the operation's documented response schema,
so they only look at fields the spec declares `format: date-time` or as a decimal string: a
free-text field that happens to hold "2024-01-01T00:00:00+01:00" is never a false alarm.

None of them judges a refusal (a 429, a 503 with Retry-After: `@answers_only`): it is the server
saying "not now", and the rules about it are RATE-001/002, judged from every recorded response.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from conformance.http import is_rate_limited

__all__ = [
    "DECIMAL_PATTERN",
    "answers_only",
    "fulfillment_2xx_has_no_error",
    "fulfillment_error_code_snake_case",
    "fulfillment_error_envelope",
    "fulfillment_error_request_id_matches",
    "fulfillment_money_is_decimal_string",
    "fulfillment_request_id_header",
    "fulfillment_timestamps_end_in_z",
]

# Decision 26: money is a decimal string. Any schema node with this pattern is a money amount.
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)
# Decision 23 and the catalogue: error codes are snake_case.
_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Walking stops here: response bodies in this API are shallow, and a cycle must not hang a run.
_MAX_DEPTH = 32


def _header(response: Response, name: str) -> str | None:
    values = response.headers.get(name.lower())
    return values[0] if values else None


Check = Callable[[CheckContext, Response, Case], "bool | None"]


def answers_only(check: Check) -> Check:
    """The check judges answers: on a refusal (429, 503 + Retry-After) it does nothing."""

    @functools.wraps(check)
    def judge(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if is_rate_limited(response.status_code, _header(response, "Retry-After")):
            return None
        return check(ctx, response, case)

    return judge


def _json_body(response: Response) -> Any:
    """The parsed body, or a sentinel `_NOT_JSON` when there is none or it is not JSON."""
    if not response.content:
        return _NOT_JSON
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


_NOT_JSON = object()

# Methods a proxy or HTTP server in front of the application commonly answers itself (TRACE is
# refused by most front ends, OPTIONS is a CORS preflight): the API contract covers neither, so
# the envelope and X-Request-Id rules do not judge those answers.
_FRONT_END_METHODS = frozenset({"TRACE", "OPTIONS", "CONNECT"})


def _sent_method(case: Case, response: Response) -> str:
    method = getattr(response.request, "method", None) or case.method
    return str(method).upper()


def _resolve(root: Mapping[str, Any], schema: Any) -> Any:
    """Follow local `$ref`s (`#/components/...`); anything else is returned as is."""
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref: str = schema["$ref"]
        if not ref.startswith("#/") or seen > _MAX_DEPTH:
            return {}
        node: Any = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return {}
            node = node[part]
        # Sibling keywords next to `$ref` (3.1 allows them) apply too.
        extra = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**node, **extra} if extra and isinstance(node, Mapping) else node
        seen += 1
    return schema


def _documented_schema(case: Case, status: int) -> tuple[Mapping[str, Any], Any] | None:
    """(raw spec, JSON schema) of the documented response for `status`, or None."""
    root = case.operation.schema.raw_schema
    responses = case.operation.definition.raw.get("responses") or {}
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            response = _resolve(root, responses[key])
            content = response.get("content") or {} if isinstance(response, Mapping) else {}
            for media_type, entry in content.items():
                if "json" in media_type and isinstance(entry, Mapping) and "schema" in entry:
                    return root, entry["schema"]
            return None
    return None


def _walk(
    root: Mapping[str, Any], schema: Any, instance: Any, path: str, depth: int = 0
) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """Yield (JSON path, resolved schema node, value) for every schema node a value meets."""
    schema = _resolve(root, schema)
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return
    yield path, schema, instance
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(keyword) or ():
            yield from _walk(root, branch, instance, path, depth + 1)
    if isinstance(instance, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, value in instance.items():
            if key in properties:
                yield from _walk(root, properties[key], value, f"{path}.{key}", depth + 1)
            elif isinstance(additional, Mapping):
                yield from _walk(root, additional, value, f"{path}.{key}", depth + 1)
    elif isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, value in enumerate(instance):
                yield from _walk(root, items, value, f"{path}[{index}]", depth + 1)


def _typed_nodes(case: Case, response: Response) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    documented = _documented_schema(case, response.status_code)
    if documented is None:
        return
    body = _json_body(response)
    if body is _NOT_JSON:
        return
    root, schema = documented
    yield from _walk(root, schema, body, "$")


def _where(case: Case, response: Response) -> str:
    request_id = _header(response, "X-Request-Id") or "none"
    method = _sent_method(case, response)
    return f"({method} {case.formatted_path} -> {response.status_code}, request_id {request_id})"


@schemathesis.check
@answers_only
def fulfillment_timestamps_end_in_z(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """API-003: every `format: date-time` value in a response is UTC written with `Z` (decision 26).

    JSON Schema's date-time format accepts any offset, `+00:00` included, so only this check
    enforces the trailing `Z`.
    """
    bad = sorted(
        {
            f"{path}={value!r}"
            for path, node, value in _typed_nodes(case, response)
            if node.get("format") == "date-time"
            and isinstance(value, str)
            and not value.endswith("Z")
        }
    )
    if bad:
        raise AssertionError(
            f"expected every date-time to end in 'Z' (UTC), got {', '.join(bad[:5])} "
            f"{_where(case, response)}"
        )
    return None


@schemathesis.check
@answers_only
def fulfillment_money_is_decimal_string(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """API-005: every money amount in a response is a decimal string like "12.50" (decision 26).

    A float loses cents; a schema node whose pattern is the decimal pattern marks an amount.
    """
    bad = sorted(
        {
            f"{path}={value!r}"
            for path, node, value in _typed_nodes(case, response)
            if node.get("pattern") == DECIMAL_PATTERN
            and value is not None
            and not (isinstance(value, str) and _DECIMAL.match(value))
        }
    )
    if bad:
        raise AssertionError(
            f"expected money amounts as decimal strings matching {DECIMAL_PATTERN}, "
            f"got {', '.join(bad[:5])} {_where(case, response)}"
        )
    return None


def _error_object(case: Case, response: Response) -> dict[str, Any] | None:
    """The `error` object of a 4xx/5xx body, or None when the envelope rules do not apply."""
    if response.status_code < 400 or _sent_method(case, response) in _FRONT_END_METHODS:
        return None
    body = _json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


@schemathesis.check
@answers_only
def fulfillment_error_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ERR-001: every 4xx and 5xx body is {"error": {"code", "message", "request_id"}}.

    Applies to undocumented statuses too (405, 404 on an unknown path), where no schema would.
    """
    if response.status_code < 400 or _sent_method(case, response) in _FRONT_END_METHODS:
        return None
    body = _json_body(response)
    where = _where(case, response)
    if body is _NOT_JSON:
        snippet = response.content[:80].decode("utf-8", "replace") if response.content else ""
        raise AssertionError(f"expected a JSON error envelope, got {snippet!r} {where}")
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise AssertionError(f"expected a body {{'error': {{...}}}}, got {_short(body)} {where}")
    missing = [
        key for key in ("code", "message", "request_id") if not isinstance(error.get(key), str)
    ]
    if missing:
        raise AssertionError(
            f"expected error.{', error.'.join(missing)} as strings, got {_short(body)} {where}"
        )
    return None


@schemathesis.check
@answers_only
def fulfillment_error_code_snake_case(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """ERR-002: error.code is a snake_case machine code (`validation_failed`, not `E422`)."""
    error = _error_object(case, response)
    if error is None or not isinstance(error.get("code"), str):
        return None  # no envelope at all is ERR-001's finding
    if not _SNAKE_CASE.match(error["code"]):
        raise AssertionError(
            f"expected a snake_case error.code, got {error['code']!r} {_where(case, response)}"
        )
    return None


@schemathesis.check
@answers_only
def fulfillment_error_request_id_matches(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """ERR-005: error.request_id equals the X-Request-Id header of the same response."""
    error = _error_object(case, response)
    header = _header(response, "X-Request-Id")
    if error is None or not isinstance(error.get("request_id"), str) or header is None:
        return None  # a missing envelope or header is ERR-001's or ERR-004's finding
    if error["request_id"] != header:
        raise AssertionError(
            f"expected error.request_id to equal X-Request-Id {header!r}, got "
            f"{error['request_id']!r} {_where(case, response)}"
        )
    return None


@schemathesis.check
@answers_only
def fulfillment_2xx_has_no_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ERR-003: a success never carries an error: no 2xx body with a top-level `error` key."""
    if not 200 <= response.status_code < 300:
        return None
    body = _json_body(response)
    if isinstance(body, dict) and "error" in body:
        raise AssertionError(
            f"expected no 'error' in a {response.status_code} body, got {_short(body)} "
            f"{_where(case, response)}"
        )
    return None


@schemathesis.check
@answers_only
def fulfillment_request_id_header(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ERR-004: every response carries a non-empty X-Request-Id header (decision 23)."""
    if _sent_method(case, response) in _FRONT_END_METHODS:
        return None
    if not (_header(response, "X-Request-Id") or "").strip():
        raise AssertionError(
            f"expected an X-Request-Id header, got none ({_sent_method(case, response)} "
            f"{case.formatted_path} "
            f"-> {response.status_code})"
        )
    return None


def _short(body: Any) -> str:
    text = json.dumps(body, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
