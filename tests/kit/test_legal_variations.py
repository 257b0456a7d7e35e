"""No false alarms: servers making another legal choice pass the kit.

Each variant of tests/kit/variants.py is the reference sandbox wrapped to make one legal choice
(other id formats, smaller or empty pages, microsecond timestamps, unknown fields, key order, gzip,
201 replays, refusals not stored, 412 / 428, checks judged in another order, no optional headers,
latency, a rate limit, thousands of orders of history, two runs at once). Wrapper variants whose
choices touch different things are served stacked (variants.STACKS: one run per stack, and each
member's test judges that run). The kit runs against it exactly as a user runs it (a subprocess)
and must judge it as it judges the reference sandbox: every requirement that passes on the sandbox
passes on the variant, nothing is `failed`, and a `warning` only where a SHOULD the variant leaves
out allows it. When the reference sandbox is `conformant` (exit 0), so must the variant be.

The gallery is split across two modules (this one and test_legal_variations_more.py, which also
holds the sandbox with history and the two runs at once) so that two test workers share it.

The gallery runs with `--no-property-based` (the Schemathesis part takes minutes per run); the
120 requests/minute and 200 ms latency runs are `slow` (the nox session `slow` runs them). The
other runs are independent (a sandbox and a kit subprocess each), so the module fixture `runs`
starts them all at once, a few at a time (tests/kit/gallery.py), and each test judges its own.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kit import variants as v
from tests.kit.gallery import parallel
from tests.kit.harness import KitResult, run_kit
from tests.live_server import serve

pytest.importorskip("fulfillment_sandbox.app")

# Each test runs the kit in a subprocess (bounded itself); the default 300 s is too tight.
pytestmark = pytest.mark.timeout(3600)

ACME = "wms_test_acme_token"
GLOBEX = "wms_test_globex_token"
PROFILES = ("core", "security")
FAST_ARGS = ("--no-property-based",)
BAD = ("failed", "warning")
RUN_TIMEOUT = 900


def kit(base_url: str, tmp_path: Path, extra_args: tuple[str, ...] = FAST_ARGS) -> KitResult:
    return run_kit(
        base_url,
        ACME,
        profiles=PROFILES,
        second_token=GLOBEX,
        extra_args=extra_args,
        tmp_path=tmp_path,
        timeout=RUN_TIMEOUT,
    )


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {e["id"]: (e["outcome"], e.get("message", "")) for e in report.get("requirements", [])}


def run_variant(variant: v.LegalVariant, tmp: Path) -> KitResult:
    """The kit against one wrapper variant (or the plain sandbox), with the variant's options."""
    tmp.mkdir(parents=True, exist_ok=True)
    with serve(variant.build(str(tmp / "sandbox.db"))) as url:
        return kit(f"{url}/v1", tmp, variant.extra_args)


BASELINE = v.LegalVariant("baseline", "the reference sandbox", "", v.sandbox)


