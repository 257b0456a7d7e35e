"""The model-based phase's warehouse stock events beyond set-stock: inventory adjustments, inbound
receipts and customer returns (issue 15). Each is a rule of the state machine, offered only when
the run claims its profile; after each, the machine compares the order it touched and the stock
of the run's SKUs with the model, as after every other step.

What the model predicts (conformance/model/operations.py, `expect_stock_event`): an
adjustment moves `on_hand` by its delta (ADJ-002), a receipt raises it at the ASN's warehouse by
the received units (INB-009) and moves the ASN to `received` (INB-008), a returned line raises it
only when restocked (RET-008); a rise fills waiting backorders oldest first (INV-012).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

if TYPE_CHECKING:  # machine.py imports this module
    from conformance.model.machine import ModelRun, Target

__all__ = ["stock_event_rules"]

DELTAS = st.integers(-2, 4)
# A graded return line: (condition, restocked). Damaged units never go back on the shelf.
GRADES = st.sampled_from((("resellable", True), ("damaged", False), ("defective", False)))


def stock_event_rules(target: Target, run: ModelRun) -> type:
    """A mixin of rules bound to this run's target (`target.profiles` says which to offer)."""
    claimed = set(getattr(target, "profiles", ()) or ())

    class StockEventRules:
        model: Any
        warehouse: str
        skus: list[str]
        returned: dict[tuple[str, str], int]

        # -- helpers the rules share -------------------------------------------------------
        def rise_or_fall(
            self, title: str, sku: str, delta: int, requirement: str, act: Any
        ) -> None:
            """One stock event that moves `sku`'s on_hand by `delta` at the run's warehouse:
            driven by `act()`, then compared like a set-stock step, under `requirement`."""
            stock = self.model.stock_of(sku, self.warehouse)
            on_hand = stock.on_hand + delta
            expected = self.model.expect_stock_event(sku, self.warehouse, on_hand, requirement)
            if self.offline():  # type: ignore[attr-defined]
                self.model.apply_set_stock(sku, self.warehouse, on_hand)
                return
            before = self.snapshot(*expected.orders)  # type: ignore[attr-defined]
            with self.step(title, "CONS-001"):  # type: ignore[attr-defined]
                act()
            changed = self.model.apply_set_stock(sku, self.warehouse, on_hand)
            self.verify(  # type: ignore[attr-defined]
                expected,
                before,
                touched=tuple(changed),
                stock_rule=requirement,
                quiet=tuple(o for o in expected.orders if o not in changed),
            )

        def returnable(self) -> list[tuple[str, str]]:
            """(order, SKU) pairs with shipped units not yet returned."""
            pairs = []
            for order_id, order in self.model.orders.items():
                for sku, shipped in order.shipped().items():
                    if shipped > self.returns_of(order_id, sku):
                        pairs.append((order_id, sku))
            return pairs

        def returns_of(self, order_id: str, sku: str) -> int:
            if not hasattr(self, "returned"):
                self.returned = {}
            return self.returned.get((order_id, sku), 0)

        # -- rules ---------------------------------------------------------------------------
        @precondition(lambda self: "adjustments" in claimed)
        @rule(scarce=st.booleans(), delta=DELTAS)
        def adjust(self, scarce: bool, delta: int) -> None:
            """A signed adjustment, never below the allocated units (that refusal is ADJ-004's
            scenario check), never zero (ADJ-003)."""
            sku = self.skus[1 if scarce else 0]
            stock = self.model.stock_of(sku, self.warehouse)
            delta = max(stock.allocated - stock.on_hand, delta) or 1
            reason = "found" if delta > 0 else "damaged"
            self.rise_or_fall(
                f"adjust {sku} by {delta} ({reason})",
                sku,
                delta,
                "ADJ-002",
                lambda: target.driver.adjust(sku, self.warehouse, delta, reason),
            )

        @precondition(lambda self: "inbound" in claimed)
        @rule(scarce=st.booleans(), quantity=st.integers(1, 3))
        def receive_inbound(self, scarce: bool, quantity: int) -> None:
            """An ASN of `quantity` units of one SKU at the run's warehouse, received in full:
            on_hand rises by `quantity` and the ASN reads `received`."""
            sku = self.skus[1 if scarce else 0]
            asn: dict[str, Any] = {}

            def act() -> None:
                body = {
                    "reference": target.factory.unique("ASN"),
                    "warehouse_id": self.warehouse,
                    "items": [{"sku": sku, "expected_quantity": quantity}],
                }
                headers = {"Idempotency-Key": target.factory.idempotency_key()}
                created = target.api.request(
                    "POST", "/inbound-shipments", json=body, headers=headers
                )
                assert created.status == 201 and isinstance(created.json, dict), (
                    f"expected 201 creating an ASN, got {created.describe()}"
                )
                asn.update(created.json)
                line = [{"sku": sku, "received_quantity": quantity}]
                target.driver.receive_inbound(str(asn.get("id")), line, True)

            self.rise_or_fall(f"receive an ASN of {quantity} {sku}", sku, quantity, "INB-009", act)
            if not asn or self.offline():  # type: ignore[attr-defined]
                return
            read = target.api.request("GET", f"/inbound-shipments/{asn.get('id')}")
            got = read.json if isinstance(read.json, dict) else {}
            self.expect(  # type: ignore[attr-defined]
                "INB-008",
                got.get("status") == "received",
                lambda: (
                    f"expected the ASN received in full to read received, got "
                    f"{got.get('status')!r} ({read.describe()})"
                ),
            )

        @precondition(
            lambda self: "returns" in claimed and bool(self.returnable() or self.shippable())
        )
        @rule(which=st.integers(0, 7), grade=GRADES)
        def receive_return(self, which: int, grade: tuple[str, bool]) -> None:
            """One shipped unit comes back, graded: on_hand rises by one only if restocked.
            With nothing shipped yet, an order ships first (a return needs shipped units, and
            ships are rare enough among the rules that returns would hardly ever run)."""
            if not self.returnable():
                self.ship(which, 1, 0)  # type: ignore[attr-defined]
            pairs = self.returnable()
            if not pairs:
                return
            order_id, sku = pairs[which % len(pairs)]
            condition, restocked = grade
            self.returned[(order_id, sku)] = self.returns_of(order_id, sku) + 1
            line = {"sku": sku, "quantity": 1, "condition": condition, "restocked": restocked}
            self.rise_or_fall(
                f"receive a return of 1 {sku} of order {order_id} ({condition})",
                sku,
                1 if restocked else 0,
                "RET-008",
                lambda: target.driver.receive_return(order_id, [line]),
            )

    return StockEventRules
