"""RATE-001/002 judge 429s: without one they are `not_exercised`, never `passed`; with
--probe-rate-limit the kit provokes one with a bounded burst and judges it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kit.conftest import ACME_TOKEN
from tests.kit.harness import message, outcome, run_kit
from tests.live_server import serve

fulfillment_sandbox_app = pytest.importorskip("fulfillment_sandbox.app")
RATE_RULES = ["--only", "RATE-001", "--only", "RATE-002", "--no-property-based"]


def test_a_run_that_met_no_429_does_not_pass_the_rate_limit_rules(
    sandbox_url: str, tmp_path: Path
) -> None:
    result = run_kit(sandbox_url, ACME_TOKEN, extra_args=RATE_RULES, tmp_path=tmp_path)
    assert outcome(result.report, "RATE-001") == "not_exercised"
    assert outcome(result.report, "RATE-002") == "not_exercised"
    assert "--probe-rate-limit" in message(result.report, "RATE-001")
    assert result.exit_code == 0


def test_the_probe_provokes_a_429_and_the_rules_judge_it(tmp_path: Path) -> None:
    app = fulfillment_sandbox_app.create_app(str(tmp_path / "s.db"), rate_limit_per_minute=60)
    with serve(app) as url:
        result = run_kit(
            f"{url}/v1",
            ACME_TOKEN,
            extra_args=[*RATE_RULES, "--probe-rate-limit"],
            tmp_path=tmp_path,
        )
    assert outcome(result.report, "RATE-001") == "passed", message(result.report, "RATE-001")
    assert outcome(result.report, "RATE-002") == "passed", message(result.report, "RATE-002")
    # The burst stops at the first 429: about the window's limit, not the probe's bound.
    assert result.report["requests_made"] < 200


def test_the_probe_stays_off_a_server_whose_window_is_larger_than_its_bound(
    sandbox_url: str, tmp_path: Path
) -> None:
    """The sandbox's default limit is 100,000 a minute: the probe does not flood it."""
    result = run_kit(
        sandbox_url, ACME_TOKEN, extra_args=[*RATE_RULES, "--probe-rate-limit"], tmp_path=tmp_path
    )
    assert outcome(result.report, "RATE-001") == "not_exercised"
    assert "the rate-limit probe did not run" in message(result.report, "RATE-001")
    assert result.report["requests_made"] < 50
