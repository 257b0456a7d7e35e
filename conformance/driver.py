"""Makes warehouse-side events happen: pick, hold, cancel, ship, deliver, void, stock, inbound,
returns.

None of these happen through the ERP-facing API, so a black-box kit needs a way to cause them
(decision 32). `SandboxDriver` uses the spec's `/sandbox` control endpoints; a vendor without
them writes a class with the methods of `WarehouseDriver`, constructed as
`Class(base_url=..., token=..., timeout=...)`, and passes `--driver module:Class`. A method that
raises NotImplementedError makes the checks needing it `skipped` ("driver cannot ship"), never
failed: the kit could not verify, the target did nothing wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from conformance.errors import CheckFailure
from conformance.http import ApiClient, ApiResponse
from conformance.loading import import_callable

__all__ = [
    "DRIVER_METHODS",
    "DriverError",
    "SandboxDriver",
    "WarehouseDriver",
    "load_driver",
    "step_name",
]

DRIVER_METHODS = (
    "pick",
    "hold",
    "hold_with_reason",
    "cancel",
    "ship",
    "advance",
    "void",
    "set_stock",
    "adjust",
    "receive_inbound",
    "receive_return",
)


class DriverError(CheckFailure):
    """A driver step did not happen (the target refused it): the check fails with this message."""


@runtime_checkable
class WarehouseDriver(Protocol):
    """What the kit asks of the warehouse. Every method returns the resource as a JSON dict."""

    def pick(self, order_id: str) -> dict[str, Any]:
        """Start picking: the order moves to `processing`."""
        ...

    def hold(self, order_id: str) -> dict[str, Any]:
        """Put the order `on_hold`."""
        ...

    def hold_with_reason(
        self, order_id: str, reason_code: str, message: str | None = None
    ) -> dict[str, Any]:
        """Put the order `on_hold` for this reason (decision 53)."""
        ...

    def cancel(self, order_id: str, reason_code: str, message: str | None = None) -> dict[str, Any]:
        """Cancel the order at the warehouse's end for this reason; fires `order.cancelled`
        (decision 52)."""
        ...

    def ship(
        self,
        order_id: str,
        parcels: int = 1,
        items: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Ship `items` ([{sku, quantity}], default every unshipped unit) in `parcels` parcels;
        returns the Shipment. `options` may carry `cost`, `carrier`, `service`."""
        ...

    def advance(self, shipment_id: str, status: str) -> dict[str, Any]:
        """Move a shipment to in_transit, out_for_delivery, delivered or exception."""
        ...

    def void(self, shipment_id: str) -> dict[str, Any]:
        """Void a shipment that is still `shipped`."""
        ...

    def set_stock(self, sku: str, warehouse_id: str, on_hand: int) -> None:
        """Set the absolute on-hand quantity (creates the SKU when new)."""
        ...

    def adjust(
        self,
        sku: str,
        warehouse_id: str,
        quantity_delta: int,
        reason: str,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Record a stock adjustment; returns the InventoryAdjustment."""
        ...

    def receive_inbound(
        self, inbound_id: str, items: list[dict[str, Any]], complete: bool = True
    ) -> dict[str, Any]:
        """Receive [{sku, received_quantity, damaged_quantity?}] against an inbound shipment
        (`damaged_quantity`, of the units received, arrived damaged: decision 54)."""
        ...

    def receive_return(
        self, order_id: str, items: list[dict[str, Any]], return_id: str | None = None
    ) -> dict[str, Any]:
        """A return arrives: [{sku, quantity, condition, restocked}]; returns the Return."""
        ...


def step_name(method: str) -> str:
    """`receive_inbound` -> `receive inbound`, for "driver cannot receive inbound"."""
    return method.replace("_", " ")


class SandboxDriver:
    """The default driver: the spec's `/sandbox/...` control endpoints, through the kit's client
    (so its requests are rate limited, counted and recorded like every other)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        api: ApiClient | None = None,
    ) -> None:
        if api is None:
            from conformance.http import HttpSession

            if base_url is None:
                raise ValueError("SandboxDriver needs base_url or api")
            api = ApiClient(HttpSession(base_url, timeout=timeout), token)
        self.api = api

    def __repr__(self) -> str:
        return f"SandboxDriver({self.api.base_url!r})"

    def _call(
        self, step: str, path: str, body: dict[str, Any] | None, expected: tuple[int, ...]
    ) -> dict[str, Any]:
        resp = self.api.request("POST", path, json=body if body is not None else None)
        if resp.status not in expected:
            raise DriverError(_refused(step, expected, resp))
        data = resp.json
        return data if isinstance(data, dict) else {}

    def pick(self, order_id: str) -> dict[str, Any]:
        return self._call("pick", f"/sandbox/orders/{order_id}/pick", None, (200,))

    def hold(self, order_id: str) -> dict[str, Any]:
        return self._call("hold", f"/sandbox/orders/{order_id}/hold", None, (200,))

    def hold_with_reason(
        self, order_id: str, reason_code: str, message: str | None = None
    ) -> dict[str, Any]:
        body = {"reason_code": reason_code, "message": message}
        return self._call("hold", f"/sandbox/orders/{order_id}/hold", body, (200,))

    def cancel(self, order_id: str, reason_code: str, message: str | None = None) -> dict[str, Any]:
        body = {"reason_code": reason_code, "message": message}
        return self._call("cancel", f"/sandbox/orders/{order_id}/cancel", body, (200,))

    def ship(
        self,
        order_id: str,
        parcels: int = 1,
        items: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"parcels": parcels, **options}
        if items is not None:
            body["items"] = items
        return self._call("ship", f"/sandbox/orders/{order_id}/ship", body, (201, 200))

    def advance(self, shipment_id: str, status: str) -> dict[str, Any]:
        return self._call(
            "advance", f"/sandbox/shipments/{shipment_id}/advance", {"status": status}, (200,)
        )

    def void(self, shipment_id: str) -> dict[str, Any]:
        return self._call("void", f"/sandbox/shipments/{shipment_id}/void", None, (200,))

    def set_stock(self, sku: str, warehouse_id: str, on_hand: int) -> None:
        body = {"sku": sku, "warehouse_id": warehouse_id, "on_hand": on_hand}
        self._call("set stock", "/sandbox/inventory", body, (200, 201))

    def set_unavailable(self, sku: str, warehouse_id: str, on_hand: int, unavailable: int) -> bool:
        """Optional step (not in the protocol, decision 57): count `on_hand` units of which
        `unavailable` are not sellable. False when the target's control does not take the member
        (400 or 422: a server without the bucket, which is legal); raises on any other refusal."""
        body = {
            "sku": sku,
            "warehouse_id": warehouse_id,
            "on_hand": on_hand,
            "unavailable": unavailable,
        }
        resp = self.api.request("POST", "/sandbox/inventory", json=body)
        if resp.status in (400, 422):
            return False
        if resp.status not in (200, 201):
            raise DriverError(_refused("set unavailable", (200, 201), resp))
        return True

    def adjust(
        self,
        sku: str,
        warehouse_id: str,
        quantity_delta: int,
        reason: str,
        note: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sku": sku,
            "warehouse_id": warehouse_id,
            "quantity_delta": quantity_delta,
            "reason": reason,
        }
        if note is not None:
            body["note"] = note
        return self._call("adjust", "/sandbox/inventory-adjustments", body, (201, 200))

    def receive_inbound(
        self, inbound_id: str, items: list[dict[str, Any]], complete: bool = True
    ) -> dict[str, Any]:
        return self._call(
            "receive inbound",
            f"/sandbox/inbound-shipments/{inbound_id}/receive",
            {"items": items, "complete": complete},
            (200,),
        )

    def receive_return(
        self, order_id: str, items: list[dict[str, Any]], return_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"order_id": order_id, "items": items}
        if return_id is not None:
            body["return_id"] = return_id
        return self._call("receive return", "/sandbox/returns", body, (201, 200))

    def process_return(self, return_id: str) -> dict[str, Any]:
        """Sandbox extra (not in the protocol): move a received return to `processed`."""
        return self._call("process return", f"/sandbox/returns/{return_id}/process", None, (200,))

    def retry_webhook_deliveries(self) -> dict[str, Any]:
        """Sandbox extra (not in the protocol): send every pending webhook delivery now."""
        return self._call(
            "retry webhook deliveries", "/sandbox/webhook-deliveries/retry", None, (200,)
        )

    def end_webhook_secret_overlap(self, webhook_id: str) -> dict[str, Any]:
        """Sandbox extra (not in the protocol): the previous secret of a rotation stops signing
        now, as if the 24-hour overlap window had passed."""
        return self._call(
            "end webhook secret overlap",
            f"/sandbox/webhooks/{webhook_id}/end-secret-overlap",
            None,
            (200,),
        )

    def exhaust_webhook_retries(self, webhook_id: str) -> dict[str, Any]:
        """Sandbox extra (not in the protocol): the retry window of the subscription's failed
        deliveries passes now; a last failed attempt disables it. Returns the subscription."""
        return self._call(
            "exhaust webhook retries",
            f"/sandbox/webhooks/{webhook_id}/exhaust-retries",
            None,
            (200,),
        )


def _refused(step: str, expected: tuple[int, ...], resp: ApiResponse) -> str:
    code = None
    if isinstance(resp.json, dict) and isinstance(resp.json.get("error"), dict):
        code = resp.json["error"].get("code")
    got = f"{resp.status}" + (f" {code}" if code else "")
    wanted = " or ".join(str(status) for status in expected)
    return f"driver step '{step}': expected {wanted}, got {got} ({resp.describe()})"


def load_driver(spec: str) -> Callable[..., Any]:
    """The driver class named by `module:Class` or `sandbox`; ValueError (one sentence) if not."""
    if spec in ("", "sandbox"):
        return SandboxDriver
    if ":" not in spec:
        raise ValueError(f"the driver {spec!r} is not 'sandbox' or 'module:Class'")
    target = import_callable(spec, "driver")
    driver_class: Callable[..., Any] = target
    return driver_class
