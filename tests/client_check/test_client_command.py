"""`fulfillment-conformance client`: starts the bundled chaos sandbox, runs the day, exits 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main


def test_the_reference_client_passes_and_the_report_has_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "client.json"
    code = main(
        [
            "client",
            "--adapter",
            "fulfillment_erp_client.adapter:make_adapter",
            "--chaos",
            "drop-after-commit,flaky-reads",
            "--orders",
            "5",
            "--report-json",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    results = json.loads(report.read_text())
    assert set(results) == {"drop-after-commit", "flaky-reads"}
    for result in results.values():
        assert result["figures"]["orders"] == 5
        assert result["figures"]["duplicates"] == result["figures"]["lost"] == 0
    assert "drop-after-commit: passed" in out


def test_a_broken_client_fails_with_exit_1_and_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    adapter = "tests.client_check.broken_clients:no_dedup"
    code = main(["client", "--adapter", adapter, "--chaos", "moving-rows", "--orders", "4"])
    out = capsys.readouterr().out
    assert code == 1
    assert "CLI-003 failed" in out and "handed to the ERP 2 times" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--adapter", "no_colon"], "is not 'module:name'"),
        (["--adapter", "no_such_module_here:make"], "module 'no_such_module_here' cannot be"),
        (["--adapter", "json:nothing"], "has no 'nothing'"),
        (["--adapter", "json:__doc__"], "is not callable"),
        (["--adapter", "json:loads", "--base-url", "http://127.0.0.1:9/v1"], "needs --token"),
    ],
)
def test_usage_errors_exit_2_in_one_sentence(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONFORMANCE_TOKEN", raising=False)
    assert main(["client", *argv]) == 2
    assert message in capsys.readouterr().err
