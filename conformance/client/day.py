"""The scripted day of business: the ERP creates, cancels and amends orders through its client,
the warehouse ships them in several parcels over time, and the client polls in between.

The warehouse acts on its own records (the orders it holds with the day's references), never on
what the client claims, so a client that lost or duplicated an order is caught by the judge.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from conformance.client.adapter import ErpAdapter
from conformance.client.hooks import ClientWebhooks, Handled
from conformance.client.warehouse import Warehouse

# The bundled sandbox's demo data: a warehouse, a shipping method and a stocked SKU.
WAREHOUSE_ID, SHIPPING_METHOD_ID, SKU = "wh_syd_1", "sm_auspost_express", "WIDGET-BLUE-M"
UNITS_PER_ORDER = 3
# event type -> the list its `data` belongs to, for an adapter that takes webhooks
WEBHOOK_FEEDS = {
    "shipment.created": "shipments",
    "shipment.updated": "shipments",
    "inventory.updated": "inventory",
}


@dataclass
class BusinessOrder:
    reference: str
    order_id: str | None = None  # what the ERP's client says the warehouse's id is
    cancelled: bool = False
    packing_note: str | None = None  # the amendment the ERP asked for
    errors: list[str] = field(default_factory=list)


@dataclass
class DayLog:
    prefix: str
    orders: list[BusinessOrder]
    shipments_seen: list[dict[str, Any]] = field(default_factory=list)
    inventory_seen: list[dict[str, Any]] = field(default_factory=list)
    poll_errors: list[str] = field(default_factory=list)
    webhooks: list[Handled] | None = None  # None: the adapter takes no webhooks
    webhook_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def order_body(reference: str) -> dict[str, Any]:
    return {
        "order_number": f"SO-{reference}",
        "reference": reference,
        "warehouse_id": WAREHOUSE_ID,
        "shipping_method_id": SHIPPING_METHOD_ID,
        "ship_to": {
            "name": "Client Check",
            "address1": "1 Test Street",
            "city": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        },
        "items": [{"sku": SKU, "quantity": UNITS_PER_ORDER}],
    }


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Day:
    def __init__(self, adapter: ErpAdapter, warehouse: Warehouse, *, orders: int, seed: int):
        self.adapter, self.warehouse = adapter, warehouse
        self.rng = random.Random(seed)
        prefix = f"CC-{seed}-{uuid.uuid4().hex[:6]}"
        self.log = DayLog(prefix, [BusinessOrder(f"{prefix}-{i:03d}") for i in range(orders)])

    def poll(self) -> None:
        for rows, call in (
            (self.log.shipments_seen, self.adapter.poll_shipments),
            (self.log.inventory_seen, self.adapter.poll_inventory),
        ):
            try:
                rows += call()
            except Exception as exc:  # the client gave up: the judge sees what it missed
                self.log.poll_errors.append(_failure(exc))

    def run(self) -> DayLog:
        """The day; with webhooks too when the adapter has `receive_webhook`."""
        started = time.monotonic()
        if not hasattr(self.adapter, "receive_webhook"):
            self._business()
        else:
            with ClientWebhooks(self.adapter) as hooks:
                hook_id, hooks.secret = self.warehouse.subscribe(hooks.url, list(WEBHOOK_FEEDS))
                try:
                    self._business()
                    hooks.wait_quiet()  # late and duplicate deliveries too
                finally:
                    self.warehouse.unsubscribe(hook_id)
            self.log.webhooks, self.log.webhook_errors = hooks.handled, hooks.errors
            for handled in hooks.handled:  # what the client applied was handed to its business
                feed = WEBHOOK_FEEDS.get(str(handled.event.get("event_type")))
                if handled.applied and feed is not None:
                    seen = (
                        self.log.shipments_seen if feed == "shipments" else self.log.inventory_seen
                    )
                    seen.append(handled.event["data"])
        self.log.seconds = time.monotonic() - started
        return self.log

    def _business(self) -> None:
        for order in self.log.orders:
            try:
                order.order_id = self.adapter.create_order(order_body(order.reference))
            except Exception as exc:
                order.errors.append(f"create: {_failure(exc)}")
        self.poll()
        created = [order for order in self.log.orders if order.order_id is not None]
        share = max(1, len(created) // 5)
        picked = self.rng.sample(created, min(len(created), 2 * share))
        for order in picked[:share]:
            self._cancel(order)
        for order in picked[share:]:
            self._amend(order)
        self.poll()
        self._ship_in_parcels()
        for _ in range(2):  # the ERP's next polling passes: everything must have arrived
            self.poll()

    def _cancel(self, order: BusinessOrder) -> None:
        assert order.order_id is not None
        try:
            self.adapter.cancel_order(order.order_id)
            order.cancelled = True
        except Exception as exc:
            order.errors.append(f"cancel: {_failure(exc)}")

    def _amend(self, order: BusinessOrder) -> None:
        assert order.order_id is not None
        note = f"Amended {order.reference}"
        try:
            order.order_id = self.adapter.amend_order(order.order_id, {"packing_note": note})
            order.packing_note = note
        except Exception as exc:
            order.errors.append(f"amend: {_failure(exc)}")

    def _live_orders(self) -> list[dict[str, Any]]:
        return [
            row
            for row in self.warehouse.all_rows("/orders")
            if row["reference"].startswith(self.log.prefix) and row["status"] != "cancelled"
        ]

    def _ship_in_parcels(self) -> None:
        """Part of each live order in two parcels, the ERP polls, the rest in one parcel, the
        ERP polls, then half the shipments move on in transit."""
        live = self._live_orders()
        for row in live:
            self.warehouse.ship(row["id"], parcels=2, items=[{"sku": SKU, "quantity": 1}])
        self.poll()
        for row in live:
            self.warehouse.ship(row["id"], parcels=1, items=None)
        self.poll()
        ours = {row["id"] for row in live}
        shipments = [s for s in self.warehouse.all_rows("/shipments") if s["order_id"] in ours]
        for shipment in shipments[::2]:
            self.warehouse.advance(shipment["id"], "in_transit")
