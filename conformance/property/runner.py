"""Run Schemathesis against the target and turn its failures into requirement-level findings.

Two entry points, both returning a `PropertyRun`:

* `run_unit_phases(settings)`: the examples, coverage and fuzzing phases, positive and negative
  data, over every operation of the claimed profiles, in this process through Schemathesis'
  engine (its events carry the check name, the case and a curl reproduction per failure).
* `run_stateful_phase(settings, workdir)`: the stateful phase over the spec's links (explicit and
  inferred), through the `schemathesis run` CLI in a subprocess with a JUnit report, bounded by
  `--max-time`. The in-process state machine raised Hypothesis' `FlakyStrategyDefinition` against
  a correct server; the CLI handles it, and a subprocess keeps its
  global hooks and registries out of the kit's process.

A 429 (or a 503 with Retry-After) is waited out below Schemathesis, in the transport the hooks
wrap (conformance/property/hooks.py), so no check sees one unless it persists past the bound;
`PropertyRun.refusals` counts what refusals did, per requirement, for `not_exercised`.

Every configuration is passed explicitly (`config=` / `--config-file`), so a stray
`schemathesis.toml` in the user's tree never changes a certification run. Tokens never reach a
command line, a report or a message: the subprocess reads the token from an environment variable
named in its config file, and every text that leaves this module goes through `scrub`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import schemathesis
from fulfillment_spec import OPENAPI_PATH
from schemathesis.engine import events, from_schema

from conformance import contract, redaction
from conformance.cleanup import RUN_ID_ENV
from conformance.evidence import evidence_item, mask_body
from conformance.property import hooks
from conformance.property.mapping import CHECK_REQUIREMENTS, requirements_for

__all__ = [
    "NOT_GENERATED",
    "Finding",
    "PropertyRun",
    "PropertySettings",
    "operation_profile",
    "refused_throughout",
    "run_stateful_phase",
    "run_unit_phases",
    "schemathesis_config",
    "scrub",
]

_TOKEN_ENV = "CONFORMANCE_PROPERTY_TOKEN"


@dataclass(frozen=True)
class PropertySettings:
    """What to run against. `token` is never printed; `profiles` are the claimed ones."""

    base_url: str
    token: str
    profiles: tuple[str, ...] = ("core",)
    seed: int | None = None
    max_examples: int = 5
    timeout: float = 10.0
    max_rps: float | None = None
    # The /sandbox control endpoints: tested when the target offers them (the sandbox driver).
    include_sandbox: bool = True
    spec_path: Path = OPENAPI_PATH
    # The stateful phase's wall-clock budget in seconds (it keeps exploring links until spent).
    # None: no clock, `stateful_max_examples` scenarios whatever the machine's load (a budget
    # counts from the engine's start, so on a busy machine start-up can spend all of it).
    stateful_max_time: int | None = 20
    stateful_max_examples: int = 20
    # Restrict to these operationIds (the kit's own tests use it to stay fast); None = all.
    operations: tuple[str, ...] | None = None
    # The kit run's id, which tags the webhook subscriptions generated cases create (cleanup).
    run_id: str | None = None


@dataclass(frozen=True)
class Finding:
    """One failed check on one operation, tied to the requirement ids it breaks."""

    check: str
    requirement_ids: tuple[str, ...]
    operation: str
    phase: str
    title: str
    message: str
    reproduction: str
    status: int | None = None
    # The exchange as Schemathesis recorded it (conformance.evidence item), when it has one.
    evidence: dict[str, Any] | None = field(default=None, compare=False)

    def describe(self) -> str:
        got = f" -> {self.status}" if self.status is not None else ""
        lines = [f"{self.operation}{got}: {self.check} ({self.phase}): {self.title}"]
        lines += [f"    {line}" for line in self.message.strip().splitlines()[:12]]
        if self.reproduction:
            lines.append(f"    reproduce: {self.reproduction}")
        return "\n".join(lines)


@dataclass
class PropertyRun:
    """The outcome of one Schemathesis run: findings, engine errors, and what it cost."""

    phases: tuple[str, ...]
    seed: int | None = None
    findings: list[Finding] = field(default_factory=list, repr=False)
    errors: list[str] = field(default_factory=list, repr=False)
    operations: list[str] = field(default_factory=list, repr=False)
    requests: int = 0
    elapsed: float = 0.0
    refusals: hooks.RefusalStats = field(default_factory=hooks.RefusalStats, repr=False)

    def for_requirements(self, *ids: str) -> list[Finding]:
        wanted = set(ids)
        return [finding for finding in self.findings if wanted & set(finding.requirement_ids)]

    def for_checks(self, *names: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.check in names]

    def summary(self) -> str:
        refusals = self.refusals
        waited = (
            f", {refusals.retried} refusals (429/503) waited out, {refusals.exhausted} requests"
            f" refused to the end"
            if refusals.retried or refusals.exhausted
            else ""
        )
        return (
            f"{'/'.join(self.phases)}: {len(self.operations)} operations, "
            f"{self.requests} requests, "
            f"{self.elapsed:.1f} s, {len(self.findings)} findings, {len(self.errors)} errors"
            f"{waited}"
        )


def refused_throughout(runs: Iterable[PropertyRun], ids: Iterable[str]) -> str | None:
    """Why the requirements `ids` were not exercised, when every generated case that would have
    exercised them was refused (429, 503 + Retry-After) past the bound; else None."""
    wanted = set(ids)
    runs = list(runs)
    judged = sum(n for run in runs for rid, n in run.refusals.judged.items() if rid in wanted)
    refused = sum(n for run in runs for rid, n in run.refusals.refused.items() if rid in wanted)
    if judged or not refused:
        return None
    examples = [
        where for run in runs for rid, where in run.refusals.examples.items() if rid in wanted
    ]
    seen = f" (e.g. {examples[0]})" if examples else ""
    return scrub(
        f"rate limited: all {refused} generated case(s) for {', '.join(sorted(wanted))} were"
        f" refused with 429 (or 503 with Retry-After) after {hooks.MAX_REFUSAL_RETRIES}"
        f" retries each{seen}"
    )


def scrub(text: str, token: str | None = None) -> str:
    """Remove credentials from text meant for people: the token, bearer values, webhook secrets.

    A curl reproduction asks for the token (`$CONFORMANCE_TOKEN`) instead of showing it.
    """
    if token:
        text = text.replace(token, "***")
    # Whatever the kit registered as a secret of this run, any bearer value, any whsec_ secret.
    text = redaction.scrub(text)
    text = re.sub(r"whsec_[A-Za-z0-9_\-+/=.]+", "whsec_***", text)
    text = re.sub(r"(?i)(bearer\s+)(?!\*\*\*)[^\s'\",;]+", r"\1***", text)
    return re.sub(
        r"-H '(?i:authorization): [^']*'", '-H "Authorization: Bearer $CONFORMANCE_TOKEN"', text
    )


def operation_profile(operation: Any) -> str:
    """The kit profile of a Schemathesis operation: its `x-profile` (conformance.contract)."""
    operation_id = operation.definition.raw.get("operationId")
    if isinstance(operation_id, str):
        return contract.profile_of_operation(operation_id)
    return contract.profile_of_request(operation.method, operation.path) or "core"


# Sends every pending webhook delivery now, synchronously: its timing depends on whoever is
# subscribed (other checks' receivers, third parties), and a schema cannot judge its effect.
# The webhooks scenario checks exercise it; generated traffic leaves it alone.
NOT_GENERATED = frozenset({"sandboxRetryWebhookDeliveries"})


def selected_operation_ids(settings: PropertySettings) -> list[str]:
    """The operations generated traffic goes to: those of the claimed profiles (their
    `x-profile`), without the sandbox's unless asked, narrowed to `settings.operations`."""
    wanted = contract.operation_ids(settings.profiles, sandbox=settings.include_sandbox)
    return [
        operation_id
        for operation_id in wanted
        if operation_id not in NOT_GENERATED
        and (settings.operations is None or operation_id in settings.operations)
    ]


