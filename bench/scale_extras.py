"""bench_scale's measurements beyond polling latency: lookup throughput, webhook delivery latency
and a whole kit run, each against a sandbox already serving a seeded history.

The webhook latency is from the API call that changes state to the delivery's arrival at a
receiver in this process (loopback, no backlog: bench_delivery measures it under one). The kit
run is `python -m conformance run` as a user runs it; its figures are read from its own report
and its console summary, so nothing here reaches into the kit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from bench_delivery import HealthyReceiver, subscribe

ROOT = Path(__file__).resolve().parents[1]
TOKENS = {"acme": "wms_test_acme_token", "globex": "wms_test_globex_token"}
# One line per area in the kit's console summary: "webhooks: 30 checks, 30 passed, 10.5 s".
AREA_LINE = re.compile(r"^([a-z][a-z-]*): (\d+) checks?, .*?([\d.]+) s$")


def client(base: str, partner: str = "acme") -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[partner]}"}
    return httpx.Client(base_url=base, headers=headers, timeout=60, trust_env=False)


def get_throughput(base: str, clients: int, total: int, order_ids: list[str]) -> float:
    """GET /orders/{id} per second from `clients` concurrent clients, ids taken in turn."""

    def worker(start: int) -> None:
        with client(base) as http:
            for n in range(total // clients):
                order_id = order_ids[(start + n * clients) % len(order_ids)]
                response = http.get(f"/orders/{order_id}")
                assert response.status_code == 200, response.text

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return (total // clients * clients) / (time.perf_counter() - started)


def webhook_latencies(bases: list[str], rounds: int) -> list[list[float]]:
    """For each sandbox, seconds from each POST /sandbox/inventory-adjustments to its
    inventory.adjusted delivery at a healthy receiver of its own, one change at a time; the
    sandboxes take turns, so that whatever else the machine is doing weighs on each alike."""
    with contextlib.ExitStack() as stack:
        rigs = [stack.enter_context(_webhook_rig(base)) for base in bases]
        latencies: list[list[float]] = [[] for _ in bases]
        for n in range(1, rounds + 1):
            for (http, receiver, change), into in zip(rigs, latencies, strict=True):
                started = time.perf_counter()
                response = http.post("/sandbox/inventory-adjustments", json=change)
                assert response.status_code == 201, response.text
                into.append(receiver.wait_for(n, timeout=60) - started)
    return latencies


@contextlib.contextmanager
def _webhook_rig(base: str) -> Iterator[tuple[httpx.Client, HealthyReceiver, dict[str, Any]]]:
    """A receiver subscribed to inventory.adjusted, a client, and a change that fires it."""
    receiver = HealthyReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        with client(base) as http:
            subscribe(http, receiver.url, ["inventory.adjusted"])
            sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
            stock = {"sku": sku, "warehouse_id": "wh_syd_1", "on_hand": 1000}
            assert http.post("/sandbox/inventory", json=stock).status_code == 200
            change = {"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 1}
            yield http, receiver, {**change, "reason": "found"}
    finally:
        receiver.shutdown()


def kit_run(base: str, kit_args: list[str]) -> dict[str, Any]:
    """One `conformance run` against `base`: wall and CPU seconds, requests made, the verdict
    and the seconds of each area as its console summary gives them."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "kit.json"
        command = [sys.executable, "-m", "conformance", "run", "--base-url", base]
        command += ["--second-token", TOKENS["globex"], "--report-json", str(report), *kit_args]
        env = {**os.environ, "CONFORMANCE_TOKEN": TOKENS["acme"]}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if not report.exists():
            raise RuntimeError(f"the kit wrote no report (exit {done.returncode}):\n{done.stderr}")
        body = json.loads(report.read_text())
    areas = {}
    for line in done.stdout.splitlines():
        found = AREA_LINE.match(line.strip())
        if found:
            areas[found[1]] = float(found[3])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "requests": body["requests_made"],
        "verdict": body["verdict"],
        "areas_s": areas,
        "model_phase_s": (body.get("phases", {}).get("model_based") or {}).get("seconds"),
    }


def print_kit_runs(runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Prints each run and the ratios of the last to the first (goal: wall under 1.2)."""
    for label, run in runs.items():
        print(
            f"  kit run, {label:<22} {run['wall_s']:6.1f} s wall, {run['cpu_s']:5.1f} s CPU, "
            f"{run['requests']:>5} requests, {run['verdict']}"
        )
        areas = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run["areas_s"].items())
        print(f"    by area (s): {areas}")
    ordered = list(runs.values())
    first, last = ordered[0], ordered[-1]
    ratios = {
        "wall": last["wall_s"] / first["wall_s"],
        "cpu": last["cpu_s"] / first["cpu_s"],
        "requests": last["requests"] / max(1, first["requests"]),
    }
    names = list(runs)
    print(
        f"  kit run {names[-1]} / {names[0]} (goal: under 1.2): wall x{ratios['wall']:.2f}, "
        f"CPU x{ratios['cpu']:.2f}, requests x{ratios['requests']:.2f}"
    )
    return ratios
