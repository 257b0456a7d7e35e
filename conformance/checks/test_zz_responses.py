"""Cross-cutting response checks: every response of the run, judged against the contract.

Runs last (the plugin orders `test_zz_*` modules after all others), so it sees every exchange
the other checks recorded through `ApiClient`, plus a few baseline requests of its own (a list,
a 404, a 401, a 400, a 422) so each rule has something to judge even in an `--only` run. Each
rule is one parametrized check citing one requirement, so a broken rule fails only its own
requirement.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from conformance import refs
from conformance import response_rules as rules
from conformance.catalogue import requirement_mark
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient, ApiResponse, RequestFailed
from conformance.outcomes import not_exercised
from conformance.validation import SpecValidator

PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # API-011's pattern
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
MAX_LISTED = 3

Rule = Callable[[list[ApiResponse], SpecValidator], tuple[int, list[str]]]


# The view of each response, made once for the rules that judge it (its walk is cached in it),
# by identity: the entry keeps its response, and the validator says which run made it.
_VIEWS: dict[int, tuple[ApiResponse, SpecValidator, rules.ResponseView]] = {}
_MAX_VIEWS = 20_000  # as many as the client records


def view_of(resp: ApiResponse, validator: SpecValidator) -> rules.ResponseView:
    """The neutral view of a recorded exchange that the shared response rules judge."""
    known = _VIEWS.get(id(resp))
    if known is not None and known[0] is resp and known[1] is validator:
        return known[2]
    if len(_VIEWS) >= _MAX_VIEWS:
        _VIEWS.clear()
    view = _view_of(resp, validator)
    _VIEWS[id(resp)] = (resp, validator, view)
    return view


def _view_of(resp: ApiResponse, validator: SpecValidator) -> rules.ResponseView:
    body = resp.json
    if body is None and not resp.is_json:
        body = rules.NOT_JSON
    schema = None
    if resp.path_template is not None:
        documented = validator.documented_response(resp.method, resp.path_template, resp.status)
        if documented is not None:
            media = (documented[0].get("content") or {}).get(resp.content_type or "") or {}
            schema = media.get("schema") if isinstance(media, Mapping) else None
    return rules.ResponseView(
        method=resp.method,
        status=resp.status,
        headers=resp.headers,
        content=resp.content,
        body=body,
        describe=resp.describe,
        root=validator.spec,
        schema=schema,
    )


def over_responses(rule: rules.ResponseRule, *, distinct: bool = False) -> Rule:
    """A shared response rule judged over every recorded response; `distinct` drops repeats
    (the same field of the same response met through two schema branches)."""

    def judge(responses: list[ApiResponse], validator: SpecValidator) -> tuple[int, list[str]]:
        judged, problems = 0, []
        for resp in responses:
            count, found = rule(view_of(resp, validator))
            judged += count
            problems += found
        return judged, sorted(set(problems)) if distinct else problems

    judge.__name__ = judge.__qualname__ = rule.__name__
    judge.__doc__ = rule.__doc__
    return judge


# -- the rules: each returns (things judged, problems) ----------------------------------------
# Written once in conformance.response_rules, shared with the Schemathesis phase.
timestamps_in_utc_z = over_responses(rules.timestamps_in_utc_z, distinct=True)
dates_without_time = over_responses(rules.dates_without_time, distinct=True)
units_stated = over_responses(rules.units_stated, distinct=True)
money_as_decimal_strings = over_responses(rules.money_as_decimal_strings, distinct=True)
closed_vocabularies = over_responses(rules.closed_vocabularies, distinct=True)
errors_use_the_envelope = over_responses(rules.errors_use_the_envelope)
error_codes_snake_case = over_responses(rules.error_codes_snake_case)
no_success_with_an_error = over_responses(rules.no_success_with_an_error)
forbidden_only_for_scope = over_responses(rules.forbidden_only_for_scope)
request_id_header = over_responses(rules.request_id_header)
request_id_matches = over_responses(rules.request_id_matches)


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


def property_names_snake_case(
    responses: list[ApiResponse], validator: SpecValidator
) -> tuple[int, list[str]]:
    """API-011: every property name of a response body is snake_case."""
    judged, problems = 0, []

    def visit(value: Any, path: str, resp: ApiResponse, depth: int = 0) -> None:
        nonlocal judged
        if depth > refs.MAX_DEPTH:
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
        error = resp.json.get("error") if isinstance(resp.json, dict) else None
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
    forbidden_only_for_scope,
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
    pytest.param(
        forbidden_only_for_scope, marks=requirement_mark("AUTH-006"), id="AUTH-006-403-scope-only"
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