def _excluded(settings: PropertySettings) -> Any:
    selected = set(selected_operation_ids(settings))

    def excluded(ctx: Any) -> bool:
        return ctx.operation.definition.raw.get("operationId") not in selected

    return excluded


def schemathesis_config(settings: PropertySettings, *, stateful: bool) -> dict[str, Any]:
    """The one Schemathesis configuration both entry points use, as a plain dict."""
    checks: dict[str, Any] = {
        # A schema-valid request may still name a warehouse, SKU or order that does not exist
        # (404, 422), collide with data already there (409), or be a PATCH whose If-Match is
        # stale or absent (412, 428: decision 9). None of that is a rejected valid request.
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "404", "409", "412", "422", "428", "429"]
        },
        # Invalid input gets a 4xx that says so; 404/409/412 when the target is checked first;
        # 401 when the invalid part is the missing Authorization header itself.
        "negative_data_rejection": {
            "expected-statuses": [
                *("400", "401", "404", "405", "409", "412", "413", "415", "422", "428", "429")
            ]
        },
        "missing_required_header": {"expected-statuses": ["400", "401", "422", "428"]},
        # OPTIONS is not part of this contract; the check would judge a framework default.
        "allow_header_conformance": {"enabled": False},
    }
    if stateful:
        # Random cursors and ids appear in stateful steps too; only the link-level checks,
        # the response checks and the kit's own checks carry weight there.
        checks["positive_data_acceptance"] = {"enabled": False}
        checks["negative_data_rejection"] = {"enabled": False}
    config: dict[str, Any] = {
        "base-url": settings.base_url.rstrip("/"),
        "generation": {
            "mode": "all",
            "max-examples": settings.stateful_max_examples if stateful else settings.max_examples,
            "database": "none",
            # Otherwise a fuzzed `Authorization: d` can replace the configured token on a case
            # still labelled positive (seen with 4.32.5): a false "valid data rejected" on 401.
            # Missing and bad credentials are the `ignored_auth` check's job.
            "with-security-parameters": False,
        },
        "auth": {"openapi": {"bearerAuth": {"bearer": settings.token}}},
        "request-timeout": settings.timeout,
        # Never follow a redirect: every request stays on the target's base URL.
        "max-redirects": 0,
        # Keep testing an operation after its first failure: the report lists every broken rule.
        "continue-on-failure": True,
        # No `rate-limit = "auto"`: the hooks' transport waits out refusals below Schemathesis,
        # for probes too. Its own retry would stack on ours and judge each 429 with every check.
        "warnings": {"fail-on": False},
        # Schemathesis masks any header whose name contains "key", Idempotency-Key included, which
        # would make reproductions useless; credentials stay masked (and `scrub` runs anyway).
        "output": {
            "sanitization": {
                "sensitive-markers": [
                    *("token", "secret", "password", "auth", "session", "passwd", "credential")
                ]
            }
        },
        "checks": checks,
        "phases": {
            "examples": {"enabled": not stateful},
            "coverage": {"enabled": not stateful},
            "fuzzing": {"enabled": not stateful},
            "stateful": {"enabled": stateful},
        },
    }
    if settings.seed is not None:
        config["seed"] = settings.seed
    return config


