"""The whole transition table (the `x-transitions` of the spec's status schemas, issue 16 place 2).

A control endpoint that accepts one rare impossible move (hold a shipped order, move a shipment
backwards) is invisible to a check that tries a handful of moves. These checks bring an order into
every status and a shipment into every status, then try every move the table does not list, for
every control endpoint of the table, and expect the documented 409 and an unchanged resource.
The table is read from the spec at run time; forward skips of a shipment are legal moves there,
so they are never tried as illegal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import fulfillment_spec
import pytest

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.contract import operation
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import body_of, error_code


@pytest.fixture
def sandbox_api(api: ApiClient, conformance_config: Config) -> ApiClient:
    if str(conformance_config.driver_spec) not in ("", "sandbox"):
        pytest.skip("the run uses a vendor driver, not the /sandbox control endpoints")
    return api


@dataclass(frozen=True)
class Attempt:
    """One illegal move: the operation, the resource in `status`, the request body, the code."""

    operation_id: str
    status: str
    payload: Any
    code: str


def refusal_code(row: dict[str, Any], status: str) -> str:
    refused = row["refused"]
    return str(refused[status] if isinstance(refused, dict) else refused)


def illegal_moves(schema: str, only: Callable[[str], bool]) -> Iterator[Attempt]:
    """Every move the table of `schema` does not list, for the operations `only` keeps. An
    operation whose request names the target (`status`) is tried with every target its request
    schema allows; the others with no body (ship: `{}`, ship everything)."""
    spec = fulfillment_spec.load_openapi()
    statuses = spec["components"]["schemas"][schema]["enum"]
    for operation_id, row in fulfillment_spec.load_transitions()[schema].items():
        if not only(operation_id):
            continue
        targets = chosen_targets(operation_id)
        for status in statuses:
            legal = row["moves"].get(status, [])
            if targets:
                for target in targets:
                    if target not in legal:
                        yield Attempt(
                            operation_id, status, {"status": target}, "invalid_transition"
                        )
            elif status not in row["moves"]:
                payload: Any = {} if operation(operation_id).definition.get("requestBody") else None
                yield Attempt(operation_id, status, payload, refusal_code(row, status))


def chosen_targets(operation_id: str) -> list[str]:
    """The `status` values the request body of `operation_id` may ask for (none: not chosen)."""
    body = operation(operation_id).definition.get("requestBody") or {}
    schema = (body.get("content") or {}).get("application/json", {}).get("schema") or {}
    ref = schema.get("$ref", "")
    if ref:
        schema = fulfillment_spec.load_openapi()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    status = (schema.get("properties") or {}).get("status") or {}
    return list(status.get("enum") or [])


def post(api: ApiClient, path: str, payload: Any = None) -> ApiResponse:
    return api.request("POST", path, json=payload)


def control_path(operation_id: str, resource_id: str) -> str:
    template = operation(operation_id).path
    start, end = template.index("{"), template.index("}")
    return template[:start] + resource_id + template[end + 1 :]


class InEveryStatus(Protocol):
    """Makes one resource per status and reads a resource's status back (orders, shipments)."""

    api: ApiClient

    def make(self, status: str, /) -> str: ...

    def status(self, resource_id: str, /) -> Any: ...


class OrdersInEveryStatus:
    """One order per status, made through the API and the control endpoints."""

    def __init__(self, api: ApiClient, factory: TestData) -> None:
        self.api, self.factory = api, factory
        self.warehouse = factory.warehouse_ids[0]

    def make(self, status: str) -> str:
        if status == "backordered":
            sku = self.factory.sku(stock={self.warehouse: 0})
            order = self.factory.create_order(items=[{"sku": sku, "quantity": 1}])
        elif status == "partially_shipped":
            sku = self.factory.sku(stock={self.warehouse: 10})
            order = self.factory.create_order(items=[{"sku": sku, "quantity": 2}])
            post(
                self.api,
                f"/sandbox/orders/{order['id']}/ship",
                {"items": [{"sku": sku, "quantity": 1}]},
            )
        else:
            order = self.factory.create_order()
            step = {
                "on_hold": "hold",
                "processing": "pick",
                "shipped": "ship",
                "cancelled": "cancel",
            }
            if status == "cancelled":
                post(self.api, f"/orders/{order['id']}/cancel")
            elif status in step:
                payload: Any = {} if status == "shipped" else None
                post(self.api, f"/sandbox/orders/{order['id']}/{step[status]}", payload)
        return str(order["id"])

    def status(self, order_id: str) -> Any:
        return body_of(self.api.request("GET", f"/orders/{order_id}")).get("status")


