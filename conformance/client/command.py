"""`fulfillment-conformance client`: the client check from the command line, for an ERP team's CI.

Without `--base-url` it starts the bundled sandbox once per chaos profile (a subprocess, by module
name: the kit never imports the sandbox) and runs the day against each, so a failure names the
profile that exposed it. With `--base-url` it runs one day against a sandbox already started with
`fulfillment-sandbox --chaos ...`. Exit 0 when every rule passed or was not exercised, 1 when one
failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.client.adapter import AdapterFactory, load_factory
from conformance.client.run import check_client
from conformance.errors import KitError

# The sandbox's chaos profiles, named here because the kit cannot import the sandbox; an unknown
# name is refused by the sandbox itself at start-up.
PROFILES = (
    "throttle",
    "latency",
    "drop-after-commit",
    "flaky-reads",
    "moving-rows",
    "webhook-duplicates",
)


def add_parser(commands: Any) -> None:
    client = commands.add_parser(
        "client", help="prove an ERP client robust against the sandbox in chaos mode"
    )
    client.add_argument("--adapter", required=True, help="module:factory of your client's adapter")
    client.add_argument(
        "--chaos",
        default="all",
        metavar="PROFILE[,PROFILE]",
        help=f"profiles to run the day under, one sandbox each: {', '.join(PROFILES)} or all",
    )
    client.add_argument("--chaos-seed", type=int, default=1, help="seed of the chaos and the day")
    client.add_argument("--orders", type=int, default=10, help="orders in the day (default 10)")
    client.add_argument(
        "--base-url", help="a running chaos sandbox (…/v1) instead of the bundled one"
    )
    client.add_argument("--token", help="its bearer token (or CONFORMANCE_TOKEN)")
    client.add_argument("--report-json", help="write every result here")


@contextmanager
def bundled_sandbox(profile: str, seed: int) -> Iterator[str]:
    from conformance.cli import _free_port, _wait_ready, stop_process

    with tempfile.TemporaryDirectory(prefix="fulfillment-sandbox-chaos-") as tmp:
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        log = Path(tmp) / "sandbox.log"
        command = [sys.executable, "-m", "fulfillment_sandbox", "--port", str(port)]
        command += ["--db", str(Path(tmp) / "chaos.db"), "--log-level", "critical"]
        command += ["--chaos", profile, "--chaos-seed", str(seed)]
        with log.open("wb") as log_file:
            proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, base_url, log)
            yield base_url
        finally:
            stop_process(proc)


def describe(name: str, result: dict[str, Any]) -> list[str]:
    f = result["figures"]
    faults = ", ".join(f"{k}={v}" for k, v in sorted(result["chaos"].get("faults", {}).items()))
    lines = [
        f"{name}: {result['verdict']}: orders {f['orders']}, shipments {f['shipments']}"
        f" ({f['shipment_rows_seen']} rows seen), duplicates {f['duplicates']},"
        f" lost {f['lost']}, {f['seconds']} s; faults: {faults or 'none'}"
    ]
    for outcome in result["outcomes"]:
        if outcome["outcome"] != "passed":
            lines.append(f"  {outcome['id']} {outcome['outcome']}: {outcome['title']}")
            lines += [f"    {line}" for line in outcome["evidence"]]
    return lines


def command_client(args: argparse.Namespace) -> int:
    try:
        factory = load_factory(args.adapter)
        profiles = PROFILES if args.chaos == "all" else tuple(args.chaos.split(","))
        results = _run(factory, args, profiles)
    except KitError as exc:
        print(f"fulfillment-conformance: {exc}", file=sys.stderr)
        return 2
    for name, result in results.items():
        print("\n".join(describe(name, result)), flush=True)
    if args.report_json:
        Path(args.report_json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"JSON report: {args.report_json}")
    return 1 if any(r["verdict"] == "failed" for r in results.values()) else 0


def _run(
    factory: AdapterFactory, args: argparse.Namespace, profiles: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    seed, orders = args.chaos_seed, args.orders
    if args.base_url:
        token = args.token or os.environ.get("CONFORMANCE_TOKEN")
        if not token:
            raise KitError("--base-url needs --token (or CONFORMANCE_TOKEN)")
        return {
            args.base_url: check_client(factory, args.base_url, token, orders=orders, seed=seed)
        }
    if importlib.util.find_spec("fulfillment_sandbox") is None:
        raise KitError(
            "the client check needs the sandbox: pip install 'fulfillment-conformance[sandbox]'"
        )
    from conformance.cli import DEMO_TOKENS

    results = {}
    for profile in profiles:
        with bundled_sandbox(profile, seed) as base_url:
            token = DEMO_TOKENS["acme"]
            results[profile] = check_client(factory, base_url, token, orders=orders, seed=seed)
    return results
