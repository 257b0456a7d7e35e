"""The kit as its users run it: again and again against one long-lived sandbox, interrupted with
Ctrl-C, and read by a person when something fails.

The sandbox here is a separate process on one database for the whole module, as a vendor's
sandbox is: whatever one run leaves behind, the next run meets.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import fulfillment_spec
import httpx
import pytest

from conformance.cli import stop_process
from tests.kit import broken_orders as broken
from tests.kit.conftest import ACME_TOKEN, GLOBEX_TOKEN
from tests.kit.harness import kit_env, outcome, run_kit
from tests.live_server import free_port, serve

fulfillment_sandbox_app = pytest.importorskip("fulfillment_sandbox.app")
pytestmark = pytest.mark.timeout(3600)

RUNS = 3


@pytest.fixture(scope="module")
def long_lived_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`fulfillment-sandbox` in its own process, one database for every run of this module."""
    workdir = tmp_path_factory.mktemp("long-lived")
    port = free_port()
    log = (workdir / "sandbox.log").open("wb")
    command = [sys.executable, "-m", "fulfillment_sandbox", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(workdir / "sandbox.db"), "--log-level", "warning"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=kit_env())
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if listed_hooks(base_url, ACME_TOKEN) is not None:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base_url
    finally:
        stop_process(proc)
        log.close()


def listed_hooks(base_url: str, token: str, *, probe: bool = False) -> list[dict[str, Any]]:
    """The partner's subscriptions; `probe` marks the request as the test's own (never held)."""
    headers = {"Authorization": f"Bearer {token}"}
    if probe:
        headers["X-Test-Probe"] = "1"
    resp = httpx.get(f"{base_url}/webhooks", params={"limit": 100}, headers=headers, timeout=10)
    resp.raise_for_status()
    rows: list[dict[str, Any]] = resp.json()["data"]
    return rows


def every_partners_hooks(base_url: str) -> list[dict[str, Any]]:
    return [*listed_hooks(base_url, ACME_TOKEN), *listed_hooks(base_url, GLOBEX_TOKEN)]


def not_passed(report: dict[str, Any]) -> dict[str, str]:
    return {
        entry["id"]: f"{entry['outcome']}: {entry['message'][:300]}"
        for entry in report["requirements"]
        if entry["outcome"] not in ("passed", "not_exercised")
    }


def test_three_consecutive_full_runs_against_one_sandbox_are_all_conformant(
    long_lived_sandbox: str, tmp_path: Path
) -> None:
    """Each run removes the subscriptions it made (the property-based ones included), so the
    next run's webhook checks are not queued behind deliveries to dead receivers."""
    seconds: list[float] = []
    for run in range(1, RUNS + 1):
        started = time.monotonic()
        result = run_kit(
            long_lived_sandbox,
            ACME_TOKEN,
            second_token=GLOBEX_TOKEN,
            profiles=("all",),
            extra_args=["--seed", str(run)],
            tmp_path=tmp_path,
            warm=False,  # the kit as its users run it: the command, a process of its own
        )
        seconds.append(time.monotonic() - started)
        assert result.exit_code == 0 and result.report["verdict"] == "conformant", (
            f"run {run} of {RUNS}: expected conformant, got {result.report.get('verdict')}:"
            f" {not_passed(result.report)} {result.stderr[-1500:]}"
        )
        left = every_partners_hooks(long_lived_sandbox)
        assert left == [], f"run {run} left {len(left)} subscriptions: {left[:3]}"
        assert result.report["cleanup"]["left"] == []
    ratio = seconds[-1] / seconds[0]
    print(f"\n{RUNS} full runs: {', '.join(f'{s:.1f} s' for s in seconds)}; last/first {ratio:.2f}")


