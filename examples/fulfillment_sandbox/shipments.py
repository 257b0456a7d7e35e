"""Shipments: what physically left, one parcel per tracking number (decision 20).

Statuses: shipped -> in_transit -> out_for_delivery -> delivered (forward steps may skip);
`exception` from any non-final state and back; `voided` only from `shipped`, final, the row kept
with `voided: true`. Voided units count as unshipped again: they go back to on_hand and are
re-allocated to the order, whose status is recomputed.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any

from . import inventory, lines, orders, webhooks
from .errors import ApiError
from .paging import ListQuery, list_page
from .reference import shipping_method
from .storage import Tx, dumps, new_id, owned_row

FORWARD = ("shipped", "in_transit", "out_for_delivery", "delivered")
FINAL = ("delivered", "voided")
DEFAULT_COST = {"amount": "12.40", "currency": "AUD"}
TRACKING_URLS = {
    "auspost": "https://auspost.com.au/mypost/track/details/{}",
    "startrack": "https://startrack.com.au/track/details/{}",
}


def render(row: sqlite3.Row, order_number: str) -> dict[str, Any]:
    doc = json.loads(row["doc"])
    return {
        "id": row["id"],
        "order_id": row["order_id"],
        "order_number": order_number,
        "status": row["status"],
        "warehouse_id": row["warehouse_id"],
        "shipped_at": row["shipped_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "cost": doc["cost"],
        "voided": bool(row["voided"]),
        "parcels": doc["parcels"],
        "items": doc["items"],
    }


def _render_with_order(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    number = conn.execute(
        "SELECT order_number FROM orders WHERE id = ?", (row["order_id"],)
    ).fetchone()
    return render(row, number["order_number"])


def get(conn: sqlite3.Connection, partner: str, shipment_id: str) -> dict[str, Any]:
    return _render_with_order(conn, owned_row(conn, "shipments", partner, shipment_id, "Shipment"))


def list_shipments(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    def conditions(filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
        if filters.get("order_id") is not None:
            return ["order_id = ?"], [filters["order_id"]]
        return [], []

    return list_page(
        conn,
        codec,
        resource="shipments",
        table="shipments",
        id_column="id",
        partner=partner,
        query=query,
        conditions=conditions,
        render=lambda row: _render_with_order(conn, row),
    )


def _tracking_number() -> str:
    return "SBX" + "".join(secrets.choice("0123456789") for _ in range(10)) + "AU"


def _split(items: list[dict[str, Any]], parcels: int) -> list[float]:
    units = sum(item["quantity"] for item in items)
    per_parcel = max(1, units // parcels)
    return [round(0.4 * per_parcel + 0.2, 2) for _ in range(parcels)]


def ship(tx: Tx, order_id: str, body: dict[str, Any]) -> str:
    order = orders.require_status(
        tx,
        order_id,
        ("received", "on_hold", "backordered", "processing", "partially_shipped"),
        "shipped",
    )
    demand = orders.open_demand(tx.conn, order)
    wanted = body.get("items")
    if wanted is None:
        wanted = [{"sku": sku, "quantity": qty} for sku, qty in sorted(demand.items()) if qty > 0]
    order_lines = lines.with_ids(json.loads(order["doc"])["items"])
    # Each shipment item credits exactly one order line (LIN-004).
    items = lines.credit(order_lines, lines.shipped_by_line(tx.conn, order_id), wanted)
    if not items:
        raise ApiError(
            409,
            "invalid_transition",
            "Every unit of this order has already shipped.",
            order_status=order["status"],
        )
    # Top up the allocation first (a backordered order may have stock by now), then consume.
    # A short ship_complete order holds nothing, so consuming below refuses it (decision 55).
    orders.reallocate(tx, order)
    for item in items:
        inventory.consume(tx, order_id, order["warehouse_id"], item["sku"], item["quantity"])
    doc = json.loads(order["doc"])
    method = shipping_method(tx.conn, tx.partner, method_id=doc.get("shipping_method_id"))
    carrier = body.get("carrier") or (method["carrier"] if method else "auspost")
    service = body.get("service") or (method["name"] if method else doc.get("shipping_method"))
    parcels = []
    for weight in _split(items, int(body.get("parcels", 1))):
        number = _tracking_number()
        url = TRACKING_URLS.get(carrier)
        parcels.append(
            {
                "tracking_number": number,
                "tracking_url": url.format(number) if url else None,
                "carrier": carrier,
                "service": service,
                "weight": {"value": weight, "unit": "kg"},
                "dimensions": {"length": 30, "width": 20, "height": 10, "unit": "cm"},
            }
        )
    stamp = tx.stamp("shipments")
    shipment_id = new_id("shp")
    ship_doc = {"cost": body.get("cost", DEFAULT_COST), "parcels": parcels, "items": items}
    tx.conn.execute(
        "INSERT INTO shipments (id, partner, order_id, status, warehouse_id, shipped_at, "
        "created_at, updated_at, voided, doc) VALUES (?,?,?,'shipped',?,?,?,?,0,?)",
        (
            shipment_id,
            tx.partner,
            order_id,
            order["warehouse_id"],
            stamp,
            stamp,
            stamp,
            dumps(ship_doc),
        ),
    )
    _recompute_order(tx, order_id)
    webhooks.emit(tx, "shipment.created", get(tx.conn, tx.partner, shipment_id))
    return shipment_id


def _recompute_order(tx: Tx, order_id: str) -> None:
    """Order status from what has shipped (decision 20) after a ship or a void."""
    order = orders.row_for_update(tx, order_id)
    demand = orders.open_demand(tx.conn, order)
    backordered = orders.reallocate(tx, order)
    shipped_any = bool(orders.shipped_by_sku(tx.conn, order_id))
    if all(qty <= 0 for qty in demand.values()):
        status = "shipped"
    elif shipped_any:
        status = "partially_shipped"
    else:
        status = "backordered" if backordered and order["status"] == "backordered" else "processing"
    orders.touch(tx, order_id, status=status)


def _row(tx: Tx, shipment_id: str) -> sqlite3.Row:
    return owned_row(tx.conn, "shipments", tx.partner, shipment_id, "Shipment")


def _invalid(row: sqlite3.Row, target: str) -> ApiError:
    return ApiError(
        409,
        "invalid_transition",
        f"Shipment '{row['id']}' is {row['status']} and cannot become {target}.",
    )


def advance(tx: Tx, shipment_id: str, status: str) -> None:
    row = _row(tx, shipment_id)
    current = row["status"]
    if current in FINAL or current == status:
        raise _invalid(row, status)
    forward = status != "exception" and current != "exception"
    if forward and FORWARD.index(status) <= FORWARD.index(current):
        raise _invalid(row, status)
    tx.conn.execute(
        "UPDATE shipments SET status = ?, updated_at = ? WHERE id = ?",
        (status, tx.stamp("shipments"), shipment_id),
    )
    orders.touch(tx, row["order_id"])
    webhooks.emit(tx, "shipment.updated", get(tx.conn, tx.partner, shipment_id))


def void(tx: Tx, shipment_id: str) -> None:
    row = _row(tx, shipment_id)
    if row["status"] != "shipped":
        raise _invalid(row, "voided")
    for item in json.loads(row["doc"])["items"]:
        inventory.change_stock(tx, item["sku"], row["warehouse_id"], on_hand=item["quantity"])
    tx.conn.execute(
        "UPDATE shipments SET status = 'voided', voided = 1, updated_at = ? WHERE id = ?",
        (tx.stamp("shipments"), shipment_id),
    )
    _recompute_order(tx, row["order_id"])
    webhooks.emit(tx, "shipment.updated", get(tx.conn, tx.partner, shipment_id))
