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
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import schemathesis
from schemathesis import Case, HookContext

from conformance.property import checks as _checks

__all__ = [
    "COUNT_FILE_ENV",
    "IDEMPOTENCY_HEADER",
    "MAX_RPS_ENV",
    "WEBHOOK_SINK_HOST",
    "normalise_whole_floats",
    "request_count",
    "set_max_rps",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The target's own loopback on the discard port: a delivery is refused at once, goes nowhere.
WEBHOOK_SINK_HOST = "127.0.0.1:9"
# In a CLI subprocess, the request count is written here at exit (the kit reports requests made).
COUNT_FILE_ENV = "CONFORMANCE_PROPERTY_COUNT_FILE"
# The kit's --max-rps for a CLI subprocess (in process, the runner calls `set_max_rps`).
MAX_RPS_ENV = "CONFORMANCE_PROPERTY_MAX_RPS"

_lock = threading.Lock()
_requests = 0


_pace_lock = threading.Lock()
_next_slot = 0.0
_max_rps: float | None = None


def set_max_rps(max_rps: float | None) -> None:
    """Cap generated requests at `max_rps` per second, evenly spaced (None: no cap)."""
    global _max_rps
    _max_rps = max_rps if max_rps and max_rps > 0 else None


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
    global _next_slot
    max_rps = _current_max_rps()
    if max_rps is None:
        return
    with _pace_lock:
        now = time.monotonic()
        slot = max(now, _next_slot)
        _next_slot = slot + 1.0 / max_rps
    if slot > now:
        time.sleep(slot - now)


def request_count() -> int:
    """Requests Schemathesis has sent from this process so far (the runner takes differences)."""
    with _lock:
        return _requests


def _count_request() -> None:
    global _requests
    with _lock:
        _requests += 1
        count = _requests
    path = os.environ.get(COUNT_FILE_ENV)
    if path:
        _write_count(path, count)


def _write_count(path: str, count: int) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"{count}\n")
    except OSError:
        pass


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
        parameter = _checks._resolve(root, parameter)
        if (
            isinstance(parameter, Mapping)
            and parameter.get("in") == "header"
            and str(parameter.get("name", "")).lower() == name.lower()
        ):
            schema = _checks._resolve(root, parameter.get("schema") or {})
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
    case.body["url"] = f"https://{WEBHOOK_SINK_HOST}/{case.id}"


def _drop_random_cursor(case: Case) -> None:
    meta = case._meta
    if meta is None or str(meta.phase.name.value) == "stateful":
        return
    if isinstance(case.query, dict) and "cursor" in case.query:
        del case.query["cursor"]


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Unique keys, no whole floats, no real webhook targets: for generated cases only."""
    _pace()
    if not _is_generated(case):
        return
    _unique_idempotency_key(case)
    if _contains_whole_float(case.body):
        case.body = normalise_whole_floats(case.body)
    _harmless_webhook_url(case)
    _drop_random_cursor(case)


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: schemathesis.Response) -> None:
    """Count every request that got a response (the kit reports how many it made)."""
    _count_request()


@schemathesis.hook
def after_network_error(context: HookContext, case: Case, request: Any) -> None:
    """Count requests that timed out or failed to connect, too."""
    _count_request()
