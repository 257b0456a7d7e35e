"""`fulfillment-conformance run|demo|client`: a preflight, then pytest over `conformance.checks`.

`run` is a contract for CI scripts: exit 0 when no MUST requirement of a claimed profile
failed or was skipped, 1 when one did, 2 for a usage or configuration error, said in one sentence
on stderr and never as a traceback. The preflight catches the common mistakes (a bad URL, an
unreachable host, a refused token, a URL that is not the API) before any check runs. The pytest
run gets the configuration as an object (`plugin.GivenSettings`), never through its argv or the
environment: no token in `os.environ`, so none in a subprocess the run starts. `demo` starts the
bundled sandbox as a subprocess (the kit never imports it) and runs every profile against it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conformance import __version__, contract, redaction
from conformance.client import command as client_command
from conformance.config import ENV_PREFIX, OPTIONS, Config, ConfigError
from conformance.driver import load_driver
from conformance.errors import KitError
from conformance.http import tls_context
from conformance.outcomes import exit_code
from conformance.plugin import GivenSettings, fold

__all__ = ["main", "preflight", "run_checks"]

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_CONFIG = 0, 1, 2
DEMO_TOKENS = {"acme": "wms_test_acme_token", "globex": "wms_test_globex_token"}
SANDBOX_START_SECONDS = 30.0
PREFLIGHT_TIMEOUT = 15.0
PREFLIGHT_MAX_BODY = 5 * 1024 * 1024


# -- argument parsing ------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fulfillment-conformance",
        description="Conformance kit for the fulfillment API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the checks against a target API")
    run.add_argument("--base-url", help="the API root, including /v1")
    run.add_argument("--token", help="a partner's bearer token (or CONFORMANCE_TOKEN)")
    run.add_argument("--second-token", help="a second partner's token (enables security)")
    run.add_argument("--driver", help="sandbox (default) or module:Class")
    _common(run)

    demo = commands.add_parser("demo", help="run every profile against the bundled sandbox")
    demo.add_argument("--output-dir", help="where to write the reports (default: a temp dir)")
    demo.add_argument("--seed", type=int)
    demo.add_argument("--only", action="append", default=[], metavar="ID", help=OPTIONS["only"])
    demo.add_argument("--no-property-based", action="store_true", help=OPTIONS["no-property-based"])
    demo.add_argument("--model-steps", metavar="N", help=OPTIONS["model-steps"])
    demo.add_argument("--no-model-based", action="store_true", help=OPTIONS["no-model-based"])
    client_command.add_parser(commands)
    return parser


def _common(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--profile", action="append", default=[], metavar="NAME", help=OPTIONS["profile"]
    )
    run.add_argument("--report-json", metavar="PATH", help=OPTIONS["report-json"])
    run.add_argument("--report-html", metavar="PATH", help=OPTIONS["report-html"])
    run.add_argument("--junitxml", metavar="PATH", help="write a JUnit XML file here")
    run.add_argument("--seed", help=OPTIONS["seed"])
    run.add_argument("--max-rps", help=OPTIONS["max-rps"])
    run.add_argument("--timeout", help=OPTIONS["timeout"])
    run.add_argument("--only", action="append", default=[], metavar="ID", help=OPTIONS["only"])
    run.add_argument("--no-property-based", action="store_true", help=OPTIONS["no-property-based"])
    run.add_argument("--model-steps", metavar="N", help=OPTIONS["model-steps"])
    run.add_argument("--no-model-based", action="store_true", help=OPTIONS["no-model-based"])
    run.add_argument("--webhook-listen", metavar="HOST:PORT", help=OPTIONS["webhook-listen"])
    run.add_argument("--webhook-url", metavar="URL", help=OPTIONS["webhook-url"])
    run.add_argument("--webhook-timeout", metavar="SECONDS", help=OPTIONS["webhook-timeout"])
    run.add_argument("--probe-rate-limit", action="store_true", help=OPTIONS["probe-rate-limit"])
    run.add_argument("--verbose", action="store_true", help=OPTIONS["verbose"])


def _config_from_args(args: argparse.Namespace, environ: dict[str, str]) -> Config:
    def option(name: str) -> Any:
        value = getattr(args, name.replace("-", "_"), None)
        return None if value is False else value

    config = Config.from_sources(option, environ)
    if not config.token:
        raise ConfigError("no token: pass --token (or set CONFORMANCE_TOKEN)")
    return config


# -- preflight ---------------------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "] " in text and text.startswith("["):
        text = text.split("] ", 1)[1]
    return redaction.scrub(text.rstrip("."))


def _read_capped(resp: httpx.Response) -> bytes:
    """The body, at most PREFLIGHT_MAX_BODY bytes: a hostile target must not exhaust memory."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > PREFLIGHT_MAX_BODY:
            raise ConfigError(
                "the base URL does not look like the API: GET /warehouses answered"
                f" more than {PREFLIGHT_MAX_BODY // (1024 * 1024)} MB"
            )
    return b"".join(chunks)


