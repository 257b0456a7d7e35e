"""The polling, shipment, inventory, reference-data, error, auth, sandbox and security checks
have teeth: each fails on a server broken in exactly its way (tests/kit/broken_pagination.py,
broken_shipments.py, broken_inventory.py, broken_reference_data.py, broken_auth_errors.py,
broken_sandbox_control.py, broken_security.py).

The kit runs against each broken server with `--only` the ids of the broken area (so collateral
damage inside the area shows) and the broken requirement must come out `failed` (`warning` for a
SHOULD or MAY) while no requirement outside `target + also` is failed or warned. The healthy
sandbox must pass every id of these areas, with the security profile and a second token.

Breaks that cannot spoil each other's checks share a server (`compatible`), and the runs go in
parallel through tests/kit/gallery.py: the module-scoped `runs` fixture runs them all once and
each test case reads its own report.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import broken_auth_errors as errs
from tests.kit import broken_inventory as inv
from tests.kit import broken_pagination as pag
from tests.kit import broken_reference_data as ref
from tests.kit import broken_sandbox_control as sbx
from tests.kit import broken_security as sec
from tests.kit import broken_shipments as shp
from tests.kit import gallery
from tests.kit.gallery import Broken, KitResult, Run

pytest.importorskip("fulfillment_sandbox.app")

ALL_PROFILES = ("core", "security", "inbound", "adjustments", "returns", "webhooks")
# The ids of errors/auth/API this suite owns (the rest of ERR/API is the cross-cutting checks').
ERRORS = (
    "AUTH-001", "AUTH-002", "AUTH-003", "AUTH-004", "ERR-006", "ERR-007", "ERR-009",
    "ERR-010", "ERR-011", "ERR-013", "API-001", "API-007",
)  # fmt: skip
# The matrix is one fixture: give it room beyond the suite's per-test timeout on a busy machine.
pytestmark = pytest.mark.timeout(3600)


def area_ids(area: str) -> tuple[str, ...]:
    if area == "ERRORS":
        return ERRORS
    if area == "ALL":
        return tuple(rid for name in HEALTHY_AREAS for rid in area_ids(name))
    return gallery.area_ids(area)


def B(server: type[Any], target: str, also: tuple[str, ...] = (), base: str = "/v1") -> Broken:
    """A case of this gallery: the errors/auth/API ids it owns are one area, "ERRORS"."""
    area = "ERRORS" if target in ERRORS else target.split("-")[0]
    return Broken(server, target, also, area=area, base=base)


CASES = [
    # The has_more check of the reference-list walk sees the same gap.
    B(pag.ReferenceListWithoutHasMore, "PAG-001", ("PAG-004",)),
    B(pag.CursorRepeatsRow, "PAG-002"),
    # The bare-cursor walk follows the same skipping cursors.
    B(pag.CursorSkipsRow, "PAG-003", ("PAG-018",)),
    B(pag.HasMoreOnLastPage, "PAG-004"),
    B(pag.DescendingPages, "PAG-005"),
    # A served updated_at echoed back unchanged no longer selects its own row either.
    B(pag.ExclusiveUpdatedSince, "PAG-006", ("PAG-019",)),
    # Ignoring the filter also means a cursor cannot tell one bound from another, and a
    # malformed bound is ignored as well.
    B(pag.IgnoresUpdatedSince, "PAG-007", ("PAG-010", "PAG-011", "PAG-014")),
    B(pag.PagesOverLimit, "PAG-008"),
    B(pag.CursorHandedBack, "PAG-008"),
    B(pag.MalformedCursorRestarts, "PAG-009"),
    B(pag.CursorIgnoresFilters, "PAG-010"),
    B(pag.CursorAcceptsAddedFilter, "PAG-010"),
    B(pag.BareCursorRefused, "PAG-018"),
    B(pag.TextComparedUpdatedSince, "PAG-019"),
    B(pag.CaseInsensitiveTies, "PAG-005"),
    B(pag.RejectsOffsetUpdatedSince, "PAG-011"),
    B(pag.DefaultLimit100, "PAG-012"),
    B(pag.LimitClamped, "PAG-013"),
    B(pag.MalformedUpdatedSinceIgnored, "PAG-014"),
    # Whole seconds tie rows the server still orders by milliseconds: the id order breaks too.
    B(pag.SecondPrecisionTimestamps, "PAG-015", ("PAG-005",)),
    B(shp.JoinedTrackingNumbers, "SHP-001"),
    B(shp.NeverPartiallyShipped, "SHP-002"),
    B(shp.OrderHidesShipments, "SHP-003"),
    B(shp.IgnoresOrderIdFilter, "SHP-004"),
    B(shp.GetShipmentNotFound, "SHP-005", ("SHP-001",)),
    # The void step of the updated_at check polls for the voided row as well.
    B(shp.VoidedShipmentsDropped, "SHP-006", ("SHP-007",)),
    B(shp.ShipmentUpdatedAtFrozen, "SHP-007"),
    B(shp.ShipmentWithoutOrderNumber, "SHP-008"),
    B(shp.ShipmentWithoutItems, "SHP-009"),
    B(shp.ShipmentWithoutCost, "SHP-010"),
    B(shp.UnknownShipmentPlain404, "SHP-011"),
    B(shp.ShippedQuantityZero, "SHP-012"),
    B(shp.ExceptionShownAsInTransit, "SHP-013"),
    # The model-based phase, when its steps void a shipment, reads the same wrong
    # shipped_quantity as SHP-012 (seen in one run of three).
    B(shp.VoidedUnitsStillShipped, "SHP-014", ("SHP-012",)),
    B(shp.NewShipmentsHidden, "SHP-015"),
    # A collapsed breakdown has no entry for the warehouse the order came from either, nor
    # for the one that sold out beside it.
    B(inv.WarehousesCollapsed, "INV-001", ("INV-003", "INV-016")),
    # Wrong available numbers show in every check that reads available after an order.
    B(inv.AvailableOffByOne, "INV-002", ("INV-003", "INV-011", "INV-014")),
    B(inv.AvailableNotReduced, "INV-003", ("INV-002", "INV-011", "INV-014")),
    B(inv.CancelKeepsAllocation, "INV-004"),
    # Shipping that leaves on_hand alone never sells a SKU out either.
    B(inv.ShipKeepsOnHand, "INV-005", ("INV-013", "INV-016")),
    # The model-based phase (it owns INV-011 too) meets the negative available when it runs.
    B(inv.NegativeAvailable, "INV-006", ("INV-011",)),
    # The stock checks read a SKU by ?sku=: past the first page of SKUs it is not served.
    B(inv.IgnoresSkuFilter, "INV-007", ("INV-014", "INV-015", "INV-016")),
    B(inv.IgnoresWarehouseFilter, "INV-008"),
    # Setting units aside must move updated_at too (INV-014).
    B(inv.InventoryUpdatedAtFrozen, "INV-009", ("INV-014",)),
    B(inv.InventoryWithoutExtras, "INV-010"),
    B(inv.AmendIgnoresItems, "INV-011"),
    # Released units fill backorders as new stock does (INV-015).
    B(inv.BackorderSticky, "INV-012", ("INV-015",)),
    B(inv.SoldOutRowsDropped, "INV-013", ("INV-016",)),
    B(ref.WarehouseLowercaseCountry, "REF-001"),
    B(ref.MethodWithoutCarrier, "REF-002"),
    B(ref.PhantomShippingMethod, "REF-003"),
    B(ref.UnstableWarehouseIds, "REF-004"),
    B(errs.NoTokenAccepted, "AUTH-001"),
    B(errs.OneOperationUnprotected, "AUTH-001"),
    B(errs.UnauthorizedWithoutEnvelope, "AUTH-001", ("AUTH-002", "AUTH-003")),
    B(errs.UnknownTokenAccepted, "AUTH-002"),
    B(errs.AnySchemeAccepted, "AUTH-003"),
    B(errs.ValidTokenRefusedOnGetShipment, "AUTH-004"),
    B(errs.MalformedJson422, "ERR-006"),
    B(errs.UnknownPathPlain404, "ERR-007"),
    B(errs.AnyContentTypeAccepted, "ERR-009"),
    B(errs.OversizedAccepted, "ERR-010"),
    B(errs.WrongMethod404, "ERR-011"),
    B(errs.WrongMethodWithoutAllow, "ERR-011"),
    B(errs.ErrorsListMalformed, "ERR-013"),
    B(errs.ServedUnderApi, "API-001", base="/api"),
    B(errs.UnknownFieldsDropped, "API-007"),
    B(sbx.ShipmentsNeverPolled, "SBX-001"),
    # Without the hold endpoint the hold-then-pick check cannot pass either, nor can an impossible
    # hold be refused with 409 (the transition table's check tries every one).
    B(sbx.HoldEndpointMissing, "SBX-002", ("SBX-003", "SBX-004")),
    # A pick that never refuses cannot refuse picking a cancelled order either.
    B(sbx.PickIsNoOp, "SBX-003", ("SBX-004",)),
    # Voiding an in_transit shipment is one of the impossible transitions SBX-007 tries.
    B(sbx.TransitionsWrongCode, "SBX-004", ("SBX-007",)),
    B(sbx.ShipIgnoresParcels, "SBX-005"),
    B(sbx.SetStockBelowAllocatedAccepted, "SBX-006"),
    B(sbx.VoidWithoutFlag, "SBX-007"),
    B(sec.CrossPartnerOrderRead, "SEC-001"),
    B(sec.CrossPartnerOrderList, "SEC-002"),
    B(sec.CrossPartnerShipments, "SEC-003"),
    B(sec.CrossPartnerInventory, "SEC-004"),
    B(sec.CrossPartnerAmend, "SEC-005"),
    B(sec.CrossPartnerCancel, "SEC-006"),
    B(sec.IdempotencyKeysGlobal, "SEC-007"),
    B(sec.ReferencesGlobal, "SEC-008"),
    B(sec.CrossPartnerControl, "SEC-009"),
    B(sec.CrossPartnerWebhooks, "SEC-010"),
    B(inv.SellsUnavailableUnits, "INV-014"),
    B(inv.AllocatesUnavailableUnits, "INV-015"),
    B(inv.WarehouseFilterHidesSoldOut, "INV-016"),
    B(inv.PollDropsSoldOutEntries, "INV-016"),
]
HEALTHY_AREAS = ("PAG", "SHP", "INV", "REF", "ERRORS", "SBX", "SEC")


# Breaks that change what many checks read: each gets a kit run of its own.
SOLO = (
    pag.SecondPrecisionTimestamps,
    # A 10 ms inventory clock: other areas' stock checks could see two changes at one instant.
    pag.CaseInsensitiveTies,
    ref.PhantomShippingMethod,
    errs.ServedUnderApi,
)
# Breaks that disturb the pagination walks (or read lists the walks rely on).
NOT_WITH_PAG = (
    inv.InventoryUpdatedAtFrozen,
    inv.IgnoresSkuFilter,
    # Rows left out of the polls the pagination walks read (decision 58).
    inv.WarehouseFilterHidesSoldOut,
    inv.PollDropsSoldOutEntries,
    shp.ShipmentUpdatedAtFrozen,
    shp.NewShipmentsHidden,
    sbx.ShipmentsNeverPolled,
    ref.UnstableWarehouseIds,
)
# Breaks of what a shipment looks like, which the shipment and the control checks both read.
SHIPMENT_SHAPE = {
    shp.JoinedTrackingNumbers,
    shp.ShipmentWithoutItems,
    shp.GetShipmentNotFound,
    shp.NewShipmentsHidden,
    sbx.ShipIgnoresParcels,
    sbx.ShipmentsNeverPolled,
}
MAX_GROUP = 7


def compatible(a: Broken, b: Broken) -> bool:
    """Whether two breaks can share one server without one spoiling the other's checks."""
    if a.area == b.area or a.server in SOLO or b.server in SOLO:
        return False
    areas = {a.area, b.area}
    if areas == {"SHP", "SBX"} and ({a.server, b.server} & SHIPMENT_SHAPE):
        return False
    for x, y in ((a, b), (b, a)):
        if x.server in NOT_WITH_PAG and y.area == "PAG":
            return False
        if x.server is errs.ValidTokenRefusedOnGetShipment and y.area in ("SHP", "SBX", "SEC"):
            return False
        if x.server is ref.UnstableWarehouseIds and y.area in ("PAG", "INV", "REF"):
            return False
    return True


