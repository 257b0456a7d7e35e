"""Schemathesis hooks that keep generated traffic meaningful, harmless and free of false alarms.

Importing this module registers them (globally, as Schemathesis hooks are) together with the
kit's checks; the CLI subprocess of the stateful phase loads it through `SCHEMATHESIS_HOOKS`.
Every hook touches only cases Schemathesis generated (`case._meta` is set); a case a check builds
by hand (`operation.Case(...)`) is left exactly as written, so a deliberate key replay stays one.

Policies, each decided here once:

* Idempotency-Key (decisions 1-3): the generator sends the same minimal key ("0") for most
  coverage cases, so the second create would be a replay or a 422 `idempotency_key_reused`,
  masking the validation it was meant to probe. A schema-valid generated key is replaced by a
  fresh random one per case. An invalid one (a negative case probing the header) is kept.
* Whole floats for integers: JSON Schema 2020-12 counts 2.0 as an integer, so a server MAY accept
  it, and a server in a typed language MAY reject it. The contract does not decide, so the kit
  never sends one: whole floats in generated bodies become ints. Non-whole floats (2.5, a real
  negative case for `type: integer`) are left alone, so negative testing keeps its teeth.
* Other hosts: requests go only to the configured base URL (redirects are not followed:
  `max-redirects = 0` in the runner's config), and a generated webhook subscription points at
  `https://127.0.0.1:9/...` (the target's own loopback, discard port: refused at once), so the
  target never delivers events produced by a fuzzing run to a third party. A `.invalid` name
  was tried first: where DNS is unreachable the target's delivery blocks until it times out.
* Opaque cursors (decision 18): no generator can make a valid cursor, and a schema-valid random
  one (`cursor=0`) must get 400 `invalid_cursor`, so outside the stateful phase (whose cursors
  may come from a real `next_cursor` through a link) a generated `cursor` is dropped. Cursor
  handling is the scenario checks' job (PAG).
* /sandbox control endpoints are not restricted here: the runner includes them when the target
  offers them (the default sandbox driver) and excludes the `Sandbox` tag otherwise. Their effects
  land on SKUs and orders the generator made up, never on the run-tagged data of other checks.
* Rate limits: a 429 (or a 503 with Retry-After) says "not now", nothing about the request. Every
  request Schemathesis sends goes through its requests transport's `send` (generated cases,
  stateful steps, and the probes checks such as `ignored_auth` send without any hook), so that
  one `send` is wrapped here: each attempt is paced (--max-rps) and counted, and a refusal is
  waited out (Retry-After, bounded) and sent again, up to MAX_REFUSAL_RETRIES times, as the
  scenario checks' client does. A hook cannot do it: none sees the probes, and none can replace
  a response. Schemathesis' own `rate-limit = "auto"` is off (runner): it judges every 429 it
  waits out with every check, which is how a 429 became an IDEM-001 finding. A request still
  refused after the bound is judged by no check but RATE-001's (`filter_failure` drops the rest,
  the kit's checks skip it), and counted: a requirement whose every case was refused ends
  `not_exercised` (conformance/checks/test_property_based.py).
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import schemathesis
from schemathesis import Case, HookContext
from schemathesis.transport import requests as _requests_transport

from conformance import refs
from conformance.cleanup import sink_url
from conformance.http import MAX_429_RETRIES, Throttle, is_rate_limited, retry_after_seconds
from conformance.property import checks as _checks  # noqa: F401  (registers the kit's checks)
from conformance.property import mapping

__all__ = [
    "COUNT_FILE_ENV",
    "IDEMPOTENCY_HEADER",
    "MAX_REFUSAL_RETRIES",
    "MAX_RPS_ENV",
    "STATS_FILE_ENV",
    "WEBHOOK_SINK_HOST",
    "RefusalStats",
    "normalise_whole_floats",
    "refusal_stats",
    "refused",
    "request_count",
    "send_patiently",
    "set_max_rps",
    "set_run_id",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The target's own loopback on the discard port: a delivery is refused at once, goes nowhere.
WEBHOOK_SINK_HOST = "127.0.0.1:9"
# In a CLI subprocess, the request count is written here at exit (the kit reports requests made).
COUNT_FILE_ENV = "CONFORMANCE_PROPERTY_COUNT_FILE"
# The kit's --max-rps for a CLI subprocess (in process, the runner calls `set_max_rps`).
MAX_RPS_ENV = "CONFORMANCE_PROPERTY_MAX_RPS"
# In a CLI subprocess, the refusal counts (RefusalStats) are written here as JSON.
STATS_FILE_ENV = "CONFORMANCE_PROPERTY_STATS_FILE"
# The scenario checks' bound (conformance.http), so every phase waits out refusals alike.
MAX_REFUSAL_RETRIES = MAX_429_RETRIES
# The probes still refused after the bound, by case id (`filter_failure` looks them up).
_MAX_REMEMBERED = 10_000

_lock = threading.Lock()
_requests = 0


# The kit's one rate limiter (conformance.http.Throttle), here spacing generated requests; in a
# CLI subprocess its cap comes from MAX_RPS_ENV.
_throttle = Throttle(None)
_max_rps: float | None = None


def set_max_rps(max_rps: float | None) -> None:
    """Cap generated requests at `max_rps` per second, evenly spaced (None: no cap)."""
    global _max_rps
    _max_rps = max_rps if max_rps and max_rps > 0 else None


# The kit run's id for the sink URLs of generated subscriptions: set in process by the runner;
# a CLI subprocess reads cleanup.RUN_ID_ENV (sink_url's fallback).
_run_id: str | None = None


def set_run_id(run_id: str | None) -> None:
    """Tag generated webhook subscriptions with `run_id`, so the run's cleanup deletes them."""
    global _run_id
    _run_id = run_id


