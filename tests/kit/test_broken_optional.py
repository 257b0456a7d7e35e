"""The inbound, adjustment and return checks have teeth: each fails on a server broken in exactly
its way (tests/kit/broken_optional.py), and the healthy sandbox passes every one of their ids.

The kit runs with `--only` the ids of the three optional profiles (so collateral damage inside
them shows); the broken requirement must come out `failed` (`warning` for a SHOULD) while no
requirement outside `target + also` of the server's group is failed or warned. Breaks whose checks
read disjoint things share a server (`group`), and the runs go in parallel.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import broken_optional as broken
from tests.kit import broken_references, gallery
from tests.kit.gallery import Broken, Run

pytest.importorskip("fulfillment_sandbox.app")

PROFILES = ("core", "inbound", "adjustments", "returns")
AREAS = ("INB", "ADJ", "RET")
pytestmark = pytest.mark.timeout(1800)


def B(server: type[Any], target: str, group: int, also: tuple[str, ...] = ()) -> Broken:
    """A case of this gallery; `group` numbers the breaks that may share a server."""
    GROUP_OF[(server, target)] = group
    return Broken(server, target, also)


GROUP_OF: dict[tuple[type[Any], str], int] = {}
CASES = [
    B(broken.InboundKeyOptional, "INB-001", 0),
    B(broken.InboundCreatedAsOpen, "INB-002", 1),
    B(broken.InboundReplayDuplicates, "INB-003", 2),
    B(broken.InboundUnknownWarehouseWrongCode, "INB-004", 1),
    B(broken.UnknownInboundPlain404, "INB-005", 0),
    B(broken.InboundIgnoresStatusFilter, "INB-006", 2),
    B(broken.InboundExclusiveUpdatedSince, "INB-006", 3),
    # The damaged-units check reads the discrepancy too (decision 54).
    B(broken.DiscrepancySignFlipped, "INB-007", 0, ("INB-013",)),
    B(broken.NeverPartiallyReceived, "INB-008", 1),
    # Units that never reach on_hand are missing after the partial receipt, the refusal and the
    # damaged-units receipt too.
    B(broken.ReceivedStockNotOnHand, "INB-009", 2, ("INB-010", "INB-011", "INB-014")),
    # The damaged-units check reads incoming too.
    B(broken.IncomingNotShown, "INB-010", 0, ("INB-014",)),
    B(broken.ReceivedAsnReceivableAgain, "INB-011", 1),
    B(broken_references.SecondAsnWithSameReference, "INB-012", 2),
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
    B(broken_references.SecondReturnWithSameRma, "RET-012", 3),
    # Damaged units (decision 54): each break touches only receipts that report damaged units.
    B(broken.DamagedNotReported, "INB-013", 1),
    B(broken.DamagedUnitsStocked, "INB-014", 1),
    B(broken.DamagedBeyondReceivedAccepted, "INB-015", 1),
]


def groups() -> list[list[Broken]]:
    """Breaks packed onto shared servers by their `group`: four kit runs instead of 29.

    Within a group no two breaks touch what the other's check reads (a break whose behaviour
    also fails other ids never shares a server with the breaks of those ids)."""

    def group(case: Broken) -> int:
        return GROUP_OF[(case.server, case.target)]

    return gallery.pack(CASES, lambda a, b: group(a) == group(b), max_group=len(CASES), first=group)


def every_id(members: Any = ()) -> list[str]:
    return [rid for area in AREAS for rid in gallery.area_ids(area)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The healthy sandbox and every group of broken servers, each run once, in parallel, with
    `--only` every id of the three optional profiles; keyed by case, and "healthy"."""
    packed = gallery.group_runs(groups(), every_id, profiles=PROFILES)
    healthy = Run("healthy", ids=tuple(every_id()), profiles=PROFILES)
    results = gallery.run_all([healthy, *packed], tmp_path_factory.mktemp("broken-optional"))
    return {"healthy": results["healthy"], **gallery.by_case(packed, results)}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, runs: dict[str, Any]) -> None:
    result, members = runs[str(case)]
    gallery.assert_only_target_broke(case, result, members, baseline=runs["healthy"])


@pytest.mark.parametrize("area", AREAS)
def test_healthy_sandbox_passes_every_id_of_the_profile(area: str, runs: dict[str, Any]) -> None:
    gallery.assert_all_passed(runs["healthy"], gallery.area_ids(area), area)


def test_every_owned_requirement_has_a_broken_server() -> None:
    """Each testable INB, ADJ and RET id is the target of at least one broken server."""
    gallery.assert_every_id_targeted(
        CASES, [rid for area in AREAS for rid in gallery.area_ids(area)]
    )
