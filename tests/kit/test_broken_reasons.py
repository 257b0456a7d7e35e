"""The reasons checks have teeth: each fails on a server broken in exactly its way.

For every check of conformance/checks/test_reasons.py (decisions 52 and 53) there is a wrapper in
tests/kit/broken_reasons.py. The kit runs `--only` the RSN ids (with the harness's fixed
`--seed`), one broken server per run, and the healthy sandbox must pass every id.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import broken_reasons as reasons
from tests.kit import gallery
from tests.kit.gallery import Broken

pytest.importorskip("fulfillment_sandbox.app")
pytestmark = pytest.mark.timeout(3600)

IDS = gallery.area_ids("RSN")

CASES = [
    # The first cancel's reason is dropped too, so the repeat has no first reason to keep.
    Broken(reasons.CancelReasonIgnored, "RSN-001", ("RSN-002",)),
    Broken(reasons.RepeatCancelRewritesReason, "RSN-002"),
    Broken(reasons.WarehouseCancelSaysErp, "RSN-003"),
    Broken(reasons.RemainderCancelWithoutCancellation, "RSN-004"),
    Broken(reasons.HoldWithoutReason, "RSN-005"),
    # A member left out is not a member given as null (mutation testing found no server for it).
    Broken(reasons.CancellationOmitsNullMembers, "RSN-001", ("RSN-004",)),
]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run per broken server and one of the healthy sandbox, each `--only` the RSN ids."""
    return gallery.one_server_per_case(CASES, IDS, tmp_path_factory.mktemp("broken-reasons"))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, reports: dict[str, Any]) -> None:
    result, members = reports[str(case)]
    gallery.assert_only_target_broke(case, result, members)


def test_healthy_sandbox_passes_every_reasons_requirement(reports: dict[str, Any]) -> None:
    gallery.assert_all_passed(reports["healthy"], IDS, "reasons requirement")


def test_every_reasons_requirement_has_a_broken_server() -> None:
    gallery.assert_every_id_targeted(CASES, IDS)
