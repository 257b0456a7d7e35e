"""Every operation and webhook event of the guide and the outline exists, documents every status
code it can return, and declares the headers every response carries."""

from __future__ import annotations

from typing import Any

import fulfillment_spec
import pytest

from .conftest import iter_operations, resolve

# (method, path, operationId): the binding table of docs/outline (plan/outline.md).
OPERATIONS = [
    ("POST", "/orders", "createOrder"),
    ("GET", "/orders", "listOrders"),
    ("GET", "/orders/{order_id}", "getOrder"),
    ("PATCH", "/orders/{order_id}", "amendOrder"),
    ("POST", "/orders/{order_id}/cancel", "cancelOrder"),
    ("POST", "/orders/{order_id}/cancel-remainder", "cancelOrderRemainder"),
    ("GET", "/shipments", "listShipments"),
    ("GET", "/shipments/{shipment_id}", "getShipment"),
    ("GET", "/inventory", "listInventory"),
    ("GET", "/warehouses", "listWarehouses"),
    ("GET", "/shipping-methods", "listShippingMethods"),
    ("POST", "/inbound-shipments", "createInboundShipment"),
    ("GET", "/inbound-shipments", "listInboundShipments"),
    ("GET", "/inbound-shipments/{inbound_shipment_id}", "getInboundShipment"),
    ("GET", "/inventory-adjustments", "listInventoryAdjustments"),
    ("POST", "/returns", "createReturn"),
    ("GET", "/returns", "listReturns"),
    ("GET", "/returns/{return_id}", "getReturn"),
    ("POST", "/webhooks", "createWebhook"),
    ("GET", "/webhooks", "listWebhooks"),
    ("GET", "/webhooks/{webhook_id}", "getWebhook"),
    ("DELETE", "/webhooks/{webhook_id}", "deleteWebhook"),
    ("PATCH", "/webhooks/{webhook_id}", "updateWebhook"),
    ("POST", "/webhooks/{webhook_id}/rotate-secret", "rotateWebhookSecret"),
    ("GET", "/events", "listEvents"),
    ("POST", "/events/{event_id}/redeliver", "redeliverEvent"),
    ("POST", "/sandbox/orders/{order_id}/pick", "sandboxPickOrder"),
    ("POST", "/sandbox/orders/{order_id}/hold", "sandboxHoldOrder"),
    ("POST", "/sandbox/orders/{order_id}/cancel", "sandboxCancelOrder"),
    ("POST", "/sandbox/orders/{order_id}/ship", "sandboxShipOrder"),
    ("POST", "/sandbox/shipments/{shipment_id}/advance", "sandboxAdvanceShipment"),
    ("POST", "/sandbox/shipments/{shipment_id}/void", "sandboxVoidShipment"),
    ("POST", "/sandbox/inventory", "sandboxSetStock"),
    ("POST", "/sandbox/inventory-adjustments", "sandboxAdjustInventory"),
    ("POST", "/sandbox/inbound-shipments/{inbound_shipment_id}/receive", "sandboxReceiveInbound"),
    ("POST", "/sandbox/returns", "sandboxReceiveReturn"),
    ("POST", "/sandbox/returns/{return_id}/process", "sandboxProcessReturn"),
    ("POST", "/sandbox/webhook-deliveries/retry", "sandboxRetryWebhookDeliveries"),
    ("POST", "/sandbox/webhooks/{webhook_id}/end-secret-overlap", "sandboxEndWebhookSecretOverlap"),
    ("POST", "/sandbox/webhooks/{webhook_id}/exhaust-retries", "sandboxExhaustWebhookRetries"),
]

EVENTS = [
    "shipment.created",
    "shipment.updated",
    "order.cancelled",
    "inventory.updated",
    "inbound.received",
    "inventory.adjusted",
    "return.received",
    "order.updated",
]

EVENT_SCHEMAS = {
    "order.updated": "Order",
    "shipment.created": "Shipment",
    "shipment.updated": "Shipment",
    "order.cancelled": "Order",
    "inventory.updated": "InventoryItem",
    "inbound.received": "InboundShipment",
    "inventory.adjusted": "InventoryAdjustment",
    "return.received": "Return",
}

