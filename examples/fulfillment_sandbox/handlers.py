"""The ERP-facing operations of the contract, one function per operationId.

Each runs in a worker thread (blocking SQLite work stays off the event loop): reads in a read
snapshot, writes in one write transaction. Request bodies and query parameters were already
validated against the spec's own schemas by the app (`validation.py`), except where a stored
idempotent outcome must include a validation failure (creates validate inside the transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import (
    equivalence,
    events,
    idempotency,
    inbound,
    inventory,
    orders,
    reference,
    remainder,
    returns,
    shipments,
    webhooks,
)
from .context import Ctx, Reply
from .errors import ApiError
from .storage import Tx, transaction


def _etag(order: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{order["version"]}"'}


def _create(
    ctx: Ctx,
    make: Callable[[Tx, dict[str, Any]], str],
    render: Callable[[Any, str, str], dict[str, Any]] | None,
    location: str,
) -> Reply:
    """An idempotent create: the body is validated inside, so a 422 is a stored outcome too."""
    key = idempotency.parse_key(ctx.headers.get("Idempotency-Key"))
    services = ctx.services

    def create(tx: Tx) -> tuple[str, dict[str, Any]]:
        services.contract.check_body(ctx.operation_id, ctx.body)
        if render is None:
            created = webhooks.create(tx, ctx.body)
            return str(created["id"]), created
        resource_id = make(tx, ctx.body)
        return resource_id, render(tx.conn, tx.partner, resource_id)

    # A replay answers the response as first sent (decision 49), never the resource as it is now;
    # "the same body" is judged on the body's normal form (decision 48).
    schema = equivalence.request_schema(services.contract, ctx.operation_id)
    same_body = equivalence.normal_form(services.contract, schema, ctx.body)
    outcome = idempotency.run(services.db, ctx.partner, key, ctx.operation_id, same_body, create)
    headers = {"Location": f"/v1/{location}/{outcome.body['id']}"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Reply(outcome.status, outcome.body, headers)


# --- orders ----------------------------------------------------------------------------------


def create_order(ctx: Ctx) -> Reply:
    return _create(ctx, orders.create, orders.get, "orders")


def list_orders(ctx: Ctx) -> Reply:
    query = ctx.list_query("order_number", "reference", "status")
    with ctx.services.db.read() as conn:
        return Reply(200, orders.list_orders(conn, ctx.services.codec, ctx.partner, query))


def get_order(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        order = orders.get(conn, ctx.partner, ctx.path["order_id"])
    return Reply(200, order, _etag(order))


def amend_order(ctx: Ctx) -> Reply:
    body = ctx.body
    if isinstance(body, dict) and "warehouse_id" in body:
        # Decision 11 / the guide: moving an order between warehouses is cancel + recreate.
        raise ApiError(
            422,
            "warehouse_not_amendable",
            "warehouse_id cannot be amended; cancel the order and create it again.",
            field="warehouse_id",
        )
    ctx.services.contract.check_body(ctx.operation_id, body)
    order_id = ctx.path["order_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        orders.amend(tx, order_id, body, ctx.headers.get("If-Match"))
        order = orders.get(tx.conn, ctx.partner, order_id)
    return Reply(200, order, _etag(order))


def _order_after(ctx: Ctx, step: Callable[[Tx, str], object]) -> Reply:
    """Runs a bodiless order step (cancel, cancel-remainder) and answers the order as it is."""
    order_id = ctx.path["order_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        step(tx, order_id)
        order = orders.get(tx.conn, ctx.partner, order_id)
    return Reply(200, order, _etag(order))


def cancel_order(ctx: Ctx) -> Reply:
    return _order_after(ctx, lambda tx, order_id: orders.cancel(tx, order_id, ctx.body))


def cancel_order_remainder(ctx: Ctx) -> Reply:
    return _order_after(ctx, remainder.cancel_remainder)


# --- shipments, inventory, reference data ---------------------------------------------------


def list_shipments(ctx: Ctx) -> Reply:
    query = ctx.list_query("order_id")
    with ctx.services.db.read() as conn:
        return Reply(200, shipments.list_shipments(conn, ctx.services.codec, ctx.partner, query))


def get_shipment(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        return Reply(200, shipments.get(conn, ctx.partner, ctx.path["shipment_id"]))


def list_inventory(ctx: Ctx) -> Reply:
    query = ctx.list_query("sku", "warehouse_id")
    with ctx.services.db.read() as conn:
        return Reply(200, inventory.list_inventory(conn, ctx.services.codec, ctx.partner, query))


def list_warehouses(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        page = reference.list_warehouses(conn, ctx.services.codec, ctx.partner, ctx.list_query())
    return Reply(200, page)


def list_shipping_methods(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        page = reference.list_methods(conn, ctx.services.codec, ctx.partner, ctx.list_query())
    return Reply(200, page)


# --- inbound, adjustments, returns ----------------------------------------------------------


def create_inbound(ctx: Ctx) -> Reply:
    return _create(ctx, inbound.create, inbound.get, "inbound-shipments")


def list_inbound(ctx: Ctx) -> Reply:
    query = ctx.list_query("reference", "warehouse_id", "status")
    with ctx.services.db.read() as conn:
        return Reply(200, inbound.list_inbound(conn, ctx.services.codec, ctx.partner, query))


def get_inbound(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        return Reply(200, inbound.get(conn, ctx.partner, ctx.path["inbound_shipment_id"]))


def list_adjustments(ctx: Ctx) -> Reply:
    query = ctx.list_query("sku", "warehouse_id")
    with ctx.services.db.read() as conn:
        page = inventory.list_adjustments(conn, ctx.services.codec, ctx.partner, query)
    return Reply(200, page)


def create_return(ctx: Ctx) -> Reply:
    return _create(ctx, returns.create, returns.get, "returns")


def list_returns(ctx: Ctx) -> Reply:
    query = ctx.list_query("order_id", "status")
    with ctx.services.db.read() as conn:
        return Reply(200, returns.list_returns(conn, ctx.services.codec, ctx.partner, query))


def get_return(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        return Reply(200, returns.get(conn, ctx.partner, ctx.path["return_id"]))


# --- webhooks ---------------------------------------------------------------------------------


def create_webhook(ctx: Ctx) -> Reply:
    return _create(ctx, lambda _tx, _body: "", None, "webhooks")


def list_webhooks(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        page = webhooks.list_hooks(conn, ctx.services.codec, ctx.partner, ctx.list_query())
    return Reply(200, page)


def get_webhook(ctx: Ctx) -> Reply:
    with ctx.services.db.read() as conn:
        return Reply(200, webhooks.get(conn, ctx.partner, ctx.path["webhook_id"]))


def delete_webhook(ctx: Ctx) -> Reply:
    with transaction(ctx.services.db, ctx.partner) as tx:
        webhooks.delete(tx, ctx.path["webhook_id"])
    return Reply(204)


def update_webhook(ctx: Ctx) -> Reply:
    # The body was validated against WebhookUpdate: `status` can only be "active".
    with transaction(ctx.services.db, ctx.partner) as tx:
        return Reply(200, webhooks.reactivate(tx, ctx.path["webhook_id"]))


def rotate_webhook_secret(ctx: Ctx) -> Reply:
    """Optional Idempotency-Key: a retry with the same key returns the same new secret instead of
    rotating again (which would end the overlap of the secret the client did not get)."""
    hook_id = ctx.path["webhook_id"]
    header = ctx.headers.get("Idempotency-Key")
    if header is None:
        with transaction(ctx.services.db, ctx.partner) as tx:
            return Reply(200, webhooks.rotate_secret(tx, hook_id))
    outcome = idempotency.run(
        ctx.services.db,
        ctx.partner,
        idempotency.parse_key(header),
        ctx.operation_id,
        {"webhook_id": hook_id},
        lambda tx: (hook_id, webhooks.rotate_secret(tx, hook_id)),
    )
    return Reply(200, outcome.body, {"Idempotent-Replayed": "true"} if outcome.replayed else {})


# --- the event log (decision 45) ------------------------------------------------------------


def list_events(ctx: Ctx) -> Reply:
    query = ctx.list_query("created_since", "type")
    with ctx.services.db.read() as conn:
        return Reply(200, events.list_events(conn, ctx.services.codec, ctx.partner, query))


def redeliver_event(ctx: Ctx) -> Reply:
    # The body (optional) was validated against EventRedeliver.
    hook_id = (ctx.body or {}).get("webhook_id")
    with transaction(ctx.services.db, ctx.partner) as tx:
        return Reply(202, events.redeliver(tx, ctx.path["event_id"], hook_id))


OPERATIONS: dict[str, Callable[[Ctx], Reply]] = {
    "createOrder": create_order,
    "listOrders": list_orders,
    "getOrder": get_order,
    "amendOrder": amend_order,
    "cancelOrder": cancel_order,
    "cancelOrderRemainder": cancel_order_remainder,
    "listShipments": list_shipments,
    "getShipment": get_shipment,
    "listInventory": list_inventory,
    "listWarehouses": list_warehouses,
    "listShippingMethods": list_shipping_methods,
    "createInboundShipment": create_inbound,
    "listInboundShipments": list_inbound,
    "getInboundShipment": get_inbound,
    "listInventoryAdjustments": list_adjustments,
    "createReturn": create_return,
    "listReturns": list_returns,
    "getReturn": get_return,
    "createWebhook": create_webhook,
    "listWebhooks": list_webhooks,
    "getWebhook": get_webhook,
    "deleteWebhook": delete_webhook,
    "rotateWebhookSecret": rotate_webhook_secret,
    "updateWebhook": update_webhook,
    "listEvents": list_events,
    "redeliverEvent": redeliver_event,
}
