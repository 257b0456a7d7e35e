"""Reference data (warehouses, shipping methods) and each partner's seed stock.

Every partner starts with the guide's two warehouses, three shipping methods and a few SKUs with
stock, so a new partner can create an order and see it ship without any set-up (the guide,
§ Authentication & environments: "a real sandbox").
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .errors import ApiError
from .paging import ListQuery, list_page
from .storage import Tx, dumps

WAREHOUSES: list[dict[str, Any]] = [
    {
        "id": "wh_syd_1",
        "name": "Sydney DC",
        "code": "SYD",
        "address": {
            "address1": "1 Freight Rd",
            "city": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        },
    },
    {
        "id": "wh_mel_1",
        "name": "Melbourne DC",
        "code": "MEL",
        "address": {
            "address1": "20 Dock St",
            "city": "Melbourne",
            "state": "VIC",
            "postcode": "3000",
            "country": "AU",
        },
    },
]

SHIPPING_METHODS: list[dict[str, Any]] = [
    {
        "id": "sm_auspost_express",
        "name": "Express Post",
        "carrier": "auspost",
        "carrier_name": "Australia Post",
        "service_code": "EXP",
    },
    {
        "id": "sm_auspost_parcel",
        "name": "Parcel Post",
        "carrier": "auspost",
        "carrier_name": "Australia Post",
        "service_code": "PP",
    },
    {
        "id": "sm_startrack_premium",
        "name": "StarTrack Premium",
        "carrier": "startrack",
        "carrier_name": "StarTrack",
        "service_code": "PRM",
    },
]

# sku -> {warehouse_id: on_hand}
SEED_STOCK: dict[str, dict[str, int]] = {
    "WIDGET-BLUE-M": {"wh_syd_1": 120, "wh_mel_1": 40},
    "WIDGET-RED-S": {"wh_syd_1": 80, "wh_mel_1": 25},
    "GADGET-GREEN-L": {"wh_syd_1": 50, "wh_mel_1": 0},
    "GIZMO-BLACK": {"wh_syd_1": 10},
}


def seed_partner(tx: Tx) -> None:
    """Insert the partner's reference data and stock once (kept across restarts)."""
    marker = f"seeded:{tx.partner}"
    if tx.conn.execute("SELECT 1 FROM meta WHERE key = ?", (marker,)).fetchone():
        return
    for wh in WAREHOUSES:
        tx.conn.execute(
            "INSERT INTO warehouses (partner, id, name, code, address, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                tx.partner,
                wh["id"],
                wh["name"],
                wh["code"],
                dumps(wh["address"]),
                tx.stamp("warehouses"),
            ),
        )
    for sm in SHIPPING_METHODS:
        tx.conn.execute(
            "INSERT INTO shipping_methods (partner, id, name, carrier, carrier_name, "
            "service_code, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                tx.partner,
                sm["id"],
                sm["name"],
                sm["carrier"],
                sm["carrier_name"],
                sm["service_code"],
                tx.stamp("shipping_methods"),
            ),
        )
    for sku, levels in SEED_STOCK.items():
        stamp = tx.stamp("skus")
        tx.conn.execute(
            "INSERT INTO skus (partner, sku, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (tx.partner, sku, stamp, stamp),
        )
        for warehouse_id, on_hand in levels.items():
            tx.conn.execute(
                "INSERT INTO stock (partner, sku, warehouse_id, on_hand) VALUES (?, ?, ?, ?)",
                (tx.partner, sku, warehouse_id, on_hand),
            )
    tx.conn.execute("INSERT INTO meta (key, value) VALUES (?, '1')", (marker,))


def require_warehouse(tx: Tx, warehouse_id: str) -> None:
    """422 `invalid_warehouse` unless the partner has a warehouse `warehouse_id`: a body naming an
    unknown one is valid against the schema, so the refusal is data-dependent (API-010)."""
    row = tx.conn.execute(
        "SELECT 1 FROM warehouses WHERE partner = ? AND id = ?", (tx.partner, warehouse_id)
    ).fetchone()
    if row is None:
        raise ApiError(
            422,
            "invalid_warehouse",
            f"warehouse_id '{warehouse_id}' is not a known warehouse.",
            field="warehouse_id",
        )


def shipping_method(
    conn: sqlite3.Connection,
    partner: str,
    *,
    method_id: str | None = None,
    name: str | None = None,
) -> sqlite3.Row | None:
    if method_id is not None:
        sql, arg = "SELECT * FROM shipping_methods WHERE partner = ? AND id = ?", method_id
    elif name is not None:
        sql = "SELECT * FROM shipping_methods WHERE partner = ? AND lower(name) = lower(?)"
        arg = name
    else:
        return None
    row: sqlite3.Row | None = conn.execute(sql, (partner, arg)).fetchone()
    return row


def render_warehouse(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"], "name": row["name"]}
    if row["code"] is not None:
        out["code"] = row["code"]
    out["address"] = json.loads(row["address"])
    return out


def render_method(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"], "name": row["name"], "carrier": row["carrier"]}
    for key in ("carrier_name", "service_code"):
        if row[key] is not None:
            out[key] = row[key]
    return out


def list_warehouses(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="warehouses",
        table="warehouses",
        id_column="id",
        partner=partner,
        query=query,
        conditions=lambda _f: ([], []),
        render=render_warehouse,
        by_id_only=True,
    )


def list_methods(
    conn: sqlite3.Connection, codec: Any, partner: str, query: ListQuery
) -> dict[str, Any]:
    return list_page(
        conn,
        codec,
        resource="shipping_methods",
        table="shipping_methods",
        id_column="id",
        partner=partner,
        query=query,
        conditions=lambda _f: ([], []),
        render=render_method,
        by_id_only=True,
    )
