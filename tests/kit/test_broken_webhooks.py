"""The webhooks checks have teeth: each fails on a server broken in exactly its way
(tests/kit/broken_webhooks.py), and the healthy sandbox passes them all.

The kit runs with `--only` every testable WHK id (so collateral damage inside the area shows),
and the broken requirement must come out `failed` (`warning` for a MAY) while no WHK id outside
the group's `target + also` is failed or warned. A server carries at most one delivery break
(it replaces the delivery worker's send step) and subscription-management breaks that touch
different operations, so the matrix is about a dozen kit runs, in parallel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from tests.kit import broken_webhooks as broken
from tests.kit import gallery
from tests.kit.gallery import Broken, KitResult, Run

sandbox = pytest.importorskip("fulfillment_sandbox.app")

# The broken servers claim the advanced profiles too, so WHK-017 is exercised on every run.
PROFILES = ("core", "webhooks", "inbound", "adjustments", "returns")
pytestmark = pytest.mark.timeout(2400)
# What the sandbox's secrets look like (whsec_ + 43 url-safe characters); "whsec_***" is masked.
SECRET_SHAPE = re.compile(r"whsec_[A-Za-z0-9_\-]{20,}")


def webhook_ids(members: Any = ()) -> tuple[str, ...]:
    return gallery.area_ids("WHK")


B = Broken
# Each group shares one server: independent delivery breaks (composed, see
# broken_webhooks.install) and subscription-management breaks of different operations.
GROUPS: list[list[Broken]] = [
    # A signature that does not verify fails every check that verifies one (the rotation's too).
    [
        B(
            broken.SignsReserializedJson,
            "WHK-008",
            ("WHK-011", "WHK-016", "WHK-023", "WHK-026", "WHK-030"),
        ),
        B(broken.SecretShownAgain, "WHK-003"),
        # An event never sent is also not sent within the deadline.
        B(broken.VoidNotAnnounced, "WHK-014", ("WHK-024",)),
    ],
    [
        B(broken.StaleTimestamp, "WHK-009", ("WHK-011", "WHK-016", "WHK-023", "WHK-026")),
        B(broken.CreateWithoutKeyAccepted, "WHK-001"),
        B(broken.InboundNotAnnounced, "WHK-017"),
    ],
    # Without t there is nothing to verify or to date.
    [
        B(
            broken.SignatureWithoutTimestamp,
            "WHK-007",
            ("WHK-008", "WHK-009", "WHK-011", "WHK-016", "WHK-023", "WHK-026", "WHK-030"),
        ),
        B(broken.CreatedWithoutCreatedAt, "WHK-002"),
        B(broken.FutureUpdatedAt, "WHK-020"),
    ],
    # An unknown event type is invalid and was not subscribed to (nor is it the logged one).
    [
        B(broken.SpacedSignatureHeader, "WHK-007", ("WHK-016", "WHK-023", "WHK-026")),
        B(broken.DeleteIsNoOp, "WHK-004"),
        B(
            broken.AmericanCancelSpelling,
            "WHK-015",
            ("WHK-006", "WHK-018", "WHK-024", "WHK-029"),
        ),
    ],
    # The thin shipment.created lacks the order_id the event check reads; inventory.updated is MAY.
    [
        B(broken.EventIdChangesOnRetry, "WHK-010"),
        B(broken.AnyUrlAccepted, "WHK-005"),
        B(broken.ThinPayload, "WHK-006", ("WHK-013", "WHK-016")),
        B(broken.ThinPayload, "WHK-016", ("WHK-006", "WHK-013")),
        B(broken.ThinPayload, "WHK-013", ("WHK-006", "WHK-016")),
        B(broken.RotationSignsOldSecretOnly, "WHK-023"),
    ],
    # No retry: nothing to check for a fresh signature either.
    [B(broken.NoRetryAfter500, "WHK-010", ("WHK-011",)), B(broken.OneSecretForAll, "WHK-021")],
    [B(broken.RetryKeepsFirstSignature, "WHK-011"), B(broken.KeyIgnoredOnCreate, "WHK-022")],
    [
        # The delivered event_id is not the logged one: the log and redelivery cannot find it.
        B(broken.SharedEventId, "WHK-019", ("WHK-029", "WHK-030")),
        B(broken.DeliversEveryType, "WHK-018"),
        B(broken.PatchIgnored, "WHK-028"),
    ],
    # The kit waits the spec's 30 s for the cancel's event; by then it is missing too (the
    # event log check waits for it as well).
    [
        B(broken.LateCancelNotice, "WHK-024", ("WHK-015", "WHK-029")),
        B(broken.RotationSignsNewSecretOnly, "WHK-023"),
        B(broken.ShortRotationOverlap, "WHK-025"),
        B(broken.DisabledWithoutReason, "WHK-027"),
    ],
    # Never disabled: there is nothing to re-enable (WHK-028 skips).
    [
        B(broken.OldSecretSignsForever, "WHK-026"),
        B(broken.RotatedSecretShownAgain, "WHK-025"),
        B(broken.RetriesForever, "WHK-027"),
    ],
    # The event log, redelivery and order.updated (decision 45).
    [
        B(broken.LogsOnlyDeliveredEvents, "WHK-029"),
        B(broken.RedeliveryGetsNewEventId, "WHK-030"),
        B(broken.RedeliverAnythingAccepted, "WHK-031"),
    ],
    [B(broken.HoldNotAnnounced, "WHK-032", ("WHK-030", "WHK-031"))],
]
CASES = [case for group in GROUPS for case in group]
GROUP_OF = {str(case): number for number, group in enumerate(GROUPS) for case in group}


def groups() -> list[list[Broken]]:
    """The GROUPS, packed as every gallery is: a case shares a server with its group only."""
    return gallery.pack(
        CASES, lambda a, b: GROUP_OF[str(a)] == GROUP_OF[str(b)], max_group=len(CASES)
    )


def build(db_path: str, members: Sequence[Broken]) -> Any:
    app = sandbox.create_app(db_path)
    servers = list(dict.fromkeys(case.server for case in members))
    broken.install(app, [s for s in servers if issubclass(s, broken.DeliveryBreak)])
    for server in servers:
        if not issubclass(server, broken.DeliveryBreak):
            app = server(app)
    return app


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every group and the healthy run (profiles core + webhooks), once each, all at once: the
    runs mostly wait for deliveries and retries."""
    packed = gallery.group_runs(groups(), webhook_ids, profiles=PROFILES, build=build)
    healthy = Run("healthy", ids=webhook_ids(), profiles=("core", "webhooks"))
    legal = Run("legal", ids=webhook_ids(), profiles=("core", "webhooks"), build=build_legal)
    every = [healthy, legal, *packed]
    results = gallery.run_all(every, tmp_path_factory.mktemp("broken-webhooks"), workers=len(every))
    return {
        "healthy": results["healthy"],
        "legal": results["legal"],
        **gallery.by_case(packed, results),
    }


