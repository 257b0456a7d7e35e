"""Free text at its edges in the creates beyond orders is accepted (API-010; issue 15, adversarial
data): an ASN's `supplier` and `reference`, an RMA's `rma`, an adjustment's `note`, each sent once
with non-ASCII and 4-byte UTF-8 text and once at exactly its maxLength (read from the spec at run
time). Everything else in the request names data the run created, so nothing can be refused for
a data-dependent reason: the answer must be 201. Checks run for the profiles the run claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fulfillment_spec

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.outcomes import not_exercised
from conformance.refs import resolve
from conformance.scenarios import error_of, sandbox_api

# Text every ERP ships somewhere: accents, CJK, and beyond the BMP (emoji, rare CJK).
TEXTS = ("Müller & Søn, Ōsaka 商事 Łódź", "Lieferant 🚚📦 𠜎")


def max_length(schema_name: str, field: str) -> int:
    """The maxLength the spec gives `field` of component `schema_name`."""
    spec = fulfillment_spec.load_openapi()
    schema = resolve(spec, spec["components"]["schemas"][schema_name])
    bound = resolve(spec, schema["properties"][field]).get("maxLength")
    assert isinstance(bound, int), f"expected a maxLength on {schema_name}.{field} in the spec"
    return bound


def edge_values(schema_name: str, field: str, fresh: str) -> list[tuple[str, str]]:
    """(value, what) pairs: each text (kept unique with `fresh`, within the bound) and a value of
    exactly maxLength characters."""
    bound = max_length(schema_name, field)
    values = [((f"{text} {fresh}")[:bound], "non-ASCII text") for text in TEXTS]
    return [*values, ((fresh + "x" * bound)[:bound], f"{bound} characters, its maxLength")]


def assert_created(
    send: Callable[[Any], ApiResponse], values: list[tuple[str, str]], field: str
) -> None:
    for value, what in values:
        resp = send(value)
        error = error_of(resp)
        assert resp.status in (200, 201), (
            f"expected a schema-valid request with {field} of {what} to be accepted, got "
            f"{resp.status} {error.get('code')!r} field {error.get('field')!r}: {field}="
            f"{value[:80]!r} ({resp.describe()})"
        )


def claimed(config: Config, profile: str) -> None:
    if profile not in config.profiles:
        not_exercised(f"the {profile} profile is not claimed")


@requirement("API-010")
def test_asn_supplier_and_reference_at_their_edges_are_accepted(
    api: ApiClient, factory: TestData, conformance_config: Config
) -> None:
    """POST /inbound-shipments with `supplier`, then `reference`, non-ASCII and at maxLength."""
    claimed(conformance_config, "inbound")
    sku = factory.sku()

    def send_with(field: str) -> Callable[[Any], ApiResponse]:
        def send(value: Any) -> ApiResponse:
            body = {
                "reference": factory.unique("ASN"),
                "warehouse_id": factory.warehouse_ids[0],
                "supplier": "Conformance Kit Supplies",
                "items": [{"sku": sku, "expected_quantity": 1}],
                field: value,
            }
            headers = {"Idempotency-Key": factory.idempotency_key()}
            return api.request("POST", "/inbound-shipments", json=body, headers=headers)

        return send

    for field in ("supplier", "reference"):
        values = edge_values("InboundShipmentCreate", field, factory.unique("E"))
        assert_created(send_with(field), values, field)


@requirement("API-010")
def test_rma_at_its_edges_is_accepted(
    api: ApiClient, factory: TestData, driver: WarehouseDriver, conformance_config: Config
) -> None:
    """POST /returns for a shipped line with `rma` non-ASCII and at maxLength."""
    claimed(conformance_config, "returns")
    sku = factory.sku()
    order = factory.create_order(items=[{"sku": sku, "quantity": 3}])
    driver.ship(str(order["id"]))

    def send(value: Any) -> ApiResponse:
        body = {"order_id": order["id"], "rma": value, "items": [{"sku": sku, "quantity": 1}]}
        headers = {"Idempotency-Key": factory.idempotency_key()}
        return api.request("POST", "/returns", json=body, headers=headers)

    assert_created(send, edge_values("ReturnCreate", "rma", factory.unique("E")), "rma")


@requirement("API-010")
def test_adjustment_note_at_its_edges_is_accepted(
    api: ApiClient, factory: TestData, conformance_config: Config
) -> None:
    """POST /sandbox/inventory-adjustments with `note` non-ASCII and at maxLength."""
    claimed(conformance_config, "adjustments")
    control = sandbox_api(api, conformance_config)
    sku = factory.sku()

    def send(value: Any) -> ApiResponse:
        body = {
            "sku": sku,
            "warehouse_id": factory.warehouse_ids[0],
            "quantity_delta": 1,
            "reason": "found",
            "note": value,
        }
        return control.request("POST", "/sandbox/inventory-adjustments", json=body)

    values = edge_values("SandboxAdjustInventoryRequest", "note", factory.unique("E"))
    assert_created(send, values, "note")
