"""How a receiver verifies `X-Webhook-Signature`, the way Stripe's libraries do.

`t=<unix seconds>,v1=<hex>[,v1=<hex>...]`: the header is split on `,` and each item on the first
`=`, with no white space stripped; `t` is the signed timestamp and every `v1` item is a candidate.
The delivery verifies with a secret when ANY one `v1` equals hex(HMAC-SHA256(secret as UTF-8,
"{t}." + raw body)) and `t` is within the tolerance of the receiver's clock. That "any one"
rule (Stripe's `verify_header`, and Standard Webhooks' list of signatures) is what lets a receiver
holding either the old or the new secret verify a delivery sent during a secret rotation.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["DEFAULT_TOLERANCE", "verification_problem"]

DEFAULT_TOLERANCE = 300  # seconds, Stripe's default and the spec's (WHK-009)


def verification_problem(
    header: str | None,
    body: bytes,
    secret: str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> str | None:
    """Why a Stripe-style receiver holding `secret` rejects the delivery, or None if it accepts.

    The sentence never contains the secret or the signature values."""
    if not header:
        return "no X-Webhook-Signature header"
    items = [item.split("=", 1) for item in header.split(",")]
    stamps = [pair[1] for pair in items if len(pair) == 2 and pair[0] == "t"]
    candidates = [pair[1] for pair in items if len(pair) == 2 and pair[0] == "v1"]
    if not stamps or not stamps[0].isdigit():
        return "no integer t item in the header"
    if not candidates:
        return "no v1 item in the header"
    t = int(stamps[0])
    expected = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256)
    if not any(hmac.compare_digest(expected.hexdigest(), value) for value in candidates):
        return f"none of the {len(candidates)} v1 values is HMAC-SHA256 of '{t}.' + the raw body"
    if abs(now - t) > tolerance:
        return f"t={t} is {now - t:+.0f} s from the receiver's clock, outside {tolerance:g} s"
    return None
