"""Model-based evidence: the target and the contract's executable model (conformance/model/),
driven side by side by a Hypothesis state machine (conformance/model/machine.py).

One module-scoped run of at most `--model-steps` steps, seeded by `--seed`; each check below
then reads the outcome for its requirement: failed when the run's shrunk disagreement is about
it (the message lists the shortest sequence as numbered requests), passed when the run compared
it at least once and never disagreed, not exercised when the run never compared it (or did not
run: `--no-model-based`, `--model-steps 0`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from conformance.catalogue import requirement_mark
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.evidence import FailedWithEvidence
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient, HttpSession
from conformance.outcomes import not_exercised

if TYPE_CHECKING:
    from conformance.model.machine import ModelRun

# The requirements the phase compares (reused where the catalogue already states the rule),
# spelled out so scripts/catalogue_docs.py finds them without importing this module.
CHECKED = [
    pytest.param("CONS-001", marks=requirement_mark("CONS-001"), id="CONS-001"),
    pytest.param("CONS-002", marks=requirement_mark("CONS-002"), id="CONS-002"),
    pytest.param("CONS-003", marks=requirement_mark("CONS-003"), id="CONS-003"),
    pytest.param("CONS-004", marks=requirement_mark("CONS-004"), id="CONS-004"),
    pytest.param("CONS-005", marks=requirement_mark("CONS-005"), id="CONS-005"),
    pytest.param("CONS-006", marks=requirement_mark("CONS-006"), id="CONS-006"),
    pytest.param("CONS-007", marks=requirement_mark("CONS-007"), id="CONS-007"),
    pytest.param("AMD-003", marks=requirement_mark("AMD-003"), id="AMD-003"),
    pytest.param("CAN-007", marks=requirement_mark("CAN-007"), id="CAN-007"),
    pytest.param("INV-009", marks=requirement_mark("INV-009"), id="INV-009"),
    pytest.param("INV-011", marks=requirement_mark("INV-011"), id="INV-011"),
    pytest.param("SHP-012", marks=requirement_mark("SHP-012"), id="SHP-012"),
    # Stock events of the optional profiles (conformance/model/stock_events.py).
    pytest.param("ADJ-002", marks=requirement_mark("ADJ-002"), id="ADJ-002"),
    pytest.param("INB-008", marks=requirement_mark("INB-008"), id="INB-008"),
    pytest.param("INB-009", marks=requirement_mark("INB-009"), id="INB-009"),
    pytest.param("RET-008", marks=requirement_mark("RET-008"), id="RET-008"),
]
MODEL_REQUIREMENTS = tuple(str(param.values[0]) for param in CHECKED)
PHASE = "model_based"


def _phases(request: pytest.FixtureRequest) -> dict[str, Any]:
    from conformance.plugin import SESSION_KEY

    phases: dict[str, Any] = request.config.stash[SESSION_KEY].phases
    return phases


@pytest.fixture(scope="module")
def model_run(
    request: pytest.FixtureRequest,
    conformance_config: Config,
    api: ApiClient,
    driver: WarehouseDriver,
    reference_data: ReferenceData,
    http_session: HttpSession,
) -> Iterator[ModelRun | None]:
    steps = int(getattr(conformance_config, "model_steps", 0))
    if steps <= 0:
        _phases(request)[PHASE] = {"ran": False, "seed": conformance_config.seed, "steps": 0}
        yield None
        return
    # The machine imports Hypothesis: only a run that has the phase pays for it.
    from conformance.model.machine import Target, run_model_phase

    run = run_model_phase(
        Target(
            api,
            driver,
            TestData(api, driver, reference_data),
            http_session,
            tuple(conformance_config.profiles),
        ),
        budget=steps,
        seed_value=int(conformance_config.seed),
    )
    _phases(request)[PHASE] = run.as_dict()
    yield run


@pytest.mark.parametrize("requirement_id", CHECKED)
def test_target_agrees_with_the_model(requirement_id: str, model_run: ModelRun | None) -> None:
    """After every step of the run the target showed what the model predicts for this rule."""
    if model_run is None:
        not_exercised("the model-based phase did not run (--no-model-based or --model-steps 0)")
    failure = model_run.failure
    if failure is not None and failure.requirement == requirement_id:
        raise FailedWithEvidence(str(failure), failure.evidence)
    if not model_run.compared.get(requirement_id):
        not_exercised(
            f"the model-based phase ({model_run.steps} steps, seed {model_run.seed}) never "
            f"compared {requirement_id}"
            + (" before it stopped at another disagreement" if failure is not None else "")
            + _scope_note(model_run)
        )


def _scope_note(model_run: ModelRun) -> str:
    """Why steps were dropped: the operations the kit's token may not call (decision 43)."""
    if not model_run.scope_refused:
        return ""
    refused = ", ".join(sorted(model_run.scope_refused))
    return f"; steps calling {refused} were dropped: 403 insufficient_scope to the kit's token"
