"""The kit's property phase side by side with plain `schemathesis run`: same spec, same target,
same phases and example budget.

Each side runs against a fresh sandbox of its own (a new SQLite file, `python -m
fulfillment_sandbox` on a free loopback port), one after the other, so that neither inherits
the other's data or competes with it for the CPU:

* plain: `schemathesis run` twice, as the kit splits its phase: examples, coverage and fuzzing
  (positive and negative data, `max-examples` as the kit's), then stateful (the kit's
  `max-examples` and `max-time`). The configuration file is the kit's own
  (`conformance.property.runner.schemathesis_config`: the same checks, expected statuses,
  operations, seed and budget), so the only difference is the kit's hooks and its runner.
  Requests are counted by count_requests_hook.py, the same way the kit counts its own.
* kit: `run_unit_phases` and `run_stateful_phase`, the two calls the kit's property checks
  make, in a child process (so its CPU and start-up are its own).
* the kit's CLI as a user runs it with `--no-model-based --only <the property checks' ids>`:
  its `property-based` area's seconds from the console summary, and the whole run's wall time.

Wall and CPU seconds (the child and its children) and requests for each; the goal is the kit's
property phase within 1.2 times plain Schemathesis. Asserts nothing; figures go to
bench/results/property.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fulfillment_spec import OPENAPI_PATH
from sandbox_process import sandbox_process
from scale_extras import TOKENS, kit_run

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SEED = 1


@contextlib.contextmanager
def fresh_sandbox() -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(Path(tmp) / "fresh.sqlite3") as (base, _pid),
    ):
        yield base


def _settings(base: str) -> Any:
    from conformance.property.runner import PropertySettings

    # As the kit's property checks build them for a `--profile all` run against the sandbox
    # (conformance/checks/test_property_based.py: settings_from).
    return PropertySettings(
        base_url=base,
        token=TOKENS["acme"],
        profiles=("core", "security", "webhooks", "inbound", "adjustments", "returns"),
        seed=SEED,
        timeout=30.0,
        include_sandbox=True,
    )


@contextlib.contextmanager
def children_usage() -> Iterator[dict[str, float]]:
    """Wall and CPU seconds of the child processes waited for inside the block."""
    figures: dict[str, float] = {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    yield figures
    figures["wall_s"] = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def plain_phase(base: str, *, stateful: bool, tmp: Path) -> dict[str, Any]:
    """One `schemathesis run` with the kit's configuration and without its hooks."""
    from conformance.property.runner import _filter_args, _to_toml, schemathesis_config

    settings = _settings(base)
    config = schemathesis_config(settings, stateful=stateful)
    if stateful:
        config["max-time"] = settings.stateful_max_time
    config_path = tmp / ("stateful.toml" if stateful else "unit.toml")
    config_path.write_text(_to_toml(config), encoding="utf-8")
    count_file = tmp / ("stateful.count" if stateful else "unit.count")
    phases = "stateful" if stateful else "examples,coverage,fuzzing"
    command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file"]
    command += [str(config_path), "--no-color", "run", str(OPENAPI_PATH), "--phases", phases]
    command += _filter_args(settings)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "count_requests_hook",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")])),
        "BENCH_REQUEST_COUNT_FILE": str(count_file),
    }
    with children_usage() as figures:
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
    figures["requests"] = int(count_file.read_text()) if count_file.exists() else 0
    figures["exit"] = done.returncode
    return figures


