"""The run's settings, read once from command-line options or `CONFORMANCE_*` variables.

The CLI and a plain pytest run share this: the CLI hands its `Config` to its pytest run as an
object (`plugin.GivenSettings`: tokens never in argv, where a process list or a pytest header
shows them, nor in the environment, which every subprocess inherits); a plain pytest run's
plugin reads options first, then the environment. Everything a check needs to know about the run
is here, so a run can be reproduced from the report header (seed, run id, kit version).
"""

from __future__ import annotations

import difflib
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conformance import redaction
from conformance.catalogue import PROFILES, catalogue
from conformance.errors import KitError
from conformance.webhook_receiver import check_webhook_options

__all__ = [
    "DEFAULT_MAX_RPS",
    "DEFAULT_TIMEOUT",
    "ENV_PREFIX",
    "OPTIONS",
    "Config",
    "ConfigError",
    "new_run_id",
    "resolve_profiles",
]

ENV_PREFIX = "CONFORMANCE_"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RPS: float | None = None
# Steps of the model-based phase: about 10 s against the bundled sandbox (bench/bench_model.py).
DEFAULT_MODEL_STEPS = 200

# Option name (without the `--conformance-` prefix) -> help. The CLI, the plugin and the env
# variables (CONFORMANCE_BASE_URL, ...) all derive from this one table.
OPTIONS: dict[str, str] = {
    "base-url": "the API root, including /v1 (turns the kit on)",
    "token": "the partner's bearer token (prefer the CONFORMANCE_TOKEN variable)",
    "second-token": "a second partner's token: enables the security profile",
    "profile": "a claimed profile (repeatable; 'all' = every profile); default core",
    "driver": "sandbox (default) or module:Class, the warehouse-side driver",
    "seed": "seed for the property-based and model-based parts (default: random, printed)",
    "max-rps": "cap on requests per second (default: no cap)",
    "timeout": f"seconds before a request times out (default {DEFAULT_TIMEOUT:g})",
    "report-json": "write the JSON report here",
    "report-html": "write the HTML certificate here",
    "only": "run only the checks citing this requirement id (repeatable)",
    "no-property-based": "skip the Schemathesis checks",
    "model-steps": f"steps of the model-based phase (default {DEFAULT_MODEL_STEPS}; 0 skips it)",
    "no-model-based": "skip the model-based phase (its requirements are not exercised)",
    "run-id": "tag for everything this run creates (default: random)",
    "webhook-listen": "HOST:PORT the kit's webhook receiver binds to (default 127.0.0.1:0)",
    "webhook-url": "the public URL the target must deliver webhooks to (a tunnel, a routable"
    " host); default: the receiver's own address",
    "webhook-timeout": "seconds to wait for a webhook delivery (default: the spec's stated"
    " deadline)",
    "probe-rate-limit": "send a bounded burst to provoke a 429, so the rate-limit rules are"
    " exercised",
    "verbose": "print full tracebacks of failing checks",
}
REPEATABLE = ("profile", "only")
FLAGS = ("no-property-based", "no-model-based", "probe-rate-limit", "verbose")


class ConfigError(KitError, ValueError):
    """A usage or configuration error: the message is one sentence for the user."""


def new_run_id() -> str:
    """A short, unique, URL- and SKU-safe tag for one run (`ck` + 8 hex digits)."""
    return "ck" + secrets.token_hex(4)


def env_name(option: str) -> str:
    return ENV_PREFIX + option.upper().replace("-", "_")


def resolve_profiles(requested: Iterable[str], *, second_token: str | None) -> tuple[str, ...]:
    """Claimed profiles in report order: 'all' expands; default core (+ security with a token)."""
    names: list[str] = []
    for item in requested:
        names += [part.strip().lower() for part in item.split(",") if part.strip()]
    if not names:
        names = ["core", "security"] if second_token else ["core"]
    if "all" in names:
        names = list(PROFILES)
    # Core is part of every certification: a server that claims only webhooks still has to
    # create, read and cancel orders correctly, or the webhooks mean nothing.
    names.append("core")
    unknown = sorted(set(names) - set(PROFILES))
    if unknown:
        raise ConfigError(
            f"unknown profile {unknown[0]!r}: choose from {', '.join(PROFILES)} or all"
        )
    if "security" in names and not second_token:
        raise ConfigError(
            "the security profile needs a second partner's token: pass --second-token"
        )
    return tuple(profile for profile in PROFILES if profile in names)


def check_only(ids: Iterable[str], profiles: Iterable[str]) -> tuple[str, ...]:
    """The --only ids, each a testable requirement of a claimed profile, exactly as catalogued.

    A typo must not become a run that checks nothing and says NOT CONFORMANT without a word.
    """
    known = catalogue()
    claimed = set(profiles)
    chosen: list[str] = []
    for item in ids:
        for requirement_id in (part.strip() for part in item.replace(",", " ").split()):
            entry = known.get(requirement_id)
            if entry is None:
                raise ConfigError(_unknown_id(requirement_id, list(known)))
            if not entry.testable:
                raise ConfigError(
                    f"--only {requirement_id}: the requirement is not testable from outside the"
                    f" API ({(entry.not_tested_reason or 'see the catalogue').rstrip('.')})"
                )
            if entry.profile not in claimed:
                raise ConfigError(
                    f"--only {requirement_id}: it belongs to the {entry.profile} profile, which"
                    f" this run does not claim (add --profile {entry.profile})"
                )
            if requirement_id not in chosen:
                chosen.append(requirement_id)
    return tuple(chosen)


