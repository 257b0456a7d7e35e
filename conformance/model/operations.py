"""The operations of the contract's core, as the catalogue states them, on the model's state.

Each operation has two halves: `expect_<op>` says, before the call, what the target must answer
(the statuses the contract allows, the error code it pins, the requirement that pins it) and
which resources the call changes; `apply_<op>` records a success the target reported (ids come
from the target). Where the contract leaves a choice the expectation lists every allowed status
and the state is the same whichever the target picks.

Allocation (INV-003, INV-006, INV-011, INV-012, decision 21): an order reserves what is available
of each SKU at its warehouse; the rest is backordered; when on_hand rises, backorders are filled
oldest order first; a cancel or a shrinking amend releases units (they become available). A
shipment consumes reserved units (on_hand and allocated fall, INV-005); a void puts them back on
hand and reserved for the order again (sandboxVoidShipment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.model.state import (
    AMENDABLE,
    CANCELLABLE,
    FINAL_SHIPMENT,
    FORWARD,
    NOT_PICKED,
    Line,
    Order,
    Shipment,
    Stock,
)

__all__ = ["Expected", "Model"]


@dataclass(frozen=True)
class Expected:
    """What the contract pins about one call: the statuses it allows, the error code of a
    refusal, the requirement that says so, and what a success changes."""

    statuses: frozenset[int]
    requirement: str
    code: str | None = None
    orders: tuple[str, ...] = ()  # orders whose representation changes: updated_at advances
    shipments: tuple[str, ...] = ()  # shipments that change: updated_at advances
    skus: tuple[str, ...] = ()  # SKUs whose quantities change: the item's updated_at advances
    new_version: tuple[str, ...] = ()  # orders whose `version` must change (an amend)

    @property
    def succeeds(self) -> bool:
        return all(200 <= status < 300 for status in self.statuses)

    @property
    def refused(self) -> bool:
        return all(status >= 400 for status in self.statuses)


def _ok(requirement: str, status: int = 200, **changes: tuple[str, ...]) -> Expected:
    return Expected(frozenset({status}), requirement, None, **changes)


def _refused(requirement: str, code: str, status: int = 409) -> Expected:
    return Expected(frozenset({status}), requirement, code)


@dataclass
class Model:
    """Orders, shipments and stock of one partner, as far as the kit created them."""

    orders: dict[str, Order] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    stock: dict[tuple[str, str], Stock] = field(default_factory=dict)

    # -- reading ----------------------------------------------------------------------------
    def stock_of(self, sku: str, warehouse_id: str) -> Stock:
        return self.stock.setdefault((sku, warehouse_id), Stock())

    def order_status(self, order_id: str) -> str:
        return self.orders[order_id].status

    def shipment_status(self, shipment_id: str) -> str:
        return self.shipments[shipment_id].status

    def backorders_of(self, sku: str, warehouse_id: str, *, besides: str = "") -> int:
        """Units of `sku` other orders at `warehouse_id` are waiting for."""
        return sum(
            order.backordered.get(sku, 0)
            for order in self.orders.values()
            if order.warehouse_id == warehouse_id and order.id != besides
        )

    def release_is_pinned(self, order_id: str, skus: set[str] | None = None) -> bool:
        """Whether units this order releases have one pinned fate. The contract fills backorders
        when on_hand rises (INV-012); whether released units go to another order's backorder at
        once is left open, so the kit only releases units nobody else waits for."""
        order = self.orders[order_id]
        skus = set(order.ordered()) if skus is None else skus
        return not any(
            self.backorders_of(sku, order.warehouse_id, besides=order_id) for sku in skus
        )

    # -- stock ------------------------------------------------------------------------------
    def _rebalance(self, order: Order, demand: dict[str, int]) -> None:
        """Make the order's reservation match its open `demand`: release any excess, take what
        is missing from `available`, backorder the rest."""
        for sku in sorted(set(order.allocated) | set(order.backordered) | set(demand)):
            want = max(0, demand.get(sku, 0))
            stock = self.stock_of(sku, order.warehouse_id)
            held = order.allocated.get(sku, 0)
            allocated = min(held, want)
            if allocated < want:
                free = stock.on_hand - (stock.allocated - held + allocated)
                allocated += max(0, min(want - allocated, free))
            backordered = want - allocated
            stock.allocated += allocated - held
            stock.backordered += backordered - order.backordered.get(sku, 0)
            order.allocated[sku] = allocated
            order.backordered[sku] = backordered

    def _fill_backorders(self, sku: str, warehouse_id: str) -> list[str]:
        """After on_hand rose: backordered orders of the SKU there, oldest first (INV-012).
        Returns the orders whose status changed (backordered -> received)."""
        changed: list[str] = []
        waiting = sorted(
            (o for o in self.orders.values() if o.warehouse_id == warehouse_id),
            key=lambda order: order.seq,
        )
        for order in waiting:
            if not order.backordered.get(sku):
                continue
            self._rebalance(order, order.open_demand())
            if order.status == "backordered" and not order.has_backorder:
                order.status = "received"
                changed.append(order.id)
        return changed

    def expect_set_stock(self, sku: str, warehouse_id: str, on_hand: int) -> Expected:
        stock = self.stock_of(sku, warehouse_id)
        if on_hand < stock.allocated:
            return _refused("SBX-006", "stock_allocated")
        waiting = [
            o.id
            for o in self.orders.values()
            if o.warehouse_id == warehouse_id and o.backordered.get(sku)
        ]
        rises = on_hand > stock.on_hand
        return Expected(
            frozenset({200}),
            "INV-012" if waiting and rises else "SBX-006",
            skus=(sku,),
            # Orders that may leave `backordered`: the exact ones are known only after applying.
            orders=tuple(waiting) if rises else (),
        )

    def apply_set_stock(self, sku: str, warehouse_id: str, on_hand: int) -> list[str]:
        """Sets on_hand; returns the orders whose status changed (backorders filled)."""
        stock = self.stock_of(sku, warehouse_id)
        rose = on_hand > stock.on_hand
        stock.on_hand = on_hand
        return self._fill_backorders(sku, warehouse_id) if rose else []

    # -- orders -----------------------------------------------------------------------------
    def expect_create(self, warehouse_id: str, items: dict[str, int]) -> Expected:
        short = any(
            quantity > self.stock_of(sku, warehouse_id).available for sku, quantity in items.items()
        )
        return _ok("INV-006" if short else "ORD-001", 201, skus=tuple(sorted(items)))

    def apply_create(self, order_id: str, warehouse_id: str, items: dict[str, int]) -> Order:
        order = Order(
            id=order_id,
            warehouse_id=warehouse_id,
            lines=[Line(sku, quantity) for sku, quantity in items.items()],
            status="received",
            seq=len(self.orders),
        )
        self.orders[order_id] = order
        self._rebalance(order, order.ordered())
        if order.has_backorder:
            order.status = "backordered"
        return order

    def expect_amend(self, order_id: str, items: dict[str, int] | None) -> Expected:
        order = self.orders[order_id]
        if order.status not in AMENDABLE:
            return _refused("AMD-007", "too_late_to_amend")
        skus = tuple(sorted(set(order.ordered()) | set(items or {})))
        return Expected(
            frozenset({200}),
            "AMD-002" if items is not None else "AMD-001",
            orders=(order_id,),
            skus=skus if items is not None else (),
            new_version=(order_id,),
        )

    def apply_amend(self, order_id: str, items: dict[str, int] | None) -> None:
        order = self.orders[order_id]
        order.amends += 1
        if items is None:
            return
        order.lines = [Line(sku, quantity) for sku, quantity in items.items()]
        self._rebalance(order, order.ordered())
        for sku in [s for s in order.allocated if s not in items]:
            order.allocated.pop(sku)
            order.backordered.pop(sku, None)
        if order.status in ("received", "backordered"):
            order.status = "backordered" if order.has_backorder else "received"

    def expect_cancel(self, order_id: str) -> Expected:
        order = self.orders[order_id]
        if order.status == "cancelled":
            return _ok("CAN-002")  # idempotent: nothing changes
        if order.status == "processing":
            return _refused("CAN-005", "too_late_to_cancel")
        if order.status in ("partially_shipped", "shipped"):
            return _refused(
                "CAN-008" if order.status == "partially_shipped" else "CAN-006", "already_shipped"
            )
        rule = {"received": "CAN-001", "on_hold": "CAN-003", "backordered": "CAN-004"}
        return _ok(rule[order.status], orders=(order_id,), skus=tuple(sorted(order.ordered())))

    def apply_cancel(self, order_id: str) -> None:
        order = self.orders[order_id]
        if order.status not in CANCELLABLE:
            return
        order.status = "cancelled"
        self._rebalance(order, {})

    def expect_pick(self, order_id: str) -> Expected:
        status = self.orders[order_id].status
        if status in NOT_PICKED:
            return _ok("SBX-003", orders=(order_id,))
        if status == "processing":  # picking a picked order: the contract does not say
            return Expected(frozenset({200, 409}), "SBX-003")
        return _refused("SBX-004", "invalid_transition")

    def apply_pick(self, order_id: str) -> None:
        order = self.orders[order_id]
        if order.status in NOT_PICKED:
            order.status = "processing"

    def expect_hold(self, order_id: str) -> Expected:
        status = self.orders[order_id].status
        if status in ("received", "backordered"):
            return _ok("SBX-003", orders=(order_id,))
        if status == "on_hold":  # holding a held order: the contract does not say
            return Expected(frozenset({200, 409}), "SBX-003")
        if status in ("cancelled", "shipped"):
            return _refused("SBX-004", "invalid_transition")
        # processing or partially shipped: whether a picked order can still be held is open.
        return Expected(frozenset({200, 409}), "SBX-003")

    def apply_hold(self, order_id: str) -> None:
        order = self.orders[order_id]
        if order.status in ("received", "backordered"):
            order.status = "on_hold"

    # -- shipments --------------------------------------------------------------------------
    def shippable(self, order_id: str) -> dict[str, int]:
        """Units the warehouse can ship now without a choice the contract leaves open: reserved,
        not yet shipped, of an order that is received, picked or partly shipped."""
        order = self.orders[order_id]
        if order.status not in ("received", "processing", "partially_shipped"):
            return {}
        if order.has_backorder:
            return {}
        return {sku: qty for sku, qty in order.allocated.items() if qty > 0}

    def expect_ship(self, order_id: str, items: dict[str, int]) -> Expected:
        order = self.orders[order_id]
        if order.status in ("cancelled", "shipped"):
            return _refused("SBX-004", "invalid_transition")
        return _ok("SBX-005", 201, orders=(order_id,), skus=tuple(sorted(items)))

    def apply_ship(
        self, order_id: str, shipment_id: str, items: dict[str, int], parcels: int
    ) -> Shipment:
        order = self.orders[order_id]
        shipment = Shipment(shipment_id, order_id, dict(items), parcels)
        self.shipments[shipment_id] = shipment
        order.shipments.append(shipment_id)
        for sku, quantity in items.items():
            stock = self.stock_of(sku, order.warehouse_id)
            stock.on_hand -= quantity
            stock.allocated -= quantity
            order.allocated[sku] = order.allocated.get(sku, 0) - quantity
            self._credit(order, sku, quantity)
        self._recompute(order)
        return shipment

    @staticmethod
    def _credit(order: Order, sku: str, quantity: int) -> None:
        """Shipped units of a SKU go to its lines, first line first (SHP-012)."""
        for line in order.lines:
            if line.sku != sku or quantity == 0:
                continue
            room = line.quantity - line.shipped if quantity > 0 else -line.shipped
            step = min(quantity, room) if quantity > 0 else max(quantity, room)
            line.shipped += step
            quantity -= step

    def _recompute(self, order: Order) -> None:
        """The order's status from what has shipped (SHP-002, SHP-014)."""
        demand = order.open_demand()
        if all(quantity <= 0 for quantity in demand.values()):
            order.status = "shipped"
        elif any(order.shipped().values()):
            order.status = "partially_shipped"
        else:
            order.status = "processing"

    def expect_advance(self, shipment_id: str, status: str) -> Expected:
        shipment = self.shipments[shipment_id]
        current = shipment.status
        if current in FINAL_SHIPMENT or current == status:
            return _refused("SBX-004", "invalid_transition")
        forward = status != "exception" and current != "exception"
        if forward and FORWARD.index(status) <= FORWARD.index(current):
            return _refused("SBX-004", "invalid_transition")
        return _ok("SBX-007", shipments=(shipment_id,), orders=(shipment.order_id,))

    def apply_advance(self, shipment_id: str, status: str) -> None:
        self.shipments[shipment_id].status = status

    def expect_void(self, shipment_id: str) -> Expected:
        shipment = self.shipments[shipment_id]
        if shipment.status != "shipped":
            return _refused("SBX-007", "invalid_transition")
        return _ok(
            "SHP-014",
            shipments=(shipment_id,),
            orders=(shipment.order_id,),
            skus=tuple(sorted(shipment.items)),
        )

    def apply_void(self, shipment_id: str) -> None:
        shipment = self.shipments[shipment_id]
        order = self.orders[shipment.order_id]
        shipment.status = "voided"
        for sku, quantity in shipment.items.items():
            stock = self.stock_of(sku, order.warehouse_id)
            stock.on_hand += quantity  # the units never left: back on hand...
            stock.allocated += quantity  # ...and reserved for the order again
            order.allocated[sku] = order.allocated.get(sku, 0) + quantity
            self._credit(order, sku, -quantity)
        self._recompute(order)

    # -- stock events beyond set-stock (conformance/model/stock_events.py) ------------------
    def expect_stock_event(
        self, sku: str, warehouse_id: str, on_hand: int, requirement: str
    ) -> Expected:
        """An adjustment, receipt or return that leaves `on_hand` at `on_hand` (never below
        the allocated units: the machine keeps to that); the SKU is compared under
        `requirement` even when the event leaves it unchanged (a return not restocked)."""
        waiting = [
            o.id
            for o in self.orders.values()
            if o.warehouse_id == warehouse_id and o.backordered.get(sku)
        ]
        rises = on_hand > self.stock_of(sku, warehouse_id).on_hand
        return Expected(
            frozenset({200, 201}),
            requirement,
            skus=(sku,),
            orders=tuple(waiting) if rises else (),
        )
