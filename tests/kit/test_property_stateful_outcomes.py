"""A stateful phase that sent no request says so: `not_exercised`, never `passed` or `failed`.

Under load (issue 13) the stateful phase's `schemathesis run` spent its whole `max-time` on
start-up and generation and ended cleanly with 0 requests ("stateful: 1 operations, 0 requests,
24.4 s, 0 findings, 0 errors"). A kit run in that state reported the read-back check (ORD-002)
`passed` although nothing was read back, and failed ERR-012 through the guard against vacuous
runs although the server did nothing wrong. The runs below have that shape.
"""

from __future__ import annotations

import pytest

from conformance.checks import test_property_based as property_checks
from conformance.outcomes import NotExercised
from conformance.property.runner import Finding, PropertyRun

UNIT_PHASES = ("examples", "coverage", "fuzzing")


def unit_run() -> PropertyRun:
    return PropertyRun(phases=UNIT_PHASES, operations=["POST /orders"], requests=120)


def stateful_run(requests: int, *, errors: tuple[str, ...] = ()) -> PropertyRun:
    return PropertyRun(
        phases=("stateful",), operations=["Stateful tests"], requests=requests, errors=[*errors]
    )


def read_back_finding() -> Finding:
    return Finding(
        check="ensure_resource_availability",
        requirement_ids=("ORD-002",),
        operation="GET /orders/ord_1",
        phase="stateful",
        title="ensure_resource_availability",
        message="Resource not found after creation",
        reproduction="",
    )


def test_the_read_back_check_is_not_exercised_when_the_stateful_phase_sent_nothing() -> None:
    with pytest.raises(NotExercised, match="the stateful phase sent no request"):
        property_checks.test_a_created_order_can_be_read_back_through_its_link(
            [unit_run(), stateful_run(0)]
        )


def test_the_guard_does_not_fail_the_server_for_a_stateful_phase_that_sent_nothing() -> None:
    property_checks.test_the_property_run_reached_every_selected_operation(
        [unit_run(), stateful_run(0)]
    )


def test_the_read_back_check_still_judges_a_stateful_phase_that_sent_requests() -> None:
    property_checks.test_a_created_order_can_be_read_back_through_its_link(
        [unit_run(), stateful_run(40)]
    )
    broken = stateful_run(40)
    broken.findings.append(read_back_finding())
    with pytest.raises(AssertionError, match="every created order readable"):
        property_checks.test_a_created_order_can_be_read_back_through_its_link([unit_run(), broken])


def test_the_guard_still_fails_a_vacuous_unit_run_and_engine_errors() -> None:
    empty_unit = PropertyRun(phases=UNIT_PHASES)
    with pytest.raises(AssertionError, match="expected requests"):
        property_checks.test_the_property_run_reached_every_selected_operation(
            [empty_unit, stateful_run(40)]
        )
    timed_out = stateful_run(0, errors=("the stateful run did not finish within 140 s",))
    with pytest.raises(AssertionError, match="did not finish"):
        property_checks.test_the_property_run_reached_every_selected_operation(
            [unit_run(), timed_out]
        )
    with pytest.raises(NotExercised, match="the stateful phase sent no request"):
        property_checks.test_a_created_order_can_be_read_back_through_its_link(
            [unit_run(), timed_out]
        )
