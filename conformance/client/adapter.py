"""What an ERP team writes to plug its client into the client check: six methods.

`--adapter module:factory` names a callable `factory(base_url, token, workdir)` returning an
object with these methods (and optionally `receive_webhook`: `TakesWebhooks`). `workdir` is a
fresh directory for the client's state file. The adapter only forwards to the ERP's real client:
the check judges that client, not the adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from conformance.errors import KitError
from conformance.loading import import_callable


class ErpAdapter(Protocol):
    def create_order(self, body: dict[str, Any]) -> str:
        """Create the order (the contract's OrderCreate body); return the warehouse's id."""

    def amend_order(self, order_id: str, patch: dict[str, Any]) -> str:
        """Apply a merge patch; return the id of the order that now carries it (the same id,
        or a replacement's if the client cancels and recreates)."""

    def cancel_order(self, order_id: str) -> None:
        """Cancel the order."""

    def poll_shipments(self) -> list[dict[str, Any]]:
        """One polling pass of /shipments: the rows new to the ERP (handed to its business)."""

    def poll_inventory(self) -> list[dict[str, Any]]:
        """One polling pass of /inventory: the rows new to the ERP."""

    def close(self) -> None:
        """Release the client's connections and files."""


class TakesWebhooks(ErpAdapter, Protocol):
    """Optional: an adapter with this method also gets the day's webhooks (shipment.created,
    shipment.updated, inventory.updated) on a loopback endpoint, and the `webhook-duplicates`
    profile judges it."""

    def receive_webhook(self, body: bytes, signature: str | None, secret: str) -> tuple[int, bool]:
        """Hand the raw body and `X-Webhook-Signature` to the client's receiver (`secret` is the
        subscription's); return the status to answer and whether the event was applied."""


AdapterFactory = Callable[[str, str, str], ErpAdapter]


def load_factory(spec: str) -> AdapterFactory:
    """`package.module:callable` -> the callable; a clear KitError otherwise."""
    try:
        factory: AdapterFactory = import_callable(spec, "adapter")
    except ValueError as exc:
        raise KitError(str(exc)) from None
    return factory
