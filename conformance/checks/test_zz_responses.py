"""Cross-cutting response checks: every response of the run, judged against the contract.

Runs last (the plugin orders `test_zz_*` modules after all others), so it sees every exchange
the other checks recorded through `ApiClient`, plus a few baseline requests of its own (a list,
a 404, a 401, a 400, a 422) so each rule has something to judge even in an `--only` run. Each
rule is one parametrized check citing one requirement, so a broken rule fails only its own
requirement (conformance-kit.md, "Every response").
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from conformance.catalogue import requirement_mark
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient, ApiResponse, RequestFailed
from conformance.outcomes import not_exercised
from conformance.validation import SpecValidator

# Decision 26: a money amount is a decimal string.
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # API-011's pattern
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
MAX_LISTED = 3
_MAX_DEPTH = 32

Rule = Callable[[list[ApiResponse], SpecValidator], tuple[int, list[str]]]


# -- walking a body alongside its documented schema -------------------------------------------
def _resolve(spec: Mapping[str, Any], schema: Any) -> Any:
    for _ in range(16):
        if not (isinstance(schema, Mapping) and str(schema.get("$ref", "")).startswith("#/")):
            return schema
        node: Any = spec
        for token in schema["$ref"][2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node.get(token) if isinstance(node, Mapping) else None
        # A $ref with siblings (3.1 allows `description` next to it): the target carries the rules.
        schema = node
    return schema


def _walk(
    spec: Mapping[str, Any], schema: Any, value: Any, path: str, depth: int = 0
) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """(json path, schema node, value) for every node of `value` the schema describes."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return
    yield path, schema, value
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(keyword) or []:
            yield from _walk(spec, branch, value, path, depth + 1)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                yield from _walk(spec, properties[name], item, f"{path}.{name}", depth + 1)
            elif isinstance(extra, Mapping):
                yield from _walk(spec, extra, item, f"{path}.{name}", depth + 1)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _walk(spec, schema["items"], item, f"{path}[{index}]", depth + 1)


def _documented_nodes(
    resp: ApiResponse, validator: SpecValidator
) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    if resp.path_template is None or not isinstance(resp.json, dict | list):
        return
    documented = validator.documented_response(resp.method, resp.path_template, resp.status)
    if documented is None:
        return
    media = (documented[0].get("content") or {}).get(resp.content_type or "") or {}
    if isinstance(media, Mapping) and "schema" in media:
        yield from _walk(validator.spec, media["schema"], resp.json, "$")


def _error_object(resp: ApiResponse) -> Any:
    return resp.json.get("error") if isinstance(resp.json, dict) else None


# -- the rules: each returns (things judged, problems) ----------------------------------------
def json_bodies(responses: list[ApiResponse], validator: SpecValidator) -> tuple[int, list[str]]:
    """API-002: a body is JSON, with a content type the operation documents for that status."""
    judged = [resp for resp in responses if resp.content]
    problems = []
    for resp in judged:
        media_type = resp.content_type or ""
        if not (media_type == "application/json" or media_type.endswith("+json")):
            problems.append(
                f"expected Content-Type application/json, got {media_type or 'none'}"
                f" ({resp.describe()})"
            )
        elif not resp.is_json:
            problems.append(f"expected a JSON body, got {resp.text[:60]!r} ({resp.describe()})")
        else:
            problems += [
                str(problem)
                for problem in validator.response_problems(resp)
                if problem.kind in ("content_type", "not_json", "truncated")
            ]
    return len(judged), problems


