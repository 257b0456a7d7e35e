"""The pytest plugin: options, selection by profile and id, per-check outcomes, reports.

Registered for every pytest run through the `pytest11` entry point, so it must stay inert unless
asked: without `--conformance-base-url` (or CONFORMANCE_BASE_URL) it only adds its option group
and the `requirement` marker, and skips a conformance check that somehow got collected. Switched
on, it registers the fixtures (`conformance.fixtures`) and a `ConformanceRun` that deselects the
checks of unclaimed profiles (and, with --conformance-only, of unselected ids), records what each
check did, and at the end aggregates the outcomes per requirement and writes the reports.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__, redaction
from conformance.catalogue import MARKER, PROFILES, CatalogueError, catalogue, profile_of
from conformance.cleanup import Cleanup, created_webhook_ids, sweep_webhooks
from conformance.config import FLAGS, OPTIONS, REPEATABLE, Config, ConfigError, env_name
from conformance.evidence import describe_exchange, pick_exchanges
from conformance.fixtures import EVIDENCE, NOTE
from conformance.http import ApiResponse, HttpSession
from conformance.outcomes import Aggregate, CheckOutcome, CheckResult, NotExercised, aggregate

__all__ = ["RESULT_KEY", "SESSION_KEY", "ConformanceRun", "GivenSettings", "utc_now"]

SESSION_KEY = pytest.StashKey["ConformanceRun"]()
RESULT_KEY = pytest.StashKey[dict[str, Any]]()
LAST_MODULE_PREFIX = "test_zz_"  # cross-cutting checks judge what every other check recorded
PROPERTY_MODULES = ("test_property_based",)
PROPERTY_DISABLED = "property-based checks disabled (--no-property-based)"
# A check's own exchanges kept as candidate evidence (the newest; a failure is about those).
MAX_OWN_EXCHANGES = 50
MAX_MESSAGE_CHARS = 2000
# Exceptions whose message is the finding itself (a check failure, a plain `assert`, pytest.fail):
# the report gives the message alone. Any other exception is a crash: its class name stays.
FINDINGS: tuple[type[BaseException], ...] = (AssertionError, pytest.fail.Exception)


def fold(line: str, width: int = 100) -> list[str]:
    """One console line as lines of at most `width` columns (continuations indented)."""
    return textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False) or [""]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _dest(name: str) -> str:
    return "conformance_" + name.replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "conformance",
        "fulfillment API conformance kit (inert unless --conformance-base-url or"
        " CONFORMANCE_BASE_URL is given; each option also reads CONFORMANCE_<NAME>)",
    )
    for name, help_text in OPTIONS.items():
        flag = f"--conformance-{name}"
        if name in FLAGS:
            group.addoption(
                flag, dest=_dest(name), action="store_true", default=None, help=help_text
            )
        elif name in REPEATABLE:
            group.addoption(flag, dest=_dest(name), action="append", default=[], help=help_text)
        else:
            group.addoption(flag, dest=_dest(name), default=None, help=help_text)


class GivenSettings:
    """A run's settings handed to the plugin as an object: `pytest.main(args,
    plugins=[GivenSettings(config)])`, the CLI's way. They win over `--conformance-*` options and
    `CONFORMANCE_*` variables, which then stay for people who run pytest with the plugin."""

    def __init__(self, settings: Config) -> None:
        self.settings = settings


def _given(config: pytest.Config) -> Config | None:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, GivenSettings):
            return plugin.settings
    return None


def _wanted(config: pytest.Config) -> bool:
    return bool(
        _given(config)
        or config.getoption(_dest("base-url"), None)
        or os.environ.get(env_name("base-url"))
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*ids): the requirement ids a conformance check verifies"
    )
    if not _wanted(config):
        return
    settings = _given(config)
    if settings is None:
        try:
            settings = Config.from_sources(lambda name: config.getoption(_dest(name), None))
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    if getattr(config.option, "tbstyle", None) is None:
        # pytest's terminal is off (the kit's own runs, unless --verbose): a failed check's
        # traceback then goes only to the JUnit file, in Python's own format, which costs a
        # fraction of pytest's (that one parses each frame's source to find its statement: about
        # 6 % of the CPU of a run that fails a few checks). The kit's message and evidence never
        # come from the traceback.
        config.option.tbstyle = "native"
    run = ConformanceRun(settings)
    config.stash[SESSION_KEY] = run
    config.pluginmanager.register(run, "conformance_run")
    from conformance import fixtures

    config.pluginmanager.register(fixtures, "conformance_fixtures")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Inert mode: a conformance check collected without a target is skipped, not errored."""
    if SESSION_KEY in config.stash:
        return
    reason = "the conformance kit needs --conformance-base-url or CONFORMANCE_BASE_URL"
    for item in items:
        if item.get_closest_marker(MARKER) is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def _ids(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        ids += [str(arg) for arg in mark.args if str(arg) not in ids]
    return tuple(ids)


def _module_name(item: pytest.Item) -> str:
    return Path(str(item.fspath)).stem


def area_of(module: str) -> str:
    """`test_orders` -> `orders`, `test_zz_responses` -> `responses`: what progress shows."""
    name = module.removeprefix("test_")
    name = name.removeprefix("zz_")
    return name.replace("_", "-")


def failure_message(report: pytest.TestReport, exc: BaseException | None = None) -> str:
    """The one message a report gives: the assertion text, without pytest's introspection.

    `exc` is what the check raised: a finding (`conformance.errors.CheckFailure`, any
    AssertionError, pytest.fail) gives its message alone, anything else its class name too."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        if isinstance(exc, pytest.skip.Exception):  # a skip or NotExercised: its reason alone
            return redaction.scrub(str(exc.msg))
        text = str(longrepr[2])
        return redaction.scrub(text.removeprefix("Skipped: "))
    if isinstance(exc, FINDINGS):
        text = str(getattr(exc, "msg", None) or exc).strip()
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = str(getattr(crash, "message", None) or longrepr or "").strip()
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        # pytest's assertion rewriting appends "assert 422 == 201" and "+  where ..." lines
        # after a custom message; the message is what the check meant to say.
        if index > 0 and (line.startswith("assert ") or line.lstrip().startswith("+")):
            break
        kept.append(line)
    message = "\n".join(kept).strip() or text
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " ..."
    return redaction.scrub(message)


class ConformanceRun:
    """The switched-on plugin: one per pytest session."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.started_at = utc_now()
        self.http: HttpSession | None = None
        self.item_ids: dict[str, tuple[str, ...]] = {}
        self.invalid: dict[str, str] = {}
        self.not_run: dict[str, str] = {}
        self.results: dict[str, CheckResult] = {}
        self.collection_errors: list[str] = []
        self.aggregate: Aggregate | None = None
        self.report: dict[str, Any] | None = None
        self.cleanup: Cleanup | None = None
        self.item_area: dict[str, str] = {}
        self.progress: Any = None  # conformance.reports.progress.Progress, in the CLI's output
        # What a phase reports about itself beyond its checks (the model-based phase: steps,
        # examples, seed), keyed by phase; the JSON report's `phases`.
        self.phases: dict[str, Any] = {
            "model_based": {"ran": False, "seed": config.seed, "steps": 0},
        }
        self._own: list[ApiResponse] = []

    @property
    def requests_made(self) -> int:
        made = self.http.requests_made if self.http is not None else 0
        return made + (self.cleanup.requests if self.cleanup is not None else 0)

    def attach_http(self, session: HttpSession) -> None:
        """The run's HTTP session: each check's exchanges are kept as its candidate evidence."""
        self.http = session
        session.listeners.append(self._keep_exchange)

    def _keep_exchange(self, response: ApiResponse) -> None:
        self._own.append(response)
        if len(self._own) > MAX_OWN_EXCHANGES:
            del self._own[0]

    def _evidence(
        self, report: pytest.TestReport, message: str, raised: BaseException | None
    ) -> list[dict[str, Any]]:
        given = [value for name, value in report.user_properties if name == EVIDENCE]
        given += list(getattr(raised, "evidence", None) or [])
        items = [item for item in given if isinstance(item, dict)]
        if not items:
            everything = self.http.recorded() if self.http is not None else []
            items = [
                describe_exchange(response)
                for response in pick_exchanges(message, self._own, everything)
            ]
        scrubbed: list[dict[str, Any]] = redaction.scrub_data(items)
        return scrubbed

    def reproduce_line(self) -> str:
        profiles = " ".join(f"--profile {name}" for name in self.config.profiles)
        if set(self.config.profiles) == set(PROFILES):
            profiles = "--profile all"
        return (
            f"conformance kit {__version__}: run {self.config.run_id}, seed {self.config.seed};"
            f" reproduce with --seed {self.config.seed} {profiles}"
        )

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        import fulfillment_spec

        return [
            redaction.scrub(
                f"conformance: target {self.config.base_url}, profiles"
                f" {', '.join(self.config.profiles)}, spec {fulfillment_spec.spec_version()}"
            ),
            self.reproduce_line(),
        ]

    # -- selection ---------------------------------------------------------------------------
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        selected: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        last: list[pytest.Item] = []
        generated: list[pytest.Item] = []
        only = set(self.config.only)
        for item in items:
            ids = _ids(item)
            if not ids:
                selected.append(item)
                continue
            try:
                profile = profile_of(ids)
            except CatalogueError as exc:
                self.invalid[item.nodeid] = str(exc)
                profile = None
            if profile is not None and profile not in self.config.profiles:
                deselected.append(item)
                continue
            if only and not only.intersection(ids):
                deselected.append(item)
                continue
            if not self.config.property_based and _module_name(item) in PROPERTY_MODULES:
                # Left out, not skipped: a requirement that other checks verify keeps their
                # verdict; one only the property-based checks verify is skipped with this reason.
                for requirement_id in ids:
                    self.not_run.setdefault(requirement_id, PROPERTY_DISABLED)
                deselected.append(item)
                continue
            self.item_ids[item.nodeid] = ids
            self.item_area[item.nodeid] = area_of(_module_name(item))
            if _module_name(item).startswith(LAST_MODULE_PREFIX):
                last.append(item)
            elif _module_name(item) in PROPERTY_MODULES:
                generated.append(item)
            else:
                selected.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        # Scenario checks first, on a target the fuzzer has not yet filled with generated data
        # (e.g. webhook subscriptions to dead URLs that every later event must be delivered to);
        # then the property-based run; the cross-cutting checks last, over everything recorded.
        items[:] = selected + generated + last
        if self.progress is not None:
            totals: dict[str, int] = {}
            for item in items:
                area = self.item_area.get(item.nodeid)
                if area is not None:
                    totals[area] = totals.get(area, 0) + 1
            self.progress.start(totals)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                redaction.scrub(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")
            )

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._own = []
        if item.nodeid in self.invalid:
            raise CatalogueError(self.invalid[item.nodeid])

    # -- outcomes ------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Mask secrets in every report before pytest prints it or writes it to JUnit."""
        report = yield
        # The message is taken before the scrub below may flatten the report's structure.
        if report.failed or report.skipped:
            message = failure_message(report, call.excinfo.value if call.excinfo else None)
            report.conformance_message = message  # type: ignore[attr-defined]
            if report.failed:
                raised = call.excinfo.value if call.excinfo is not None else None
                evidence = self._evidence(report, message, raised)
                report.conformance_evidence = evidence  # type: ignore[attr-defined]
        if call.excinfo is not None and call.excinfo.errisinstance(NotExercised):
            report.conformance_outcome = "not_exercised"  # type: ignore[attr-defined]
        secrets = redaction.registered_secrets()
        if report.longrepr is not None and not isinstance(report.longrepr, tuple):
            text = str(report.longrepr)
            scrubbed = redaction.scrub(text)
            if scrubbed != text:
                report.longrepr = scrubbed
        if secrets or report.sections:
            report.sections = [
                (title, redaction.scrub(content)) for title, content in report.sections
            ]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ids = self.item_ids.get(report.nodeid)
        if ids is None:
            return
        previous = self.results.get(report.nodeid)
        if previous is not None and previous.outcome in ("failed", "skipped", "not_exercised"):
            return  # the first failure or skip is the story
        text = getattr(report, "conformance_message", None) or failure_message(report)
        outcome: CheckOutcome
        if report.failed:
            prefix = "" if report.when == "call" else f"error in {report.when}: "
            outcome, message = "failed", prefix + text
        elif report.skipped:
            if hasattr(report, "wasxfail"):
                outcome, message = "failed", "expected failure (xfail) is not allowed in a check"
            elif getattr(report, "conformance_outcome", None) == "not_exercised":
                outcome, message = "not_exercised", text
            else:
                outcome, message = "skipped", text
        elif report.when == "call":
            # A check may say what it passed on (e.g. a conditional rule that was not exercised).
            notes = [str(value) for name, value in report.user_properties if name == NOTE]
            outcome, message = "passed", redaction.scrub("; ".join(notes))
        else:
            return
        evidence = tuple(getattr(report, "conformance_evidence", ()))
        self.results[report.nodeid] = CheckResult(report.nodeid, ids, outcome, message, evidence)
        if self.progress is not None and (report.when == "call" or outcome != "passed"):
            self.progress.advance(self.item_area.get(report.nodeid, "checks"), outcome)

    # -- the end ------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from conformance.reports import html_report, json_report

        if self.progress is not None:
            self.progress.finish()
        self.cleanup = self._sweep()
        self.aggregate = aggregate(
            self.results.values(),
            profiles=self.config.profiles,
            catalogue=catalogue(),
            only=self.config.only,
            not_run=self.not_run,
            partial=self.config.partial,
        )
        self.report = json_report.build(
            self.aggregate,
            config=self.config,
            started_at=self.started_at,
            finished_at=utc_now(),
            requests_made=self.requests_made,
        )
        self.report["cleanup"] = self.cleanup.as_dict()
        self.report["phases"] = redaction.scrub_data(dict(self.phases))
        # Exchanges past the recording cap: the cross-cutting response rules did not see them.
        dropped = self.http.dropped_records if self.http is not None else 0
        self.report["recorded_exchanges_dropped"] = dropped
        # Requests repeated once after a broken connection (conformance.http.repeatable).
        resent = self.http.resent_after_lost_connection if self.http is not None else 0
        self.report["requests_resent_after_lost_connection"] = resent
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.report["interrupted"] = True
        session.config.stash[RESULT_KEY] = self.report
        if self.config.report_json:
            json_report.write(self.report, self.config.report_json)
        if self.config.report_html:
            html_report.write(self.report, self.config.report_html)

    def _sweep(self) -> Cleanup:
        """Delete the webhook subscriptions this run created (conformance.cleanup)."""
        created = created_webhook_ids(self.http.recorded()) if self.http is not None else []
        if not created and "webhooks" not in self.config.profiles:
            return Cleanup()  # nothing of ours can be subscribed
        tokens = [t for t in (self.config.token, self.config.second_token) if t]
        return sweep_webhooks(
            self.config.base_url,
            tokens,
            run_id=self.config.run_id,
            created_ids=created,
            timeout=self.config.timeout,
        )

    def closing_lines(self) -> list[str]:
        """The console's last words: the requirement summary, the cleanup, how to reproduce."""
        from conformance.reports import console

        if self.report is None:
            return []
        lines = console.summary_lines(self.report, errors=self.collection_errors)
        if self.cleanup is not None and (self.cleanup.deleted or self.cleanup.left):
            lines.append(redaction.scrub(self.cleanup.describe()))
        if self.report.get("interrupted"):
            lines.append("interrupted: the outcomes above cover only what ran before Ctrl-C")
        return [*lines, *fold(self.reproduce_line())]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.closing_lines():
            terminalreporter.write_line(line)
