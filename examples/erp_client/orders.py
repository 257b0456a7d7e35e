"""Creating, amending and replacing orders so that a retry or a crash never ships twice."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fulfillment_erp_client.retries import RetryPolicy, error_code, send
from fulfillment_erp_client.store import Store
from fulfillment_spec import load_openapi

REPLACEMENT = re.compile(r"^(?P<root>.+)-R(?P<generation>\d+)$")


class Refused(Exception):
    """A deterministic 4xx: retrying cannot help. `code` is the envelope's `error.code`."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.code = error_code(response)
        super().__init__(
            f"{response.request.method} {response.request.url.path}: {self.status} {self.code}"
        )


@dataclass(frozen=True)
class AmendResult:
    """`amended` (same order id), `replaced` (cancelled, recreated as `order`), or `too_late`
    (picking started: nothing changed, the ERP reconciles from the shipments it polls)."""

    outcome: str
    order: dict[str, Any]
    conflicts: int = 0


def _request_fields(schema_name: str) -> set[str]:
    # Read from the contract, so a field the server adds to responses (API-014) is never echoed
    # back into a request, which would get 422 unknown_field (API-007).
    schema = load_openapi()["components"]["schemas"][schema_name]
    return set(schema["properties"])


def create_body_of(order: dict[str, Any]) -> dict[str, Any]:
    """The OrderCreate body that would recreate `order` (for cancel and recreate)."""
    body = {k: v for k, v in order.items() if k in _request_fields("OrderCreate")}
    body["ship_to"] = {
        k: v for k, v in order["ship_to"].items() if k in _request_fields("ShipToInput")
    }
    line_fields = _request_fields("OrderLineInput")
    body["items"] = [
        {k: v for k, v in line.items() if k in line_fields and v is not None}
        for line in order["items"]
    ]
    return body


def replacement_reference(reference: str) -> str:
    """A recreated order's reference: `F-1` -> `F-1-R2` -> `F-1-R3`, traceable to the original.
    The contract would let it reuse the cancelled order's (IDEM-017), but the store keeps one
    order per reference, so each reference names one order for good."""
    match = REPLACEMENT.match(reference)
    if match is None:
        return f"{reference}-R2"
    return f"{match['root']}-R{int(match['generation']) + 1}"


class Orders:
    def __init__(self, http: httpx.Client, store: Store, policy: RetryPolicy) -> None:
        self.http, self.store, self.policy = http, store, policy

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create once: the key is stored before the first attempt and reused on every retry."""
        reference = body["reference"]
        pending = self.store.pending_create(reference)
        if pending is None:
            self.store.remember_create(reference, str(uuid.uuid4()), body)
            pending = self.store.pending_create(reference)
            assert pending is not None
        elif pending.body != body:
            raise ValueError(f"order {reference} was already sent with another body: amend it")
        if pending.order_id is not None:
            return self.get(pending.order_id)[0]
        response = send(
            self.http,
            self.policy,
            "POST",
            "/orders",
            json=pending.body,
            headers={"Idempotency-Key": pending.idempotency_key},
        )
        if response.status_code in (200, 201):  # 200: a replay of our own earlier attempt
            order: dict[str, Any] = response.json()
        elif error_code(response) == "duplicate_reference":
            # Created under a key this store lost: the reference is the dedup anchor (IDEM-007).
            order = self.get(response.json()["error"]["existing_order_id"])[0]
        else:
            # Not created, and the server keeps this outcome for this key (IDEM-011): forget the
            # key, so a corrected body goes out under a new one.
            self.store.forget_create(reference)
            raise Refused(response)
        self.store.created(reference, order["id"])
        return order

    def resume(self) -> list[dict[str, Any]]:
        """After a restart: finish every create that has a key but no order id yet."""
        finished = []
        for pending in self.store.unfinished_creates():
            if pending.replaces is not None:  # the cancel may not have happened yet
                finished.append(self.replace(pending.replaces, {}).order)
            else:
                finished.append(self.create(pending.body))
        return finished

    def get(self, order_id: str) -> tuple[dict[str, Any], str]:
        response = send(self.http, self.policy, "GET", f"/orders/{order_id}")
        if response.status_code != 200:
            raise Refused(response)
        return response.json(), response.headers["ETag"]  # AMD-004

    def cancel(self, order_id: str) -> httpx.Response:
        return send(self.http, self.policy, "POST", f"/orders/{order_id}/cancel")

    def amend(
        self, order_id: str, patch: dict[str, Any], *, etag: str | None = None
    ) -> AmendResult:
        """PATCH with If-Match (AMD-006 says always send it). A stale version (409
        version_conflict or 412: AMD-005) re-reads and re-applies: the patch states the values
        the ERP wants, so applying it to the newer version is still right. Too late to amend
        (AMD-007) or a new warehouse (AMD-008): cancel and recreate."""
        conflicts = 0
        while True:
            if etag is None:
                etag = self.get(order_id)[1]
            response = send(
                self.http,
                self.policy,
                "PATCH",
                f"/orders/{order_id}",
                json=patch,
                headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
            )
            code = error_code(response)
            if response.status_code == 200:
                return AmendResult("amended", response.json(), conflicts)
            if response.status_code == 412 or code == "version_conflict":
                conflicts += 1
                if conflicts > 3:
                    raise Refused(response)
                etag = None
                continue
            if code in ("too_late_to_amend", "warehouse_not_amendable"):
                return self.replace(order_id, patch, conflicts)
            raise Refused(response)

    def replace(self, order_id: str, patch: dict[str, Any], conflicts: int = 0) -> AmendResult:
        """Cancel, then create the amended order under a new reference (see
        `replacement_reference`). The new create is stored before the cancel, so a crash between
        the two is finished by `resume()`; a cancel refused because picking started
        (CAN-005, CAN-006) changes nothing and answers `too_late`."""
        pending = self.store.replacement_of(order_id)
        if pending is None:
            order, _ = self.get(order_id)
            body = {**create_body_of(order), **patch}
            body["reference"] = replacement_reference(order["reference"])
            self.store.remember_create(body["reference"], str(uuid.uuid4()), body, order_id)
            pending = self.store.pending_create(body["reference"])
            assert pending is not None
        cancelled = self.cancel(order_id)
        if cancelled.status_code == 409:
            self.store.forget_create(pending.reference)
            return AmendResult("too_late", self.get(order_id)[0], conflicts)
        if cancelled.status_code != 200:
            raise Refused(cancelled)
        return AmendResult("replaced", self.create(pending.body), conflicts)