def _unknown_id(requirement_id: str, known: list[str]) -> str:
    by_upper = {name.upper(): name for name in known}
    exact_case = by_upper.get(requirement_id.upper())
    nearest = (
        [exact_case]
        if exact_case
        else [
            by_upper[match]
            for match in difflib.get_close_matches(requirement_id.upper(), list(by_upper), n=3)
        ]
    )
    hint = f": did you mean {', '.join(nearest[:3])}?" if nearest else ""
    return f"--only {requirement_id}: no such requirement id{hint} (ids are case-sensitive)"


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the base URL {base_url!r} is not an http:// or https:// URL")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ConfigError(f"the base URL {base_url!r} has an invalid port") from None
    return base_url.rstrip("/")


@dataclass(frozen=True)
class Config:
    """Everything about one run. Tokens are kept out of `repr` (and so out of failure output)."""

    base_url: str
    token: str | None = field(default=None, repr=False)
    second_token: str | None = field(default=None, repr=False)
    profiles: tuple[str, ...] = ("core",)
    driver_spec: str = "sandbox"
    seed: int = 0
    max_rps: float | None = DEFAULT_MAX_RPS
    timeout: float = DEFAULT_TIMEOUT
    run_id: str = field(default_factory=new_run_id)
    report_json: str | None = None
    report_html: str | None = None
    only: tuple[str, ...] = ()
    property_based: bool = True
    model_steps: int = DEFAULT_MODEL_STEPS
    webhook_listen: str | None = None
    webhook_url: str | None = None
    webhook_timeout: float | None = None
    probe_rate_limit: bool = False
    verbose: bool = False

    @property
    def partial(self) -> bool:
        """A run that left checks out on purpose: its verdict is `partial`, not a certificate."""
        return bool(self.only) or not self.property_based or self.model_steps == 0

    @classmethod
    def from_sources(
        cls,
        get_option: Callable[[str], Any],
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        """Build from an option getter (name without prefix -> value or None) then the environment.

        Raises ConfigError with one sentence when a value is unusable.
        """
        env = os.environ if environ is None else environ

        def value(name: str) -> Any:
            given = get_option(name)
            if given not in (None, [], ()):
                return given
            raw = env.get(env_name(name))
            if raw is None or raw == "":
                return [] if name in REPEATABLE else None
            if name in REPEATABLE:
                return [part for part in raw.replace(",", " ").split() if part]
            return raw

        base_url = value("base-url")
        if not base_url:
            raise ConfigError("no base URL: pass --base-url (or set CONFORMANCE_BASE_URL)")
        token = value("token")
        second_token = value("second-token")
        if token and second_token and token == second_token:
            raise ConfigError("the second token must belong to another partner than the first")
        seed_raw = value("seed")
        max_rps_raw = value("max-rps")
        timeout_raw = value("timeout")
        steps_raw = value("model-steps")
        try:
            seed = int(seed_raw) if seed_raw is not None else secrets.randbelow(2**31)
        except ValueError:
            raise ConfigError(f"the seed {seed_raw!r} is not an integer") from None
        max_rps = _positive("max-rps", max_rps_raw) if max_rps_raw is not None else None
        timeout = _positive("timeout", timeout_raw) if timeout_raw is not None else DEFAULT_TIMEOUT
        model_steps = _steps(steps_raw) if steps_raw is not None else DEFAULT_MODEL_STEPS
        if _flag(value("no-model-based")):
            model_steps = 0
        profiles = resolve_profiles(value("profile"), second_token=second_token)
        check_webhook_options(value("webhook-listen"), value("webhook-url"))
        webhook_timeout_raw = value("webhook-timeout")
        webhook_timeout = (
            _positive("webhook-timeout", webhook_timeout_raw)
            if webhook_timeout_raw is not None
            else None
        )
        config = cls(
            base_url=_check_base_url(str(base_url)),
            token=token or None,
            second_token=second_token or None,
            profiles=profiles,
            driver_spec=str(value("driver") or "sandbox"),
            seed=seed,
            max_rps=max_rps,
            timeout=timeout,
            run_id=str(value("run-id") or new_run_id()),
            report_json=value("report-json"),
            report_html=value("report-html"),
            only=check_only(value("only"), profiles),
            property_based=not _flag(value("no-property-based")),
            model_steps=model_steps,
            webhook_listen=value("webhook-listen") or None,
            webhook_url=value("webhook-url") or None,
            webhook_timeout=webhook_timeout,
            probe_rate_limit=_flag(value("probe-rate-limit")),
            verbose=_flag(value("verbose")),
        )
        redaction.register_secret(config.token)
        redaction.register_secret(config.second_token)
        return config


def _flag(raw: Any) -> bool:
    """A flag from an option (True/None) or a variable ("1", "true", "no", ...)."""
    if isinstance(raw, str):
        return raw.strip().lower() not in ("", "0", "false", "no")
    return bool(raw)


def _steps(raw: Any) -> int:
    try:
        steps = int(str(raw))
    except ValueError:
        raise ConfigError(f"--model-steps {raw!r} is not a whole number") from None
    if steps < 0:
        raise ConfigError(f"--model-steps must be 0 or more, got {raw!r}")
    return steps


def _positive(name: str, raw: Any) -> float:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"--{name} {raw!r} is not a number") from None
    if not number > 0:
        raise ConfigError(f"--{name} must be greater than zero, got {raw!r}")
    return number