def status_documented(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-008: the status is one the operation documents."""
    judged = [resp for resp in responses if resp.operation_id]
    problems = [
        str(problem)
        for resp in judged
        for problem in validator.response_problems(resp)
        if problem.kind == "undocumented_status"
    ]
    return len(judged), problems


def body_matches_schema(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-009: the body is valid against the documented schema, formats included."""
    judged = [resp for resp in responses if resp.operation_id and resp.content]
    problems = [
        str(problem)
        for resp in judged
        for problem in validator.response_problems(resp)
        if problem.kind == "schema"
    ]
    return len(judged), problems


def timestamps_in_utc_z(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-003: every documented date-time ends in Z (JSON Schema's format accepts +00:00)."""
    judged, problems = 0, []
    for resp in responses:
        for path, schema, value in _documented_nodes(resp, validator):
            if schema.get("format") == "date-time" and isinstance(value, str):
                judged += 1
                if not value.endswith("Z"):
                    problems.append(
                        f"expected a UTC timestamp ending in Z at {path}, got {value!r}"
                        f" ({resp.describe()})"
                    )
    return judged, sorted(set(problems))


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def dates_without_time(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-004: every documented date-only field is YYYY-MM-DD, without a time part."""
    judged, problems = 0, []
    for resp in responses:
        for path, schema, value in _documented_nodes(resp, validator):
            if schema.get("format") == "date" and value is not None:
                judged += 1
                if not (isinstance(value, str) and ISO_DATE.match(value)):
                    problems.append(
                        f"expected an ISO 8601 date YYYY-MM-DD at {path}, got {value!r}"
                        f" ({resp.describe()})"
                    )
    return judged, sorted(set(problems))


def _is_measure_schema(schema: Mapping[str, Any]) -> bool:
    """The Weight and Dimensions shapes: an object whose properties include `unit`."""
    properties = schema.get("properties") or {}
    return "unit" in properties and ("value" in properties or "length" in properties)


def units_stated(responses: list[ApiResponse], validator: SpecValidator) -> tuple[int, list[str]]:
    """API-006: a weight or dimensions value is an object that names its unit."""
    judged, problems = 0, []
    for resp in responses:
        for path, schema, value in _documented_nodes(resp, validator):
            if not _is_measure_schema(schema) or value is None:
                continue
            judged += 1
            if not (isinstance(value, dict) and isinstance(value.get("unit"), str)):
                problems.append(
                    f"expected an object with an explicit unit at {path}, got {value!r}"
                    f" ({resp.describe()})"
                )
    return judged, sorted(set(problems))


def money_as_decimal_strings(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-005: every documented decimal amount is a decimal string, never a float."""
    judged, problems = 0, []
    for resp in responses:
        for path, schema, value in _documented_nodes(resp, validator):
            if schema.get("pattern") == DECIMAL.pattern and value is not None:
                judged += 1
                if not (isinstance(value, str) and DECIMAL.match(value)):
                    problems.append(
                        f"expected a decimal string at {path}, got {value!r} ({resp.describe()})"
                    )
    return judged, sorted(set(problems))


def property_names_snake_case(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-011: every property name of a response body is snake_case."""
    judged, problems = 0, []

    def visit(value: Any, path: str, resp: ApiResponse, depth: int = 0) -> None:
        nonlocal judged
        if depth > _MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                judged += 1
                if not PROPERTY_NAME.match(str(key)):
                    problems.append(
                        f"expected a snake_case property name at {path}, got {key!r}"
                        f" ({resp.describe()})"
                    )
                visit(item, f"{path}.{key}", resp, depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{path}[{index}]", resp, depth + 1)

    for resp in responses:
        if resp.operation_id and isinstance(resp.json, dict | list):
            visit(resp.json, "$", resp)
    return judged, sorted(set(problems))


def closed_vocabularies(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-012: every value of a documented enum (statuses, reasons) is one of its values."""
    judged, problems = 0, []
    for resp in responses:
        for path, schema, value in _documented_nodes(resp, validator):
            if isinstance(schema.get("enum"), list) and isinstance(value, str):
                judged += 1
                if value not in schema["enum"]:
                    problems.append(
                        f"expected one of {', '.join(map(str, schema['enum']))} at {path},"
                        f" got {value!r} ({resp.describe()})"
                    )
    return judged, sorted(set(problems))


def errors_use_the_envelope(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """ERR-001: every 4xx and 5xx body is {"error": {code, message, request_id}}."""
    judged = [resp for resp in responses if 400 <= resp.status < 600]
    problems = []
    for resp in judged:
        error = _error_object(resp)
        if not isinstance(error, dict):
            problems.append(
                'expected a body {"error": {code, message, request_id}}, got'
                f" {resp.text[:80]!r} ({resp.describe()})"
            )
            continue
        empty = [
            name
            for name in ("code", "message", "request_id")
            if not (isinstance(error.get(name), str) and error[name])
        ]
        if empty:
            problems.append(
                f"expected non-empty string error.{', error.'.join(empty)}, got"
                f" {', '.join(repr(error.get(name)) for name in empty)} ({resp.describe()})"
            )
    return len(judged), problems


def error_codes_snake_case(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """ERR-002: error.code is a snake_case machine code."""
    judged = [resp for resp in responses if isinstance(_error_object(resp), dict)]
    problems = []
    for resp in judged:
        code = _error_object(resp).get("code")
        if not (isinstance(code, str) and SNAKE_CASE.match(code)):
            problems.append(f"expected a snake_case error.code, got {code!r} ({resp.describe()})")
    return len(judged), problems


def no_success_with_an_error(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """ERR-003: no 2xx body carries an `error`."""
    judged = [resp for resp in responses if 200 <= resp.status < 300]
    problems = [
        f"expected no `error` in a {resp.status} body, got {_error_object(resp)!r}"
        f" ({resp.describe()})"
        for resp in judged
        if isinstance(resp.json, dict) and "error" in resp.json
    ]
    return len(judged), problems


def request_id_header(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """ERR-004: every response carries a non-empty X-Request-Id."""
    problems = [
        f"expected an X-Request-Id header, got none ({resp.describe()})"
        for resp in responses
        if not (resp.headers.get("x-request-id") or "").strip()
    ]
    return len(responses), problems


def request_id_matches(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """ERR-005: error.request_id equals the X-Request-Id header."""
    judged = [resp for resp in responses if isinstance(_error_object(resp), dict)]
    problems = []
    for resp in judged:
        header = resp.headers.get("x-request-id")
        in_body = _error_object(resp).get("request_id")
        if in_body != header:
            problems.append(
                f"expected error.request_id equal to X-Request-Id {header!r}, got {in_body!r}"
                f" ({resp.describe()})"
            )
    return len(judged), problems


def no_server_errors(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """ERR-012: nothing the kit sent made the server answer 5xx."""
    problems = [
        f"expected no 5xx, got {resp.status} ({resp.describe()})"
        for resp in responses
        if resp.status >= 500
    ]
    return len(responses), problems


def rate_limit_headers_present(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """RATE-003: every response carries X-RateLimit-Limit, -Remaining and -Reset."""
    problems = []
    for resp in responses:
        missing = [name for name in RATE_LIMIT_HEADERS if not resp.headers.get(name)]
        if missing:
            problems.append(f"expected {', '.join(missing)}, got none ({resp.describe()})")
    return len(responses), problems


def rate_limit_header_values(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """RATE-004: the values are integers, Remaining <= Limit, Reset in epoch seconds."""
    judged, problems = 0, []
    for resp in responses:
        values = {name: resp.headers.get(name) for name in RATE_LIMIT_HEADERS}
        present = {name: value.strip() for name, value in values.items() if value}
        if not present:
            continue
        judged += 1
        bad = [name for name, value in present.items() if not value.isdigit()]
        if bad:
            problems.append(
                f"expected non-negative integer {', '.join(bad)}, got"
                f" {', '.join(repr(present[name]) for name in bad)} ({resp.describe()})"
            )
            continue
        limit = present.get("X-RateLimit-Limit")
        remaining = present.get("X-RateLimit-Remaining")
        if limit is not None and remaining is not None and int(remaining) > int(limit):
            problems.append(
                f"expected X-RateLimit-Remaining <= X-RateLimit-Limit {limit}, got {remaining}"
                f" ({resp.describe()})"
            )
        reset = present.get("X-RateLimit-Reset")
        if reset is not None and int(reset) < resp.received_at - 60:
            problems.append(
                "expected X-RateLimit-Reset in Unix epoch seconds (not before a minute ago),"
                f" got {reset} ({resp.describe()})"
            )
    return judged, problems


def rate_limited_retry_after(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """RATE-001: every 429 carries Retry-After as a whole number of seconds."""
    limited = [resp for resp in responses if resp.status == 429]
    problems = [
        f"expected Retry-After in whole seconds on a 429, got"
        f" {resp.headers.get('Retry-After')!r} ({resp.describe()})"
        for resp in limited
        if not (resp.headers.get("Retry-After") or "").strip().isdigit()
    ]
    return len(limited), problems


def rate_limited_envelope(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """RATE-002: every 429 body is the error envelope with code rate_limited."""
    limited = [resp for resp in responses if resp.status == 429]
    problems = []
    for resp in limited:
        error = _error_object(resp)
        code = error.get("code") if isinstance(error, dict) else None
        if code != "rate_limited":
            problems.append(
                f"expected error.code rate_limited on a 429, got {code!r} ({resp.describe()})"
            )
    return len(limited), problems


# Rules about responses a server sends only when it chooses to (a 429; optional weights and
# dimensions; date-only fields, which only the inbound profile has): a run that met none has
# nothing to judge, so the rule is `not_exercised` (shown, not blocking), never `passed`. The
# kit provokes a 429 only when asked (--probe-rate-limit): a shared sandbox is not to be flooded.
CONDITIONAL_RULES = (
    rate_limited_retry_after,
    rate_limited_envelope,
    dates_without_time,
    units_stated,
)
RATE_RULES = (
    rate_limited_retry_after,
    rate_limited_envelope,
    rate_limit_headers_present,
    rate_limit_header_values,
)
# The probe's bounds: a burst of at most this many requests, stopping at the first 429.
PROBE_MAX_REQUESTS = 1000
PROBE_MAX_SECONDS = 60.0


def probe_rate_limit(api: ApiClient) -> str:
    """A bounded burst of GET /warehouses (no pause on X-RateLimit-Remaining, no retry of a
    429) until the first 429, which the recording keeps for RATE-001/002: what the probe did."""
    first = api.request("GET", "/warehouses", retry_on_429=False, polite=False)
    remaining = (first.headers.get("x-ratelimit-remaining") or "").strip()
    if remaining.isdigit() and int(remaining) >= PROBE_MAX_REQUESTS:
        return (
            f"the rate-limit probe did not run: the server advertises {remaining} requests left"
            f" in its window, more than the probe's bound of {PROBE_MAX_REQUESTS}"
        )
    deadline = time.monotonic() + PROBE_MAX_SECONDS
    sent, response = 1, first
    while response.status != 429 and sent < PROBE_MAX_REQUESTS and time.monotonic() < deadline:
        response = api.request("GET", "/warehouses", retry_on_429=False, polite=False)
        sent += 1
    if response.status == 429:
        return f"the rate-limit probe met a 429 after {sent} requests"
    return f"the rate-limit probe sent {sent} requests and met no 429"


# -- the checks -------------------------------------------------------------------------------
RULES = [
    pytest.param(json_bodies, marks=requirement_mark("API-002"), id="API-002-json-bodies"),
    pytest.param(timestamps_in_utc_z, marks=requirement_mark("API-003"), id="API-003-utc-z"),
    pytest.param(dates_without_time, marks=requirement_mark("API-004"), id="API-004-iso-dates"),
    pytest.param(
        money_as_decimal_strings, marks=requirement_mark("API-005"), id="API-005-decimal-money"
    ),
    pytest.param(units_stated, marks=requirement_mark("API-006"), id="API-006-units-stated"),
    pytest.param(
        status_documented, marks=requirement_mark("API-008"), id="API-008-status-documented"
    ),
    pytest.param(body_matches_schema, marks=requirement_mark("API-009"), id="API-009-schema-valid"),
    pytest.param(
        property_names_snake_case, marks=requirement_mark("API-011"), id="API-011-snake-case"
    ),
    pytest.param(
        closed_vocabularies, marks=requirement_mark("API-012"), id="API-012-closed-vocabularies"
    ),
    pytest.param(
        errors_use_the_envelope, marks=requirement_mark("ERR-001"), id="ERR-001-error-envelope"
    ),
    pytest.param(
        error_codes_snake_case, marks=requirement_mark("ERR-002"), id="ERR-002-snake-case-codes"
    ),
    pytest.param(
        no_success_with_an_error, marks=requirement_mark("ERR-003"), id="ERR-003-no-2xx-error"
    ),
    pytest.param(request_id_header, marks=requirement_mark("ERR-004"), id="ERR-004-request-id"),
    pytest.param(
        request_id_matches, marks=requirement_mark("ERR-005"), id="ERR-005-request-id-matches"
    ),
    pytest.param(no_server_errors, marks=requirement_mark("ERR-012"), id="ERR-012-no-5xx"),
    pytest.param(
        rate_limit_headers_present,
        marks=requirement_mark("RATE-003"),
        id="RATE-003-rate-limit-headers",
    ),
    pytest.param(
        rate_limit_header_values,
        marks=requirement_mark("RATE-004"),
        id="RATE-004-rate-limit-values",
    ),
    pytest.param(
        rate_limited_retry_after, marks=requirement_mark("RATE-001"), id="RATE-001-retry-after"
    ),
    pytest.param(
        rate_limited_envelope, marks=requirement_mark("RATE-002"), id="RATE-002-429-envelope"
    ),
]


@pytest.fixture(scope="module")
def probed(api: ApiClient, conformance_config: Config) -> str:
    """With --probe-rate-limit, a 429 provoked for RATE-001/002 to judge; what happened."""
    if not conformance_config.probe_rate_limit:
        return "no 429 was met (--probe-rate-limit provokes one)"
    return probe_rate_limit(api)


@pytest.fixture(scope="module")
def baseline(
    api: ApiClient, run_id: str, driver: WarehouseDriver, reference_data: ReferenceData
) -> None:
    """A few requests of every kind, so each rule has responses to judge even in an --only run:
    an order created and read back (timestamps, money, statuses), lists, a 404, a 401, a 400 and
    a 422."""
    try:
        order = TestData(api, driver, reference_data).create_order()
        api.request("GET", f"/orders/{order['id']}")
    except (AssertionError, pytest.skip.Exception):
        pass  # the order checks report that; the other probes still give every rule data
    key = f"{run_id}-{uuid.uuid4().hex}"
    probes: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/warehouses", {}),
        ("GET", "/orders", {"params": {"limit": 2}}),
        ("GET", "/inventory", {"params": {"limit": 2}}),
        ("GET", f"/orders/ord_{run_id}_{uuid.uuid4().hex[:8]}", {}),
        ("GET", "/orders", {"token": None}),
        (
            "POST",
            "/orders",
            {
                "content": b"{not json",
                "headers": {"Idempotency-Key": key, "Content-Type": "application/json"},
            },
        ),
        ("POST", "/orders", {"json": {"order_number": ""}, "headers": {"Idempotency-Key": key}}),
    ]
    for method, path, options in probes:
        # Lost, or rate limited to the end: the other probes still give the rules data.
        with contextlib.suppress(RequestFailed):
            api.request(method, path, **options)


@pytest.mark.parametrize("rule", RULES)
def test_every_response_of_the_run(
    rule: Rule,
    baseline: None,
    probed: str,
    recorded_responses: Callable[[], list[ApiResponse]],
    schema_validator: SpecValidator,
) -> None:
    """Judges every exchange recorded during the run (all checks, plus the baseline) by one rule."""
    responses = recorded_responses()
    if rule not in RATE_RULES:
        # A refusal to serve (429, 503 with Retry-After) answers nothing but the rate-limit rules.
        responses = [resp for resp in responses if not resp.rate_limited]
    judged, problems = rule(responses, schema_validator)
    if judged == 0 and rule in CONDITIONAL_RULES:
        about_429 = rule in (rate_limited_retry_after, rate_limited_envelope)
        probe = f"; {probed}" if about_429 else ""
        not_exercised(
            f"none of the run's {len(responses)} responses had what this rule judges"
            f" (it applies only when the server sends it){probe}"
        )
    if judged == 0:
        pytest.skip("no response of the run was of the kind this rule judges")
    if problems:
        shown = "\n".join(problems[:MAX_LISTED])
        more = f"\n(and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise AssertionError(f"{shown}{more}")
