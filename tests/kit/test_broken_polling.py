"""The polling, shipment, inventory, reference-data, error, auth, sandbox and security checks
have teeth: each fails on a server broken in exactly its way (tests/kit/broken_polling.py).

The kit runs against each broken server with `--only` the ids of the broken area (so collateral
damage inside the area shows) and the broken requirement must come out `failed` (`warning` for a
SHOULD or MAY) while no requirement outside `target + also` is failed or warned. The healthy
sandbox must pass every id of these areas, with the security profile and a second token.

A kit run costs a few seconds of start-up, so the runs go in parallel (one sandbox, one port and
one kit subprocess each): the module-scoped `results` fixture runs them all once and each test
case reads its own report.
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

from tests.kit import broken_polling as broken
from tests.kit.harness import KitResult, outcome, run_kit
from tests.live_server import serve

sandbox = pytest.importorskip("fulfillment_sandbox.app")

ACME, GLOBEX = broken.ACME, broken.GLOBEX
BAD = ("failed", "warning")
ALL_PROFILES = ("core", "security", "inbound", "adjustments", "returns", "webhooks")
# The ids of errors/auth/API this suite owns (the rest of ERR/API is the cross-cutting checks').
ERRORS = (
    "AUTH-001", "AUTH-002", "AUTH-003", "AUTH-004", "ERR-006", "ERR-007", "ERR-009",
    "ERR-010", "ERR-011", "ERR-013", "API-001", "API-007",
)  # fmt: skip
WORKERS = max(2, min(6, 2 * (os.cpu_count() or 1)))
# The matrix is one fixture: give it room beyond the suite's per-test timeout on a busy machine.
pytestmark = pytest.mark.timeout(1800)


def catalogue() -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in fulfillment_spec.load_requirements()}


def area_ids(area: str) -> tuple[str, ...]:
    if area == "ERRORS":
        return ERRORS
    if area == "ALL":
        return tuple(rid for name in HEALTHY_AREAS for rid in area_ids(name))
    return tuple(
        rid
        for rid, e in catalogue().items()
        if rid.startswith(f"{area}-") and e.get("testable", True)
    )


@dataclass(frozen=True)
class Broken:
    """A broken server, the requirement it breaks, and others the same behaviour breaks too."""

    server: type[broken.Middleware]
    target: str
    also: tuple[str, ...] = ()
    base: str = "/v1"

    @property
    def area(self) -> str:
        prefix = self.target.split("-")[0]
        return "ERRORS" if self.target in ERRORS else prefix

    def __str__(self) -> str:
        return f"{self.target}-{self.server.__name__}"


B = Broken
CASES = [
    # The has_more check of the reference-list walk sees the same gap.
    B(broken.ReferenceListWithoutHasMore, "PAG-001", ("PAG-004",)),
    B(broken.CursorRepeatsRow, "PAG-002"),
    B(broken.CursorSkipsRow, "PAG-003"),
    B(broken.HasMoreOnLastPage, "PAG-004"),
    B(broken.DescendingPages, "PAG-005"),
    B(broken.ExclusiveUpdatedSince, "PAG-006"),
    # Ignoring the filter also means a cursor cannot tell one bound from another, and a
    # malformed bound is ignored as well.
    B(broken.IgnoresUpdatedSince, "PAG-007", ("PAG-010", "PAG-011", "PAG-014")),
    B(broken.PagesOverLimit, "PAG-008"),
    B(broken.EmptyPageWithMore, "PAG-008"),
    B(broken.MalformedCursorRestarts, "PAG-009"),
    B(broken.CursorIgnoresFilters, "PAG-010"),
    B(broken.RejectsOffsetUpdatedSince, "PAG-011"),
    B(broken.DefaultLimit100, "PAG-012"),
    B(broken.LimitClamped, "PAG-013"),
    B(broken.MalformedUpdatedSinceIgnored, "PAG-014"),
    # Whole seconds tie rows the server still orders by milliseconds: the id order breaks too.
    B(broken.SecondPrecisionTimestamps, "PAG-015", ("PAG-005",)),
    B(broken.JoinedTrackingNumbers, "SHP-001"),
    B(broken.NeverPartiallyShipped, "SHP-002"),
    B(broken.OrderHidesShipments, "SHP-003"),
    B(broken.IgnoresOrderIdFilter, "SHP-004"),
    B(broken.GetShipmentNotFound, "SHP-005", ("SHP-001",)),
    # The void step of the updated_at check polls for the voided row as well.
    B(broken.VoidedShipmentsDropped, "SHP-006", ("SHP-007",)),
    B(broken.ShipmentUpdatedAtFrozen, "SHP-007"),
    B(broken.ShipmentWithoutOrderNumber, "SHP-008"),
    B(broken.ShipmentWithoutItems, "SHP-009"),
    B(broken.ShipmentWithoutCost, "SHP-010"),
    B(broken.UnknownShipmentPlain404, "SHP-011"),
    B(broken.ShippedQuantityZero, "SHP-012"),
    B(broken.ExceptionShownAsInTransit, "SHP-013"),
    B(broken.VoidedUnitsStillShipped, "SHP-014"),
    B(broken.NewShipmentsHidden, "SHP-015"),
    # A collapsed breakdown has no entry for the warehouse the order came from either.
    B(broken.WarehousesCollapsed, "INV-001", ("INV-003",)),
    # Wrong available numbers show in every check that reads available after an order.
    B(broken.AvailableOffByOne, "INV-002", ("INV-003", "INV-011")),
    B(broken.AvailableNotReduced, "INV-003", ("INV-002", "INV-011")),
    B(broken.CancelKeepsAllocation, "INV-004"),
    B(broken.ShipKeepsOnHand, "INV-005"),
    B(broken.NegativeAvailable, "INV-006"),
    B(broken.IgnoresSkuFilter, "INV-007"),
    B(broken.IgnoresWarehouseFilter, "INV-008"),
    B(broken.InventoryUpdatedAtFrozen, "INV-009"),
    B(broken.InventoryWithoutExtras, "INV-010"),
    B(broken.AmendIgnoresItems, "INV-011"),
    B(broken.BackorderSticky, "INV-012"),
    B(broken.WarehouseLowercaseCountry, "REF-001"),
    B(broken.MethodWithoutCarrier, "REF-002"),
    B(broken.PhantomShippingMethod, "REF-003"),
    B(broken.UnstableWarehouseIds, "REF-004"),
    B(broken.NoTokenAccepted, "AUTH-001"),
    B(broken.OneOperationUnprotected, "AUTH-001"),
    B(broken.UnauthorizedWithoutEnvelope, "AUTH-001", ("AUTH-002", "AUTH-003")),
    B(broken.UnknownTokenAccepted, "AUTH-002"),
    B(broken.AnySchemeAccepted, "AUTH-003"),
    B(broken.ValidTokenRefusedOnGetShipment, "AUTH-004"),
    B(broken.MalformedJson422, "ERR-006"),
    B(broken.UnknownPathPlain404, "ERR-007"),
    B(broken.AnyContentTypeAccepted, "ERR-009"),
    B(broken.OversizedAccepted, "ERR-010"),
    B(broken.WrongMethod404, "ERR-011"),
    B(broken.ErrorsListMalformed, "ERR-013"),
    B(broken.ServedUnderApi, "API-001", base="/api"),
    B(broken.UnknownFieldsDropped, "API-007"),
    B(broken.ShipmentsNeverPolled, "SBX-001"),
    # Without the hold endpoint the hold-then-pick check cannot pass either.
    B(broken.HoldEndpointMissing, "SBX-002", ("SBX-003",)),
    # A pick that never refuses cannot refuse picking a cancelled order either.
    B(broken.PickIsNoOp, "SBX-003", ("SBX-004",)),
    # Voiding an in_transit shipment is one of the impossible transitions SBX-007 tries.
    B(broken.TransitionsWrongCode, "SBX-004", ("SBX-007",)),
    B(broken.ShipIgnoresParcels, "SBX-005"),
    B(broken.SetStockBelowAllocatedAccepted, "SBX-006"),
    B(broken.VoidWithoutFlag, "SBX-007"),
    B(broken.CrossPartnerOrderRead, "SEC-001"),
    B(broken.CrossPartnerOrderList, "SEC-002"),
    B(broken.CrossPartnerShipments, "SEC-003"),
    B(broken.CrossPartnerInventory, "SEC-004"),
    B(broken.CrossPartnerAmend, "SEC-005"),
    B(broken.CrossPartnerCancel, "SEC-006"),
    B(broken.IdempotencyKeysGlobal, "SEC-007"),
    B(broken.ReferencesGlobal, "SEC-008"),
    B(broken.CrossPartnerControl, "SEC-009"),
    B(broken.CrossPartnerWebhooks, "SEC-010"),
]
HEALTHY_AREAS = ("PAG", "SHP", "INV", "REF", "ERRORS", "SBX", "SEC")


def run_against(app: Any, areas: list[str], tmp: Path, base: str = "/v1") -> KitResult:
    only = [arg for area in areas for rid in area_ids(area) for arg in ("--only", rid)]
    with serve(app) as url:
        return run_kit(
            f"{url}{base}",
            ACME,
            profiles=ALL_PROFILES,
            second_token=GLOBEX,
            extra_args=["--no-property-based", *only],
            tmp_path=tmp,
        )


# Breaks that change what many checks read: each gets a kit run of its own.
SOLO = (
    broken.SecondPrecisionTimestamps,
    broken.PhantomShippingMethod,
    broken.ServedUnderApi,
)
# Breaks that disturb the pagination walks (or read lists the walks rely on).
NOT_WITH_PAG = (
    broken.InventoryUpdatedAtFrozen,
    broken.IgnoresSkuFilter,
    broken.ShipmentUpdatedAtFrozen,
    broken.NewShipmentsHidden,
    broken.ShipmentsNeverPolled,
    broken.UnstableWarehouseIds,
)
# Breaks of what a shipment looks like, which the shipment and the control checks both read.
SHIPMENT_SHAPE = {
    broken.JoinedTrackingNumbers,
    broken.ShipmentWithoutItems,
    broken.GetShipmentNotFound,
    broken.NewShipmentsHidden,
    broken.ShipIgnoresParcels,
    broken.ShipmentsNeverPolled,
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
        if x.server is broken.ValidTokenRefusedOnGetShipment and y.area in ("SHP", "SBX", "SEC"):
            return False
        if x.server is broken.UnstableWarehouseIds and y.area in ("PAG", "INV", "REF"):
            return False
    return True


def groups() -> list[list[Broken]]:
    """Breaks packed onto shared servers (at most one per area, pairwise compatible), so the
    matrix costs about 20 kit runs instead of one per break. Each break's checks stay the only
    ones that read what it breaks, and the collateral assertion covers the whole group."""
    packed: list[list[Broken]] = []
    # Control-endpoint breaks first, so shipment breaks fill the groups they leave free.
    for case in sorted(CASES, key=lambda c: c.area != "SBX"):
        home = next(
            (
                g
                for g in packed
                if len(g) < MAX_GROUP and all(compatible(case, other) for other in g)
            ),
            None,
        )
        if home is None:
            packed.append([case])
        else:
            home.append(case)
    return packed


def stack(app: Any, members: list[Broken]) -> Any:
    for case in members:
        app = case.server(app)
    return app


def _run_group(members: list[Broken], root: Path) -> KitResult:
    tmp = Path(tempfile.mkdtemp(dir=root))
    app = stack(sandbox.create_app(str(tmp / "sandbox.db")), members)
    areas = sorted({case.area for case in members})
    base = next((case.base for case in members if case.base != "/v1"), "/v1")
    return run_against(app, areas, tmp, base)


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[KitResult, list[Broken]]]]:
    """Every group of broken servers, each run once, in parallel; keyed by case."""
    root = tmp_path_factory.mktemp("broken-polling")
    packed = groups()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [(members, pool.submit(_run_group, members, root)) for members in packed]
        yield {
            str(case): (future.result(), members) for members, future in futures for case in members
        }


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> KitResult:
    """One run of every owned id against the healthy sandbox (all profiles, second token)."""
    tmp = tmp_path_factory.mktemp("healthy-polling")
    return run_against(sandbox.create_app(str(tmp / "sandbox.db")), ["ALL"], tmp)


def bad_outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {
        e["id"]: f"{e['outcome']}: {e.get('message', '')}"
        for e in report.get("requirements", [])
        if e["outcome"] in BAD
    }


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(
    case: Broken, results: dict[str, tuple[KitResult, list[Broken]]], healthy: KitResult
) -> None:
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
    # A requirement the healthy sandbox itself fails is not collateral damage of the break
    # (test_healthy_sandbox_passes_every_id_of_the_area reports it).
    allowed |= set(bad_outcomes(healthy.report))
    collateral = {
        rid: why for rid, why in bad_outcomes(result.report).items() if rid not in allowed
    }
    assert not collateral, (
        f"expected no requirement outside {sorted(allowed)} to fail on "
        f"{[m.server.__name__ for m in members]}, got {collateral}"
    )


@pytest.mark.parametrize("area", HEALTHY_AREAS)
def test_healthy_sandbox_passes_every_id_of_the_area(area: str, healthy: KitResult) -> None:
    report = healthy.report
    not_passed = {rid: outcome(report, rid) for rid in area_ids(area)}
    not_passed = {rid: got for rid, got in not_passed.items() if got != "passed"}
    details = {rid: why for rid, why in bad_outcomes(report).items() if rid in not_passed}
    assert not not_passed, f"expected every {area} id passed, got {not_passed} {details}"


def test_every_owned_requirement_has_a_broken_server() -> None:
    """Each testable id of these areas is the target of at least one broken server."""
    targets = {case.target for case in CASES}
    missing = [rid for area in HEALTHY_AREAS for rid in area_ids(area) if rid not in targets]
    assert not missing, f"expected a broken server for every id, got none for {missing}"
