"""Secret rotation: a new secret shown once, both secrets signing for the overlap window, then the
new one only (the sandbox control ends the window at once)."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from typing import Any

from fulfillment_sandbox.webhooks import ROTATION_OVERLAP

from .conftest import order_body
from .spec_client import SpecClient, _validator
from .test_webhooks import _subscribe, receiver  # noqa: F401  (the receiver fixture)


def v1_values(header: str) -> tuple[int, list[str]]:
    parts = [part.split("=", 1) for part in header.split(",")]
    assert parts[0][0] == "t", header
    assert all(name == "v1" for name, _ in parts[1:]), header
    return int(parts[0][1]), [value for _, value in parts[1:]]


def signed_with(secret: str, header: str, body: bytes) -> list[bool]:
    """For each v1 of the header, whether it is this secret's signature of the body."""
    t, values = v1_values(header)
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return [hmac.compare_digest(expected, value) for value in values]


def ship_one(acme: SpecClient) -> dict[str, Any]:
    order = acme.create_order(order_body()).json()
    shipment: dict[str, Any] = acme.post(f"/sandbox/orders/{order['id']}/ship").json()
    return shipment


def rotated_hook(acme: SpecClient, url: str) -> tuple[dict[str, Any], str]:
    """A new subscription to shipment.created whose secret was just rotated: (it, new secret)."""
    hook = _subscribe(acme, url, ["shipment.created"])
    return hook, acme.post(f"/webhooks/{hook['id']}/rotate-secret").json()["secret"]


def test_rotation_answers_a_new_secret_once_with_a_24_hour_overlap(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    _recv, url = receiver
    hook = _subscribe(acme, url, ["shipment.created"])
    before = time.time()
    r = acme.post(f"/webhooks/{hook['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert not list(
        _validator(["components", "schemas", "WebhookSecretRotated"]).iter_errors(rotated)
    )
    assert rotated["id"] == hook["id"] and rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != hook["secret"]
    ends = rotated["previous_secret_expires_at"]
    assert ends.endswith("Z")
    end = datetime.fromisoformat(ends.replace("Z", "+00:00")).timestamp()
    assert before + ROTATION_OVERLAP - 1 <= end <= time.time() + ROTATION_OVERLAP + 1
    for text in (acme.get(f"/webhooks/{hook['id']}").text, acme.get("/webhooks").text):
        assert rotated["secret"] not in text and hook["secret"] not in text
    missing = acme.post("/webhooks/whk_nosuchhook/rotate-secret")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_deliveries_carry_both_signatures_until_the_overlap_ends(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    recv, url = receiver
    hook, new = rotated_hook(acme, url)
    ship_one(acme)
    headers, body = recv.wait_for(1)[0]
    header = headers["x-webhook-signature"]
    assert signed_with(new, header, body) == [True, False], "the new secret's v1 comes first"
    assert signed_with(hook["secret"], header, body) == [False, True]

    ended = acme.post(f"/sandbox/webhooks/{hook['id']}/end-secret-overlap")
    assert ended.status_code == 200 and "secret" not in ended.json()
    ship_one(acme)
    headers, body = recv.wait_for(2)[1]
    assert signed_with(new, headers["x-webhook-signature"], body) == [True]
    assert acme.post("/sandbox/webhooks/whk_nosuchhook/end-secret-overlap").status_code == 404


def test_a_second_rotation_drops_the_oldest_secret(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    recv, url = receiver
    hook, first = rotated_hook(acme, url)
    second = acme.post(f"/webhooks/{hook['id']}/rotate-secret").json()["secret"]
    ship_one(acme)
    headers, body = recv.wait_for(1)[0]
    header = headers["x-webhook-signature"]
    assert signed_with(second, header, body) == [True, False]
    assert signed_with(first, header, body) == [False, True]
    assert not any(signed_with(hook["secret"], header, body))


def test_a_rotation_retried_with_its_key_returns_the_same_secret(
    acme: SpecClient,
    receiver,  # noqa: F811
) -> None:
    _recv, url = receiver
    hook = _subscribe(acme, url, ["shipment.created"])
    key = {"Idempotency-Key": f"rotate-{hook['id']}"}
    first = acme.post(f"/webhooks/{hook['id']}/rotate-secret", headers=key)
    again = acme.post(f"/webhooks/{hook['id']}/rotate-secret", headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json()["secret"] == first.json()["secret"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = acme.post(f"/webhooks/{hook['id']}/rotate-secret")
    assert other.json()["secret"] != first.json()["secret"]