def gallery_runs(root: Path, served: list[v.LegalVariant], **extra: Any) -> dict[str, Any]:
    """The reference run and each served variant (plus `extra` jobs: name -> callable of a
    directory), each independent of the others, all started together; keyed by name."""
    jobs: dict[str, Any] = {
        variant.name: functools.partial(run_variant, variant, root / variant.name)
        for variant in [BASELINE, *served]
    }
    jobs.update({name: functools.partial(job, root / name) for name, job in extra.items()})
    return parallel(jobs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference run and this module's share of the served variants."""
    return gallery_runs(tmp_path_factory.mktemp("legal"), list(HERE.values()))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> KitResult:
    """The reference run alone, for the slow tests (which need none of the others)."""
    result = run_variant(BASELINE, tmp_path_factory.mktemp("reference"))
    assert result.report, f"expected a report from the reference run, got exit {result.exit_code}"
    return result


@pytest.fixture(scope="module")
def baseline(runs: dict[str, Any]) -> KitResult:
    """The kit against the plain reference sandbox, with the gallery's options."""
    result: KitResult = runs["baseline"]
    assert result.report, f"expected a report from the reference run, got exit {result.exit_code}"
    return result


def assert_accepted(variant: v.LegalVariant, result: KitResult, baseline: KitResult) -> None:
    """The variant is judged as the reference sandbox is, up to what it may legally change."""
    assert result.exit_code != 2 and result.report, (
        f"expected a kit run to the end on {variant.name}, got exit {result.exit_code}:"
        f" {result.stderr.strip()[-1500:]}"
    )
    base = outcomes(baseline.report)
    problems: dict[str, str] = {}
    for rid, (got, why) in outcomes(result.report).items():
        allowed = {"passed", *variant.may_differ.get(rid, ())}
        reference = base.get(rid, ("missing", ""))[0]
        if got == reference:
            continue  # judged as the reference sandbox is (a sandbox or kit gap, not the variant)
        if got in BAD and got not in allowed:
            problems[rid] = f"{got}: {why}"
        elif reference == "passed" and got not in allowed:
            problems[rid] = f"{got} (passed on the reference sandbox): {why}"
    assert not problems, (
        f"expected the kit to accept the legal variant {variant.name} ({variant.choice}),"
        f" got {json.dumps(problems, indent=2)}"
    )
    if baseline.exit_code == 0:
        assert result.exit_code == 0, (
            f"expected exit 0 on {variant.name} as on the reference sandbox,"
            f" got {result.exit_code} ({result.report.get('verdict')})"
        )


WRAPPERS = [
    pytest.param(variant, id=variant.name) for variant in v.VARIANTS if variant.kind == "wrapper"
]


# Each wrapper variant -> the server its run serves: a stack of compatible variants or itself.
SERVED = v.wrapper_runs()
# The gallery is split across two modules, this one and test_legal_variations_more.py (which runs
# these served variants, the sandbox with history and the two runs at once), so that pytest-xdist
# gives it two workers: each run's server lives in the worker's own process, and one process's
# servers share one interpreter lock. Each module has its own reference run.
IN_SECOND_MODULE = frozenset(
    {"everything-at-once", "stack-idempotency", "stack-pages", "millisecond-clock-ties-by-id"}
)


def served_runs(*, second_module: bool) -> dict[str, v.LegalVariant]:
    """The served variants (stacks or variants alone) of one of the gallery's two modules."""
    return {
        served.name: served
        for served in SERVED.values()
        if (served.name in IN_SECOND_MODULE) == second_module
    }


def wrappers_of(served: dict[str, v.LegalVariant]) -> list[Any]:
    """The wrapper variants whose run is one of `served`, as test parameters."""
    return [param for param in WRAPPERS if SERVED[param.values[0].name].name in served]


HERE = served_runs(second_module=False)


@pytest.mark.parametrize("variant", wrappers_of(HERE))
def test_kit_accepts_legal_variant(
    variant: v.LegalVariant, baseline: KitResult, runs: dict[str, Any]
) -> None:
    served = SERVED[variant.name]
    assert_accepted(served, runs[served.name], baseline)


@pytest.mark.slow  # about 700 sequential requests x 200 ms: some 150 s of waiting
def test_kit_accepts_200ms_latency(reference: KitResult, tmp_path: Path):
    variant = v.BY_NAME["latency-200ms"]
    with serve(variant.build(str(tmp_path / "sandbox.db"))) as url:
        result = kit(f"{url}/v1", tmp_path)
    assert_accepted(variant, result, reference)


# -- rate limited -------------------------------------------------------------------------------
@pytest.fixture
def rate_limited_url(tmp_path: Path) -> Iterator[str]:
    with serve(v.BY_NAME["rate-limit-120"].build(str(tmp_path / "sandbox.db"))) as url:
        yield f"{url}/v1"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_kit_accepts_120_requests_a_minute(reference: KitResult, rate_limited_url: str, tmp_path):
    """The kit honours 429 + Retry-After and X-RateLimit-Remaining: the run is slower, not failed.
    Prints the wall time against its floor (requests_made / 120 minutes)."""
    variant = v.BY_NAME["rate-limit-120"]
    started = time.monotonic()
    result = kit(rate_limited_url, tmp_path)
    wall = time.monotonic() - started
    made = int(result.report.get("requests_made", 0))
    print(f"120/min: {made} requests in {wall:.0f} s; floor {made / 120 * 60:.0f} s")
    assert_accepted(variant, result, reference)