IDEMPOTENT_CREATES = {"createOrder", "createInboundShipment", "createReturn", "createWebhook"}


def _by_id(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {op["operationId"]: (method, path, op) for method, path, op in iter_operations(spec)}


def test_operation_table_matches_the_spec_exactly(spec: dict[str, Any]) -> None:
    actual = sorted((method, path, op["operationId"]) for method, path, op in iter_operations(spec))
    assert actual == sorted(OPERATIONS)


def test_operation_ids_are_unique_across_paths_and_webhooks(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in iter_operations(spec)]
    ids += [item["post"]["operationId"] for item in spec["webhooks"].values()]
    assert len(ids) == len(set(ids))


def test_every_webhook_event_is_declared_with_its_envelope(spec: dict[str, Any]) -> None:
    assert sorted(spec["webhooks"]) == sorted(EVENTS)
    assert spec["components"]["schemas"]["EventType"]["enum"] == EVENTS
    for event, item in spec["webhooks"].items():
        operation = item["post"]
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        event_schema = resolve(spec, {"$ref": schema_ref})
        assert event_schema["required"] == ["event_id", "event_type", "created_at", "data"]
        assert event_schema["properties"]["event_type"]["const"] == event
        assert event_schema["properties"]["data"]["$ref"].endswith("/" + EVENT_SCHEMAS[event])
        signature = resolve(spec, operation["parameters"][0])
        assert (signature["name"], signature["in"], signature["required"]) == (
            "X-Webhook-Signature",
            "header",
            True,
        )
        assert set(operation["responses"]) == {"2XX", "default"}
        retry_text = operation["responses"]["default"]["description"]
        assert all(
            step in retry_text for step in ("10 s", "1 m", "5 m", "30 m", "hourly for a day")
        )


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS)
def test_operation_documents_401_and_429_and_no_5xx(spec, method, path, operation_id) -> None:
    responses = spec["paths"][path][method.lower()]["responses"]
    assert "401" in responses
    assert resolve(spec, responses["429"]) is spec["components"]["responses"]["RateLimited"]
    assert not [status for status in responses if status.startswith("5")]


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS)
def test_operation_has_summary_description_and_tag(spec, method, path, operation_id) -> None:
    operation = spec["paths"][path][method.lower()]
    assert operation["summary"] and not operation["summary"].endswith(".")
    assert operation["description"]
    assert len(operation["tags"]) == 1
    if path.startswith("/sandbox/"):
        assert operation["tags"] == ["Sandbox"]
        assert "MUST answer 404" in operation["description"]


def test_body_operations_document_400_413_415_and_422(spec: dict[str, Any]) -> None:
    for method, path, operation in iter_operations(spec):
        if "requestBody" in operation:
            missing = {"400", "413", "415", "422"} - set(operation["responses"])
            assert not missing, f"{method} {path} lacks {sorted(missing)}"


def test_every_response_declares_request_id_and_rate_limit_headers(spec: dict[str, Any]) -> None:
    for method, path, operation in iter_operations(spec):
        for status, response in operation["responses"].items():
            headers = {
                name: resolve(spec, h) for name, h in resolve(spec, response)["headers"].items()
            }
            where = f"{method} {path} {status}"
            assert headers["X-Request-Id"]["required"] is True, where
            for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                assert headers[name]["required"] is False, where
    retry_after = resolve(
        spec, spec["components"]["responses"]["RateLimited"]["headers"]["Retry-After"]
    )
    assert retry_after["required"] is True


def test_idempotency_key_is_required_exactly_on_creates(spec: dict[str, Any]) -> None:
    key = spec["components"]["parameters"]["IdempotencyKey"]
    assert (key["in"], key["required"]) == ("header", True)
    # 255 characters bare, or quoted with its two quotes (decision 33).
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 257)
    assert "pattern" in key["schema"]
    for operation_id, (_, _, operation) in _by_id(spec).items():
        refs = [p.get("$ref") for p in operation.get("parameters", [])]
        has_key = "#/components/parameters/IdempotencyKey" in refs
        assert has_key == (operation_id in IDEMPOTENT_CREATES), operation_id
        if operation_id in IDEMPOTENT_CREATES:
            assert {"200", "201", "409", "422"} <= set(operation["responses"])
            replay = operation["responses"]["200"]["headers"]["Idempotent-Replayed"]
            assert resolve(spec, replay)["required"] is False


