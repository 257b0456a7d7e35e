"""The CLI hands its configuration to the pytest run as an object (`plugin.GivenSettings`), not
through `os.environ`: while the checks run, no `CONFORMANCE_*` variable is set (so no subprocess
of the run inherits the token), and the caller's own variables are back afterwards."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import conformance.cli
from conformance.cleanup import RUN_ID_ENV, sink_url
from conformance.config import ENV_PREFIX
from tests.kit.conftest import ACME_TOKEN
from tests.kit.inprocess import run_cli_inprocess

pytest.importorskip("fulfillment_sandbox.app")

ONLY = ["--only", "ORD-001", "--no-property-based", "--no-model-based"]


class RecordEnvironment:
    """A plugin of the kit's pytest run: the CONFORMANCE_* variables each check saw."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}

    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.seen[item.name] = {name for name in os.environ if name.startswith(ENV_PREFIX)}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordEnvironment:
    """Every pytest run the CLI starts gets the recorder as one more plugin."""
    recorder = RecordEnvironment()
    real_main = conformance.cli.pytest.main

    def main_with_recorder(args: Any, plugins: Any = ()) -> Any:
        return real_main(args, plugins=[*plugins, recorder])

    monkeypatch.setattr(conformance.cli.pytest, "main", main_with_recorder)
    return recorder


def test_a_run_sets_no_conformance_variable(
    sandbox_url: str, tmp_path: Path, recorder: RecordEnvironment
) -> None:
    """The user's way: the token in CONFORMANCE_TOKEN, everything else as options."""
    report = tmp_path / "report.json"
    env = {**os.environ, "CONFORMANCE_TOKEN": ACME_TOKEN}
    args = ["run", "--base-url", sandbox_url, "--report-json", str(report), "--seed", "7", *ONLY]
    done = run_cli_inprocess(args, env=env, cwd=tmp_path)

    assert done.returncode in (0, 1), done.stderr
    assert report.exists()
    assert recorder.seen, "expected the checks to run"
    assert all(not names for names in recorder.seen.values()), recorder.seen


def test_the_callers_variables_are_back_after_the_run(
    sandbox_url: str,
    tmp_path: Path,
    recorder: RecordEnvironment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """run_checks itself, called by a script that has its own CONFORMANCE_* variables."""
    monkeypatch.setenv("CONFORMANCE_TOKEN", "wms_some_other_token")
    monkeypatch.setenv("CONFORMANCE_PROFILE", "webhooks")
    settings = conformance.cli.Config.from_sources(
        {
            "base-url": sandbox_url,
            "token": ACME_TOKEN,
            "only": ["ORD-001"],
            "no-property-based": True,
            "no-model-based": True,
            "seed": "7",
        }.get,
        {},
    )
    code, report = conformance.cli.run_checks(settings)

    assert report is not None and code == 0
    outcome = {entry["id"]: entry["outcome"] for entry in report["requirements"]}["ORD-001"]
    assert outcome == "passed"  # the object's token and profiles, not the caller's variables
    assert all(not names for names in recorder.seen.values()), recorder.seen
    assert os.environ["CONFORMANCE_TOKEN"] == "wms_some_other_token"
    assert os.environ["CONFORMANCE_PROFILE"] == "webhooks"


def test_generated_subscriptions_carry_the_run_id_given_as_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The property phase learns the run id from its settings (no CONFORMANCE_RUN_ID is set in
    the run's process any more), so the run's cleanup still finds what generated cases made."""
    from conformance.property import hooks

    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    monkeypatch.setattr(hooks, "_run_id", None)
    hooks.set_run_id("ckgiven")
    case: Any = SimpleNamespace(
        id="case7",
        method="POST",
        body={"url": "https://erp.example/hooks"},
        operation=SimpleNamespace(path="/webhooks"),
    )
    hooks._harmless_webhook_url(case)
    assert case.body["url"] == sink_url("case7", "ckgiven")
