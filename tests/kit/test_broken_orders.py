"""The order checks have teeth: each fails on a server broken in exactly its way.

For every check of conformance/checks/test_idempotency.py, test_orders.py, test_amend.py and
test_cancel.py there is a wrapper in tests/kit/broken_orders.py that breaks the sandbox in that
one way. The kit runs against it (only the checks of the broken area, to keep CI fast) and the
broken requirement must come out `failed` (`warning` for a SHOULD) while nothing outside the
requirements that behaviour legitimately breaks may fail. One broken server gets a full core run,
so collateral damage in other areas would show too; the healthy sandbox (a full core run) must
pass every id here. The runs go WORKERS at a time in one module fixture: each costs ~4 s of CPU,
mostly the kit subprocess starting up.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fulfillment_spec
import pytest

from tests.kit import broken_orders as broken
from tests.kit.harness import message, outcome, run_kit
from tests.live_server import serve

fulfillment_sandbox_app = pytest.importorskip("fulfillment_sandbox.app")
# All kit runs happen in one module fixture, which the first test pays for: a loaded CI machine
# must not trip the per-test timeout of pyproject.toml there.
pytestmark = pytest.mark.timeout(1800)

TOKEN = "wms_test_acme_token"
AREAS = ("IDEM", "ORD", "AMD", "CAN")
BAD = ("failed", "warning")


def area_ids(prefix: str) -> list[str]:
    """The testable core requirement ids of one area, from the catalogue."""
    return [
        entry["id"]
        for entry in fulfillment_spec.load_requirements()
        if entry["id"].startswith(f"{prefix}-") and entry.get("testable", True)
    ]


def level(requirement_id: str) -> str:
    entries = {e["id"]: e for e in fulfillment_spec.load_requirements()}
    return str(entries[requirement_id]["level"]).upper()


def only(*prefixes: str) -> list[str]:
    return [arg for prefix in prefixes for rid in area_ids(prefix) for arg in ("--only", rid)]


@dataclass(frozen=True)
class Broken:
    """A broken server, the requirement it breaks, and any others the same behaviour breaks."""

    server: type[broken.OrdersMiddleware]
    target: str
    also: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.target.split("-")[0]

    def __str__(self) -> str:
        return f"{self.target}-{self.server.__name__}"


# Every replay-based check sees a fresh id on replay; that is the same bug.
REPLAYS = ("IDEM-003", "IDEM-005", "IDEM-006", "IDEM-008")

CASES = [
    Broken(broken.MissingKeyAccepted, "IDEM-001"),
    Broken(broken.ReplayCreatesNewId, "IDEM-002", REPLAYS),
    Broken(broken.FingerprintsRawBytes, "IDEM-003"),
    Broken(broken.KeyReuseReplaysFirstOrder, "IDEM-004"),
    Broken(broken.RacingCreatesDuplicate, "IDEM-005"),
    Broken(broken.ForgetsKeysAfterOneSecond, "IDEM-006"),
    Broken(broken.ReferenceReuseCreatesSecondOrder, "IDEM-007"),
    Broken(broken.QuotedKeyRefused, "IDEM-008"),
    Broken(broken.LongKeyTruncated, "IDEM-009"),
    Broken(broken.KeyLockedAfterError, "IDEM-011"),
    Broken(broken.FirstCreateSaysReplayed, "IDEM-013"),
    Broken(broken.CreateAnswersProcessing, "ORD-001"),
    Broken(broken.GetSwapsNumberAndReference, "ORD-002"),
    # The status check narrows its lists with order_number, so it cannot pass without that filter.
    Broken(broken.IgnoresOrderNumberFilter, "ORD-003", ("ORD-005",)),
    Broken(broken.IgnoresReferenceFilter, "ORD-004"),
    Broken(broken.IgnoresStatusFilter, "ORD-005"),
    Broken(broken.UnknownOrderWithoutEnvelope, "ORD-006"),
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
    Broken(broken.IgnoresIfMatch, "AMD-005"),
    Broken(broken.StaleIfMatchRefusedButApplied, "AMD-005"),
    Broken(broken.MissingIfMatchRefusedButApplied, "AMD-006"),
    Broken(broken.AmendAfterPickAnswers200, "AMD-007"),
    Broken(broken.WarehouseAmendIgnored, "AMD-008"),
    Broken(broken.MergePatchRefused, "AMD-009"),
    # A stale PATCH answer also carries the old version (AMD-003) under the new ETag (AMD-004).
    Broken(broken.PatchAnswersOldOrder, "AMD-010", ("AMD-003", "AMD-004")),
    Broken(broken.OnHoldAmendRefused, "AMD-011"),
    # The refused warehouse change is an invalid amend too: it bumps the version as well.
    Broken(broken.InvalidAmendBumpsVersion, "AMD-012", ("AMD-008",)),
    Broken(broken.CancelAnswersOldStatus, "CAN-001"),
    Broken(broken.SecondCancelConflicts, "CAN-002"),
    Broken(broken.OnHoldCancelRefused, "CAN-003"),
    Broken(broken.BackorderedCancelRefused, "CAN-004"),
    Broken(broken.CancelAfterPickAnswers200, "CAN-005"),
    Broken(broken.CancelAfterShipAnswers200, "CAN-006"),
    Broken(broken.CancelKeepsStock, "CAN-007"),
    Broken(broken.CancelAfterPartialShipAnswers200, "CAN-008"),
    Broken(broken.CancelledAtMissing, "CAN-009"),
]
# One broken server also gets a full core run: no collateral damage anywhere in the kit.
FULL_CORE = Broken(broken.CancelAfterPickAnswers200, "CAN-005")
# Kit runs go in parallel (each is a subprocess against its own server): the suite stays fast.
WORKERS = 4


def kit_args(case: Broken | None, *, full_core: bool = False) -> list[str]:
    """A broken server runs the checks of its area (--only); a full core run runs them all."""
    if full_core or case is None:
        return ["--no-property-based"]
    return ["--no-property-based", *only(case.area)]


def run_against(server: Any, args: list[str], workdir: Path) -> dict[str, Any]:
    """Serves `server` (an ASGI wrapper class, or None for the healthy sandbox) on a fresh
    sandbox database and returns the kit's JSON report."""
    app = fulfillment_sandbox_app.create_app(str(workdir / "sandbox.db"))
    with serve(server(app) if server else app) as url:
        result = run_kit(f"{url}/v1", TOKEN, extra_args=args, tmp_path=workdir)
    assert result.report, f"expected a kit report, got none: {result.stderr[-2000:]}"
    return result.report


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every kit run of this module, run WORKERS at a time; keyed by case name."""
    jobs: dict[str, tuple[Any, list[str]]] = {
        "healthy": (None, kit_args(None, full_core=True)),
        "full-core": (FULL_CORE.server, kit_args(FULL_CORE, full_core=True)),
    }
    jobs |= {str(case): (case.server, kit_args(case)) for case in CASES}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            name: pool.submit(run_against, server, args, tmp_path_factory.mktemp("kit"))
            for name, (server, args) in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def bad_outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {
        entry["id"]: f"{entry['outcome']}: {entry.get('message', '')}"
        for entry in report["requirements"]
        if entry["outcome"] in BAD
    }


def assert_only_target_broke(
    case: Broken, report: dict[str, Any], baseline: dict[str, Any] | None = None
) -> None:
    """The target failed (warning for a SHOULD); nothing else failed except what the same
    behaviour legitimately breaks, or what already fails on the healthy sandbox (`baseline`:
    other areas' problems are their own tests' business, not evidence against this one)."""
    expected = "failed" if level(case.target) == "MUST" else "warning"
    got = outcome(report, case.target)
    assert got == expected, (
        f"expected {case.target} {expected} on {case.server.__name__}, got {got}: "
        f"{message(report, case.target)}"
    )
    allowed = {case.target, *case.also, *(bad_outcomes(baseline) if baseline else {})}
    collateral = {rid: why for rid, why in bad_outcomes(report).items() if rid not in allowed}
    assert not collateral, f"expected no other requirement to fail, got {collateral}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(
    case: Broken, reports: dict[str, dict[str, Any]]
) -> None:
    assert_only_target_broke(case, reports[str(case)])


def test_full_core_run_fails_only_the_broken_requirement(
    reports: dict[str, dict[str, Any]],
) -> None:
    """A full core run (every check, not only the cancel ones) against one broken server: only
    the broken requirement fails, so the order checks cause no collateral damage elsewhere."""
    assert_only_target_broke(FULL_CORE, reports["full-core"], baseline=reports["healthy"])


def test_healthy_sandbox_passes_every_order_requirement(
    reports: dict[str, dict[str, Any]],
) -> None:
    """A full core run against the unbroken sandbox: every IDEM/ORD/AMD/CAN id passes."""
    report = reports["healthy"]
    outcomes = {rid: outcome(report, rid) for prefix in AREAS for rid in area_ids(prefix)}
    not_passed = {rid: got for rid, got in outcomes.items() if got != "passed"}
    assert not not_passed, f"expected every order requirement passed, got {not_passed}"


def test_every_order_requirement_has_a_broken_server() -> None:
    """Each testable IDEM/ORD/AMD/CAN id is the target of at least one broken server."""
    targets = {case.target for case in CASES}
    missing = [rid for prefix in AREAS for rid in area_ids(prefix) if rid not in targets]
    assert not missing, (
        f"expected a broken server for every order requirement, got none for {missing}"
    )
