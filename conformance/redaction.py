"""One place that keeps secrets out of everything the kit writes.

Bearer tokens and webhook signing secrets (`whsec_...`) must never reach the console, a report, a
JUnit file or a failure message. Every writer passes its text
through `scrub`; the tokens of the run are registered once, when the configuration is read, so a
check that prints a whole request by mistake still leaks nothing.
"""

from __future__ import annotations

import re
import threading
from typing import Any

__all__ = ["MASK", "register_secret", "registered_secrets", "scrub", "scrub_data"]

MASK = "***"

# `whsec_` secrets are created by the target during the run, so they cannot be registered ahead:
# anything that looks like one is masked. An Authorization header value is masked whatever it is.
_WHSEC = re.compile(r"whsec_[A-Za-z0-9_\-+/=.]+")
# A credential has a digit or punctuation somewhere: "Bearer Authorization" in a rule's title is
# prose, not a token (the run's own tokens are registered and masked whatever they look like).
_BEARER = re.compile(r"(?i)(bearer\s+)(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}")
# A short string would mask ordinary words ("a", "test"): only register real secrets.
_MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret of this run (a token); later calls to `scrub` mask it."""
    if secret and len(secret) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(secret)


def registered_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def scrub(text: str) -> str:
    """`text` with every registered secret, bearer credential and webhook secret masked."""
    if not text:
        return text
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(registered_secrets(), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _WHSEC.sub("whsec_" + MASK, text)
    return _BEARER.sub(lambda match: match.group(1) + MASK, text)


def scrub_data(value: Any) -> Any:
    """A copy of a JSON-like value with every string scrubbed (for reports built from dicts)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(key)): scrub_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(item) for item in value]
    return value