class HoldsTheRunOnceSubscribed:
    """The sandbox, but once the run has a webhook subscription its next request is held until
    the test has pressed Ctrl-C: the interrupt lands mid-run, never in the run's own end-of-run
    sweep (on a loaded machine a listing could see the subscriptions just before the sweep)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.subscribed = threading.Event()
        self.holding = threading.Event()
        self.interrupted = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        is_test = scope["type"] == "http" and (b"x-test-probe", b"1") in scope["headers"]
        if scope["type"] == "http" and not is_test and self.subscribed.is_set():
            self.holding.set()
            for _ in range(600):
                if self.interrupted.is_set():
                    break
                await asyncio.sleep(0.05)
        creates_hook = scope["type"] == "http" and scope["method"] == "POST"
        creates_hook = creates_hook and scope["path"].rstrip("/").endswith("/webhooks")

        async def watch(message: Any) -> None:
            started = message["type"] == "http.response.start"
            if creates_hook and started and message["status"] == 201:
                self.subscribed.set()
            await send(message)

        await self.app(scope, receive, watch)


def test_an_interrupted_run_still_cleans_up_and_says_what_it_left(tmp_path: Path) -> None:
    """Ctrl-C while the run has subscriptions on the target: they are deleted, exit 2."""
    server = HoldsTheRunOnceSubscribed(fulfillment_sandbox_app.create_app(str(tmp_path / "db")))
    with serve(server) as url:
        base_url = f"{url}/v1"
        command = [sys.executable, "-m", "conformance", "run", "--base-url", base_url]
        command += ["--profile", "webhooks", "--no-property-based"]
        command += ["--report-json", str(tmp_path / "interrupted.json")]
        env = kit_env({"CONFORMANCE_TOKEN": ACME_TOKEN, "CI": "true"})
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        # A test worker (pytest-xdist) may ignore SIGINT, and a child inherits an ignored signal:
        # the run gets Ctrl-C's default back, as it has in a terminal.
        proc = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            **pipes,
        )
        try:
            deadline = time.monotonic() + 180
            while not server.holding.wait(0.1):
                assert proc.poll() is None, f"the run ended before it subscribed: {proc.stderr}"
                assert time.monotonic() < deadline, "the run never subscribed a receiver"
            assert listed_hooks(base_url, ACME_TOKEN, probe=True), "held, but nothing subscribed"
            proc.send_signal(signal.SIGINT)
            time.sleep(0.5)  # the signal is in before the held request is answered
            server.interrupted.set()
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            server.interrupted.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 2, f"expected exit 2, got {proc.returncode}: {stderr[-1500:]}"
        assert "interrupted" in stderr
        assert "interrupted: the outcomes above" in stdout, stdout[-1500:]
        assert listed_hooks(base_url, ACME_TOKEN, probe=True) == []
    report = json.loads((tmp_path / "interrupted.json").read_text(encoding="utf-8"))
    assert report["interrupted"] is True and report["cleanup"]["left"] == []
    # The check that made the subscription may have deleted it itself as it unwound; what the
    # end-of-run sweep deleted, the console says.
    if report["cleanup"]["webhooks_deleted"]:
        assert "cleanup:" in stdout, stdout[-1500:]


def test_a_failed_rule_carries_its_evidence_in_every_report(tmp_path: Path) -> None:
    """A person reading the report gets the request, the response and a curl line; the console
    block fits 100 columns and shows no traceback; JUnit holds every requirement id."""
    app = fulfillment_sandbox_app.create_app(str(tmp_path / "sandbox.db"))
    junit = tmp_path / "junit.xml"
    html = tmp_path / "report.html"
    with serve(broken.MissingShipToAccepted(app)) as url:
        result = run_kit(
            f"{url}/v1",
            ACME_TOKEN,
            extra_args=[
                *("--only", "ORD-007", "--no-property-based"),
                *("--junitxml", str(junit), "--report-html", str(html)),
            ],
            tmp_path=tmp_path,
        )
    report = result.report
    assert outcome(report, "ORD-007") == "failed"
    assert report["verdict"] == "partial" and result.exit_code == 1
    entry = next(e for e in report["requirements"] if e["id"] == "ORD-007")
    assert entry["evidence"], f"expected evidence for ORD-007, got none: {entry}"
    item = entry["evidence"][0]
    assert item["request"]["method"] == "POST" and "/orders" in item["request"]["url"]
    assert item["response"]["status"] == 201
    assert item["curl"].startswith("curl -X POST")
    assert ACME_TOKEN not in json.dumps(report) + result.stdout + result.stderr

    lines = result.stdout.splitlines()
    assert "Traceback" not in result.stdout + result.stderr
    # A path the user gave (the report's) is printed whole, however long the directory is.
    too_wide = [line for line in lines if len(line) > 100 and str(tmp_path) not in line]
    assert not too_wide, f"expected lines of at most 100 columns, got {too_wide[:3]}"
    assert any("ORD-007" in line for line in lines)

    ids = {
        case.get("name", "").split(" ", 1)[0] for case in ElementTree.parse(junit).iter("testcase")
    }
    catalogue = {entry["id"] for entry in fulfillment_spec.load_requirements()}
    assert catalogue <= ids, f"JUnit lacks {sorted(catalogue - ids)[:5]}"
    assert ACME_TOKEN not in junit.read_text(encoding="utf-8")
    assert "ORD-007" in html.read_text(encoding="utf-8")


def test_a_partial_run_that_passes_exits_0_and_is_not_a_certificate(
    sandbox_url: str, tmp_path: Path
) -> None:
    result = run_kit(
        sandbox_url,
        ACME_TOKEN,
        extra_args=["--only", "ORD-007", "--no-property-based"],
        tmp_path=tmp_path,
    )
    assert result.exit_code == 0, result.stderr[-1500:]
    assert result.report["verdict"] == "partial"
    assert outcome(result.report, "ORD-007") == "passed"
    assert "PARTIAL" in result.stdout


def test_plain_pytest_still_gets_the_summary(sandbox_url: str, tmp_path: Path) -> None:
    """The plugin under plain pytest (no CLI): pytest's own output plus the kit's summary."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--pyargs", "conformance.checks.test_reference_data"),
            *("-q", "-p", "no:cacheprovider", "--conformance-base-url", sandbox_url),
        ],
        capture_output=True,
        text=True,
        env=kit_env({"CONFORMANCE_TOKEN": ACME_TOKEN}),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "== conformance: requirements ==" in done.stdout, done.stdout[-2000:]