def groups() -> list[list[Broken]]:
    """Breaks packed onto shared servers (at most one per area, pairwise compatible), so the
    matrix costs about 20 kit runs instead of one per break. Each break's checks stay the only
    ones that read what it breaks, and the collateral assertion covers the whole group.
    Control-endpoint breaks go first, so shipment breaks fill the groups they leave free."""
    return gallery.pack(
        CASES, compatible, max_group=MAX_GROUP, first=lambda case: case.area != "SBX"
    )


def group_ids(members: Any) -> list[str]:
    return [rid for area in sorted({m.area for m in members}) for rid in area_ids(area)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every group of broken servers and the healthy sandbox (every owned id), each run once,
    all at once (all profiles, a second token); keyed by case, and "healthy"."""
    options: dict[str, Any] = {"profiles": ALL_PROFILES, "second_token": True}
    packed = gallery.group_runs(groups(), group_ids, **options)
    healthy = Run("healthy", ids=area_ids("ALL"), **options)
    results = gallery.run_all([healthy, *packed], tmp_path_factory.mktemp("broken-polling"))
    return {"healthy": results["healthy"], **gallery.by_case(packed, results)}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, runs: dict[str, Any]) -> None:
    result, members = runs[str(case)]
    # A requirement the healthy sandbox itself fails is not collateral damage of the break
    # (test_healthy_sandbox_passes_every_id_of_the_area reports it).
    gallery.assert_only_target_broke(case, result, members, baseline=runs["healthy"])


@pytest.mark.parametrize("area", HEALTHY_AREAS)
def test_healthy_sandbox_passes_every_id_of_the_area(area: str, runs: dict[str, Any]) -> None:
    healthy: KitResult = runs["healthy"]
    gallery.assert_all_passed(healthy, area_ids(area), area)


def test_every_owned_requirement_has_a_broken_server() -> None:
    """Each testable id of these areas is the target of at least one broken server."""
    gallery.assert_every_id_targeted(
        CASES, [rid for area in HEALTHY_AREAS for rid in area_ids(area)]
    )