def build_legal(db_path: str, _members: Sequence[Broken]) -> Any:
    """Legal choices the webhook checks must accept: the old secret's v1 first, a 72 h window,
    inventory.updated for on_hand changes only (never for an allocation), and order.updated on
    an order's creation too."""
    app = sandbox.create_app(db_path, inventory_events="on_hand_only")
    broken.install(app, [broken.OldSignatureFirst])
    return broken.OrderUpdatedOnCreate(broken.LongerRotationOverlap(app))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_kit_fails_the_requirement_the_server_breaks(case: Broken, runs: dict[str, Any]) -> None:
    result, members = runs[str(case)]
    gallery.assert_only_target_broke(case, result, members)


def test_healthy_sandbox_passes_every_webhooks_id(runs: dict[str, Any]) -> None:
    """Profiles core + webhooks: every testable WHK id passes but WHK-017, which is not
    exercised (none of the inbound, adjustments and returns profiles is claimed, so no event
    of theirs is due); the other groups claim those profiles and pass WHK-017 for real (it is
    outside their allowed failures)."""
    healthy: KitResult = runs["healthy"]
    assert gallery.outcome(healthy.report, "WHK-017") == "not_exercised"
    gallery.assert_all_passed(healthy, [rid for rid in webhook_ids() if rid != "WHK-017"], "WHK")


def test_legal_rotation_choices_pass(runs: dict[str, Any]) -> None:
    """A server that puts the previous secret's v1 first, keeps it for 72 hours, fires
    inventory.updated only when on_hand moves and order.updated on creation too passes every
    webhooks id the healthy sandbox passes (no false alarm on WHK-023, WHK-025, WHK-026, on the
    inventory events, nor on WHK-029 to WHK-032)."""
    gallery.assert_all_passed(
        runs["legal"], [rid for rid in webhook_ids() if rid != "WHK-017"], "WHK"
    )


def test_no_secret_in_any_report(runs: dict[str, Any]) -> None:
    """No kit report, stdout or stderr of the matrix carries a whsec_ secret."""
    leaks = []
    for name, value in runs.items():
        result = value if isinstance(value, KitResult) else value[0]  # "legal" is a KitResult
        texts = [result.stdout, result.stderr]
        if result.report_path is not None and result.report_path.exists():
            texts.append(result.report_path.read_text(encoding="utf-8"))
        for text in texts:
            for token in text.split("whsec_")[1:]:
                if not token.startswith(("*", "`", "'", '"', " ", ")")):
                    leaks.append(f"{name}: whsec_{token[:4]}...")
    assert not leaks, f"expected no webhook secret in any output, got {leaks[:3]}"


def test_every_webhooks_requirement_has_a_broken_server() -> None:
    gallery.assert_every_id_targeted(CASES, webhook_ids())
