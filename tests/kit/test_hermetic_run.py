"""The kit's pytest run is its own: the caller's pytest environment cannot shorten or change it.

A vendor's CI job often exports PYTEST_ADDOPTS (for its own suite) and has pytest plugins
installed; the kit's run must come out the same.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.kit.harness import outcome, run_cli

TOKEN = "wms_test_acme_token"


def test_the_callers_pytest_options_do_not_reach_the_kits_run(
    sandbox_url: str, tmp_path: Path
) -> None:
    report_path = tmp_path / "report.json"
    done = run_cli(
        [
            "run",
            "--base-url",
            sandbox_url,
            "--only",
            "ORD-001",
            "--no-property-based",
            "--report-json",
            str(report_path),
        ],
        env={
            "CONFORMANCE_TOKEN": TOKEN,
            # Either would leave the kit with nothing run: collect only, or a plugin that is
            # not there (pytest refuses to start).
            "PYTEST_ADDOPTS": "--collect-only",
            "PYTEST_PLUGINS": "a_plugin_that_does_not_exist",
        },
        cwd=tmp_path,
        timeout=300,
    )
    assert report_path.exists(), f"no report (exit {done.returncode}): {done.stderr[-2000:]}"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert outcome(report, "ORD-001") == "passed", done.stdout[-2000:]