def _load_schema(settings: PropertySettings) -> Any:
    # No `max-time` here: in 4.32 it makes fuzzing elastic (it refills the whole budget), so a
    # 1-second job would take all of it. The unit phases are bounded by max-examples instead.
    config = schemathesis.Config.from_dict(schemathesis_config(settings, stateful=False))
    schema = schemathesis.openapi.from_path(str(settings.spec_path), config=config)
    return schema.exclude(_excluded(settings))


def run_unit_phases(settings: PropertySettings) -> PropertyRun:
    """Examples, coverage and fuzzing over every operation of the claimed profiles."""
    run = PropertyRun(phases=("examples", "coverage", "fuzzing"), seed=settings.seed)
    schema = _load_schema(settings)
    started = time.monotonic()
    seen_operations: dict[str, None] = {}
    before = hooks.request_count()
    refusals_before = hooks.refusal_stats()
    hooks.set_max_rps(settings.max_rps)
    hooks.set_run_id(settings.run_id)
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            seen_operations.setdefault(event.recorder.label, None)
            run.findings.extend(_findings(event.recorder, str(event.phase.value), settings.token))
        elif isinstance(event, events.NonFatalError):
            run.errors.append(scrub(f"{event.label}: {event.info.format()}", settings.token))
        elif isinstance(event, events.FatalError):
            run.errors.append(scrub(f"fatal: {event.exception}", settings.token))
        elif isinstance(event, events.EngineFinished) and event.stop_reason != "completed":
            run.errors.append(f"Schemathesis stopped early: {event.stop_reason}")
    run.requests = hooks.request_count() - before
    run.refusals = hooks.refusal_stats().since(refusals_before)
    run.elapsed = time.monotonic() - started
    run.operations = list(seen_operations)
    run.findings = _dedupe(run.findings)
    return run