def _current_max_rps() -> float | None:
    if _max_rps is not None:
        return _max_rps
    raw = os.environ.get(MAX_RPS_ENV)
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _pace() -> None:
    """Sleep until this request's slot: Schemathesis' own limiter allows bursts per window."""
    _throttle.max_rps = _current_max_rps()
    _throttle.wait(polite=False)


def request_count() -> int:
    """Requests Schemathesis has sent from this process so far (the runner takes differences)."""
    with _lock:
        return _requests


def _count_request() -> None:
    global _requests
    with _lock:
        _requests += 1
    if os.environ.get(COUNT_FILE_ENV) and _file_writes.due("count"):
        _write_count()


def _write_count() -> None:
    """In a CLI subprocess, leave the request count where the runner reads it."""
    _write_file(COUNT_FILE_ENV, f"{request_count()}\n")


def _write_file(env_name: str, text: str) -> None:
    """Write `text` to the file the environment variable `env_name` names, if it names one."""
    path = os.environ.get(env_name)
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass


class _FileWrites:
    """When a CLI subprocess next writes its counts: at most every WRITE_INTERVAL seconds while
    it runs, and once more at exit (atexit, below). Writing both files after every request took
    a tenth of the stateful phase's time; a subprocess killed at its timeout loses at most the
    last interval's counts."""

    WRITE_INTERVAL = 0.5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def due(self, what: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(what, -math.inf) < self.WRITE_INTERVAL:
                return False
            self._last[what] = now
            return True


_file_writes = _FileWrites()


def _is_generated(case: Case) -> bool:
    return case._meta is not None


def _header_schema(case: Case, name: str) -> Mapping[str, Any] | None:
    """The resolved schema of header parameter `name` of the case's operation, if documented."""
    root = case.operation.schema.raw_schema
    path_item = (root.get("paths") or {}).get(case.operation.path) or {}
    parameters = [
        *(path_item.get("parameters") or []),
        *(case.operation.definition.raw.get("parameters") or []),
    ]
    for parameter in parameters:
        parameter = refs.resolve(root, parameter)
        if (
            isinstance(parameter, Mapping)
            and parameter.get("in") == "header"
            and str(parameter.get("name", "")).lower() == name.lower()
        ):
            schema = refs.resolve(root, parameter.get("schema") or {})
            return schema if isinstance(schema, Mapping) else {}
    return None


def _valid(value: Any, schema: Mapping[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(value)


def _unique_idempotency_key(case: Case) -> None:
    if IDEMPOTENCY_HEADER not in case.headers:
        return
    schema = _header_schema(case, IDEMPOTENCY_HEADER)
    if schema is None or not _valid(case.headers[IDEMPOTENCY_HEADER], schema):
        return  # undocumented here, or a negative case probing the header: keep it.
    fresh = f"prop{uuid.uuid4().hex}"
    if _valid(fresh, schema):
        case.headers[IDEMPOTENCY_HEADER] = fresh


def normalise_whole_floats(value: Any) -> Any:
    """`value` with every finite whole float (2.0) replaced by the int (2), recursively."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise_whole_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: normalise_whole_floats(item) for key, item in value.items()}
    return value


def _contains_whole_float(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    if isinstance(value, list):
        return any(_contains_whole_float(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_whole_float(item) for item in value.values())
    return False


def _harmless_webhook_url(case: Case) -> None:
    if case.method.upper() != "POST" or not isinstance(case.body, dict):
        return
    url = case.body.get("url")
    if not isinstance(url, str) or not case.operation.path.rstrip("/").endswith("/webhooks"):
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return  # not a deliverable URL (a negative case): the server must reject it anyway.
    # Tagged with the run id, so the kit deletes it at the end of the run (conformance.cleanup).
    case.body["url"] = sink_url(case.id, _run_id)


def _drop_random_cursor(case: Case) -> None:
    meta = case._meta
    if meta is None or str(meta.phase.name.value) == "stateful":
        return
    if isinstance(case.query, dict) and "cursor" in case.query:
        del case.query["cursor"]


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Unique keys, no whole floats, no real webhook targets: for generated cases only."""
    if not _is_generated(case):
        return
    _unique_idempotency_key(case)
    if _contains_whole_float(case.body):
        case.body = normalise_whole_floats(case.body)
    _harmless_webhook_url(case)
    _drop_random_cursor(case)


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: schemathesis.Response) -> None:
    """Note the requirements the answer exercised, or that the case was refused to the end."""
    where = f"{response.status_code} on {case.method.upper()} {case.formatted_path}"
    _note_case(mapping.exercised_requirements(case), where if refused(response) else None)


@schemathesis.hook
def filter_failure(
    context: HookContext, failure: Any, case: Case, response: schemathesis.Response
) -> bool:
    """Drop a failure that judges a refusal as the server's answer (RATE-001's are kept)."""
    if not (refused(response) or _was_refused(getattr(failure, "case_id", None))):
        return True
    message = str(getattr(failure, "message", ""))
    if any(mapping.judges_refusal(name, message) for name in getattr(failure, "checks", ())):
        return True
    with _stats_lock:
        _stats.dropped += 1
    return False


# ---- refusals: waited out in the transport, counted for the report --------------------------


@dataclass
class RefusalStats:
    """What refusals (429, 503 + Retry-After) did to a run: waits, requests refused to the end,
    failures dropped, and per requirement the generated cases answered and those refused (with
    the latest refused one, `429 on POST /orders`, as an example)."""

    retried: int = 0
    exhausted: int = 0
    dropped: int = 0
    judged: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RefusalStats:
        return cls(
            retried=int(data.get("retried", 0)),
            exhausted=int(data.get("exhausted", 0)),
            dropped=int(data.get("dropped", 0)),
            judged={str(k): int(v) for k, v in (data.get("judged") or {}).items()},
            refused={str(k): int(v) for k, v in (data.get("refused") or {}).items()},
            examples={str(k): str(v) for k, v in (data.get("examples") or {}).items()},
        )

    def since(self, before: RefusalStats) -> RefusalStats:
        """What happened after the snapshot `before` (the runner's in-process phases)."""
        refused = _minus(self.refused, before.refused)
        return RefusalStats(
            retried=self.retried - before.retried,
            exhausted=self.exhausted - before.exhausted,
            dropped=self.dropped - before.dropped,
            judged=_minus(self.judged, before.judged),
            refused=refused,
            examples={rid: where for rid, where in self.examples.items() if rid in refused},
        )


def _minus(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    counts = {key: value - before.get(key, 0) for key, value in after.items()}
    return {key: value for key, value in counts.items() if value}


_stats_lock = threading.Lock()
_stats = RefusalStats()
_refused_ids: OrderedDict[str, None] = OrderedDict()


def refusal_stats() -> RefusalStats:
    """A snapshot of this process's counts so far (the runner takes differences)."""
    with _stats_lock:
        return RefusalStats.from_dict(_stats.as_dict())


def refused(response: Any) -> bool:
    """Whether a Schemathesis response is a refusal to be waited out, not an answer."""
    values = response.headers.get("retry-after")
    return is_rate_limited(response.status_code, values[0] if values else None)


def _note_case(requirement_ids: set[str], refused_where: str | None) -> None:
    """Count a generated case for each requirement it exercises: answered, or refused (where)."""
    with _stats_lock:
        counts = _stats.judged if refused_where is None else _stats.refused
        for requirement_id in requirement_ids:
            counts[requirement_id] = counts.get(requirement_id, 0) + 1
            if refused_where is not None:
                _stats.examples[requirement_id] = refused_where
    _note_stats()


def _note_retry() -> None:
    with _stats_lock:
        _stats.retried += 1


def _note_exhausted(case_id: str) -> None:
    with _stats_lock:
        _stats.exhausted += 1
        _refused_ids[case_id] = None
        while len(_refused_ids) > _MAX_REMEMBERED:
            _refused_ids.popitem(last=False)
    _note_stats()


def _was_refused(case_id: str | None) -> bool:
    with _stats_lock:
        return case_id is not None and case_id in _refused_ids


def _note_stats() -> None:
    if os.environ.get(STATS_FILE_ENV) and _file_writes.due("stats"):
        _write_stats()


def _write_stats() -> None:
    """In a CLI subprocess, leave the counts where the runner reads them (small: ~20 keys)."""
    if not os.environ.get(STATS_FILE_ENV):
        return
    with _stats_lock:
        text = json.dumps(_stats.as_dict())
    _write_file(STATS_FILE_ENV, text)


def send_patiently(send: Callable[[], Any]) -> tuple[Any, int]:
    """(response, retries): `send()` again after each refusal, waiting as Retry-After says
    (bounded, as conformance.http does), until an answer or MAX_REFUSAL_RETRIES waits are spent.
    Every attempt is paced and counted. Safe for any method: a refused request was not processed
    (decision 7: a 429 is never stored)."""
    retries = 0
    while True:
        _pace()
        try:
            response = send()
        finally:
            _count_request()
        if not refused(response) or retries >= MAX_REFUSAL_RETRIES:
            return response, retries
        retries += 1
        _note_retry()
        values = response.headers.get("retry-after")
        time.sleep(retry_after_seconds(values[0] if values else None))


def _patient(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    def patient_send(case: Case, **kwargs: Any) -> Any:
        response, _retries = send_patiently(lambda: send(case, **kwargs))
        if refused(response):
            _note_exhausted(case.id)
        return response

    return patient_send


def _install_patient_transport() -> None:
    """Wrap the requests transport's `send` once per process (it is a shared singleton)."""
    transport = _requests_transport.REQUESTS_TRANSPORT
    if not hasattr(transport.send, "__wrapped__"):
        transport.send = _patient(transport.send)  # type: ignore[method-assign]


def _write_files_at_exit() -> None:
    _write_count()
    _write_stats()


_install_patient_transport()
atexit.register(_write_files_at_exit)