def _probe(client: httpx.Client, url: str, token: str, which: str) -> None:
    host = urlsplit(url).netloc
    resp: httpx.Response | None = None
    body = b""
    for _attempt in range(3):
        try:
            with client.stream(
                "GET", url + "/warehouses", headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                body = _read_capped(resp)
        except httpx.TimeoutException:
            raise ConfigError(
                f"the host {host} did not answer within {client.timeout.read:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot reach {host}: {_reason(exc)}") from None
        if resp.status_code != 429:
            break
        time.sleep(min(float(resp.headers.get("retry-after", "1") or 1), 10.0))
    assert resp is not None
    status = resp.status_code
    if status in (401, 403):
        raise ConfigError(f"the {which} was refused (GET /warehouses answered {status})")
    if 300 <= status < 400:
        location = redaction.scrub(resp.headers.get("location", "elsewhere"))
        raise ConfigError(f"the base URL redirects to {location}: give the final URL instead")
    if status == 404:
        raise ConfigError(
            "the base URL does not look like the API: GET /warehouses answered 404"
            " (does the base URL end in /v1?)"
        )
    if not 200 <= status < 300:
        raise ConfigError(f"the API answered {status} to GET /warehouses with the {which}")
    try:
        json.loads(body)
    except ValueError:
        raise ConfigError(
            "the base URL does not look like the API: GET /warehouses did not answer JSON"
        ) from None


def preflight(config: Config) -> None:
    """Raise a KitError (one sentence: ConfigError, CatalogueError) when the run cannot work at
    all: the contract's operations must each name a catalogue profile, the target must answer."""
    contract.operations()
    try:
        load_driver(config.driver_spec)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    timeout = min(config.timeout, PREFLIGHT_TIMEOUT)
    with httpx.Client(timeout=timeout, follow_redirects=False, verify=tls_context()) as client:
        assert config.token is not None
        _probe(client, config.base_url, config.token, "token")
        if config.second_token:
            _probe(client, config.base_url, config.second_token, "second token")


# -- running the checks ------------------------------------------------------------------------
class _ResultSink:
    """The CLI's side of the pytest run: it gives the plugin a progress display, and receives
    the JSON report and the closing console lines at the end."""

    def __init__(self, *, own_output: bool) -> None:
        self.own_output = own_output
        self.report: dict[str, Any] | None = None
        self.closing: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from conformance.plugin import SESSION_KEY
        from conformance.reports.progress import Progress

        run = config.stash.get(SESSION_KEY, None)
        if run is not None and self.own_output:
            # One line rewritten in place on a terminal; a plain line per area in a CI log.
            tty = sys.stdout.isatty() and not os.environ.get("CI")
            width = shutil.get_terminal_size().columns if tty else 100
            run.progress = Progress(sys.stdout, tty=tty, width=width)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from conformance.plugin import RESULT_KEY, SESSION_KEY

        self.report = config.stash.get(RESULT_KEY, None)
        run = config.stash.get(SESSION_KEY, None)
        if run is not None and self.own_output:
            self.closing = run.closing_lines()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    # The caller's CONFORMANCE_* variables (its token too) are out of the run: the settings come
    # as an object, and a subprocess of the run (the stateful phase) must not inherit them.
    stale = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith(ENV_PREFIX)}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        os.environ.update(stale)


# pytest reads these from os.environ only, so they are set there for a run (our own settings are
# not: GivenSettings). The run is hermetic: no pytest plugin of the vendor's environment (one could
# reorder, repeat or skip checks), nor the caller's PYTEST_ADDOPTS or PYTEST_PLUGINS (a CI job's
# "-x" or "--co" would silently shorten the run). It is also cheaper: an autoloaded plugin's whole
# distribution (Schemathesis, Hypothesis, anyio: about 270 modules) would be assertion-rewritten
# on every run.
HERMETIC_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": "", "PYTEST_PLUGINS": ""}


