"""Sandbox-only control endpoints (decision 32): the warehouse side, driven over HTTP.

They let a partner, or the conformance kit, make the physical world happen: pick, hold, ship
(n parcels, some lines), move a shipment on or void it, set or adjust stock, receive an inbound
shipment or a return. Each is scoped to the caller's partner like every other endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from . import inbound, inventory, orders, returns, shipments, webhooks
from .context import Ctx, Reply
from .reference import require_warehouse
from .storage import Tx, transaction

# Passes the exhaust-retries control makes at most before it answers (each sends one delivery).
MAX_EXHAUST_PASSES = 20


def _order_step(ctx: Ctx, step: Callable[[Tx, str], None]) -> Reply:
    order_id = ctx.path["order_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        step(tx, order_id)
        return Reply(200, orders.get(tx.conn, ctx.partner, order_id))


def pick_order(ctx: Ctx) -> Reply:
    return _order_step(ctx, orders.pick)


def hold_order(ctx: Ctx) -> Reply:
    return _order_step(ctx, lambda tx, order_id: orders.hold(tx, order_id, ctx.body))


def cancel_order(ctx: Ctx) -> Reply:
    """The warehouse cancels at its end (decision 52): fires order.cancelled."""
    return _order_step(ctx, lambda tx, order_id: orders.warehouse_cancel(tx, order_id, ctx.body))


def ship_order(ctx: Ctx) -> Reply:
    with transaction(ctx.services.db, ctx.partner) as tx:
        shipment_id = shipments.ship(tx, ctx.path["order_id"], ctx.body or {})
        return Reply(201, shipments.get(tx.conn, ctx.partner, shipment_id))


def advance_shipment(ctx: Ctx) -> Reply:
    shipment_id = ctx.path["shipment_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        shipments.advance(tx, shipment_id, ctx.body["status"])
        return Reply(200, shipments.get(tx.conn, ctx.partner, shipment_id))


def void_shipment(ctx: Ctx) -> Reply:
    shipment_id = ctx.path["shipment_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        shipments.void(tx, shipment_id)
        return Reply(200, shipments.get(tx.conn, ctx.partner, shipment_id))


def set_stock(ctx: Ctx) -> Reply:
    body: dict[str, Any] = ctx.body
    with transaction(ctx.services.db, ctx.partner) as tx:
        require_warehouse(tx, body["warehouse_id"])
        inventory.set_on_hand(
            tx, body["sku"], body["warehouse_id"], body["on_hand"], body.get("unavailable")
        )
        orders.allocate_backorders(tx, body["sku"], body["warehouse_id"])
        item = inventory.render_item(tx.conn, ctx.partner, body["sku"])
    return Reply(200, item)


def adjust_inventory(ctx: Ctx) -> Reply:
    body: dict[str, Any] = ctx.body
    with transaction(ctx.services.db, ctx.partner) as tx:
        require_warehouse(tx, body["warehouse_id"])
        adjustment = inventory.record_adjustment(
            tx,
            body["sku"],
            body["warehouse_id"],
            body["quantity_delta"],
            body["reason"],
            body.get("note"),
        )
        if body["quantity_delta"] > 0:
            orders.allocate_backorders(tx, body["sku"], body["warehouse_id"])
    return Reply(201, adjustment)


def receive_inbound(ctx: Ctx) -> Reply:
    inbound_id = ctx.path["inbound_shipment_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        inbound.receive(tx, inbound_id, ctx.body)
        return Reply(200, inbound.get(tx.conn, ctx.partner, inbound_id))


def receive_return(ctx: Ctx) -> Reply:
    with transaction(ctx.services.db, ctx.partner) as tx:
        return_id = returns.receive(tx, ctx.body)
        return Reply(201, returns.get(tx.conn, ctx.partner, return_id))


def process_return(ctx: Ctx) -> Reply:
    return_id = ctx.path["return_id"]
    with transaction(ctx.services.db, ctx.partner) as tx:
        returns.process(tx, return_id)
        return Reply(200, returns.get(tx.conn, ctx.partner, return_id))


async def retry_deliveries(ctx: Ctx) -> Reply:
    """Every pending delivery of this partner is due now; the oldest of each subscription is sent
    before the response (for tests), the rest right after by the delivery worker."""
    from starlette.concurrency import run_in_threadpool

    def mark_due() -> int:
        with transaction(ctx.services.db, ctx.partner) as tx:
            return webhooks.retry_now(tx)

    deliverer = ctx.services.deliverer
    # Let attempts in flight record their outcome first: recorded later, it would push its
    # delivery back onto the schedule again. Only this partner's: others' are no reason to wait.
    await deliverer.settle(ctx.partner)
    retried = await run_in_threadpool(mark_due)
    await deliverer.deliver_due(ctx.partner)
    return Reply(200, {"retried": retried})


async def end_secret_overlap(ctx: Ctx) -> Reply:
    """The previous secret of one subscription stops signing now; answers once no attempt signed
    with it is still in flight (so the next delivery the caller causes carries the new one only)."""
    from starlette.concurrency import run_in_threadpool

    def end() -> dict[str, Any]:
        with transaction(ctx.services.db, ctx.partner) as tx:
            return webhooks.end_secret_overlap(tx, ctx.path["webhook_id"])

    hook = await run_in_threadpool(end)
    await ctx.services.deliverer.quiesce(ctx.partner)
    return Reply(200, hook)


async def exhaust_retries(ctx: Ctx) -> Reply:
    """The retry window of the subscription's failed deliveries passes now: the last attempt of
    the oldest is made before the answer (a failure disables the subscription), the rest follow."""
    from starlette.concurrency import run_in_threadpool

    deliverer = ctx.services.deliverer
    hook_id = ctx.path["webhook_id"]

    def exhaust() -> int:
        with transaction(ctx.services.db, ctx.partner) as tx:
            return webhooks.exhaust_retries(tx, hook_id, len(deliverer.schedule))

    def read() -> dict[str, Any]:
        with ctx.services.db.read() as conn:
            return webhooks.get(conn, ctx.partner, hook_id)

    await deliverer.settle(ctx.partner)  # an outcome recorded later would reschedule
    left = await run_in_threadpool(exhaust)
    hook = await run_in_threadpool(read)
    # One attempt per subscription per pass, oldest first (a never-tried delivery may come before
    # the exhausted ones): pass again until the last attempts are made or one disabled it.
    for _ in range(MAX_EXHAUST_PASSES):
        if not left or hook["status"] != "active":
            break
        await deliverer.deliver_due(ctx.partner)
        left = await run_in_threadpool(webhooks.exhausted_left, ctx.services.db, hook_id)
        hook = await run_in_threadpool(read)
    return Reply(200, hook)


SYNC_OPERATIONS: dict[str, Callable[[Ctx], Reply]] = {
    "sandboxPickOrder": pick_order,
    "sandboxHoldOrder": hold_order,
    "sandboxCancelOrder": cancel_order,
    "sandboxShipOrder": ship_order,
    "sandboxAdvanceShipment": advance_shipment,
    "sandboxVoidShipment": void_shipment,
    "sandboxSetStock": set_stock,
    "sandboxAdjustInventory": adjust_inventory,
    "sandboxReceiveInbound": receive_inbound,
    "sandboxReceiveReturn": receive_return,
    "sandboxProcessReturn": process_return,
}
ASYNC_OPERATIONS: dict[str, Callable[[Ctx], Awaitable[Reply]]] = {
    "sandboxRetryWebhookDeliveries": retry_deliveries,
    "sandboxEndWebhookSecretOverlap": end_secret_overlap,
    "sandboxExhaustWebhookRetries": exhaust_retries,
}
