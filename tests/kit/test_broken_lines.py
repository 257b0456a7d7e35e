"""The order-line-id checks have teeth: each fails on a server broken in exactly its way.

For every check of conformance/checks/test_line_ids.py (decision 40) there is a wrapper in
tests/kit/broken_lines.py. The kit runs `--only` the LIN ids (with the returns profile, which
LIN-007 belongs to) against each broken server, and the healthy sandbox must pass them all.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import broken_lines as broken
from tests.kit import gallery
from tests.kit.gallery import Broken, Run

pytest.importorskip("fulfillment_sandbox.app")
pytestmark = pytest.mark.timeout(1800)

PROFILES = ("core", "returns")
IDS = gallery.area_ids("LIN")

CASES = [
    Broken(broken.CreateAnswerRenumbersLines, "LIN-001"),
    Broken(broken.AssignedIdsChangeOnEveryRead, "LIN-002"),
    # Nothing is refused, so no error carries a line_id either.
    Broken(broken.DuplicateLineIdsAccepted, "LIN-003", ("LIN-006",)),
    Broken(broken.ShippedCountedBySku, "LIN-004"),
    # An amend that ignores line ids cannot see that two of them repeat.
    Broken(broken.AmendDropsLineIds, "LIN-005", ("LIN-003",)),
    Broken(broken.ErrorsWithoutLineId, "LIN-006"),
    Broken(broken.ReturnLinesForgetLineId, "LIN-007"),
]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run per broken server and one of the healthy sandbox, all `--only` the LIN ids."""
    runs = [
        Run("healthy", ids=IDS, profiles=PROFILES),
        *gallery.group_runs([[case] for case in CASES], lambda _: IDS, profiles=PROFILES),
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
