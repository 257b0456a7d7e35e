"""The order checks have teeth: each fails on a server broken in exactly its way.

For every check of conformance/checks/test_idempotency.py, test_orders.py, test_amend.py and
test_cancel.py there is a wrapper in tests/kit/broken_orders.py that breaks the sandbox in that
one way. The kit runs the checks of the broken areas only (`--only`, to keep CI fast) and the
broken requirement must come out `failed` (`warning` for a SHOULD) while nothing outside the
requirements the group's behaviour legitimately breaks may fail. Breaks of different areas whose
checks do not read what the other breaks share a server (tests/kit/gallery.py packs them). One
broken server gets a full core run, so collateral damage in other areas would show too; the
healthy sandbox (a full core run) must pass every id here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import broken_orders as broken
from tests.kit import broken_retries, gallery
from tests.kit.gallery import Broken, Run

pytest.importorskip("fulfillment_sandbox.app")
# All kit runs happen in one module fixture, which the first test pays for: a loaded CI machine
# must not trip the per-test timeout of pyproject.toml there.
pytestmark = pytest.mark.timeout(3600)

AREAS = ("IDEM", "ORD", "AMD", "CAN", "LIMITS")
# API-015 (request limits) is probed on createOrder, so its broken servers live here.
LIMITS = ("API-015",)


def area_ids(area: str) -> tuple[str, ...]:
    return LIMITS if area == "LIMITS" else gallery.area_ids(area)


# Every replay-based check sees a fresh id on replay; that is the same bug.
REPLAYS = ("IDEM-003", "IDEM-005", "IDEM-006", "IDEM-008", "IDEM-015", "IDEM-016")

CASES = [
    Broken(broken.MissingKeyAccepted, "IDEM-001"),
    Broken(broken.ReplayCreatesNewId, "IDEM-002", REPLAYS),
    # A retry that writes out a default is other bytes too (IDEM-015).
    Broken(broken.FingerprintsRawBytes, "IDEM-003", ("IDEM-015",)),
    Broken(broken.KeyReuseReplaysFirstOrder, "IDEM-004"),
    Broken(broken.RacingCreatesDuplicate, "IDEM-005"),
    # On a loaded machine a burst of concurrent duplicates outlasts the 1 s memory too.
    Broken(broken.ForgetsKeysAfterOneSecond, "IDEM-006", ("IDEM-005",)),
    # The third create of the cancel-and-recreate check reuses a live reference too.
    Broken(broken.ReferenceReuseCreatesSecondOrder, "IDEM-007", ("IDEM-017",)),
    Broken(broken.QuotedKeyRefused, "IDEM-008"),
    Broken(broken.KeyCharsetTooNarrow, "IDEM-008"),
    Broken(broken.LongKeyTruncated, "IDEM-009"),
    Broken(broken.OverLongFieldsCut, "API-015", area="LIMITS"),
    Broken(broken.CarrierAddressLineLimit, "API-015", area="LIMITS"),
    Broken(broken.ControlCharacterKeyAccepted, "IDEM-014"),
    Broken(broken.KeyLockedAfterError, "IDEM-011"),
    Broken(broken.FirstCreateSaysReplayed, "IDEM-013"),
    Broken(broken_retries.ReplayNotMarked, "IDEM-013"),
    Broken(broken_retries.SpelledOutRetryIsAnotherBody, "IDEM-015"),
    Broken(broken_retries.ReplayAnswersCurrentOrder, "IDEM-016"),
    Broken(broken_retries.CancelledReferenceStaysTaken, "IDEM-017"),
    # The first create answer differs from its replay (IDEM-016: the response as first sent).
    Broken(broken.CreateAnswersProcessing, "ORD-001", ("IDEM-016",)),
    Broken(broken.GetSwapsNumberAndReference, "ORD-002"),
    # The status check narrows its lists with order_number, so it cannot pass without that filter.
    Broken(broken.IgnoresOrderNumberFilter, "ORD-003", ("ORD-005",)),
    Broken(broken.IgnoresReferenceFilter, "ORD-004"),
    Broken(broken.IgnoresStatusFilter, "ORD-005"),
    Broken(broken.UnknownOrderWithoutEnvelope, "ORD-006"),
    Broken(broken.PreconditionBeforeExistence, "ORD-006"),
    Broken(broken.MissingShipToAccepted, "ORD-007"),
    Broken(broken.QuantityZeroAccepted, "ORD-008"),
    Broken(broken.UnknownWarehouseWithoutField, "ORD-009"),
    Broken(broken.UnknownShippingMethodIgnored, "ORD-010"),
    Broken(broken.UnknownSkuAsValidationFailed, "ORD-011"),
    Broken(broken.ShipmentsCarryOrderNumber, "ORD-012"),
    Broken(broken.GiftMessageDropped, "ORD-013"),
    Broken(broken.CountryNameAccepted, "ORD-014"),
    Broken(broken.MissingItemsIs400, "ORD-015"),
    Broken(broken.UnitPriceAsNumber, "ORD-016"),
    Broken(broken.ShippingMethodNameRefused, "ORD-017"),
    Broken(broken.PatchResetsUnsentFlags, "AMD-001"),
    Broken(broken.PatchMergesItems, "AMD-002"),
    Broken(broken.UpdatedAtFrozen, "AMD-003"),
    # A version that never moves cannot tell a stale If-Match from a fresh one either.
    Broken(broken.VersionFrozen, "AMD-003", ("AMD-005",)),
    Broken(broken.EtagUnquoted, "AMD-004"),
    Broken(broken.EtagWeak, "AMD-004"),
    Broken(broken.IgnoresIfMatch, "AMD-005"),
    Broken(broken.StaleIfMatchRefusedButApplied, "AMD-005"),
    Broken(broken.MissingIfMatchRefusedButApplied, "AMD-006"),
    Broken(broken.AmendAfterPickAnswers200, "AMD-007"),
    Broken(broken.WarehouseAmendIgnored, "AMD-008"),
    Broken(broken.MergePatchRefused, "AMD-009"),
    # A stale PATCH answer also carries the old version (AMD-003) under the new ETag (AMD-004).
    Broken(broken.PatchAnswersOldOrder, "AMD-010", ("AMD-003", "AMD-004")),
    Broken(broken.OnHoldAmendRefused, "AMD-011"),
    # The refused warehouse change and a nulled ship_to.name are invalid amends too: they bump
    # the version as well.
    Broken(broken.InvalidAmendBumpsVersion, "AMD-012", ("AMD-008", "AMD-014")),
    Broken(broken_retries.PartialShipToRefused, "AMD-013"),
    Broken(broken_retries.ShipToReplacedWhole, "AMD-013"),
    # The invalid-amend check nulls ship_to.address1 too: the same silent drop.
    Broken(broken_retries.NullRequiredMemberIgnored, "AMD-014", ("AMD-012",)),
    # The cancel sent with a body reads the same old status in its answer.
    Broken(broken.CancelAnswersOldStatus, "CAN-001", ("CAN-010",)),
    Broken(broken.SecondCancelConflicts, "CAN-002"),
    Broken(broken.OnHoldCancelRefused, "CAN-003"),
    Broken(broken.BackorderedCancelRefused, "CAN-004"),
    Broken(broken.CancelAfterPickAnswers200, "CAN-005"),
    Broken(broken.CancelAfterShipAnswers200, "CAN-006"),
    Broken(broken.CancelRefusesBody, "CAN-010"),
    Broken(broken.CancelKeepsStock, "CAN-007"),
    Broken(broken.CancelAfterPartialShipAnswers200, "CAN-008"),
    Broken(broken.CancelledAtMissing, "CAN-009"),
]
# One broken server also gets a full core run: no collateral damage anywhere in the kit.
# A full run includes the model-based phase, which may also meet the 200 in a sequence and judge
# it by CONS-001 (every operation answered as the transitions give): the same break.
FULL_CORE = Broken(broken.CancelAfterPickAnswers200, "CAN-005", also=("CONS-001",))


# Breaks whose behaviour reaches the checks of other areas, and those areas.
NOT_WITH = {
    # The cancel check reads updated_at against cancelled_at (CAN-009).
    broken.UpdatedAtFrozen: ("CAN",),
    # The unknown-order check PATCHes without If-Match and expects 404 (ORD-006).
    broken.MissingIfMatchRefusedButApplied: ("ORD",),
    # Every PATCH without If-Match gets 428: the amend checks would read the sandbox's 428 choice.
    broken.PreconditionBeforeExistence: ("AMD",),
}


def compatible(a: Broken, b: Broken) -> bool:
    """Whether two breaks can share one server: one per area, and none of NOT_WITH's pairs."""
    return (
        a.area != b.area
        and b.area not in NOT_WITH.get(a.server, ())
        and a.area not in NOT_WITH.get(b.server, ())
    )


