"""ERP clients broken in exactly one way each: the reference client with one habit swapped for a
common mistake. The client check must fail each, naming the rule and the reason."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fulfillment_erp_client.adapter import ReferenceAdapter
from fulfillment_erp_client.client import ErpClient
from fulfillment_erp_client.orders import Orders, Refused
from fulfillment_erp_client.polling import Feed, Poller
from fulfillment_erp_client.retries import GaveUp, RetryPolicy, is_transient
from fulfillment_erp_client.store import FeedState, Store, parse_time
from fulfillment_erp_client.webhooks import TOLERANCE_SECONDS, BadSignature, verify


def _adapter(base_url: str, token: str, workdir: str, **options: Any) -> ReferenceAdapter:
    path = str(Path(workdir) / "erp-state.db")
    return ReferenceAdapter(ErpClient(base_url, token, path, **options), path)


def _parts(client: ErpClient) -> tuple[httpx.Client, Store, RetryPolicy]:
    return client.http, client.store, client.policy


class KeylessOrders(Orders):
    """A fresh Idempotency-Key on every attempt (none kept): a retry after a lost answer is a
    new request, refused 409 `duplicate_reference`, which this client does not expect."""

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.policy.attempts):
            try:
                response = self.http.post(
                    "/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
            except httpx.TransportError:
                continue
            if response.status_code in (200, 201):
                order: dict[str, Any] = response.json()
                return order
            if not is_transient(response):
                raise Refused(response)
        raise GaveUp("POST /orders")


def no_idempotency_key(base_url: str, token: str, workdir: str) -> ReferenceAdapter:
    adapter = _adapter(base_url, token, workdir)
    adapter.client.orders = KeylessOrders(*_parts(adapter.client))
    return adapter


def one_ms_after(mark: str) -> str:
    """The instant one millisecond after `mark`, in the contract's millisecond format.

    Exact datetime arithmetic: the float `timestamp() + 0.001` truncated back to milliseconds
    gave the mark itself for about 3 marks in 10, so this client asked inclusively on those walks
    and whether it lost a row depended on the wall clock (issue 13: it passed under load)."""
    after = parse_time(mark) + timedelta(milliseconds=1)
    return after.strftime("%Y-%m-%dT%H:%M:%S.") + f"{after.microsecond // 1000:03d}Z"


class ExclusivePoller(Poller):
    """Treats `updated_since` as exclusive: asks from the mark plus one millisecond."""

    def _page(self, feed: Feed, state: FeedState) -> httpx.Response:
        if state.mark is not None and state.cursor is None:
            state = FeedState(one_ms_after(state.mark), None, state.walk_max)
        return super()._page(feed, state)


def exclusive_updated_since(base_url: str, token: str, workdir: str) -> ReferenceAdapter:
    adapter = _adapter(base_url, token, workdir)
    adapter.client.poller = ExclusivePoller(*_parts(adapter.client))
    return adapter


class ForgetfulStore(Store):
    """Stores every row and calls it new: no deduplication by (`id`, `updated_at`)."""

    @staticmethod
    def apply(conn: Any, feed: str, key: str, row: dict[str, Any]) -> bool:
        Store.apply(conn, feed, key, row)
        return True


def no_dedup(base_url: str, token: str, workdir: str) -> ReferenceAdapter:
    adapter = _adapter(base_url, token, workdir)
    client = adapter.client
    client.store.close()
    client.store = ForgetfulStore(str(Path(workdir) / "erp-state.db"))
    client.orders.store = client.poller.store = client.store
    return adapter


def ignores_retry_after(base_url: str, token: str, workdir: str) -> ReferenceAdapter:
    """Retries after its own fixed 0.2 s, whatever `Retry-After` says."""
    policy = RetryPolicy(sleep=lambda seconds: time.sleep(min(seconds, 0.2)))
    return _adapter(base_url, token, workdir, policy=policy)


class AppliesEveryDelivery(ReferenceAdapter):
    """Verifies the signature, then applies every delivery: neither `event_id` nor `updated_at`
    is checked, so a redelivered event reaches the business twice."""

    def receive_webhook(self, body: bytes, signature: str | None, secret: str) -> tuple[int, bool]:
        try:
            verify(secret, signature or "", body, now=time.time(), tolerance=TOLERANCE_SECONDS)
        except BadSignature:
            return 400, False
        return 200, True


def no_event_dedup(base_url: str, token: str, workdir: str) -> ReferenceAdapter:
    path = str(Path(workdir) / "erp-state.db")
    return AppliesEveryDelivery(ErpClient(base_url, token, path), path)
