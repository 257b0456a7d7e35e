"""Judging the day from the sandbox's own records: one outcome per `CLI-...` id, with evidence.

The ids are the client check's requirements (the ERP side of the contract's rules they cite):

- CLI-001 no duplicate order: each business order exists once in the warehouse, and at most one
  of its orders (a replacement included) is live (IDEM-001, IDEM-002, IDEM-007).
- CLI-002 the ERP holds the warehouse's id of every order it sent, and its cancels and amends
  landed (IDEM-002, AMD-006, CAN-002).
- CLI-003 every shipment version reaches the ERP once: no (`id`, `updated_at`) twice (PAG-006: the
  inclusive bound serves the boundary rows again; the contract's polling loop dedupes).
- CLI-004 no lost shipment: the ERP saw every shipment of its orders in its final version
  (PAG-006: the inclusive `updated_since`).
- CLI-005 stock view converged: the ERP's newest row of every SKU is the warehouse's.
- CLI-006 the ERP waits `Retry-After` after a 429 (RATE-001).
- CLI-007 every webhook event is applied at most once, however often it is delivered (WHK-010,
  WHK-019: one `event_id` on every attempt).
- CLI-008 no lost event: every event delivered was acknowledged with a 2xx (WHK-010).

Rows the client applied from webhooks count as handed over, like polled ones (WHK-020).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conformance.client.day import DayLog

TITLES = {
    "CLI-001": "No duplicate order",
    "CLI-002": "The ERP holds the warehouse's id of every order; cancels and amends landed",
    "CLI-003": "Every shipment version is seen exactly once",
    "CLI-004": "No lost shipment: every shipment seen in its final version",
    "CLI-005": "The stock view converged to the warehouse's",
    "CLI-006": "Retry-After is waited out after a 429",
    "CLI-007": "Every webhook event is applied at most once",
    "CLI-008": "No lost event: every delivery acknowledged",
}


@dataclass
class Outcome:
    id: str
    outcome: str  # passed | failed | not_exercised
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": TITLES[self.id], **self.__dict__}


def _outcome(rule: str, problems: list[str], exercised: bool = True) -> Outcome:
    if problems:
        return Outcome(rule, "failed", problems[:10])
    return Outcome(rule, "passed" if exercised else "not_exercised")


def judge(
    log: DayLog,
    orders: list[dict[str, Any]],
    shipments: list[dict[str, Any]],
    inventory: list[dict[str, Any]],
    chaos: dict[str, Any],
) -> list[Outcome]:
    ours = [row for row in orders if row["reference"].startswith(log.prefix)]
    return [
        _duplicates(log, ours),
        _ids_and_changes(log, ours),
        _seen_once(log),
        _lost(log, ours, shipments),
        _stock(log, inventory),
        _retry_after(chaos),
        *_events(log),
    ]


def _family(reference: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order with `reference` and its replacements (whatever reference the client derives:
    the replacement names the root, e.g. `F-1-R2`)."""
    return [
        r for r in rows if r["reference"] == reference or r["reference"].startswith(reference + "-")
    ]


def _duplicates(log: DayLog, ours: list[dict[str, Any]]) -> Outcome:
    problems = []
    for order in log.orders:
        family = _family(order.reference, ours)
        exact = [r["id"] for r in family if r["reference"] == order.reference]
        live = [r["id"] for r in family if r["status"] != "cancelled"]
        if len(exact) > 1:  # none at all is CLI-002's: the ERP's create failed
            problems.append(f"{order.reference}: {len(exact)} orders in the warehouse {exact}")
        if len(live) > 1:
            problems.append(f"{order.reference}: {len(live)} live orders {live}")
    return _outcome("CLI-001", problems)


def _ids_and_changes(log: DayLog, ours: list[dict[str, Any]]) -> Outcome:
    by_id = {row["id"]: row for row in ours}
    problems = []
    for order in log.orders:
        for error in order.errors:
            problems.append(f"{order.reference}: the client raised on {error}")
        if order.order_id is None:
            if not order.errors:
                problems.append(f"{order.reference}: the ERP holds no order id")
            continue
        held = by_id.get(order.order_id)
        if held is None:
            problems.append(f"{order.reference}: the ERP holds {order.order_id}, unknown there")
        elif order.cancelled and held["status"] != "cancelled":
            problems.append(f"{order.reference}: cancelled by the ERP, {held['status']} there")
        elif order.packing_note and held.get("packing_note") != order.packing_note:
            problems.append(f"{order.reference}: amendment missing on {held['id']}")
    return _outcome("CLI-002", problems)


def _seen_once(log: DayLog) -> Outcome:
    versions = Counter((row["id"], row["updated_at"]) for row in log.shipments_seen)
    problems = [
        f"shipment {i} at {t} handed to the ERP {n} times"
        for (i, t), n in versions.items()
        if n > 1
    ]
    return _outcome("CLI-003", problems, exercised=bool(versions))


def _lost(log: DayLog, ours: list[dict[str, Any]], shipments: list[dict[str, Any]]) -> Outcome:
    order_ids = {row["id"] for row in ours}
    seen = {(row["id"], row["updated_at"]) for row in log.shipments_seen}
    expected = [s for s in shipments if s["order_id"] in order_ids]
    problems = [
        f"shipment {s['id']} ({s['status']}, updated_at {s['updated_at']}) never reached the ERP"
        for s in expected
        if (s["id"], s["updated_at"]) not in seen
    ]
    problems += [f"a polling pass failed: {error}" for error in log.poll_errors]
    return _outcome("CLI-004", problems, exercised=bool(expected))


def _stock(log: DayLog, inventory: list[dict[str, Any]]) -> Outcome:
    newest: dict[str, dict[str, Any]] = {}
    for row in log.inventory_seen:  # polled and webhook rows interleave: newest by updated_at
        if row["sku"] not in newest or parse_time(row["updated_at"]) > parse_time(
            newest[row["sku"]]["updated_at"]
        ):
            newest[row["sku"]] = row
    problems = []
    for row in inventory:
        mine = newest.get(row["sku"])
        if mine is None:
            problems.append(f"{row['sku']}: never reached the ERP")
        elif mine["updated_at"] != row["updated_at"] or mine["warehouses"] != row["warehouses"]:
            problems.append(
                f"{row['sku']}: the ERP's view is of {mine['updated_at']}, "
                f"the warehouse's of {row['updated_at']}"
            )
    return _outcome("CLI-005", problems, exercised=bool(inventory))


def _retry_after(chaos: dict[str, Any]) -> Outcome:
    faults = chaos.get("faults", {})
    early = int(faults.get("early_retry", 0))
    problems = (
        [f"{early} requests came back before the Retry-After they were given"] if early else []
    )
    return _outcome("CLI-006", problems, exercised=bool(faults.get("throttle")))


def _events(log: DayLog) -> list[Outcome]:
    handled = log.webhooks or []
    applied = Counter(str(h.event.get("event_id")) for h in handled if h.applied)
    twice = [f"event {e} applied {n} times" for e, n in applied.items() if n > 1]
    delivered = {str(h.event.get("event_id")) for h in handled}
    acknowledged = {str(h.event.get("event_id")) for h in handled if 200 <= h.status < 300}
    lost = [f"event {e} never acknowledged with a 2xx" for e in sorted(delivered - acknowledged)]
    lost += [f"the client's receiver raised: {error}" for error in log.webhook_errors]
    return [
        _outcome("CLI-007", twice, exercised=bool(handled)),
        _outcome("CLI-008", lost, exercised=bool(handled)),
    ]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
