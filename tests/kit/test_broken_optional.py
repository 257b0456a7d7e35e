"""The inbound, adjustment and return checks have teeth: each fails on a server broken in exactly
its way (tests/kit/broken_optional.py), and the healthy sandbox passes every one of their ids.

The kit runs with `--only` the ids of the three optional profiles (so collateral damage inside
them shows); the broken requirement must come out `failed` (`warning` for a SHOULD) while no
requirement outside `target + also` of the server's group is failed or warned. Breaks whose checks
read disjoint things share a server (`group`), and the runs go in parallel.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fulfillment_spec
import pytest

from tests.kit import broken_optional as broken
from tests.kit.broken_polling import ACME, Middleware
from tests.kit.harness import KitResult, outcome, run_kit
from tests.live_server import serve

sandbox = pytest.importorskip("fulfillment_sandbox.app")

BAD = ("failed", "warning")
PROFILES = ("core", "inbound", "adjustments", "returns")
AREAS = ("INB", "ADJ", "RET")
WORKERS = max(2, min(6, 2 * (os.cpu_count() or 1)))
pytestmark = pytest.mark.timeout(600)


def catalogue() -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in fulfillment_spec.load_requirements()}


def area_ids(area: str) -> tuple[str, ...]:
    return tuple(
        rid
        for rid, e in catalogue().items()
        if rid.startswith(f"{area}-") and e.get("testable", True)
    )


@dataclass(frozen=True)
class Broken:
    """A broken server, the requirement it breaks, and others the same behaviour breaks too."""

    server: type[Middleware]
    target: str
    group: int
    also: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.target.split("-")[0]

    def __str__(self) -> str:
        return f"{self.target}-{self.server.__name__}"


B = Broken
CASES = [
    B(broken.InboundKeyOptional, "INB-001", 0),
    B(broken.InboundCreatedAsOpen, "INB-002", 1),
    B(broken.InboundReplayDuplicates, "INB-003", 2),
    B(broken.InboundUnknownWarehouseWrongCode, "INB-004", 1),
    B(broken.UnknownInboundPlain404, "INB-005", 0),
    B(broken.InboundIgnoresStatusFilter, "INB-006", 2),
    B(broken.InboundExclusiveUpdatedSince, "INB-006", 3),
    B(broken.DiscrepancySignFlipped, "INB-007", 0),
    B(broken.NeverPartiallyReceived, "INB-008", 1),
    # Units that never reach on_hand are missing after the partial receipt and the refusal too.
    B(broken.ReceivedStockNotOnHand, "INB-009", 2, ("INB-010", "INB-011")),
    B(broken.IncomingNotShown, "INB-010", 0),
    B(broken.ReceivedAsnReceivableAgain, "INB-011", 1),
    B(broken.AdjustmentDeltaUnsigned, "ADJ-001", 0),
    B(broken.AdjustmentNotApplied, "ADJ-002", 0),
    B(broken.AdjustmentsIgnoreSkuFilter, "ADJ-003", 1),
    B(broken.AdjustmentCursorRestarts, "ADJ-003", 3),
    B(broken.AdjustBelowAllocatedAccepted, "ADJ-004", 1),
    B(broken.ReturnKeyOptional, "RET-001", 0),
    B(broken.ReturnCreatedWithoutOrderNumber, "RET-002", 1),
    B(broken.ReturnReplayDuplicates, "RET-003", 2),
    B(broken.ReturnUnknownSkuWrongCode, "RET-004", 1),
    B(broken.UnknownReturnPlain404, "RET-005", 0),
    B(broken.ReturnsIgnoreStatusFilter, "RET-006", 2),
    B(broken.ReturnsDescendingPages, "RET-006", 3),
    B(broken.ReturnConditionDropped, "RET-007", 0),
    B(broken.RestockedReturnNotStocked, "RET-008", 1),
    # The RMA of the status check is never received either.
    B(broken.RmaReceiptCreatesSecondReturn, "RET-009", 2, ("RET-011",)),
    B(broken.UnannouncedReturnLosesOrder, "RET-010", 0),
    B(broken.ProcessedReturnStaysReceived, "RET-011", 1),
]


def groups() -> list[list[Broken]]:
    """Breaks packed onto shared servers by their `group`: four kit runs instead of 29.

    Within a group no two breaks touch what the other's check reads (a break whose behaviour
    also fails other ids never shares a server with the breaks of those ids)."""
    return [
        [case for case in CASES if case.group == number]
        for number in sorted({case.group for case in CASES})
    ]


def run_against(app: Any, tmp: Path) -> KitResult:
    only = [arg for area in AREAS for rid in area_ids(area) for arg in ("--only", rid)]
    with serve(app) as url:
        return run_kit(
            f"{url}/v1",
            ACME,
            profiles=PROFILES,
            extra_args=["--no-property-based", *only],
            tmp_path=tmp,
        )


def _run_group(members: list[Broken] | None, root: Path) -> KitResult:
    tmp = Path(tempfile.mkdtemp(dir=root))
    app = sandbox.create_app(str(tmp / "sandbox.db"))
    for case in members or []:
        app = case.server(app)
    return run_against(app, tmp)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KitResult, dict[str, tuple[KitResult, list[Broken]]]]]:
    """The healthy sandbox and every group of broken servers, each run once, in parallel."""
    root = tmp_path_factory.mktemp("broken-optional")
    packed = groups()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        healthy = pool.submit(_run_group, None, root)
        futures = [(members, pool.submit(_run_group, members, root)) for members in packed]
        results = {
            str(case): (future.result(), members) for members, future in futures for case in members
        }
        yield healthy.result(), results


def bad_outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {
        e["id"]: f"{e['outcome']}: {e.get('message', '')}"
        for e in report.get("requirements", [])
        if e["outcome"] in BAD
    }


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(
    case: Broken, runs: tuple[KitResult, dict[str, tuple[KitResult, list[Broken]]]]
) -> None:
    healthy, results = runs
    result, members = results[str(case)]
    assert result.report, (
        f"the kit wrote no report (exit {result.exit_code}): {result.stderr[-2000:]}"
    )
    level = str(catalogue()[case.target]["level"]).upper()
    expected = "failed" if level == "MUST" else "warning"
    got = outcome(result.report, case.target)
    assert got == expected, (
        f"expected {case.target} {expected} on {case.server.__name__}, got {got}: "
        f"{[e.get('message') for e in result.report['requirements'] if e['id'] == case.target]}"
    )
    allowed = {rid for member in members for rid in (member.target, *member.also)}
    allowed |= set(bad_outcomes(healthy.report))
    collateral = {
        rid: why for rid, why in bad_outcomes(result.report).items() if rid not in allowed
    }
    assert not collateral, (
        f"expected no requirement outside {sorted(allowed)} to fail on "
        f"{[m.server.__name__ for m in members]}, got {collateral}"
    )


@pytest.mark.parametrize("area", AREAS)
def test_healthy_sandbox_passes_every_id_of_the_profile(
    area: str, runs: tuple[KitResult, dict[str, tuple[KitResult, list[Broken]]]]
) -> None:
    report = runs[0].report
    assert report, f"the kit wrote no report for the healthy sandbox: {runs[0].stderr[-2000:]}"
    not_passed = {rid: outcome(report, rid) for rid in area_ids(area)}
    not_passed = {rid: got for rid, got in not_passed.items() if got != "passed"}
    details = {rid: why for rid, why in bad_outcomes(report).items() if rid in not_passed}
    assert not not_passed, f"expected every {area} id passed, got {not_passed} {details}"


def test_every_owned_requirement_has_a_broken_server() -> None:
    """Each testable INB, ADJ and RET id is the target of at least one broken server."""
    targets = {case.target for case in CASES}
    missing = [rid for area in AREAS for rid in area_ids(area) if rid not in targets]
    assert not missing, f"expected a broken server for every id, got none for {missing}"