@contextlib.contextmanager
def checks_invocation() -> Iterator[list[str]]:
    """pytest's arguments for the installed `conformance.checks`, as every kit run collects them:
    our own ini file (a pytest configuration found above the checks, a repository's
    pyproject.toml say, must not change the run), the repository as rootdir (module names), no
    cache directory, no randomised order. The ini file lasts while the context is open."""
    import conformance.checks

    checks_dir = Path(conformance.checks.__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        yield [
            str(checks_dir),
            *("-c", str(ini), "--rootdir", str(checks_dir.parent.parent)),
            *("-p", "no:cacheprovider", "-p", "no:randomly"),
            "--continue-on-collection-errors",
        ]


def run_checks(
    config: Config, *, junitxml: str | None = None, extra_args: Sequence[str] = ()
) -> tuple[int, dict[str, Any] | None]:
    """pytest over the installed `conformance.checks`; (pytest exit code, JSON report or None)."""
    with checks_invocation() as args:
        # The kit speaks for itself (progress by area, a block per failed rule); pytest's own
        # terminal output (dots, tracebacks, warnings) only with --verbose.
        args += ["-q", "--tb=short"] if config.verbose else ["-p", "no:terminal"]
        # The kit's modules were imported before pytest could rewrite them: expected.
        args += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        # Only the kit's plugin (HERMETIC_ENV keeps every other out).
        args += ["-p", "conformance.plugin", *extra_args]
        sink = _ResultSink(own_output=not config.verbose)
        with _environment(HERMETIC_ENV):
            code = pytest.main(args, plugins=[GivenSettings(config), sink])
    for line in sink.closing:
        print(line)
    if junitxml and sink.report is not None:
        from conformance.reports import junit

        junit.write(sink.report, junitxml)
    return int(code), sink.report


def _finish(code: int, report: dict[str, Any] | None) -> int:
    if report is None:
        print(
            f"fulfillment-conformance: the checks did not run to the end (pytest exit {code}).",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if report.get("interrupted"):
        return _error("interrupted: the report covers only what ran before Ctrl-C.")
    return exit_code(report["verdict"], report["requirements"])


def _error(message: str) -> int:
    print(f"fulfillment-conformance: {redaction.scrub(message)}", file=sys.stderr)
    return EXIT_CONFIG


def command_run(args: argparse.Namespace) -> int:
    try:
        config = _config_from_args(args, dict(os.environ))
        preflight(config)
    except KitError as exc:
        return _error(str(exc))
    header = (
        f"fulfillment-conformance {__version__}: target {config.base_url},"
        f" profiles {', '.join(config.profiles)}, run {config.run_id}, seed {config.seed}"
    )
    print("\n".join(fold(redaction.scrub(header))), flush=True)
    code, report = run_checks(config, junitxml=args.junitxml)
    reports = (
        ("JSON report", config.report_json),
        ("HTML report", config.report_html),
        ("JUnit", args.junitxml),
    )
    for label, path in reports:
        if path and report is not None:
            print(f"{label}: {path}")
    return _finish(code, report)


# -- demo --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + SANDBOX_START_SECONDS
    headers = {"Authorization": f"Bearer {DEMO_TOKENS['acme']}"}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
            raise ConfigError(f"the sandbox stopped at start-up: {' '.join(tail) or 'no output'}")
        try:
            if httpx.get(base_url + "/warehouses", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ConfigError(f"the sandbox did not answer within {SANDBOX_START_SECONDS:g} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def command_demo(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("fulfillment_sandbox") is None:
        return _error(
            "the demo needs the sandbox:"
            " install with pip install 'fulfillment-conformance[sandbox]'"
        )
    out = Path(args.output_dir or tempfile.mkdtemp(prefix="fulfillment-conformance-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fulfillment-sandbox-") as tmp:
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}/v1"
        log = Path(tmp) / "sandbox.log"
        command = [sys.executable, "-m", "fulfillment_sandbox", "--host", "127.0.0.1"]
        command += [
            "--port",
            str(port),
            "--db",
            str(Path(tmp) / "demo.db"),
            "--log-level",
            "warning",
        ]
        with log.open("wb") as log_file:
            proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, base_url, log)
            options: dict[str, Any] = {
                "base-url": base_url,
                "token": DEMO_TOKENS["acme"],
                "second-token": DEMO_TOKENS["globex"],
                "profile": ["all"],
                "seed": args.seed,
                "only": args.only,
                "no-property-based": args.no_property_based or None,
                "model-steps": args.model_steps,
                "no-model-based": args.no_model_based or None,
                "report-json": str(out / "report.json"),
                "report-html": str(out / "report.html"),
            }
            config = Config.from_sources(options.get, {})
            print(f"fulfillment-conformance demo: sandbox on {base_url}, every profile", flush=True)
            code, report = run_checks(config, junitxml=str(out / "junit.xml"))
        except KitError as exc:
            return _error(str(exc))
        finally:
            stop_process(proc)
    if report is not None:
        print(f"report: {out / 'report.html'} (also report.json and junit.xml in {out})")
        print(f"verdict: {report['verdict']}")
    return _finish(code, report)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return command_demo(args)
        if args.command == "client":
            return client_command.command_client(args)
        return command_run(args)
    except KeyboardInterrupt:
        return _error("interrupted.")
