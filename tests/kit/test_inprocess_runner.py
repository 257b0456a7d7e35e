"""The in-process kit runner (tests/kit/inprocess.py) gives what the warm fork gives, and leaves
the test process as it found it: environment, working directory, no check module imported."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.kit import harness
from tests.kit.conftest import ACME_TOKEN

pytest.importorskip("fulfillment_sandbox.app")

# Two areas' ids: one decided by a check, one by the collateral responses module.
ONLY = ("--only", "ORD-001", "--only", "ORD-007", "--no-property-based", "--no-model-based")


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {entry["id"]: entry["outcome"] for entry in report["requirements"]}


def test_an_inprocess_run_reports_what_a_warm_run_reports(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = harness.run_kit(sandbox_url, ACME_TOKEN, extra_args=ONLY, tmp_path=tmp_path)
    monkeypatch.setenv(harness.RUNNER_ENV, "inprocess")
    env_before, cwd_before = dict(os.environ), os.getcwd()
    inprocess = harness.run_kit(sandbox_url, ACME_TOKEN, extra_args=ONLY, tmp_path=tmp_path)

    assert warm.report and inprocess.report, inprocess.stderr
    assert outcomes(inprocess.report) == outcomes(warm.report)
    assert outcomes(inprocess.report)["ORD-001"] == "passed"
    assert inprocess.exit_code == warm.exit_code
    assert "ORD-001" not in inprocess.stderr  # captured: nothing of the run's on our stderr
    assert dict(os.environ) == env_before and os.getcwd() == cwd_before
    assert not [name for name in sys.modules if name.startswith("conformance.checks.")]


def test_each_inprocess_run_imports_the_check_modules_afresh(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second run must not reuse the first run's modules: a mutant switched on between the
    runs (mutmut's MUTANT_UNDER_TEST) or a module changed on disk would otherwise be missed."""
    monkeypatch.setenv(harness.RUNNER_ENV, "inprocess")
    reused: list[bool] = []

    class MarkModule:
        """Marks the run's check module: a module a later run finds marked was reused."""

        def pytest_collection_finish(self, session: pytest.Session) -> None:
            module = sys.modules["conformance.checks.test_orders"]
            reused.append(hasattr(module, "_seen_by_an_earlier_run"))
            module._seen_by_an_earlier_run = True  # type: ignore[attr-defined]

    import conformance.cli

    real_main = conformance.cli.pytest.main

    def main_with_recorder(args: Any, plugins: Any = ()) -> Any:
        return real_main(args, plugins=[*plugins, MarkModule()])

    monkeypatch.setattr(conformance.cli.pytest, "main", main_with_recorder)
    for _ in range(2):
        result = harness.run_kit(sandbox_url, ACME_TOKEN, extra_args=ONLY, tmp_path=tmp_path)
        assert harness.outcome(result.report, "ORD-001") == "passed", result.stderr
    assert reused == [False, False]
