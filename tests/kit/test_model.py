"""The contract's executable model (conformance/model/) on its own: pure, no target."""

from __future__ import annotations

from conformance.model import Model

W = "wh-1"


def stocked(**on_hand: int) -> Model:
    model = Model()
    for sku, units in on_hand.items():
        model.apply_set_stock(sku, W, units)
    return model


def numbers(model: Model, sku: str) -> tuple[int, int, int, int]:
    stock = model.stock_of(sku, W)
    return stock.on_hand, stock.allocated, stock.available, stock.backordered


def test_create_allocates_and_backorders_the_excess() -> None:
    model = stocked(A=5, B=1)
    assert model.expect_create(W, {"A": 2}).requirement == "ORD-001"
    assert model.expect_create(W, {"B": 3}).requirement == "INV-006"
    model.apply_create("o1", W, {"A": 2})
    model.apply_create("o2", W, {"B": 3})
    assert model.order_status("o1") == "received" and numbers(model, "A") == (5, 2, 3, 0)
    assert model.order_status("o2") == "backordered" and numbers(model, "B") == (1, 1, 0, 2)


def test_stock_fills_backorders_oldest_first() -> None:
    model = stocked(A=0)
    model.apply_create("old", W, {"A": 2})
    model.apply_create("new", W, {"A": 2})
    assert model.expect_set_stock("A", W, 3).requirement == "INV-012"
    assert model.apply_set_stock("A", W, 3) == ["old"]
    assert model.order_status("old") == "received" and model.order_status("new") == "backordered"
    assert numbers(model, "A") == (3, 3, 0, 1)


def test_stock_below_allocated_is_refused() -> None:
    model = stocked(A=5)
    model.apply_create("o", W, {"A": 4})
    expected = model.expect_set_stock("A", W, 3)
    assert expected.refused and expected.code == "stock_allocated"


def test_cancel_releases_and_is_refused_once_picked_or_shipped() -> None:
    model = stocked(A=5)
    model.apply_create("o", W, {"A": 2})
    assert model.expect_cancel("o").requirement == "CAN-001"
    model.apply_cancel("o")
    assert numbers(model, "A") == (5, 0, 5, 0)
    assert model.expect_cancel("o").requirement == "CAN-002"  # idempotent
    model.apply_create("p", W, {"A": 1})
    model.apply_pick("p")
    assert model.expect_cancel("p").code == "too_late_to_cancel"
    model.apply_create("s", W, {"A": 2})
    model.apply_ship("s", "shp", {"A": 1}, 1)
    assert model.expect_cancel("s").code == "already_shipped"
    assert model.expect_cancel("s").requirement == "CAN-008"


def test_amend_follows_the_new_lines_and_is_refused_after_pick() -> None:
    model = stocked(A=5, B=5)
    model.apply_create("o", W, {"A": 3})
    expected = model.expect_amend("o", {"B": 1})
    assert expected.new_version == ("o",) and set(expected.skus) == {"A", "B"}
    model.apply_amend("o", {"B": 1})
    assert numbers(model, "A") == (5, 0, 5, 0) and numbers(model, "B") == (5, 1, 4, 0)
    model.apply_pick("o")
    assert model.expect_amend("o", None).code == "too_late_to_amend"


def test_ship_void_and_status_recomputed() -> None:
    model = stocked(A=5)
    model.apply_create("o", W, {"A": 3})
    model.apply_ship("o", "s1", {"A": 1}, 2)
    assert model.order_status("o") == "partially_shipped" and numbers(model, "A") == (4, 2, 2, 0)
    model.apply_ship("o", "s2", {"A": 2}, 1)
    assert model.order_status("o") == "shipped" and model.orders["o"].lines[0].shipped == 3
    model.apply_void("s2")
    assert model.order_status("o") == "partially_shipped"
    assert numbers(model, "A") == (4, 2, 2, 0)  # back on hand and allocated to the order again
    model.apply_void("s1")
    assert model.order_status("o") == "processing" and model.orders["o"].lines[0].shipped == 0
    assert model.expect_void("s1").code == "invalid_transition"


def test_shipment_transitions() -> None:
    model = stocked(A=5)
    model.apply_create("o", W, {"A": 1})
    model.apply_ship("o", "s", {"A": 1}, 1)
    assert model.expect_advance("s", "in_transit").succeeds
    model.apply_advance("s", "in_transit")
    assert model.expect_advance("s", "shipped").code == "invalid_transition"  # backwards
    assert model.expect_advance("s", "exception").succeeds
    model.apply_advance("s", "exception")
    assert model.expect_advance("s", "delivered").succeeds  # leaves exception again
    model.apply_advance("s", "delivered")
    assert model.expect_advance("s", "exception").refused
    assert model.expect_void("s").refused


def test_open_choices_allow_every_legal_answer() -> None:
    model = stocked(A=5)
    model.apply_create("o", W, {"A": 1})
    model.apply_hold("o")
    assert model.expect_hold("o").statuses == {200, 409}
    model.apply_pick("o")
    assert model.expect_pick("o").statuses == {200, 409}
    model.apply_cancel("o")  # refused by the contract: nothing changes
    assert model.order_status("o") == "processing"


def test_release_is_pinned_only_when_nobody_else_waits() -> None:
    model = stocked(A=1)
    model.apply_create("first", W, {"A": 1})
    assert model.release_is_pinned("first")
    model.apply_create("second", W, {"A": 1})
    assert not model.release_is_pinned("first")
    assert model.shippable("second") == {}  # a backordered order is not shipped by the machine


def test_the_machine_judges_only_requirements_the_phase_reports() -> None:
    """A disagreement the machine names must reach the report: every id it judges has a check."""
    import re
    from pathlib import Path

    from conformance.checks.test_model_based import MODEL_REQUIREMENTS
    from conformance.model import machine

    source = Path(machine.__file__).read_text(encoding="utf-8")
    judged = set(re.findall(r'(?:expect|fail|step)\(\s*"([A-Z]+-\d{3})"', source))
    judged |= set(re.findall(r'_rule="([A-Z]+-\d{3})"', source))
    assert judged and judged <= set(MODEL_REQUIREMENTS), judged - set(MODEL_REQUIREMENTS)
