"""Every job the project runs, one session each; dependencies come from pyproject.toml.

`nox -l` lists them. CI (`.ci/run`) runs `lint`, `typecheck`, `tests` and `demo`; the others are for
people (`docs`) or too slow for every commit (`slow`, `bench`, `mutation`, `mutation_checks`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True
# uv builds each session's environment in seconds where pip takes about a minute (three sessions
# in CI); without uv installed, nox falls back to virtualenv and pip.
nox.options.default_venv_backend = "uv|virtualenv"

PYTHON = "3.11"
ROOT = Path(__file__).resolve().parent
SOURCES = ["spec", "conformance", "examples", "tests", "bench", "noxfile.py", "scripts"]


def _install(session: nox.Session, extras: str = "sandbox,dev") -> None:
    session.install("-e", f".[{extras}]")


def _install_redocly(session: nox.Session) -> None:
    """The spec lint needs @redocly/cli, the offline reference Redoc's bundle, the
    breaking-change check Optic and the TypeScript generator and compiler, all from npm; skip
    quietly where there is no npm."""
    if shutil.which("npm") is None:
        session.warn("npm not found: the Redocly and reference tests skip (they fail under CI)")
        return
    needed = [
        ROOT / "node_modules" / ".bin" / "redocly",
        ROOT / "node_modules" / "redoc",
        ROOT / "node_modules" / ".bin" / "optic",  # the breaking-change check (decision 44)
        ROOT / "node_modules" / ".bin" / "openapi-typescript",  # the second generator
        ROOT / "node_modules" / ".bin" / "tsc",
    ]
    if not all(path.exists() for path in needed):
        session.run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", external=True)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting, over every Python file."""
    session.install("ruff")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy over the packages (the spec loader, the kit, the sandbox, the ERP client)."""
    _install(session)
    session.run(
        "mypy", "spec", "conformance", "examples/fulfillment_sandbox", "examples/erp_client"
    )


@nox.session(python=PYTHON)
def spec(session: nox.Session) -> None:
    """The contract alone: both validators, every example, catalogue cross-references."""
    _install(session)
    _install_redocly(session)
    session.run("pytest", "tests/spec", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite but the `slow` tests: spec, sandbox, kit, broken, legal and hostile
    servers."""
    _install(session)
    _install_redocly(session)
    # Six workers on two cores: most of the suite's wall time is waiting (kit runs against
    # sandboxes, webhook deliveries), which other modules' work fills. Measured on a fresh clone:
    # 1,450 tests in 919 s with four workers, 731 s with six, at about the same CPU. One module
    # per worker, so a gallery's module fixture (its kit runs) runs once. TEST_WORKERS=0 runs in
    # one process.
    workers = os.environ.get("TEST_WORKERS", "6")
    parallel = ["-n", workers, "--dist", "loadfile"] if workers != "0" else []
    session.run("pytest", "-m", "not slow", *parallel, *session.posargs)


@nox.session(python=PYTHON)
def slow(session: nox.Session) -> None:
    """The tests too slow for every commit (the kit against a 120 requests/minute server)."""
    _install(session)
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: the kit against the bundled sandbox, every profile, reports in ./reports."""
    _install(session, "sandbox")
    args = session.posargs or ["--output-dir", "reports"]
    session.run("fulfillment-conformance", "demo", *args)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The one-page API reference (Redoc, self-contained: it works offline) and the requirement
    tables, into ./docs/build."""
    _install(session)
    _install_redocly(session)
    out = ROOT / "docs" / "build"
    out.mkdir(parents=True, exist_ok=True)
    session.run("python", "scripts/build_reference.py", "--output", str(out / "api-reference.html"))
    session.run("python", "scripts/catalogue_docs.py", "--output", str(out / "requirements.md"))


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Sandbox throughput, webhook delivery latency, polling latency at 1 k and 1 M orders and
    the kit's run against both (bench_scale: tens of minutes, 2 GB of disk); prints figures,
    writes bench/results/*.json, asserts nothing."""
    _install(session)
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Mutmut over the kit's judgement code, killed by its unit tests (slow: not in CI)."""
    _install(session)
    session.install("mutmut")
    # mutmut maps mutants to the tests that run them in-process: pyproject's [tool.mutmut] is the
    # code those reach. The scenario checks are `mutation_checks` (galleries run in-process).
    env = {"PYTHONHASHSEED": "0", "CI": os.environ.get("CI", "")}
    session.run("mutmut", "run", env=env)
    session.run("mutmut", "results", env=env)


# mutation_checks builds on mutmut's internals (its mutant names, its state): one version.
MUTMUT = "mutmut==3.8.1"
MUTATION_CHECKS_DIR = ROOT / "build" / "mutation-checks"


@nox.session(python=PYTHON)
def mutation_checks(session: nox.Session) -> None:
    """Mutmut over the scenario checks, killed by the broken-server galleries run in-process
    (hours for every mutant: overnight, not in CI). `-- --sample N [--seed S]`: a seeded random
    sample of N mutants instead; other arguments go to `mutmut run` (mutant names or globs)."""
    _install(session)
    session.install(MUTMUT)
    args = list(session.posargs)
    workdir = str(MUTATION_CHECKS_DIR)
    if "--sample" in args:
        # scripts/mutation_workdir.py prepares the work directory and prints the sample.
        out = session.run("python", "scripts/mutation_workdir.py", workdir, *args, silent=True)
        args = str(out).split()
    else:
        session.run("python", "scripts/mutation_workdir.py", workdir)
    # The galleries' kit runs in this process (tests/kit/inprocess.py), where mutmut sees them.
    env = {"PYTHONHASHSEED": "0", "KIT_RUNNER": "inprocess", "CI": os.environ.get("CI", "")}
    session.chdir(workdir)
    session.run("mutmut", "run", *args, env=env)
    session.run("mutmut", "results", env=env)
