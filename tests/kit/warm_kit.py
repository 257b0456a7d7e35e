"""The kit's CLI in a process forked from a warm one: the galleries' way to run the kit cheaply.

A kit subprocess spends about 0.7 s of CPU importing pytest, httpx, jsonschema, Hypothesis and
the kit's own modules before it checks anything; the suite starts some 160 of them. Here a
multiprocessing fork server imports them once (per pytest worker) and each run is a fork of it:
a process of its own (own environment, working directory, stdout and stderr files, exit code),
running `conformance.cli.main` exactly as `python -m conformance` does, only without the imports.
The check modules are preloaded too, by pytest's own collection in the fork server
(tests/kit/warm_checks.py: imported and assertion-rewritten once, not in each run);
WARM_KIT_CHECKS=0 leaves them to each run, as in a subprocess (to compare the two). Tests about
the command itself (tests/kit/test_framework_cli.py, test_repeatable_runs.py,
test_hermetic_run.py) keep the real subprocess (harness.run_cli).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path

# What `python -m conformance run` imports before it checks anything (never the sandbox), then
# the check modules through pytest's collection, which rewrites their assertions.
PRELOAD = [
    "pytest",
    "_pytest.assertion.rewrite",
    "httpx",
    "jsonschema",
    "yaml",
    "hypothesis",
    "fulfillment_spec",
    "conformance.cli",
    "conformance.plugin",
    "conformance.fixtures",
    "conformance.driver",
    "conformance.factories",
    "conformance.scenarios",
    "conformance.model.machine",
    "conformance.reports.html_report",
    "conformance.webhook_receiver",
]
if os.environ.get("WARM_KIT_CHECKS", "1") != "0":
    PRELOAD.append("tests.kit.warm_checks")
# Last: fills the caches every run fills first, then freezes the heap (tests/kit/warm_heap.py).
PRELOAD.append("tests.kit.warm_heap")

_lock = threading.Lock()
_context: ForkServerContext | None = None


def _forkserver() -> ForkServerContext:
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def _main_in_child(args: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """A forked child: the run's environment, directory and output files, then the CLI."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = [sys.executable, "-m", "conformance", *args]
    code = 1
    try:
        from conformance.cli import main

        code = main(args)
    except SystemExit as exc:  # argparse's usage errors, as `python -m` would exit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # No interpreter teardown: the fork server's state is not this run's to clean up.
        os._exit(code)


def _new_file(directory: Path, prefix: str) -> Path:
    handle, path = tempfile.mkstemp(prefix=prefix, suffix=".txt", dir=directory)
    os.close(handle)
    return Path(path)


def run_cli_warm(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`python -m conformance <args>` as harness.run_cli runs it (`env` is the whole
    environment), forked from the warm fork server; TimeoutExpired after `timeout` seconds."""
    out, err = (_new_file(cwd, f"kit-{name}-") for name in ("stdout", "stderr"))
    child = _forkserver().Process(
        target=_main_in_child,
        args=(list(args), dict(env), str(cwd), str(out), str(err)),
        name="conformance-kit",
    )
    child.start()
    child.join(timeout)
    if child.exitcode is None:
        child.kill()
        child.join()
        raise subprocess.TimeoutExpired(["conformance", *args], timeout)
    code = child.exitcode
    child.close()
    return subprocess.CompletedProcess(
        ["conformance", *args],
        code,
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
    )


def stop() -> None:
    """Stop the fork server and reap it, so its runs' CPU is counted as this process's children
    (as a subprocess's is), not lost with an orphan."""
    from multiprocessing import forkserver

    with _lock:
        if _context is not None:
            forkserver._forkserver._stop()  # type: ignore[attr-defined]