def groups() -> list[list[Broken]]:
    return gallery.pack(CASES, compatible)


def group_ids(members: Any) -> list[str]:
    return [rid for area in sorted({m.area for m in members}) for rid in area_ids(area)]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every kit run of this module at once: the packed groups, the healthy sandbox and the
    broken server of FULL_CORE, both with every core check."""
    runs = [
        Run("healthy"),
        Run("full-core", (FULL_CORE,)),
        *gallery.group_runs(groups(), group_ids),
    ]
    results = gallery.run_all(runs, tmp_path_factory.mktemp("broken-orders"))
    return {"healthy": results["healthy"], "full-core": results["full-core"]} | gallery.by_case(
        runs, results
    )


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, reports: dict[str, Any]) -> None:
    result, members = reports[str(case)]
    gallery.assert_only_target_broke(case, result, members)


def test_full_core_run_fails_only_the_broken_requirement(
    reports: dict[str, Any],
) -> None:
    """A full core run (every check, not only the cancel ones) against one broken server: only
    the broken requirement fails, so the order checks cause no collateral damage elsewhere."""
    gallery.assert_only_target_broke(FULL_CORE, reports["full-core"], baseline=reports["healthy"])


def test_healthy_sandbox_passes_every_order_requirement(
    reports: dict[str, Any],
) -> None:
    """A full core run against the unbroken sandbox: every IDEM/ORD/AMD/CAN id passes."""
    ids = [rid for prefix in AREAS for rid in area_ids(prefix)]
    gallery.assert_all_passed(reports["healthy"], ids, "order requirement")


def test_every_order_requirement_has_a_broken_server() -> None:
    """Each testable IDEM/ORD/AMD/CAN id is the target of at least one broken server."""
    gallery.assert_every_id_targeted(CASES, [rid for prefix in AREAS for rid in area_ids(prefix)])