def kit_phases(base: str) -> dict[str, Any]:
    """The kit's two runner calls in a child process (its figures printed as JSON)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child-kit", base]
    with children_usage() as figures:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the kit's property phase failed:\n{done.stderr[-3000:]}")
    figures.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return figures


def child_kit(base: str) -> int:
    started = time.perf_counter()
    from conformance.property.runner import run_stateful_phase, run_unit_phases

    imported = time.perf_counter() - started
    settings = _settings(base)
    unit = run_unit_phases(settings)
    stateful = run_stateful_phase(settings)
    figures = {
        "import_s": imported,
        "unit": {"wall_s": unit.elapsed, "requests": unit.requests, "findings": len(unit.findings)},
        "stateful": {
            "wall_s": stateful.elapsed,
            "requests": stateful.requests,
            "findings": len(stateful.findings),
        },
        "errors": unit.errors + stateful.errors,
    }
    print(json.dumps(figures))
    return 0


def property_ids() -> list[str]:
    from conformance.property import mapping

    ids = {rid for rids in mapping.CHECK_REQUIREMENTS.values() for rid in rids}
    ids |= set(mapping.READ_BACK_REQUIREMENTS["core"])
    ids |= set(mapping.RETRY_AFTER_REQUIREMENT) | set(mapping.UNKNOWN_FIELD_REQUIREMENT)
    return sorted(ids)


def kit_cli(base: str) -> dict[str, Any]:
    args = ["--profile", "all", "--seed", str(SEED), "--no-model-based"]
    for requirement_id in property_ids():
        args += ["--only", requirement_id]
    return kit_run(base, args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child-kit", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--no-cli", action="store_true", help="skip the kit's CLI run")
    args = parser.parse_args()
    if args.child_kit:
        return child_kit(args.child_kit)
    # The load average says how far the figures can be trusted on a shared machine.
    machine = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    results: dict[str, Any] = {"machine": machine, "seed": SEED}
    with tempfile.TemporaryDirectory() as tmp, fresh_sandbox() as base:
        results["plain_unit"] = plain_phase(base, stateful=False, tmp=Path(tmp))
        results["plain_stateful"] = plain_phase(base, stateful=True, tmp=Path(tmp))
    with fresh_sandbox() as base:
        results["kit"] = kit_phases(base)
    if not args.no_cli:
        with fresh_sandbox() as base:
            results["kit_cli"] = kit_cli(base)
    machine["load_average_after"] = os.getloadavg()
    print_results(results)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "property.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {out}")
    return 0


def print_results(results: dict[str, Any]) -> None:
    kit = results["kit"]
    plain_unit, plain_stateful = results["plain_unit"], results["plain_stateful"]
    print("property phase: the kit vs plain `schemathesis run` (same config, fresh sandboxes)")
    load = results["machine"]
    print(
        f"  load average (1 min) {load['load_average_before'][0]:.1f} before, "
        f"{load['load_average_after'][0]:.1f} after, on {load['cpus']} CPUs"
    )
    rows = [
        ("plain: examples+coverage+fuzzing", plain_unit["wall_s"], plain_unit["requests"]),
        ("kit:   examples+coverage+fuzzing", kit["unit"]["wall_s"], kit["unit"]["requests"]),
        ("plain: stateful", plain_stateful["wall_s"], plain_stateful["requests"]),
        ("kit:   stateful", kit["stateful"]["wall_s"], kit["stateful"]["requests"]),
    ]
    for label, wall, requests in rows:
        print(f"  {label:<36} {wall:6.1f} s wall  {requests:>6} requests")
    plain_wall = plain_unit["wall_s"] + plain_stateful["wall_s"]
    plain_cpu = plain_unit["cpu_s"] + plain_stateful["cpu_s"]
    plain_requests = plain_unit["requests"] + plain_stateful["requests"]
    kit_requests = kit["unit"]["requests"] + kit["stateful"]["requests"]
    print(
        f"  plain, both runs (processes)         {plain_wall:6.1f} s wall  {plain_cpu:5.1f} s CPU"
        f"  {plain_requests:>6} requests"
    )
    print(
        f"  kit, both calls (one process)        {kit['wall_s']:6.1f} s wall  "
        f"{kit['cpu_s']:5.1f} s CPU  {kit_requests:>6} requests (import {kit['import_s']:.1f} s)"
    )
    ratios = {
        "wall": kit["wall_s"] / plain_wall,
        "cpu": kit["cpu_s"] / plain_cpu,
        "requests": kit_requests / max(1, plain_requests),
        "wall_per_request": (kit["wall_s"] / max(1, kit_requests))
        / (plain_wall / max(1, plain_requests)),
    }
    results["ratios"] = ratios
    print(
        f"  kit / plain (goal: wall under 1.2): wall x{ratios['wall']:.2f},"
        f" CPU x{ratios['cpu']:.2f}, requests x{ratios['requests']:.2f},"
        f" wall per request x{ratios['wall_per_request']:.2f}"
    )
    if kit["errors"]:
        print(f"  kit errors: {kit['errors'][:3]}")
    cli = results.get("kit_cli")
    if cli:
        area = cli["areas_s"].get("property-based")
        print(
            f"  kit CLI, --no-model-based --only <property ids>: {cli['wall_s']:.1f} s wall, "
            f"{cli['cpu_s']:.1f} s CPU, {cli['requests']} requests, property-based area "
            f"{area} s, {cli['verdict']}"
        )


if __name__ == "__main__":
    sys.exit(main())
