"""The order-line checks have teeth: each fails on a server broken in exactly its way.

For every check of conformance/checks/test_line_ids.py (decision 46) and
test_partial_fulfilment.py (decision 47) there is a wrapper in tests/kit/broken_lines.py or
broken_partial.py. The kit runs `--only` the ids of the broken areas (with the returns profile,
which LIN-007 belongs to); a LIN break and a PART break share a server (tests/kit/gallery.py
packs them), and the healthy sandbox must pass every id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.kit import broken_lines as lines
from tests.kit import broken_partial as partial
from tests.kit import gallery
from tests.kit.gallery import Broken, Run

pytest.importorskip("fulfillment_sandbox.app")
pytestmark = pytest.mark.timeout(3600)

PROFILES = ("core", "returns")
AREAS = ("LIN", "PART")
IDS = tuple(rid for area in AREAS for rid in gallery.area_ids(area))

CASES = [
    Broken(lines.CreateAnswerRenumbersLines, "LIN-001"),
    Broken(lines.AssignedIdsChangeOnEveryRead, "LIN-002"),
    # Nothing is refused, so no error carries a line_id either.
    Broken(lines.DuplicateLineIdsAccepted, "LIN-003", ("LIN-006",)),
    Broken(lines.ShippedCountedBySku, "LIN-004"),
    # An amend that ignores line ids cannot see that two of them repeat.
    Broken(lines.AmendDropsLineIds, "LIN-005", ("LIN-003",)),
    Broken(lines.ErrorsWithoutLineId, "LIN-006"),
    Broken(lines.ReturnLinesForgetLineId, "LIN-007"),
    Broken(partial.BackorderNotPerLine, "PART-001"),
    # The void check first closes a partially shipped order short.
    Broken(partial.PartialCutKeepsOrderOpen, "PART-002", ("PART-006",)),
    Broken(partial.BackorderedCutAnswersShipped, "PART-003"),
    Broken(partial.SecondCutConflicts, "PART-004"),
    Broken(partial.ReceivedOrderCutIsCancelled, "PART-005"),
    Broken(partial.VoidLeavesClosedOrderShipped, "PART-006"),
]
# Breaks whose behaviour reaches the other area's checks.
NOT_WITH = {
    # The PART checks create their orders with line ids and read shipped_quantity back.
    lines.CreateAnswerRenumbersLines: ("PART",),
    lines.AssignedIdsChangeOnEveryRead: ("PART",),
    lines.ShippedCountedBySku: ("PART",),
    # A LIN check reads backordered lines' ids through the same order rewrite.
    partial.BackorderNotPerLine: ("LIN",),
}


def groups() -> list[list[Broken]]:
    return gallery.pack(CASES, gallery.compatible_except(NOT_WITH))


def group_ids(members: Sequence[Broken]) -> list[str]:
    return [rid for area in sorted({m.area for m in members}) for rid in gallery.area_ids(area)]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The packed groups and the healthy sandbox, each `--only` its areas' ids."""
    runs = [
        Run("healthy", ids=IDS, profiles=PROFILES),
        *gallery.group_runs(groups(), group_ids, profiles=PROFILES),
    ]
    results = gallery.run_all(runs, tmp_path_factory.mktemp("broken-lines"))
    return {"healthy": results["healthy"]} | gallery.by_case(runs, results)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, reports: dict[str, Any]) -> None:
    result, members = reports[str(case)]
    gallery.assert_only_target_broke(case, result, members)


def test_healthy_sandbox_passes_every_line_requirement(reports: dict[str, Any]) -> None:
    gallery.assert_all_passed(reports["healthy"], IDS, "order line requirement")


def test_every_line_requirement_has_a_broken_server() -> None:
    gallery.assert_every_id_targeted(CASES, IDS)