def _findings(recorder: Any, phase: str, token: str) -> Iterator[Finding]:
    for case_id, nodes in recorder.checks.items():
        node = recorder.cases.get(case_id)
        case = node.value if node is not None else None
        interaction = recorder.interactions.get(case_id)
        response = getattr(interaction, "response", None)
        for check in nodes:
            info = check.failure_info
            if info is None:
                continue
            failure = info.failure
            yield Finding(
                check=check.name,
                requirement_ids=requirements_for(
                    check.name,
                    case,
                    message=str(failure.message),
                    profile=_case_profile(case),
                ),
                operation=str(failure.operation or recorder.label),
                phase=phase,
                title=scrub(str(failure.title), token),
                message=scrub(str(failure.message), token),
                reproduction=scrub(info.code_sample, token),
                status=getattr(response, "status_code", None),
                evidence=_exchange(interaction, scrub(info.code_sample, token)),
            )


def _exchange(interaction: Any, curl: str) -> dict[str, Any] | None:
    """The recorded request and response as an evidence item (None when nothing was recorded)."""
    request = getattr(interaction, "request", None)
    if request is None:
        return None
    response = getattr(interaction, "response", None)

    def flat(headers: Any) -> dict[str, str]:
        return {
            str(k): ", ".join(v) if isinstance(v, list) else str(v)
            for k, v in (headers or {}).items()
        }

    return evidence_item(
        method=str(request.method),
        url=str(request.uri),
        request_headers=flat(request.headers),
        request_body=mask_body(request.body),
        status=getattr(response, "status_code", None),
        response_headers=flat(getattr(response, "headers", None)),
        response_body=mask_body(getattr(response, "content", None)) or "",
        curl=curl,
    )


def _case_profile(case: Any) -> str | None:
    if case is None:
        return None
    return operation_profile(case.operation)


def _request_profile(label: str) -> str:
    """The profile of a stateful finding, which carries `METHOD /concrete/path`."""
    method, _, path = label.partition(" ")
    return contract.profile_of_request(method, path) or "core"


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per (operation, check, title): a bug seen 40 times is reported once."""
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.operation, finding.check, finding.title), finding)
    return list(unique.values())


# ---- the stateful phase, in a subprocess ----------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _to_toml(config: Mapping[str, Any]) -> str:
    return "".join(f"{json.dumps(key)} = {_toml_value(value)}\n" for key, value in config.items())


def _schemathesis_command() -> list[str]:
    executable = Path(sys.executable).with_name("schemathesis")
    if executable.exists():
        return [str(executable)]
    return [sys.executable, "-m", "schemathesis.cli"]


def run_stateful_phase(settings: PropertySettings, workdir: Path | None = None) -> PropertyRun:
    """The stateful phase over the spec's links, in a `schemathesis run` subprocess."""
    run = PropertyRun(phases=("stateful",), seed=settings.seed)
    if not _filter_args(settings):
        return run  # no operation of the claimed profiles is selected: nothing to chain
    with tempfile.TemporaryDirectory(prefix="conformance-stateful-", dir=workdir) as tmp:
        directory = Path(tmp)
        config = schemathesis_config(settings, stateful=True)
        config["auth"] = {"openapi": {"bearerAuth": {"bearer": "${" + _TOKEN_ENV + "}"}}}
        if settings.stateful_max_time is not None:
            config["max-time"] = settings.stateful_max_time
        config_path = directory / "schemathesis.toml"
        config_path.write_text(_to_toml(config), encoding="utf-8")
        junit = directory / "stateful.xml"
        command = [
            *_schemathesis_command(),
            "--config-file",
            str(config_path),
            "--no-color",
            "run",
            str(Path(settings.spec_path).resolve()),
            "--phases",
            "stateful",
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
            *_filter_args(settings),
        ]
        env = {
            **os.environ,
            _TOKEN_ENV: settings.token,
            "SCHEMATHESIS_HOOKS": "conformance.property.hooks",
            hooks.COUNT_FILE_ENV: str(directory / "requests.count"),
            hooks.STATS_FILE_ENV: str(directory / "refusals.json"),
        }
        if settings.max_rps:
            env[hooks.MAX_RPS_ENV] = str(settings.max_rps)
        if settings.run_id:
            env[RUN_ID_ENV] = settings.run_id
        started = time.monotonic()
        try:
            completed = subprocess.run(
                command,
                env=env,
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=_stateful_timeout(settings),
                check=False,
            )
        except subprocess.TimeoutExpired:
            run.errors.append(
                f"the stateful run did not finish within {_stateful_timeout(settings):.0f} s"
            )
            return run
        finally:
            run.elapsed = time.monotonic() - started
        run.requests = _read_count(directory / "requests.count")
        run.refusals = _read_refusals(directory / "refusals.json")
        if not junit.exists():
            tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
            run.errors.append(
                scrub(f"schemathesis exited {completed.returncode}: {tail}", settings.token)
            )
            return run
        _parse_junit(junit.read_text(encoding="utf-8"), run, settings)
    return run


