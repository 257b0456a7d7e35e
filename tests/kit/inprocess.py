"""The kit's CLI run inside the test process: pytester's `runpytest_inprocess`, for the kit.

`conformance.cli.main(args)` runs in this process with the run's environment and working
directory, its stdout and stderr captured, and gives what `harness.run_cli` gives. Afterwards the
check modules (`conformance.checks.*`) are dropped from `sys.modules` (pytester's
`SysModulesSnapshot` idea, narrowed to them), so every run imports and assertion-rewrites them
afresh, as a subprocess would. Everything else the run imported stays: a warm process is the
point.

Why: a fork (tests/kit/warm_kit.py) or a subprocess runs the check code where neither a
debugger nor a mutation tester can see it. mutmut (`nox -s mutation_checks`) records which test
reaches which function in this process, and switches a mutant on through `MUTANT_UNDER_TEST`
here too. `KIT_RUNNER=inprocess` makes `harness.run_kit` use it, the galleries unchanged.

The environment, working directory and standard streams are the process's own, so runs cannot
overlap: a lock makes the galleries' parallel runs take turns (their servers still run
alongside, in threads). There is no timeout: the test's own (pytest-timeout) is the bound.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

CHECKS_PACKAGE = "conformance.checks"

_one_run_at_a_time = threading.Lock()


@contextlib.contextmanager
def _process_state(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """The run's whole environment and working directory, the caller's back afterwards."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def drop_check_modules() -> list[str]:
    """Forget the imported check modules, so the next run imports them again; their names."""
    dropped = [
        name
        for name in list(sys.modules)
        if name == CHECKS_PACKAGE or name.startswith(CHECKS_PACKAGE + ".")
    ]
    for name in dropped:
        del sys.modules[name]
    return dropped


def run_cli_inprocess(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`python -m conformance <args>` as harness.run_cli runs it (`env` is the whole
    environment), in this process: exit code, stdout and stderr."""
    from conformance.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _one_run_at_a_time, _process_state(env, cwd):
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(list(args))
                except SystemExit as exc:  # argparse's usage errors, as `python -m` would exit
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            drop_check_modules()
    return subprocess.CompletedProcess(["conformance", *args], code, out.getvalue(), err.getvalue())