class ShipmentsInEveryStatus:
    """One shipment per status: shipped, then advanced or voided."""

    def __init__(self, api: ApiClient, factory: TestData) -> None:
        self.api, self.factory = api, factory

    def make(self, status: str) -> str:
        order = self.factory.create_order()
        shipment = body_of(post(self.api, f"/sandbox/orders/{order['id']}/ship", {}))
        shipment_id = str(shipment.get("id"))
        if status == "voided":
            post(self.api, f"/sandbox/shipments/{shipment_id}/void")
        elif status != "shipped":
            post(self.api, f"/sandbox/shipments/{shipment_id}/advance", {"status": status})
        return shipment_id

    def status(self, shipment_id: str) -> Any:
        return body_of(self.api.request("GET", f"/shipments/{shipment_id}")).get("status")


def try_every_illegal_move(maker: InEveryStatus, attempts: list[Attempt]) -> None:
    """Brings one resource into each status the attempts start from, then tries each: a 409
    with the table's code, and the resource still in its status. A status the API and the
    control endpoints do not reach is left out (reaching it is SBX-003's, SBX-007's or CAN-'s
    business); when none is reached, nothing was tried and the check is not exercised."""
    made: dict[str, str | None] = {}
    tried = 0
    for attempt in attempts:
        if attempt.status not in made:
            made_id = maker.make(attempt.status)
            reached = maker.status(made_id) == attempt.status
            made[attempt.status] = made_id if reached else None
        resource_id = made[attempt.status]
        if resource_id is None:
            continue
        tried += 1
        resp = post(maker.api, control_path(attempt.operation_id, resource_id), attempt.payload)
        move = f"{attempt.operation_id} on a {attempt.status} resource"
        if attempt.payload:
            move += f" with {attempt.payload}"
        assert resp.status == 409 and error_code(resp) == attempt.code, (
            f"expected 409 {attempt.code} for {move} (not a move of the spec's x-transitions), "
            f"got {resp.status} {error_code(resp)!r} ({resp.describe()})"
        )
        after = maker.status(resource_id)
        assert after == attempt.status, (
            f"expected the resource still {attempt.status} after the refused {move}, got {after!r}"
        )
    if not tried:
        unreached = sorted(status for status, found in made.items() if found is None)
        pytest.skip(f"no resource could be brought into any of {unreached}: nothing to try")


def is_control(operation_id: str) -> bool:
    return operation(operation_id).sandbox_only and operation(operation_id).profile == "core"


@requirement("SBX-004")
def test_control_endpoints_refuse_every_illegal_order_move(
    sandbox_api: ApiClient, factory: TestData
) -> None:
    """Pick, hold and ship on an order in every status their rows of the `OrderStatus` table do
    not list (pick a partially shipped order, hold a shipped one, ship a cancelled one, ...):
    each 409 `invalid_transition`, and the order keeps its status."""
    attempts = list(illegal_moves("OrderStatus", is_control))
    try_every_illegal_move(OrdersInEveryStatus(sandbox_api, factory), attempts)


@requirement("SBX-004")
def test_control_endpoints_refuse_every_illegal_shipment_move(
    sandbox_api: ApiClient, factory: TestData
) -> None:
    """Advance to every target from every status, and void in every status, where the
    `ShipmentStatus` table lists no such move (backwards, to the same status, anything from
    delivered or voided, void of an in-transit or exception shipment): each 409
    `invalid_transition`, and the shipment keeps its status. Forward skips are legal and not
    tried."""
    attempts = list(illegal_moves("ShipmentStatus", is_control))
    try_every_illegal_move(ShipmentsInEveryStatus(sandbox_api, factory), attempts)
