"""The contract's core as plain data: orders and their lines, shipments, stock per SKU and
warehouse. No I/O: ids come from the target (the model never invents one), and every operation
is a method of `Model` in conformance/model/operations.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AMENDABLE",
    "CANCELLABLE",
    "NOT_PICKED",
    "Line",
    "Order",
    "Shipment",
    "Stock",
]

# The guide's appendix, as the catalogue states it (AMD-007/011, CAN-001..008, SBX-003).
NOT_PICKED = ("received", "backordered", "on_hold")
AMENDABLE = NOT_PICKED
CANCELLABLE = NOT_PICKED
# Shipment statuses: forward steps, and the final ones (SHP-013, SBX-007).
FORWARD = ("shipped", "in_transit", "out_for_delivery", "delivered")
FINAL_SHIPMENT = ("delivered", "voided")


@dataclass
class Line:
    sku: str
    quantity: int
    shipped: int = 0


@dataclass
class Order:
    """What the model knows of one order: its lines, its status, and per SKU the units reserved
    for it (`allocated`) and those waiting for stock (`backordered`)."""

    id: str
    warehouse_id: str
    lines: list[Line]
    status: str
    seq: int  # creation order: backorders are filled oldest first (INV-012)
    allocated: dict[str, int] = field(default_factory=dict)
    backordered: dict[str, int] = field(default_factory=dict)
    shipments: list[str] = field(default_factory=list)
    amends: int = 0  # amends applied: each one changes `version` (AMD-003)

    def ordered(self) -> dict[str, int]:
        units: dict[str, int] = {}
        for line in self.lines:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        return units

    def shipped(self) -> dict[str, int]:
        units: dict[str, int] = {}
        for line in self.lines:
            units[line.sku] = units.get(line.sku, 0) + line.shipped
        return units

    def open_demand(self) -> dict[str, int]:
        """Units still to ship per SKU (none once cancelled)."""
        if self.status == "cancelled":
            return {}
        shipped = self.shipped()
        return {sku: qty - shipped.get(sku, 0) for sku, qty in self.ordered().items()}

    @property
    def has_backorder(self) -> bool:
        return any(self.backordered.values())


@dataclass
class Shipment:
    id: str
    order_id: str
    items: dict[str, int]
    parcels: int
    status: str = "shipped"

    @property
    def voided(self) -> bool:
        return self.status == "voided"


@dataclass
class Stock:
    """One SKU at one warehouse. `available` is derived, never stored (INV-002)."""

    on_hand: int = 0
    allocated: int = 0
    backordered: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated
