"""Run the kit the way a user does (`python -m conformance run ...` in a subprocess) and read its
JSON report. Tokens go through the environment, never argv, as the CLI recommends.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.kit.inprocess import run_cli_inprocess
from tests.kit.warm_kit import run_cli_warm

REPO = Path(__file__).resolve().parents[2]
_counter = itertools.count(1)


@dataclass
class KitResult:
    exit_code: int
    report: dict[str, Any]
    stdout: str
    stderr: str
    report_path: Path | None = None


def kit_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a kit subprocess: no inherited CONFORMANCE_* or PYTEST_ADDOPTS."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CONFORMANCE_") and name != "PYTEST_ADDOPTS"
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # Bytecode: tests/conftest.py gives the whole session (and so every kit run) one cache.
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    """`python -m conformance <args>` in a subprocess (cwd must not be inside conformance/)."""
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        env=kit_env(env),
        cwd=str(cwd or REPO),
        timeout=timeout,
        check=False,
    )


GALLERY_SEED = "20261202"
# KIT_RUNNER=inprocess: the warm runs go in this process instead (tests/kit/inprocess.py), where
# mutmut sees the check code; one at a time. Unset or "warm": forked (tests/kit/warm_kit.py).
RUNNER_ENV = "KIT_RUNNER"


def run_kit(
    base_url: str,
    token: str,
    *,
    profiles: Sequence[str] = ("core",),
    second_token: str | None = None,
    extra_args: Sequence[str] = (),
    tmp_path: Path,
    timeout: float = 1800,
    warm: bool = True,
) -> KitResult:
    """Run the kit against `base_url`; the report is {} when the run wrote none (exit 2).
    `warm`: forked from a process that has the kit imported (tests/kit/warm_kit.py), the same
    run for a fraction of a subprocess's start-up (in this process with KIT_RUNNER=inprocess);
    False: `python -m conformance` itself."""
    report_path = tmp_path / f"kit-report-{next(_counter)}.json"
    args = ["run", "--base-url", base_url, "--report-json", str(report_path)]
    for profile in profiles:
        args += ["--profile", profile]
    args += list(extra_args)
    if not any(arg == "--seed" or arg.startswith("--seed=") for arg in args):
        # A fixed seed: the model-based and property phases then make the same moves every run,
        # so a gallery's collateral outcomes are the same in CI as on the machine that wrote it.
        args += ["--seed", GALLERY_SEED]
    env = {"CONFORMANCE_TOKEN": token}
    if second_token:
        env["CONFORMANCE_SECOND_TOKEN"] = second_token
    if warm and os.environ.get(RUNNER_ENV) == "inprocess":
        done = run_cli_inprocess(args, env=kit_env(env), cwd=tmp_path)
    elif warm:
        done = run_cli_warm(args, env=kit_env(env), cwd=tmp_path, timeout=timeout)
    else:
        done = run_cli(args, env=env, cwd=tmp_path, timeout=timeout)
    report: dict[str, Any] = {}
    if report_path.exists():
        report = json.loads(report_path.read_text(encoding="utf-8"))
    return KitResult(done.returncode, report, done.stdout, done.stderr, report_path)


def outcome(report: Mapping[str, Any], requirement_id: str) -> str:
    """The outcome of one requirement, "not_tested" for a testable: false one, or KeyError."""
    for entry in report.get("requirements", []):
        if entry["id"] == requirement_id:
            return str(entry["outcome"])
    for entry in report.get("not_tested", []):
        if entry["id"] == requirement_id:
            return "not_tested"
    raise KeyError(f"{requirement_id} is not in the report")


def message(report: Mapping[str, Any], requirement_id: str) -> str:
    for entry in report.get("requirements", []):
        if entry["id"] == requirement_id:
            return str(entry["message"])
    raise KeyError(f"{requirement_id} is not in the report")
