"""The webhook signing test vector in the spec verifies (decision 36).

The `X-Webhook-Signature` example is the signature of the `shipment.created` example event, sent
as compact JSON, under the `createWebhook` example's secret, at `t` = the event's `created_at`. It
is checked by Stripe's verifier (the same `t=...,v1=...` HMAC-SHA256 scheme, an implementation
that is not ours; in the `dev` extra) and by the kit's own, and a changed byte must break it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import pytest

from conformance.checks.test_webhooks import signature_parts

stripe = pytest.importorskip("stripe")  # the dev extra


def _example(spec: dict[str, Any], *path: str) -> Any:
    node: Any = spec
    for part in path:
        node = node[part]
    return node


@pytest.fixture(scope="module")
def vector(spec: dict[str, Any]) -> tuple[bytes, str, str, dict[str, Any]]:
    event = _example(
        spec,
        *("webhooks", "shipment.created", "post", "requestBody", "content"),
        *("application/json", "examples", "event", "value"),
    )
    created = _example(
        spec,
        *("paths", "/webhooks", "post", "responses", "201", "content"),
        *("application/json", "examples"),
    )
    secret = next(iter(created.values()))["value"]["secret"]
    header = spec["components"]["parameters"]["WebhookSignature"]["example"]
    raw = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return raw, header, secret, event


def test_the_example_signature_verifies_with_stripes_verifier(vector) -> None:
    raw, header, secret, _ = vector
    assert len(raw) == 846  # as the parameter's description says
    assert stripe.WebhookSignature.verify_header(raw, header, secret, tolerance=None) is True


def test_the_example_signature_verifies_with_the_kits_verifier(vector) -> None:
    raw, header, secret, _ = vector
    stamp, signatures = signature_parts(header)
    assert stamp is not None and signatures
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
    assert expected in signatures


def test_the_example_timestamp_is_the_events_time(vector) -> None:
    _, header, _, event = vector
    stamp, _ = signature_parts(header)
    created = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
    assert stamp == str(int(created.timestamp()))


def test_one_changed_byte_breaks_the_signature(vector) -> None:
    raw, header, secret, _ = vector
    tampered = raw.replace(b'"quantity":2', b'"quantity":3')
    assert tampered != raw
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(tampered, header, secret, tolerance=None)
