"""Order line ids (decision 46): the ERP's own, or ones the sandbox assigns, unique per order.

A line keeps its `line_id` for as long as it exists; shipments credit units to one line each,
and a line's shipped quantity is the sum of the non-voided shipment items naming it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .errors import ApiError

LINE_KEYS = ("line_id", "sku", "description", "quantity", "unit_price", "currency")


def refuse_duplicates(items: list[dict[str, Any]]) -> None:
    """422 duplicate_line_id naming the second line that repeats an id (LIN-003)."""
    seen: set[str] = set()
    for index, line in enumerate(items):
        line_id = line.get("line_id")
        if line_id is None:
            continue
        if line_id in seen:
            raise ApiError(
                422,
                "duplicate_line_id",
                f"line_id '{line_id}' is used by more than one line of the order.",
                field=f"items[{index}].line_id",
                line_id=line_id,
            )
        seen.add(line_id)


def with_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored lines: the ERP's ids kept, a line without one numbered by its position (`1`,
    `2`, ...), skipping numbers another line of the order already carries (LIN-002)."""
    taken = {line["line_id"] for line in items if line.get("line_id") is not None}
    stored = []
    for position, line in enumerate(items, start=1):
        kept = {key: line[key] for key in LINE_KEYS if key in line}
        if kept.get("line_id") is None:
            number = position
            while str(number) in taken:
                number += 1
            kept["line_id"] = str(number)
            taken.add(kept["line_id"])
        stored.append(kept)
    return stored


def line_of_error(items: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """`line_id` for an error about line `index`, when the ERP sent one (LIN-006)."""
    line_id = items[index].get("line_id")
    return {} if line_id is None else {"line_id": line_id}


def shipped_by_line(conn: sqlite3.Connection, order_id: str) -> dict[str, int]:
    shipped: dict[str, int] = {}
    for row in conn.execute(
        "SELECT doc FROM shipments WHERE order_id = ? AND voided = 0", (order_id,)
    ):
        for item in json.loads(row["doc"])["items"]:
            line_id = item.get("line_id")
            if line_id is not None:
                shipped[line_id] = shipped.get(line_id, 0) + item["quantity"]
    return shipped


def unknown_line(index: int, line_id: str, sku: str) -> ApiError:
    return ApiError(
        422,
        "unknown_line_id",
        f"line_id '{line_id}' names no line of the order with SKU '{sku}'.",
        field=f"items[{index}].line_id",
        line_id=line_id,
    )


def credit(
    lines: list[dict[str, Any]], shipped: dict[str, int], wanted: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Shipment items per order line for `wanted` ([{sku, quantity, line_id?}]): a named line
    must be the order's and of that SKU; otherwise units go to the SKU's lines first line first.
    Raises 422 when a line, or the SKU's lines together, cannot take the units."""
    open_units = {
        line["line_id"]: line["quantity"] - shipped.get(line["line_id"], 0) for line in lines
    }
    by_id = {line["line_id"]: line for line in lines}
    credited: dict[str, int] = {}
    for index, item in enumerate(wanted):
        sku, quantity = item["sku"], item["quantity"]
        if item.get("line_id") is not None:
            line = by_id.get(item["line_id"])
            if line is None or line["sku"] != sku:
                raise unknown_line(index, item["line_id"], sku)
            targets = [line["line_id"]]
        else:
            targets = [line["line_id"] for line in lines if line["sku"] == sku]
        room = sum(open_units[target] - credited.get(target, 0) for target in targets)
        if quantity > room:
            raise ApiError(
                422,
                "quantity_exceeds_unshipped",
                f"items ask to ship {quantity} unit(s) of {sku}; only {room} remain unshipped "
                "on this order.",
                field=f"items[{index}].quantity",
            )
        for target in targets:
            take = min(quantity, open_units[target] - credited.get(target, 0))
            if take > 0:
                credited[target] = credited.get(target, 0) + take
                quantity -= take
    return [
        {"line_id": line["line_id"], "sku": line["sku"], "quantity": credited[line["line_id"]]}
        for line in lines
        if credited.get(line["line_id"])
    ]


def for_return(
    order_lines: list[dict[str, Any]],
    items: list[dict[str, Any]],
    announced: list[dict[str, Any]] | None = None,
) -> list[str | None]:
    """The order line of each returned item (LIN-007): the one the item names (it must be the
    order's, of the same SKU), else the one the RMA announced for that SKU, else the order's
    first line of that SKU."""
    by_id = {line["line_id"]: line for line in order_lines}
    found: list[str | None] = []
    for index, item in enumerate(items):
        named = item.get("line_id")
        if named is not None:
            if named not in by_id or by_id[named]["sku"] != item["sku"]:
                raise unknown_line(index, named, item["sku"])
            found.append(named)
            continue
        candidates = [a.get("line_id") for a in announced or [] if a["sku"] == item["sku"]]
        candidates += [line["line_id"] for line in order_lines if line["sku"] == item["sku"]]
        found.append(next((c for c in candidates if c is not None), None))
    return found
