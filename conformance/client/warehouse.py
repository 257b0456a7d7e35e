"""The warehouse's side of the day and the judge's reads, through the sandbox's HTTP controls.

Every request carries `X-Chaos-Bypass: 1`: chaos disturbs only the ERP's client, never the
warehouse acting or the judge reading its records.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conformance.http import tls_context

BYPASS = {"X-Chaos-Bypass": "1"}


class WarehouseError(Exception):
    """The sandbox refused what the warehouse or the judge asked: the check cannot judge."""


class Warehouse:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", **BYPASS},
            timeout=30,
            trust_env=False,
            verify=tls_context(trust_env=False),
        )

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code not in (200, 201):
            raise WarehouseError(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:200]}"
            )
        body: dict[str, Any] = response.json()
        return body

    def ship(self, order_id: str, *, parcels: int, items: list[dict[str, Any]] | None) -> None:
        body: dict[str, Any] = {"parcels": parcels}
        if items:
            body["items"] = items
        self._ok(self.http.post(f"/sandbox/orders/{order_id}/ship", json=body))

    def advance(self, shipment_id: str, status: str) -> None:
        self._ok(
            self.http.post(f"/sandbox/shipments/{shipment_id}/advance", json={"status": status})
        )

    def subscribe(self, url: str, events: list[str]) -> tuple[str, str]:
        """A webhook subscription for the ERP's endpoint: (its id, its signing secret)."""
        created = self._ok(
            self.http.post(
                "/webhooks",
                json={"url": url, "events": events},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
        )
        return created["id"], created["secret"]

    def unsubscribe(self, webhook_id: str) -> None:
        self.http.delete(f"/webhooks/{webhook_id}")

    def all_rows(self, path: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 200}
        while True:
            page = self._ok(self.http.get(path, params=params))
            rows += page["data"]
            if not page["pagination"]["has_more"]:
                return rows
            params = {"cursor": page["pagination"]["next_cursor"]}

    def chaos_report(self) -> dict[str, Any]:
        """What the chaos mode injected (`GET /chaos`, beside `/v1`); empty if not in chaos."""
        root = self.base_url.removesuffix("/v1")
        response = self.http.get(root + "/chaos")
        if response.status_code != 200:
            return {"profiles": [], "faults": {}}
        report: dict[str, Any] = response.json()
        return report
