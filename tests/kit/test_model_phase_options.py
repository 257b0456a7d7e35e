"""The model-based phase's options and outcomes, without a target: `--model-steps`,
`--no-model-based`, and how one run of the phase becomes an outcome per requirement."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks.test_model_based import test_target_agrees_with_the_model as judge
from conformance.config import DEFAULT_MODEL_STEPS, Config, ConfigError, env_name
from conformance.evidence import FailedWithEvidence
from conformance.model.machine import ModelMismatch, ModelRun
from conformance.outcomes import NotExercised

BASE = {"base-url": "http://127.0.0.1:1/v1", "token": "t"}


def config(**options: Any) -> Config:
    given = {**BASE, **options}
    return Config.from_sources(lambda name: given.get(name), {})


def test_the_phase_runs_by_default_and_is_bounded_by_model_steps() -> None:
    assert config().model_steps == DEFAULT_MODEL_STEPS > 0
    assert config(**{"model-steps": "25"}).model_steps == 25
    assert not config(**{"no-property-based": None}).partial


@pytest.mark.parametrize("options", [{"model-steps": "0"}, {"no-model-based": True}])
def test_no_model_based_or_zero_steps_is_a_partial_run(options: dict[str, Any]) -> None:
    chosen = config(**options)
    assert chosen.model_steps == 0 and chosen.partial


@pytest.mark.parametrize("raw", ["many", "-1", "1.5"])
def test_a_bad_step_count_is_one_sentence(raw: str) -> None:
    with pytest.raises(ConfigError, match="--model-steps"):
        config(**{"model-steps": raw})


def test_the_step_count_reaches_the_pytest_run() -> None:
    """A plain pytest run with the plugin reads the step count from CONFORMANCE_MODEL_STEPS (the
    CLI hands its whole Config over as an object)."""
    env = {env_name("base-url"): BASE["base-url"], env_name("model-steps"): "7"}
    again = Config.from_sources(lambda name: None, env)
    assert again.model_steps == 7


def test_a_phase_that_did_not_run_leaves_its_requirements_not_exercised() -> None:
    with pytest.raises(NotExercised, match="did not run"):
        judge("CONS-001", None)


def test_a_requirement_the_run_never_compared_is_not_exercised() -> None:
    run = ModelRun(seed=3, budget=10, steps=4)
    run.compared["CONS-002"] += 1
    judge("CONS-002", run)  # compared, no disagreement: passes
    with pytest.raises(NotExercised, match="never compared CONS-005"):
        judge("CONS-005", run)


def test_the_disagreement_fails_its_own_requirement_only() -> None:
    run = ModelRun(seed=3, budget=10, steps=4)
    run.compared.update({"CONS-003": 2, "CONS-004": 2})
    run.failure = ModelMismatch("CONS-003", "CONS-003: embedded differs\n1. create", [])
    with pytest.raises(FailedWithEvidence, match="embedded differs"):
        judge("CONS-003", run)
    judge("CONS-004", run)
    assert run.as_dict()["failed_requirement"] == "CONS-003"