def test_amend_order_alternatives_and_etags(spec: dict[str, Any]) -> None:
    operations = _by_id(spec)
    amend = operations["amendOrder"][2]
    assert {"200", "409", "412", "422", "428"} <= set(amend["responses"])
    assert set(amend["requestBody"]["content"]) == {
        "application/json",
        "application/merge-patch+json",
    }
    (if_match,) = (resolve(spec, p) for p in amend["parameters"])
    assert (if_match["name"], if_match["required"]) == ("If-Match", False)
    for operation_id in ("getOrder", "amendOrder"):
        etag = operations[operation_id][2]["responses"]["200"]["headers"]["ETag"]
        assert resolve(spec, etag)["required"] is True


def test_links_name_existing_operations(spec: dict[str, Any]) -> None:
    operation_ids = set(_by_id(spec))
    links: list[dict[str, Any]] = list(spec["components"].get("links", {}).values())
    for _, _, operation in iter_operations(spec):
        for response in operation["responses"].values():
            links.extend(resolve(spec, link) for link in response.get("links", {}).values())
    assert links
    assert sorted({link["operationId"] for link in links} - operation_ids) == []
    created = spec["paths"]["/orders"]["post"]["responses"]["201"]["links"]
    targets = {resolve(spec, link)["operationId"] for link in created.values()}
    assert targets == {"getOrder", "amendOrder", "cancelOrder", "listShipments"}


def test_list_parameters(spec: dict[str, Any]) -> None:
    parameters = spec["components"]["parameters"]
    limit = parameters["Limit"]["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == (
        "integer",
        1,
        200,
        50,
    )
    assert parameters["Cursor"]["schema"]["type"] == "string"
    since = parameters["UpdatedSince"]["schema"]
    assert since["format"] == "date-time" and "pattern" not in since  # any RFC 3339 offset
    for method, path, operation in iter_operations(spec):
        if method == "GET" and "{" not in path:
            refs = {p["$ref"].rsplit("/", 1)[1] for p in operation["parameters"]}
            assert {"Cursor", "Limit"} <= refs, path
            assert "400" in operation["responses"], path  # invalid_cursor


# The profiles the catalogue declares (security has no operation of its own).
PROFILES = set(fulfillment_spec.load_profiles()) - {"security"}


def test_every_operation_names_its_profile(spec: dict[str, Any]) -> None:
    for method, path, operation in iter_operations(spec):
        assert operation["x-profile"] in PROFILES, f"{method} {path}"
        assert operation.get("x-sandbox-only", False) is path.startswith("/sandbox/")
    for item in spec["webhooks"].values():
        assert item["post"]["x-profile"] == "webhooks"
        assert item["post"]["security"] == []


def test_sandbox_operations_document_404_for_production(spec: dict[str, Any]) -> None:
    for method, path, operation in iter_operations(spec):
        if path.startswith("/sandbox/"):
            assert "404" in operation["responses"], f"{method} {path}"


# A sandbox control endpoint belongs to the profile of what it drives: a server that claims only
# core need not offer it, and the kit leaves it alone unless that profile is claimed.
SANDBOX_PROFILES = {
    "sandboxAdjustInventory": "adjustments",
    "sandboxReceiveInbound": "inbound",
    "sandboxReceiveReturn": "returns",
    "sandboxProcessReturn": "returns",
    "sandboxRetryWebhookDeliveries": "webhooks",
    "sandboxEndWebhookSecretOverlap": "webhooks",
    "sandboxExhaustWebhookRetries": "webhooks",
}


def test_sandbox_endpoints_belong_to_the_profile_they_drive(spec: dict[str, Any]) -> None:
    for method, path, operation in iter_operations(spec):
        if path.startswith("/sandbox/"):
            expected = SANDBOX_PROFILES.get(operation["operationId"], "core")
            assert operation["x-profile"] == expected, f"{method} {path}"
