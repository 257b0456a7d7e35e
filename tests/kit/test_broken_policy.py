"""The fulfilment-policy checks have teeth: each fails on a server broken in exactly its way.

For every check of conformance/checks/test_fulfilment_policy.py (decision 55) there is a wrapper
in tests/kit/broken_policy.py. All the breaks are of one area, whose checks read the same
orders and stock, so each gets a server of its own; the kit runs `--only` the POL ids, and the
healthy sandbox must pass every one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import broken_policy as policy
from tests.kit import gallery
from tests.kit.gallery import Broken

pytest.importorskip("fulfillment_sandbox.app")
pytestmark = pytest.mark.timeout(3600)

IDS = gallery.area_ids("POL")

CASES = [
    # The amend check reads the policy it amended back through the same echo.
    Broken(policy.PolicyAlwaysShipAvailable, "POL-001", ("POL-005",)),
    Broken(policy.BackorderOnlyOnShortLines, "POL-002"),
    Broken(policy.CompleteOrderStaysBackordered, "POL-003"),
    Broken(policy.ShortCompleteOrderHoldsStock, "POL-004"),
    Broken(policy.AmendIgnoresPolicy, "POL-005"),
    Broken(policy.DefaultPolicyIsAnotherBody, "POL-006"),
]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One server per break and the healthy sandbox, each `--only` the POL ids."""
    return gallery.one_server_per_case(CASES, IDS, tmp_path_factory.mktemp("broken-policy"))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, reports: dict[str, Any]) -> None:
    result, members = reports[str(case)]
    gallery.assert_only_target_broke(case, result, members)


def test_healthy_sandbox_passes_every_policy_requirement(reports: dict[str, Any]) -> None:
    gallery.assert_all_passed(reports["healthy"], IDS, "fulfilment policy requirement")


def test_every_policy_requirement_has_a_broken_server() -> None:
    gallery.assert_every_id_targeted(CASES, IDS)
