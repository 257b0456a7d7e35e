"""Rate-limited servers are judged as the unlimited sandbox is: a 429 is waited out, not judged.

A 429 (or a 503 with Retry-After) says "not now", nothing about any rule but RATE-001/002. Two
correct servers that refuse requests, each built from the reference sandbox:

* the sandbox with a bursty limit, 40 requests per 10 s per partner (`--rate-limit 40/10s`): a
  burst, then seconds of 429 + Retry-After, as real vendor sandboxes do;
* the sandbox behind `Refusals`, which answers 1 request in 5 (seeded) itself with 429,
  Retry-After 0 or 1 and the error envelope, at random.

Against each, every requirement that passes against the unlimited sandbox must pass, the
property-based phase included. At 40 requests per 10 s a full kit run (some 4,900 requests)
takes over 20 minutes, so the normal suite runs short versions: the property phase over
`createOrder` (the operation whose missing Idempotency-Key case a 429 once failed as IDEM-001),
the stateful phase briefly, and the scenario checks of the IDEM requirements. The full kit runs
are `slow` (`nox -s slow`). Each run prints its wall time against its request floor (requests
made / allowed rate), for the record; nothing asserts a duration.

The retry logic itself, without the rate-limit wait: a server that refuses every request twice
and then answers gives finding-free cases; one that always refuses leaves the requirements
`not_exercised`, never `failed`; and refusals hide no real fault.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fulfillment_spec import OPENAPI_PATH

from conformance.checks import test_property_based as property_checks
from conformance.outcomes import NotExercised
from conformance.property import hooks
from conformance.property.runner import (
    PropertyRun,
    PropertySettings,
    refused_throughout,
    run_stateful_phase,
    run_unit_phases,
    schemathesis_config,
)
from tests.kit import broken_property
from tests.kit import variants as v
from tests.kit.harness import KitResult, outcome, run_kit
from tests.kit.test_legal_variations import assert_accepted
from tests.live_server import serve

sandbox_app = pytest.importorskip("fulfillment_sandbox.app")
from fulfillment_sandbox.ratelimit import RateLimit  # noqa: E402  (after the importorskip)

ACME = "wms_test_acme_token"
GLOBEX = "wms_test_globex_token"
SEED = 20260702
BURSTY = RateLimit(40, 10)
# One request in five is refused; never more than twice in a row for the same request, so no
# request exhausts the kit's bound (5 retries) and every rule is still put to the server.
REFUSED_SHARE = 0.2
MAX_STREAK = 2
# The short kit runs: the idempotency scenario checks (IDEM-001 is the property phase's).
IDEM_IDS = ("IDEM-002", "IDEM-003", "IDEM-004", "IDEM-005", "IDEM-006", "IDEM-007", "IDEM-008")
SHORT_ARGS = ("--no-property-based", "--seed", str(SEED), *(f"--only={i}" for i in IDEM_IDS))
FULL_ARGS = ("--seed", str(SEED))
PROFILES = ("core", "security")
FULL_RUN_TIMEOUT = 3600
# The stateful phase's scenarios in the short run (about 40 requests, 8 of them refused).
STATEFUL_SCENARIOS = 5

pytestmark = pytest.mark.timeout(1800)


# -- servers ------------------------------------------------------------------------------------
class Refusals(v.Variant):
    """Refuses a request with 429 + Retry-After + the envelope before the sandbox sees it.

    `chance` of refusing each request (seeded); at most `max_streak` refusals in a row for the
    same request (None: no bound); `retry_after` gives the header's value (None: no header).
    """

    def __init__(
        self,
        app: v.App,
        *,
        chance: float = REFUSED_SHARE,
        max_streak: int | None = MAX_STREAK,
        retry_after: Callable[[random.Random], str | None] | None = None,
        seed: int = SEED,
    ) -> None:
        super().__init__(app)
        self.chance = chance
        self.max_streak = max_streak
        self.retry_after = retry_after or (lambda rng: str(rng.choice((0, 1))))
        self.random = random.Random(seed)
        self.streaks: dict[tuple[str, ...], int] = {}
        self.refused = 0

    async def handle(self, req: v.Request) -> v.Response:
        if self._refuse(req):
            self.refused += 1
            return self._refusal()
        return await super().handle(req)

    def _refuse(self, req: v.Request) -> bool:
        body = hashlib.sha256(req.body).hexdigest()
        key = (req.token, req.method, req.path, repr(sorted(req.query.items())), body)
        streak = self.streaks.get(key, 0)
        bounded = self.max_streak is None or streak < self.max_streak
        if bounded and self.random.random() < self.chance:
            self.streaks[key] = streak + 1
            return True
        self.streaks.pop(key, None)
        return False

    def _refusal(self) -> v.Response:
        like = v.Response(429, [("x-request-id", f"req_{uuid.uuid4().hex}")])
        resp = v.error(like, 429, "rate_limited", "Too many requests; retry later.")
        resp = resp.with_header("x-ratelimit-limit", "100")
        resp = resp.with_header("x-ratelimit-remaining", "0")
        resp = resp.with_header("x-ratelimit-reset", str(int(time.time()) + 1))
        return resp.with_header("retry-after", self.retry_after(self.random))


def sandbox(tmp_path: Path, **options: Any) -> Any:
    return v.sandbox(str(tmp_path / f"sandbox-{uuid.uuid4().hex[:6]}.db"), **options)


def bursty(db_path: str) -> Any:
    return v.sandbox(db_path, rate_limit=BURSTY)


def randomly_refusing(db_path: str) -> Any:
    return Refusals(v.sandbox(db_path))


BURSTY_VARIANT = v.LegalVariant(
    "bursty-40-per-10s",
    "40 requests per 10 s per partner, then 429 + Retry-After",
    "every operation documents 429 with Retry-After (decision 25)",
    bursty,
    kind="create_app(rate_limit=RateLimit(40, 10))",
)
REFUSALS_VARIANT = v.LegalVariant(
    "random-429s",
    "1 request in 5 refused at random with 429 + Retry-After 0 or 1",
    "every operation documents 429 with Retry-After (decision 25)",
    randomly_refusing,
    kind="wrapper",
)


# -- running and reporting ----------------------------------------------------------------------
def settings(base_url: str, operations: tuple[str, ...], **extra: Any) -> PropertySettings:
    return PropertySettings(
        base_url=base_url,
        token=ACME,
        seed=SEED,
        timeout=10,
        operations=operations,
        **extra,
    )


def print_floor(label: str, requests: int, wall: float, limit: RateLimit | None) -> None:
    """The wall time against the request floor (requests / allowed rate), for the lead to quote."""
    if limit is None:
        print(f"{label}: {requests} requests in {wall:.1f} s")
        return
    floor = requests / (limit.limit / limit.window)
    print(
        f"{label}: {requests} requests in {wall:.1f} s; floor {floor:.1f} s at"
        f" {limit.limit}/{limit.window}s (a fixed window lets the first burst through early)"
    )


def judged_alike(limited: Sequence[PropertyRun], reference: Sequence[PropertyRun]) -> None:
    """The refusing server is judged as the reference one: same findings, no errors, and every
    requirement the reference run exercised was exercised again (not left all refused)."""
    for run in [*reference, *limited]:
        assert run.requests > 0 and not run.errors, run.summary() + "\n" + "\n".join(run.errors)
    expected = {(f.check, f.requirement_ids) for run in reference for f in run.findings}
    got = {(f.check, f.requirement_ids) for run in limited for f in run.findings}
    assert got == expected, "\n".join(f.describe() for run in limited for f in run.findings)
    exercised = {rid for run in reference for rid in run.refusals.judged}
    assert "IDEM-001" in exercised
    unexercised = {rid: refused_throughout(limited, [rid]) for rid in exercised}
    assert not {rid: why for rid, why in unexercised.items() if why}, unexercised
    assert not any(run.refusals.dropped for run in reference)


# -- the property phase, short ------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> PropertyRun:
    """The unit phases over createOrder against the unlimited sandbox."""
    with serve(sandbox(tmp_path_factory.mktemp("reference"))) as root:
        return run_unit_phases(settings(f"{root}/v1", ("createOrder",)))


def test_the_property_phase_under_a_bursty_limit_judges_as_without(
    reference_run: PropertyRun, tmp_path: Path
) -> None:
    with serve(sandbox(tmp_path, rate_limit=BURSTY)) as root:
        started = time.monotonic()
        run = run_unit_phases(settings(f"{root}/v1", ("createOrder",)))
        wall = time.monotonic() - started
    print_floor("property phase, createOrder, 40/10s", run.requests, wall, BURSTY)
    print(run.summary())
    assert run.refusals.retried > 0, f"expected the limit to be met, got {run.summary()}"
    assert run.refusals.exhausted == 0, run.refusals
    judged_alike([run], [reference_run])


def test_the_property_phases_with_random_refusals_judge_as_without(
    reference_run: PropertyRun, tmp_path: Path
) -> None:
    """Unit phases in process, and the stateful phase in its `schemathesis run` subprocess: the
    hooks' retry works in both."""
    app = Refusals(sandbox(tmp_path))
    with serve(app) as root:
        started = time.monotonic()
        unit = run_unit_phases(settings(f"{root}/v1", ("createOrder",)))
        # Bounded by scenarios, not seconds: under load (issue 13) a 5 s budget was spent on
        # start-up and generation before the first request, and the phase sent none.
        stateful_settings = settings(
            f"{root}/v1",
            ("createOrder", "getOrder"),
            stateful_max_time=None,
            stateful_max_examples=STATEFUL_SCENARIOS,
        )
        stateful = run_stateful_phase(stateful_settings, tmp_path)
        wall = time.monotonic() - started
    print_floor("property phases, 1 in 5 refused", unit.requests + stateful.requests, wall, None)
    print(unit.summary(), stateful.summary(), f"{app.refused} refusals sent", sep="\n")
    for run in (unit, stateful):
        assert run.refusals.retried > 0 and run.refusals.exhausted == 0, run.summary()
    assert not stateful.findings and not stateful.errors, stateful.summary()
    judged_alike([unit], [reference_run])


