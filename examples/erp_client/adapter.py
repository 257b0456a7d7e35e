"""The reference client plugged into the kit's client check (`fulfillment-conformance client
--adapter fulfillment_erp_client.adapter:make_adapter`). Each method only forwards: the check
judges the client, not this file. Copy it for your own client: six methods, and a seventh for
webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fulfillment_erp_client.client import ErpClient
from fulfillment_erp_client.orders import Refused
from fulfillment_erp_client.store import Store
from fulfillment_erp_client.webhooks import WebhookReceiver


class ReferenceAdapter:
    def __init__(self, client: ErpClient, store_path: str) -> None:
        self.client = client
        # The webhook endpoint runs beside the poller, as it would in its own web process: its
        # own connection to the same state file (SQLite WAL), so both share one deduplication.
        self.hooks_store = Store(store_path)
        self.receivers: dict[str, WebhookReceiver] = {}

    def receive_webhook(self, body: bytes, signature: str | None, secret: str) -> tuple[int, bool]:
        receiver = self.receivers.setdefault(secret, WebhookReceiver(self.hooks_store, secret))
        received = receiver.receive(body, signature)
        return received.status, received.outcome == "applied"

    def create_order(self, body: dict[str, Any]) -> str:
        return str(self.client.create_order(body)["id"])

    def amend_order(self, order_id: str, patch: dict[str, Any]) -> str:
        return str(self.client.amend_order(order_id, patch).order["id"])

    def cancel_order(self, order_id: str) -> None:
        response = self.client.orders.cancel(order_id)
        if response.status_code != 200:
            raise Refused(response)

    def poll_shipments(self) -> list[dict[str, Any]]:
        return self.client.poll_shipments()

    def poll_inventory(self) -> list[dict[str, Any]]:
        return self.client.poll_inventory()

    def close(self) -> None:
        self.client.close()
        self.hooks_store.close()


def make_adapter(base_url: str, token: str, workdir: str) -> ReferenceAdapter:
    path = str(Path(workdir) / "erp-state.db")
    return ReferenceAdapter(ErpClient(base_url, token, path), path)
