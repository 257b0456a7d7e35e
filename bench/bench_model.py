"""The model-based phase against the reference sandbox: steps per second, and what it adds to a run.

Starts the sandbox as its own process, runs the kit twice over the same checks of the phase
(`--only` the ids it owns: once with `--model-steps N`, once with `--no-model-based`) and prints
the phase's own figures from the JSON report (steps, examples, seconds, steps per second) and the
difference in wall time. Asserts nothing; figures depend on the machine.

    python bench/bench_model.py --steps 120
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox_process import sandbox_process

ROOT = Path(__file__).resolve().parents[1]
IDS = ("CONS-001", "CONS-002", "CONS-003", "CONS-004", "CONS-005", "CONS-006", "CONS-007")


def kit(base: str, report: Path, *args: str) -> float:
    command = [sys.executable, "-m", "conformance", "run", "--base-url", base]
    command += ["--report-json", str(report), "--no-property-based", *args]
    for rid in IDS:
        command += ["--only", rid]
    env = {**os.environ, "CONFORMANCE_TOKEN": "wms_test_acme_token"}
    started = time.monotonic()
    subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=False)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(Path(tmp) / "s.db") as (base, _):
        report = Path(tmp) / "model.json"
        with_model = kit(base, report, "--model-steps", str(args.steps), "--seed", str(args.seed))
        without = kit(base, Path(tmp) / "none.json", "--no-model-based")
        phase = json.loads(report.read_text())["phases"]["model_based"]
    rate = phase["steps"] / phase["seconds"] if phase["seconds"] else 0.0
    print(f"model-based phase: {phase['steps']} steps in {phase['examples']} examples,")
    print(f"  {phase['comparisons']} comparisons, {phase['seconds']:.1f} s: {rate:.1f} steps/s")
    print(f"kit run with the phase {with_model:.1f} s, without {without:.1f} s:")
    print(f"  the phase adds {with_model - without:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
