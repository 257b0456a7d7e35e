"""Sending a request safely again: what is worth a retry, and how long to wait before it.

Only requests that are safe to repeat come through here: reads, a create carrying its
Idempotency-Key (the same key on every attempt: IDEM-002), a cancel (idempotent by itself:
CAN-002) and a PATCH guarded by If-Match (a repeat after a lost success gets 409/412, never a
second change: AMD-005).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class GaveUp(Exception):
    """Every attempt failed with something worth retrying; the last cause is chained."""


@dataclass
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    # Seeded jitter keeps tests reproducible; spreads out clients that failed together.
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.max_delay, self.base_delay * 2**attempt)
        return delay * (0.5 + self.rng.random() / 2)


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_code(response: httpx.Response) -> str | None:
    """`error.code` of the contract's envelope; clients branch on it, never on `message`."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def is_transient(response: httpx.Response) -> bool:
    """429 (RATE-001), any 5xx (not part of the contract, never stored: IDEM-012), and 409
    `idempotency_key_in_use` (the first attempt still runs: IDEM-005)."""
    if response.status_code == 429 or response.status_code >= 500:
        return True
    return response.status_code == 409 and error_code(response) == "idempotency_key_in_use"


def send(
    client: httpx.Client, policy: RetryPolicy, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send until a non-transient answer; wait `Retry-After` when given, else back off."""
    last: BaseException | None = None
    for attempt in range(policy.attempts):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            last = exc
            policy.sleep(policy.backoff(attempt))
            continue
        if not is_transient(response):
            return response
        last = httpx.HTTPStatusError(
            f"{response.status_code} from {method} {url}",
            request=response.request,
            response=response,
        )
        wait = retry_after(response)
        policy.sleep(policy.backoff(attempt) if wait is None else min(wait, policy.max_delay))
    raise GaveUp(
        f"{method} {url}: no answer worth keeping after {policy.attempts} attempts"
    ) from last
