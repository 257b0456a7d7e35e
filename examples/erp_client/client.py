"""`ErpClient`: the one object an ERP integration holds."""

from __future__ import annotations

from typing import Any

import httpx
from fulfillment_erp_client.orders import AmendResult, Orders
from fulfillment_erp_client.polling import INVENTORY, SHIPMENTS, Handler, Poller
from fulfillment_erp_client.retries import RetryPolicy
from fulfillment_erp_client.store import Store
from fulfillment_erp_client.webhooks import WebhookReceiver


class ErpClient:
    """The ERP side of the contract over one base URL (`.../v1`) and one state file.

    `transport` is any httpx transport: a proxy, a test's fault injector, a chaos sandbox's
    ASGI app. `policy` says how often and how long to retry.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        store_path: str,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        page_size: int = 200,
    ) -> None:
        self.store = Store(store_path)
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        self.policy = policy or RetryPolicy()
        self.orders = Orders(self.http, self.store, self.policy)
        self.poller = Poller(self.http, self.store, self.policy, page_size=page_size)

    def close(self) -> None:
        self.http.close()
        self.store.close()

    def __enter__(self) -> ErpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.orders.create(body)

    def amend_order(
        self, order_id: str, patch: dict[str, Any], *, etag: str | None = None
    ) -> AmendResult:
        return self.orders.amend(order_id, patch, etag=etag)

    def resume(self) -> list[dict[str, Any]]:
        """Call at start-up: finishes creates (and replacements) a crash interrupted."""
        return self.orders.resume()

    def poll_shipments(self, handle: Handler | None = None) -> list[dict[str, Any]]:
        return self.poller.poll(SHIPMENTS, handle)

    def poll_inventory(self, handle: Handler | None = None) -> list[dict[str, Any]]:
        return self.poller.poll(INVENTORY, handle)

    def webhook_receiver(self, secret: str) -> WebhookReceiver:
        return WebhookReceiver(self.store, secret)
