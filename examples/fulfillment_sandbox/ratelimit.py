"""Per-partner fixed-window rate limit with the guide's headers (decision 25).

Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(epoch seconds); a request over the limit gets 429 `rate_limited` with `Retry-After`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

WINDOW_SECONDS = 60
# Without --rate-limit the sandbox still advertises (and enforces) a limit, high enough that
# benchmarks and the conformance kit never meet it.
DEFAULT_LIMIT = 100_000


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
    def __init__(self, per_minute: int | None) -> None:
        self.limit = per_minute if per_minute is not None else DEFAULT_LIMIT
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def _window(self, now: float) -> tuple[int, int]:
        start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        return start, start + WINDOW_SECONDS

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