# -- the scenario checks, short -----------------------------------------------------------------
def kit(url: str, tmp_path: Path, args: Sequence[str], timeout: float = 600) -> KitResult:
    return run_kit(
        url,
        ACME,
        profiles=PROFILES,
        second_token=GLOBEX,
        extra_args=args,
        tmp_path=tmp_path,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def short_baseline(tmp_path_factory: pytest.TempPathFactory) -> KitResult:
    tmp = tmp_path_factory.mktemp("short-baseline")
    with serve(sandbox(tmp)) as url:
        result = kit(f"{url}/v1", tmp, SHORT_ARGS)
    assert all(outcome(result.report, rid) == "passed" for rid in IDEM_IDS), result.stdout[-2000:]
    return result


@pytest.mark.parametrize("variant", [BURSTY_VARIANT, REFUSALS_VARIANT], ids=str)
def test_the_idempotency_checks_of_a_refusing_server_judge_as_without(
    variant: v.LegalVariant, short_baseline: KitResult, tmp_path: Path
) -> None:
    with serve(variant.build(str(tmp_path / "sandbox.db"))) as url:
        started = time.monotonic()
        result = kit(f"{url}/v1", tmp_path, SHORT_ARGS)
        wall = time.monotonic() - started
    made = int(result.report.get("requests_made", 0))
    limit = BURSTY if variant is BURSTY_VARIANT else None
    print_floor(f"kit --only IDEM-002..008, {variant.name}", made, wall, limit)
    assert_accepted(variant, result, short_baseline)
    if variant is REFUSALS_VARIANT:  # refusals were met and waited out, not judged
        assert made > int(short_baseline.report["requests_made"]), made


# -- the retry logic, without waiting -----------------------------------------------------------
def _refuse_twice(app: Any) -> Refusals:
    return Refusals(app, chance=1.0, max_streak=2, retry_after=lambda rng: "0")


def _refuse_always(app: Any, retry_after: str | None = "0") -> Refusals:
    return Refusals(app, chance=1.0, max_streak=None, retry_after=lambda rng: retry_after)


def test_429_twice_then_200_is_one_finding_free_case(tmp_path: Path) -> None:
    with serve(_refuse_twice(sandbox(tmp_path))) as root:
        config = schemathesis_config(settings(f"{root}/v1", ()), stateful=False)
        schema = schemathesis.openapi.from_path(
            str(OPENAPI_PATH), config=schemathesis.Config.from_dict(config)
        )
        case = schema["/warehouses"]["GET"].Case()
        before, stats_before = hooks.request_count(), hooks.refusal_stats()
        response = case.call(headers={"Authorization": f"Bearer {ACME}"})
        sent = hooks.request_count() - before
        case.validate_response(response)  # raises on any finding
    stats = hooks.refusal_stats().since(stats_before)
    assert response.status_code == 200
    assert sent == 3  # two refusals waited out, then the answer
    assert stats.exhausted == 0 and stats.dropped == 0


@pytest.fixture
def always_refused(tmp_path: Path) -> Iterator[str]:
    with serve(_refuse_always(sandbox(tmp_path))) as root:
        yield f"{root}/v1"


def test_a_server_that_always_refuses_leaves_rules_not_exercised_not_failed(
    always_refused: str,
) -> None:
    run = run_unit_phases(settings(always_refused, ("createOrder",)))
    print(run.summary())
    assert not run.findings, "\n".join(f.describe() for f in run.findings)
    assert run.refusals.exhausted > 0 and not run.refusals.judged, run.refusals
    assert run.requests >= run.refusals.exhausted * (hooks.MAX_REFUSAL_RETRIES + 1)
    reason = refused_throughout([run], ["IDEM-001"])
    assert reason and reason.startswith("rate limited:") and "POST /orders" in reason
    for check in (
        property_checks.test_a_create_without_idempotency_key_is_rejected,
        property_checks.test_no_input_makes_the_server_fail_with_5xx,
        property_checks.test_every_4xx_and_5xx_uses_the_error_envelope,
    ):
        with pytest.raises(NotExercised, match="rate limited: all"):
            check([run])
    # RATE-001 is the one rule a refusal is evidence for: here it passes (Retry-After is sent).
    property_checks.test_every_429_carries_retry_after([run])


def test_refusals_hide_no_real_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 429 without Retry-After is still RATE-001's finding; a fault behind the refusals
    (no X-Request-Id once answered) is still ERR-004's."""
    monkeypatch.setattr(hooks, "retry_after_seconds", lambda raw: 0.0)  # no 1 s default waits
    with serve(_refuse_always(sandbox(tmp_path), retry_after=None)) as root:
        bare = run_unit_phases(settings(f"{root}/v1", ("listWarehouses",)))
    with pytest.raises(AssertionError, match="Retry-After on every 429"):
        property_checks.test_every_429_carries_retry_after([bare])
    assert {rid for f in bare.findings for rid in f.requirement_ids} == {"RATE-001"}
    broken = _refuse_twice(broken_property.no_request_id_header(sandbox(tmp_path)))
    with serve(broken) as root:
        run = run_unit_phases(settings(f"{root}/v1", ("listWarehouses",)))
    assert run.refusals.retried > 0 and run.for_requirements("ERR-004"), run.summary()
    with pytest.raises(AssertionError, match="X-Request-Id"):
        property_checks.test_every_response_carries_x_request_id([run])


# -- the whole kit, slow ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_baseline(tmp_path_factory: pytest.TempPathFactory) -> KitResult:
    tmp = tmp_path_factory.mktemp("full-baseline")
    with serve(sandbox(tmp)) as url:
        started = time.monotonic()
        result = kit(f"{url}/v1", tmp, FULL_ARGS, timeout=FULL_RUN_TIMEOUT)
        wall = time.monotonic() - started
    print_floor("full kit, unlimited", int(result.report.get("requests_made", 0)), wall, None)
    assert result.report, f"expected a report, got exit {result.exit_code}: {result.stderr[-1500:]}"
    return result


@pytest.mark.slow
@pytest.mark.timeout(FULL_RUN_TIMEOUT + 600)
@pytest.mark.parametrize("variant", [BURSTY_VARIANT, REFUSALS_VARIANT], ids=str)
def test_the_whole_kit_judges_a_refusing_server_as_without(
    variant: v.LegalVariant, full_baseline: KitResult, tmp_path: Path
) -> None:
    with serve(variant.build(str(tmp_path / "sandbox.db"))) as url:
        started = time.monotonic()
        result = kit(f"{url}/v1", tmp_path, FULL_ARGS, timeout=FULL_RUN_TIMEOUT)
        wall = time.monotonic() - started
    made = int(result.report.get("requests_made", 0))
    limit = BURSTY if variant is BURSTY_VARIANT else None
    print_floor(f"full kit, {variant.name}", made, wall, limit)
    assert_accepted(variant, result, full_baseline)
