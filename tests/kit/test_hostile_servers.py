"""No crashes, no hangs, no leaks: the kit against hostile servers (tests/kit/hostile.py).

For each, `fulfillment-conformance run` (a subprocess with a bounded --timeout, itself bounded by
the subprocess timeout) ends either with a clean report whose requirements say what broke (exit 1)
or with exit 2 and ONE sentence on stderr. Never a Python traceback, never a hang, and the token
never appears in stdout, stderr, the JSON or HTML report or the JUnit file. A redirect to another
host never carries the token there (a second local server records every Authorization header).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.kit import hostile as h
from tests.kit.gallery import parallel
from tests.kit.harness import KitResult, run_kit
from tests.live_server import serve

# Each test runs the kit in a subprocess (bounded itself); the default 300 s is too tight.
pytestmark = pytest.mark.timeout(3600)

SECRET = "wms_hostile_secret_7f3a9c2e51"
SECOND = "wms_hostile_second_b81d04aa76"
KIT_TIMEOUT = "3"  # seconds per request
SUBPROCESS_TIMEOUT = {"config": 120, "report": 600}


@contextmanager
def hostile_server(case: h.Hostile, tmp_path: Path, recorder: h.AuthRecorder) -> Iterator[str]:
    """Start the case's server(s); yield the base URL the kit gets (ending in /v1)."""
    with ExitStack() as stack:
        if case.kind == "raw":
            url = stack.enter_context(h.raw_server(h.RAW_HANDLERS[case.name]))
        elif case.kind == "asgi":
            url = stack.enter_context(serve(h.ASGI_APPS[case.name]))
        elif case.kind == "redirect":
            other = stack.enter_context(serve(recorder))
            url = stack.enter_context(serve(h.RedirectEverywhere(other)))
        else:
            from fulfillment_sandbox.app import create_app

            app = create_app(
                str(tmp_path / "sandbox.db"), partners={"acme": SECRET, "globex": SECOND}
            )
            if case.kind == "redirect-wrapper":
                other = stack.enter_context(serve(recorder))
                url = stack.enter_context(serve(h.RedirectsOrders(app, other)))
            else:
                url = stack.enter_context(serve(h.WRAPPERS[case.name](app)))
        yield f"{url}/v1"


def run_against(base_url: str, case: h.Hostile, tmp_path: Path) -> tuple[KitResult, list[Path]]:
    html, junit = tmp_path / "report.html", tmp_path / "junit.xml"
    result = run_kit(
        base_url,
        SECRET,
        extra_args=[
            "--no-property-based",
            "--timeout",
            # The hanging server costs one timeout per GET /orders/{id}: keep that one short.
            "1" if case.name == "hangs-on-orders" else KIT_TIMEOUT,
            "--report-html",
            str(html),
            "--junitxml",
            str(junit),
        ],
        tmp_path=tmp_path,
        timeout=SUBPROCESS_TIMEOUT[case.ends],
    )
    files = [path for path in (result.report_path, html, junit) if path and path.exists()]
    return result, files


def assert_no_leak_no_traceback(result: KitResult, files: list[Path]) -> None:
    for where, text in [("stdout", result.stdout), ("stderr", result.stderr)] + [
        (str(path.name), path.read_text(encoding="utf-8", errors="replace")) for path in files
    ]:
        assert SECRET not in text, f"expected the token nowhere, got it in {where}"
        assert "Traceback (most recent call last)" not in text, (
            f"expected no Python traceback, got one in {where}: {text[-2000:]}"
        )


def assert_clean_ending(case: h.Hostile, result: KitResult) -> None:
    if case.ends == "config":
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 2, (
            f"expected exit 2 on {case.name}, got {result.exit_code}: {result.stderr[-1500:]}"
        )
        assert len(lines) == 1 and lines[0].startswith("fulfillment-conformance: "), (
            f"expected one sentence on stderr, got {result.stderr!r}"
        )
        assert lines[0].rstrip().endswith((".", ")", "?")) or len(lines[0]) < 300
    else:
        assert result.exit_code == 1, (
            f"expected exit 1 (a report with failed requirements) on {case.name},"
            f" got {result.exit_code}: {result.stderr[-1500:]}"
        )
        report = result.report
        # --no-property-based: a partial run, which still exits 1 when a MUST it ran failed.
        assert report.get("verdict") == "partial"
        failed = [e for e in report["requirements"] if e["outcome"] == "failed"]
        assert failed, f"expected failed requirements on {case.name}, got {report['summary']}"
        for entry in failed:
            assert entry["message"].strip(), f"expected a message for {entry['id']}"


def run_case(case: h.Hostile, tmp_path: Path) -> tuple[KitResult, list[Path], h.AuthRecorder]:
    """The kit against the case's server(s), and what the other host of a redirect saw."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    recorder = h.AuthRecorder()
    with hostile_server(case, tmp_path, recorder) as base_url:
        result, files = run_against(base_url, case, tmp_path)
    return result, files, recorder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case once, all started together (most of them wait on a timeout); keyed by name."""
    root = tmp_path_factory.mktemp("hostile")
    return parallel(
        {case.name: functools.partial(run_case, case, root / case.name) for case in h.HOSTILE}
    )


@pytest.mark.parametrize("case", h.HOSTILE, ids=str)
def test_kit_ends_cleanly_against_hostile_server(case: h.Hostile, runs: dict[str, Any]) -> None:
    result, files, recorder = runs[case.name]
    assert_no_leak_no_traceback(result, files)
    assert_clean_ending(case, result)
    if case.kind.startswith("redirect"):
        leaked = [value for value in recorder.authorizations if SECRET in value]
        assert not leaked and recorder.requests == 0, (
            f"expected nothing sent to the other host, got {recorder.requests} requests"
            f" ({len(leaked)} with the token)"
        )
