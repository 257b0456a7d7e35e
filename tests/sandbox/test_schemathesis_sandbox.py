"""Schemathesis over every operation of the spec against the live reference sandbox.

Positive and negative data through the examples, coverage and fuzzing phases (every profile,
the /sandbox control endpoints included, except the webhook retry helper: runner.NOT_GENERATED),
then a short stateful run over the spec's links. The
sandbox must never answer 5xx, must wrap every 4xx in the error envelope, and every response must
conform to the spec (documented status, schema with formats, headers, `Z` timestamps, decimal
money). Runs through the kit's runner, so the kit's hooks (unique Idempotency-Keys, no whole
floats, harmless webhook URLs) and its own checks apply; bounded to well under 90 s.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fulfillment_spec import load_openapi

from conformance import catalogue
from conformance.property.runner import (
    NOT_GENERATED,
    Finding,
    PropertyRun,
    PropertySettings,
    run_stateful_phase,
    run_unit_phases,
)
from tests.live_server import serve

sandbox_app = pytest.importorskip("fulfillment_sandbox.app")

TOKEN = "wms_test_acme_token"
PROFILES = catalogue.PROFILES  # every profile the catalogue declares
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PropertySettings]:
    db = tmp_path_factory.mktemp("schemathesis") / "sandbox.db"
    with serve(sandbox_app.create_app(str(db))) as root:
        yield PropertySettings(
            base_url=f"{root}/v1",
            token=TOKEN,
            profiles=PROFILES,
            seed=1,
            max_examples=5,
            timeout=10,
            # A scenario budget, not a clock: a loaded machine can spend a 20 s clock before the
            # first request, and `test_the_stateful_run_finds_nothing` asserts requests were made.
            stateful_max_time=None,
            stateful_max_examples=20,
        )


@pytest.fixture(scope="module")
def unit_run(settings: PropertySettings) -> PropertyRun:
    return run_unit_phases(settings)


@pytest.fixture(scope="module")
def stateful_run(settings: PropertySettings, unit_run: PropertyRun) -> PropertyRun:
    return run_stateful_phase(settings)


def _listing(findings: list[Finding]) -> str:
    return "\n".join(finding.describe() for finding in findings[:8])


def test_every_operation_of_the_spec_was_exercised(unit_run: PropertyRun) -> None:
    spec = load_openapi()
    documented = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and operation.get("operationId") not in NOT_GENERATED
    }
    assert set(unit_run.operations) == documented, unit_run.summary()
    assert unit_run.requests > 10 * len(documented), unit_run.summary()
    assert not unit_run.errors, "\n".join(unit_run.errors[:5])


@pytest.mark.parametrize("phase", ["unit", "stateful"])
def test_no_request_gets_a_5xx(
    phase: str, unit_run: PropertyRun, stateful_run: PropertyRun
) -> None:
    run = unit_run if phase == "unit" else stateful_run
    failing = run.for_checks("not_a_server_error")
    assert not failing, _listing(failing)


@pytest.mark.parametrize("phase", ["unit", "stateful"])
def test_every_4xx_uses_the_error_envelope(
    phase: str, unit_run: PropertyRun, stateful_run: PropertyRun
) -> None:
    run = unit_run if phase == "unit" else stateful_run
    failing = run.for_checks("fulfillment_error_envelope")
    assert not failing, _listing(failing)


@pytest.mark.parametrize("phase", ["unit", "stateful"])
def test_every_response_conforms_to_the_spec(
    phase: str, unit_run: PropertyRun, stateful_run: PropertyRun
) -> None:
    run = unit_run if phase == "unit" else stateful_run
    failing = run.for_checks(
        "status_code_conformance",
        "response_schema_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "fulfillment_timestamps_end_in_z",
        "fulfillment_money_is_decimal_string",
        "fulfillment_2xx_has_no_error",
        "fulfillment_request_id_header",
    )
    assert not failing, _listing(failing)


def test_requests_are_judged_as_the_spec_says(unit_run: PropertyRun) -> None:
    """Invalid input rejected, valid input accepted, credentials enforced: no finding at all."""
    assert not unit_run.findings, _listing(unit_run.findings)


def test_the_stateful_run_finds_nothing(stateful_run: PropertyRun) -> None:
    assert not stateful_run.errors, "\n".join(stateful_run.errors[:5])
    assert stateful_run.requests > 0, stateful_run.summary()
    assert not stateful_run.findings, _listing(stateful_run.findings)


def test_no_token_in_any_finding(unit_run: PropertyRun, stateful_run: PropertyRun) -> None:
    text = "\n".join(f.describe() for f in [*unit_run.findings, *stateful_run.findings])
    assert TOKEN not in text
