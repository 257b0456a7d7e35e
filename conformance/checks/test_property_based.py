"""Property-based evidence: Schemathesis over every operation of the claimed profiles.

One module-scoped run of the examples, coverage and fuzzing phases (positive and negative data)
plus one bounded stateful run over the spec's links; each check below then reads the findings
for its requirements. The kit's own checks (conformance/property/checks.py) run on every
response alongside Schemathesis' built-in ones. `--conformance-no-property-based` (CLI:
`--no-property-based`) skips the whole module. Reproduce a run with the same `--seed`.

A 429 (or 503 with Retry-After) is waited out and the request repeated (conformance/property/
hooks.py); one still refused past the bound is evidence for no rule but RATE-001, and a
requirement whose every generated case was refused so ends `not_exercised`, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.evidence import FailedWithEvidence
from conformance.http import HttpSession
from conformance.outcomes import not_exercised
from conformance.property.mapping import (
    CHECK_REQUIREMENTS,
    READ_BACK_REQUIREMENTS,
    RETRY_AFTER_REQUIREMENT,
    UNKNOWN_FIELD_REQUIREMENT,
)

if TYPE_CHECKING:
    from conformance.property.runner import Finding, PropertyRun, PropertySettings

# At most this many findings are spelled out in one failure message.
MAX_LISTED = 5


def settings_from(config: Config) -> PropertySettings:
    """The runner's settings from the kit's `conformance_config`."""
    from conformance.property.runner import PropertySettings

    return PropertySettings(
        base_url=config.base_url,
        token=config.token or "",
        profiles=tuple(config.profiles),
        seed=config.seed,
        timeout=min(float(config.timeout), 30.0),
        max_rps=config.max_rps,
        include_sandbox=str(config.driver_spec) == "sandbox",
        run_id=config.run_id,
    )


@pytest.fixture(scope="module")
def property_runs(
    request: pytest.FixtureRequest, conformance_config: Config
) -> Iterator[list[PropertyRun]]:
    if not getattr(conformance_config, "property_based", True):
        pytest.skip("property-based checks turned off (--no-property-based)")
    # The runner imports Schemathesis and Hypothesis (a second of start-up): only a run that
    # has the phase pays for it, not every run that collects this module and leaves it out.
    from conformance.property.runner import run_stateful_phase, run_unit_phases

    settings = settings_from(conformance_config)
    runs = [run_unit_phases(settings), run_stateful_phase(settings)]
    _count_requests(request, sum(run.requests for run in runs))
    yield runs


def _count_requests(request: pytest.FixtureRequest, count: int) -> None:
    """Add Schemathesis' requests (made outside ApiClient) to the run's `requests_made`."""
    session: HttpSession = request.getfixturevalue("http_session")
    session.count_external(count)


def _assert_none(runs: list[PropertyRun], checks: tuple[str, ...], rule: str, **kw: Any) -> None:
    """No finding of `checks` (for the requirement `ids`, if given): passed, or not exercised
    when every generated case for those requirements was refused past the retry bound."""
    findings: list[Finding] = []
    for run in runs:
        findings += [f for f in run.for_checks(*checks) if _selected(f, **kw)]
    if not findings:
        ids = kw.get("ids") or tuple(i for check in checks for i in CHECK_REQUIREMENTS[check])
        from conformance.property.runner import refused_throughout

        reason = refused_throughout(runs, ids)
        if reason is not None:
            not_exercised(reason)
        return
    seed = runs[0].seed if runs else None
    listed = "\n".join(finding.describe() for finding in findings[:MAX_LISTED])
    more = f"\n... and {len(findings) - MAX_LISTED} more" if len(findings) > MAX_LISTED else ""
    operations = sorted({finding.operation for finding in findings})
    evidence = [finding.evidence for finding in findings if finding.evidence]
    raise FailedWithEvidence(
        f"expected {rule}, got {len(findings)} failure(s) on {', '.join(operations)}:\n"
        f"{listed}{more}\n(reproduce: run the curl with CONFORMANCE_TOKEN set, or rerun the kit "
        f"with --seed {seed})",
        evidence,
    )


def _selected(finding: Finding, *, ids: tuple[str, ...] | None = None) -> bool:
    return ids is None or bool(set(ids) & set(finding.requirement_ids))


def _sent_nothing_stateful(run: PropertyRun) -> bool:
    """A stateful run without one request: its time budget counts from the engine's start, and
    on a busy machine start-up and generation can spend all of it (its errors, if any, are
    still the guard's)."""
    return "stateful" in run.phases and run.requests == 0


def _require_stateful_requests(runs: list[PropertyRun]) -> None:
    """`not_exercised` when no stateful run sent a request: nothing was seen to judge."""
    stateful = [run for run in runs if "stateful" in run.phases]
    if stateful and all(_sent_nothing_stateful(run) for run in stateful):
        summaries = "; ".join(run.summary() for run in stateful)
        not_exercised(
            f"the stateful phase sent no request ({summaries}), so no created order was read"
            " back through a link (on a busy machine its time budget can run out first)"
        )


@requirement(*CHECK_REQUIREMENTS["not_a_server_error"])
def test_no_input_makes_the_server_fail_with_5xx(property_runs: list[PropertyRun]) -> None:
    """Generated valid and invalid requests on every operation never get a 5xx."""
    _assert_none(property_runs, ("not_a_server_error",), "no 5xx response to any request")


@requirement(*CHECK_REQUIREMENTS["status_code_conformance"])
def test_every_status_code_is_documented_for_its_operation(
    property_runs: list[PropertyRun],
) -> None:
    """Every status a generated request gets is listed under that operation in the spec."""
    _assert_none(
        property_runs,
        ("status_code_conformance",),
        "only status codes the spec documents for the operation",
    )


@requirement(*CHECK_REQUIREMENTS["unsupported_method"])
def test_a_wrong_method_on_a_known_path_is_405(property_runs: list[PropertyRun]) -> None:
    """A method the spec does not list for a path gets 405 (with Allow), not 2xx, 404 or 5xx."""
    _assert_none(property_runs, ("unsupported_method",), "405 for an undocumented method")


@requirement(*CHECK_REQUIREMENTS["response_schema_conformance"])
def test_every_response_body_matches_its_documented_schema(
    property_runs: list[PropertyRun],
) -> None:
    """Every body validates against the documented schema for its status, formats included."""
    _assert_none(
        property_runs, ("response_schema_conformance",), "bodies valid against the spec's schemas"
    )


@requirement(*CHECK_REQUIREMENTS["content_type_conformance"])
def test_every_response_has_a_documented_content_type(property_runs: list[PropertyRun]) -> None:
    """Every response with a body is sent as one of the documented media types (JSON)."""
    _assert_none(property_runs, ("content_type_conformance",), "documented Content-Types")


@requirement(*CHECK_REQUIREMENTS["fulfillment_request_id_header"])
def test_every_response_carries_x_request_id(property_runs: list[PropertyRun]) -> None:
    """Every response, success or error, has an X-Request-Id header (and the documented ones)."""
    _assert_none(
        property_runs,
        ("fulfillment_request_id_header", "response_headers_conformance"),
        "an X-Request-Id header (and every other required header) on every response",
        ids=CHECK_REQUIREMENTS["fulfillment_request_id_header"],
    )


@requirement(*RETRY_AFTER_REQUIREMENT)
def test_every_429_carries_retry_after(property_runs: list[PropertyRun]) -> None:
    """Any 429 the run met carries the documented Retry-After header."""
    if not any(run.refusals.retried or run.refusals.exhausted for run in property_runs):
        not_exercised("the generated requests met no 429 (or 503 with Retry-After)")
    _assert_none(
        property_runs,
        ("response_headers_conformance",),
        "Retry-After on every 429",
        ids=RETRY_AFTER_REQUIREMENT,
    )


@requirement(*CHECK_REQUIREMENTS["negative_data_rejection"])
def test_schema_invalid_requests_are_rejected_with_4xx(property_runs: list[PropertyRun]) -> None:
    """A request the spec's schemas forbid (wrong type, missing field, out of range) gets 4xx."""
    _assert_none(
        property_runs,
        ("negative_data_rejection",),
        "every schema-invalid request rejected with 400 or 422",
        ids=CHECK_REQUIREMENTS["negative_data_rejection"],
    )


@requirement(*UNKNOWN_FIELD_REQUIREMENT)
def test_unknown_request_fields_are_rejected(property_runs: list[PropertyRun]) -> None:
    """A request object with a field the spec does not define gets 422 `unknown_field`."""
    _assert_none(
        property_runs,
        ("negative_data_rejection",),
        "requests with unknown fields rejected (422 unknown_field)",
        ids=UNKNOWN_FIELD_REQUIREMENT,
    )


@requirement(*CHECK_REQUIREMENTS["positive_data_acceptance"])
def test_schema_valid_requests_are_not_refused_as_malformed(
    property_runs: list[PropertyRun],
) -> None:
    """A schema-valid request is processed: 2xx, or 404/409/422 about the data it names."""
    _assert_none(property_runs, ("positive_data_acceptance",), "schema-valid requests accepted")


@requirement(*CHECK_REQUIREMENTS["missing_required_header"])
def test_a_create_without_idempotency_key_is_rejected(property_runs: list[PropertyRun]) -> None:
    """Leaving out a required header (Idempotency-Key) gets 400, never a created resource."""
    _assert_none(
        property_runs, ("missing_required_header",), "a 4xx when a required header is missing"
    )


@requirement(*CHECK_REQUIREMENTS["ignored_auth"])
def test_no_operation_answers_without_valid_credentials(property_runs: list[PropertyRun]) -> None:
    """Every call that succeeded with the token gets 401 without it and with a wrong one."""
    _assert_none(property_runs, ("ignored_auth",), "401 without or with a bad token")


@requirement(*READ_BACK_REQUIREMENTS["core"])
def test_a_created_order_can_be_read_back_through_its_link(
    property_runs: list[PropertyRun],
) -> None:
    """Following the spec's links (stateful phase): an order just created reads back by its id."""
    _require_stateful_requests(property_runs)
    _assert_none(
        property_runs,
        ("ensure_resource_availability",),
        "every created order readable right after its create",
        ids=READ_BACK_REQUIREMENTS["core"],
    )


@requirement(*CHECK_REQUIREMENTS["fulfillment_timestamps_end_in_z"])
def test_every_timestamp_is_utc_with_z(property_runs: list[PropertyRun]) -> None:
    """Every `format: date-time` value in every response ends in `Z`, never `+00:00`."""
    _assert_none(
        property_runs, ("fulfillment_timestamps_end_in_z",), "every date-time in UTC with 'Z'"
    )


@requirement(*CHECK_REQUIREMENTS["fulfillment_money_is_decimal_string"])
def test_every_money_amount_is_a_decimal_string(property_runs: list[PropertyRun]) -> None:
    """Every money amount in every response is a decimal string, never a JSON number."""
    _assert_none(
        property_runs, ("fulfillment_money_is_decimal_string",), "money amounts as decimal strings"
    )


@requirement(*CHECK_REQUIREMENTS["fulfillment_error_envelope"])
def test_every_4xx_and_5xx_uses_the_error_envelope(property_runs: list[PropertyRun]) -> None:
    """Every 4xx and 5xx body is {"error": {"code", "message", "request_id"}}."""
    _assert_none(
        property_runs, ("fulfillment_error_envelope",), "the error envelope on every 4xx and 5xx"
    )


@requirement(*CHECK_REQUIREMENTS["fulfillment_error_code_snake_case"])
def test_every_error_code_is_snake_case(property_runs: list[PropertyRun]) -> None:
    """Every error.code the run provoked is a snake_case machine code."""
    _assert_none(property_runs, ("fulfillment_error_code_snake_case",), "snake_case error codes")


@requirement(*CHECK_REQUIREMENTS["fulfillment_error_request_id_matches"])
def test_every_error_request_id_equals_the_x_request_id_header(
    property_runs: list[PropertyRun],
) -> None:
    """error.request_id and the X-Request-Id header of the same response are one id."""
    _assert_none(
        property_runs,
        ("fulfillment_error_request_id_matches",),
        "error.request_id equal to X-Request-Id",
    )


@requirement(*CHECK_REQUIREMENTS["fulfillment_2xx_has_no_error"])
def test_no_success_response_carries_an_error(property_runs: list[PropertyRun]) -> None:
    """No 2xx body has a top-level `error`: failures are never reported with a success status."""
    _assert_none(property_runs, ("fulfillment_2xx_has_no_error",), "no 2xx with an 'error' body")


@requirement(*CHECK_REQUIREMENTS["not_a_server_error"])
def test_the_property_run_reached_every_selected_operation(
    property_runs: list[PropertyRun],
) -> None:
    """Guards the checks above against passing vacuously (no requests, engine errors). A stateful
    phase that sent nothing is no fault of the server: the checks it alone feeds say
    `not_exercised` instead (`_require_stateful_requests`)."""
    for run in property_runs:
        if _sent_nothing_stateful(run):
            continue
        assert run.requests > 0 and run.operations, f"expected requests, got {run.summary()}"
    errors = [error for run in property_runs for error in run.errors]
    assert not errors, "expected no Schemathesis errors, got:\n" + "\n".join(errors[:5])
