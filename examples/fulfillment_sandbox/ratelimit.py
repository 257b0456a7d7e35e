"""Per-partner fixed-window rate limit with the guide's headers (decision 25).

Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(epoch seconds); a request over the limit gets 429 `rate_limited` with `Retry-After`.

The window is a minute unless told otherwise: `--rate-limit 120` is 120 requests a minute,
`--rate-limit 40/10s` is 40 requests per 10 seconds. A short window makes the bursty limits
real vendor sandboxes have (a burst, then a few seconds of 429s), which a per-minute limit of
the same average rate does not.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass

WINDOW_SECONDS = 60
# Without --rate-limit the sandbox still advertises (and enforces) a limit, high enough that
# benchmarks and the conformance kit never meet it.
DEFAULT_LIMIT = 100_000
_UNITS = {"s": 1, "m": 60, "h": 3600}
_SPEC = re.compile(r"^\s*(?P<limit>\d+)\s*(?:/\s*(?P<count>\d*)\s*(?P<unit>[smh]))?\s*$")


@dataclass(frozen=True)
class RateLimit:
    """`limit` requests per `window` seconds, per partner."""

    limit: int
    window: int = WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < 1:
            raise ValueError("a rate limit needs at least 1 request per at least 1 second")

    def describe(self) -> str:
        """`120 requests per minute`, `40 requests per 10 seconds` (for the 429's message)."""
        if self.window == 60:
            per = "minute"
        elif self.window % 3600 == 0:
            per = "hour" if self.window == 3600 else f"{self.window // 3600} hours"
        elif self.window % 60 == 0:
            per = f"{self.window // 60} minutes"
        else:
            per = "second" if self.window == 1 else f"{self.window} seconds"
        return f"{self.limit} requests per {per}"


def parse_rate_limit(text: str) -> RateLimit:
    """`N` (per minute) or `N/<window>`: `40/10s`, `5/s`, `100/2m`, `1000/h`."""
    match = _SPEC.match(text)
    if match is None:
        raise ValueError(f"expected N or N/<window> such as 40/10s, got {text!r}")
    unit = match.group("unit")
    if unit is None:
        return RateLimit(int(match.group("limit")))
    count = int(match.group("count") or 1)
    return RateLimit(int(match.group("limit")), count * _UNITS[unit])


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """`rate`: a RateLimit, an int (requests per minute, as before windows existed) or None."""

    def __init__(self, rate: RateLimit | int | None) -> None:
        if rate is None:
            rate = RateLimit(DEFAULT_LIMIT)
        elif isinstance(rate, int):
            rate = RateLimit(rate)
        self.rate = rate
        self.limit = rate.limit
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def describe(self) -> str:
        return self.rate.describe()

    def _window(self, now: float) -> tuple[int, int]:
        window = self.rate.window
        start = int(now // window) * window
        return start, start + window

    def peek(self) -> Verdict:
        """Headers for a request that is not counted (no partner yet, e.g. a 401)."""
        now = time.time()
        _start, reset = self._window(now)
        return Verdict(True, self.limit, self.limit, reset, 0)

    def hit(self, partner: str) -> Verdict:
        now = time.time()
        start, reset = self._window(now)
        with self._lock:
            window, used = self._windows.get(partner, (start, 0))
            if window != start:
                used = 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[partner] = (start, used)
        retry_after = max(1, math.ceil(reset - now))
        return Verdict(allowed, self.limit, max(0, self.limit - used), reset, retry_after)
