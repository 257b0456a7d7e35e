"""The sandbox's rate limit: `--rate-limit N` (a minute) and `--rate-limit N/WINDOW` (bursty)."""

from __future__ import annotations

import pytest
from fulfillment_sandbox import ratelimit
from fulfillment_sandbox.cli import build_parser
from fulfillment_sandbox.ratelimit import RateLimit, RateLimiter, parse_rate_limit

from .conftest import ACME, GLOBEX
from .spec_client import SpecClient


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("120", 120, 60),
        ("40/10s", 40, 10),
        ("5/s", 5, 1),
        ("100/2m", 100, 120),
        ("1000/h", 1000, 3600),
        (" 40 / 10s ", 40, 10),
    ],
)
def test_rate_limits_parse(text: str, limit: int, window: int) -> None:
    assert parse_rate_limit(text) == RateLimit(limit, window)


@pytest.mark.parametrize("text", ["", "abc", "40/10", "40/10d", "-1", "0", "40/0s", "40/10s/2"])
def test_bad_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate_limit(text)


def test_the_cli_keeps_n_meaning_per_minute_and_takes_a_window() -> None:
    def parsed(value: str) -> RateLimit:
        args = build_parser().parse_args(["--db", "x", "--rate-limit", value])
        limit: RateLimit = args.rate_limit
        return limit

    assert parsed("120") == RateLimit(120, 60)
    assert parsed("40/10s") == RateLimit(40, 10)
    with pytest.raises(SystemExit):
        parsed("40/10")


def test_descriptions_name_the_window() -> None:
    assert RateLimit(120).describe() == "120 requests per minute"
    assert RateLimit(40, 10).describe() == "40 requests per 10 seconds"
    assert RateLimit(5, 1).describe() == "5 requests per second"
    assert RateLimit(100, 120).describe() == "100 requests per 2 minutes"


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_a_window_resets_after_its_own_length(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(1_000_000.0)  # a multiple of 10: the start of a window
    monkeypatch.setattr(ratelimit.time, "time", clock.time)
    limiter = RateLimiter(RateLimit(2, 10))
    assert [limiter.hit("acme").allowed for _ in range(3)] == [True, True, False]
    clock.now += 3.5
    refused = limiter.hit("acme")
    assert not refused.allowed and refused.retry_after == 7 and refused.reset == 1_000_010
    assert limiter.hit("globex").allowed  # per partner
    clock.now += 7  # the next window
    allowed = limiter.hit("acme")
    assert allowed.allowed and allowed.remaining == 1 and allowed.reset == 1_000_020


def test_an_int_still_means_per_minute() -> None:
    limiter = RateLimiter(3)
    assert limiter.rate == RateLimit(3, 60) and limiter.limit == 3


def test_a_bursty_limit_gives_429_with_retry_after_and_headers(sandbox_factory) -> None:
    # A two-minute window: on a loaded machine (the suite runs in several workers) a burst of
    # five requests may take longer than a short window, and then every one of them gets through.
    base = sandbox_factory(rate_limit=RateLimit(3, 120))
    with SpecClient(base, ACME) as acme, SpecClient(base, GLOBEX) as globex:
        statuses = [acme.get("/warehouses") for _ in range(4)]
        # A window boundary may fall inside the burst: then one more request gets through.
        limited = [r for r in statuses if r.status_code == 429] or [acme.get("/warehouses")]
        r = limited[0]
        assert r.status_code == 429, [s.status_code for s in statuses]
        assert r.json()["error"]["code"] == "rate_limited"
        assert "3 requests per 2 minutes" in r.json()["error"]["message"]
        assert 1 <= int(r.headers["Retry-After"]) <= 120
        assert r.headers["X-RateLimit-Limit"] == "3"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert globex.get("/warehouses").status_code == 200
