"""The model's stock events of the optional profiles (conformance/model/stock_events.py): what
the model predicts, that the machine offers them only for claimed profiles, and that every
requirement they judge reaches the report."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.test_model_based import MODEL_REQUIREMENTS
from conformance.model import Model, machine, stock_events

W = "wh-1"


def test_a_rise_fills_backorders_and_names_the_event_rule() -> None:
    model = Model()
    model.apply_set_stock("A", W, 1)
    model.apply_create("o1", W, {"A": 3})
    expected = model.expect_stock_event("A", W, 3, "INB-009")
    assert expected.requirement == "INB-009" and expected.skus == ("A",)
    assert expected.orders == ("o1",) and 201 in expected.statuses
    assert model.apply_set_stock("A", W, 3) == ["o1"]
    assert model.order_status("o1") == "received"


def test_an_unchanged_sku_is_still_judged_by_the_event_rule() -> None:
    """A return not restocked leaves on_hand as it was: RET-008 still compares the SKU."""
    model = Model()
    model.apply_set_stock("A", W, 4)
    expected = model.expect_stock_event("A", W, 4, "RET-008")
    assert expected.skus == ("A",) and expected.orders == ()


def test_the_event_rules_judge_only_requirements_the_phase_reports() -> None:
    source = Path(stock_events.__file__).read_text(encoding="utf-8")
    judged = set(re.findall(r'"([A-Z]+-\d{3})"', source)) - {"CONS-001"}
    assert judged == {"ADJ-002", "INB-008", "INB-009", "RET-008"}
    assert judged <= set(MODEL_REQUIREMENTS)


def offline_rules(
    profiles: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, budget: int = 200
) -> Counter[str]:
    """The rules a seeded run offers, counted without a target (every step offline)."""
    seen: Counter[str] = Counter()
    monkeypatch.setattr(machine.ModelRun, "exhausted", property(lambda self: True))
    original = Model.expect_stock_event

    def counted(self: Model, sku: str, warehouse: str, on_hand: int, rule: str) -> Any:
        seen[rule] += 1
        return original(self, sku, warehouse, on_hand, rule)

    monkeypatch.setattr(Model, "expect_stock_event", counted)
    target = machine.Target(None, None, None, None, profiles)
    machine.run_model_phase(target, budget=budget, seed_value=7)
    return seen


def test_events_run_only_for_claimed_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not offline_rules(("core",), monkeypatch)
    # Returns need a shipped order first: a longer run than the default budget meets them.
    claimed = offline_rules(("core", "adjustments", "inbound", "returns"), monkeypatch, 1000)
    assert {"ADJ-002", "INB-009", "RET-008"} <= set(claimed), claimed