# Start-up, schema loading and the engine's wind-down on top of the phase's own budget; a phase
# bounded by its number of scenarios alone gets a generous ceiling instead.
_STATEFUL_OVERHEAD_SECONDS = 120
_STATEFUL_UNTIMED_CEILING_SECONDS = 600


def _stateful_timeout(settings: PropertySettings) -> float:
    if settings.stateful_max_time is None:
        return _STATEFUL_UNTIMED_CEILING_SECONDS
    return settings.stateful_max_time + _STATEFUL_OVERHEAD_SECONDS


def _filter_args(settings: PropertySettings) -> list[str]:
    """The same operation selection as the unit phases, as CLI filters (operationIds)."""
    args: list[str] = []
    for operation_id in selected_operation_ids(settings):
        args += ["--include-operation-id", operation_id]
    return args


def _read_count(path: Path) -> int:
    try:
        return sum(int(line) for line in path.read_text(encoding="utf-8").split() if line.isdigit())
    except OSError:
        return 0


def _read_refusals(path: Path) -> hooks.RefusalStats:
    try:
        return hooks.RefusalStats.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError):
        return hooks.RefusalStats()


_TITLE_LINE = re.compile(r"^- (?P<title>.+?)\s*$")


def _parse_junit(xml: str, run: PropertyRun, settings: PropertySettings) -> None:
    """JUnit from `schemathesis run`: one testcase per operation, failures as formatted text."""
    root = ElementTree.fromstring(xml)
    for testcase in root.iter("testcase"):
        label = testcase.get("name", "")
        run.operations.append(label)
        for element in [*testcase.findall("failure"), *testcase.findall("error")]:
            text = element.text or element.get("message") or ""
            if element.tag == "error":
                run.errors.append(scrub(f"{label}: {text.strip()[:500]}", settings.token))
                continue
            codes = element.get("message") or ""
            run.findings.extend(_junit_findings(label, text, codes, settings))
    run.findings = _dedupe(run.findings)


def _operation_from_curl(curl: str, base_url: str) -> str | None:
    """`POST /orders` from a curl line (the stateful JUnit case is the whole scenario)."""
    match = re.search(r"-X (\w+) .*?'?(https?://[^\s']+)'?\s*$", curl)
    if match is None:
        return None
    path = urlsplit(match.group(2)).path
    base_path = urlsplit(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    return f"{match.group(1)} {path or '/'}"


def _junit_findings(
    label: str, text: str, codes: str, settings: PropertySettings
) -> Iterator[Finding]:
    token = settings.token
    curls = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    curl = curls[0] if curls else ""
    label = _operation_from_curl(curl, settings.base_url) or label
    checks_by_code = _checks_by_failure_code()
    names: list[str] = []
    for line in text.splitlines():
        match = re.search(r"Custom check failed: `([a-z0-9_]+)`", line)
        if match:
            names.append(match.group(1))
    for code in re.findall(r"ST\d{3}", codes):
        names += checks_by_code.get(code, [])
    for name in dict.fromkeys(names) or ["unknown"]:
        if name not in CHECK_REQUIREMENTS and name != "unknown":
            continue
        yield Finding(
            check=name,
            requirement_ids=requirements_for(
                name, None, message=text, profile=_request_profile(label)
            ),
            operation=label,
            phase="stateful",
            title=name,
            message=scrub(text.strip()[:2000], token),
            reproduction=scrub(curl, token),
        )


_CODE_LOCK = threading.Lock()
_CODE_CACHE: dict[str, list[str]] = {}


def _checks_by_failure_code() -> dict[str, list[str]]:
    with _CODE_LOCK:
        if not _CODE_CACHE:
            from schemathesis.core.failures import Failure
            from schemathesis.specs.openapi import checks as _builtin  # noqa: F401  (defines them)

            pending: list[type[Failure]] = [Failure]
            while pending:
                cls = pending.pop()
                pending.extend(cls.__subclasses__())
                code = getattr(cls, "code", "")
                for name in getattr(cls, "checks", ()):
                    _CODE_CACHE.setdefault(code, [])
                    if name not in _CODE_CACHE[code]:
                        _CODE_CACHE[code].append(name)
        return _CODE_CACHE
