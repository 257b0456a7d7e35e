"""The kit's Stripe-style verifier (conformance/signatures.py) agrees with Stripe's own library on
the sandbox's signature headers, rotation included: with `v1=<new>,v1=<old>` either secret
verifies, a third never does, and after the overlap only the new one."""

from __future__ import annotations

import time

import pytest
from fulfillment_sandbox.delivery import sign

from conformance.signatures import verification_problem

stripe = pytest.importorskip("stripe")

BODY = b'{"event_id":"evt_1","event_type":"shipment.created","created_at":"x","data":{"id":"s"}}'
NEW, OLD, OTHER = "whsec_new_secret_abc", "whsec_old_secret_def", "whsec_someone_else"


def stripe_accepts(header: str, secret: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(BODY.decode(), header, secret, tolerance=300)
    except stripe.SignatureVerificationError:
        return False
    return True


def kit_accepts(header: str, secret: str) -> bool:
    return verification_problem(header, BODY, secret, now=time.time()) is None


@pytest.mark.parametrize(
    ("header_of", "accepted"),
    [
        (lambda t: sign(NEW, t, BODY, OLD), {NEW, OLD}),  # inside the overlap window
        (lambda t: sign(NEW, t, BODY), {NEW}),  # after it
        (lambda t: sign(NEW, t, BODY, OLD).replace(",", ", "), set()),  # spaces: WHK-007
        (lambda t: sign(NEW, t - 600, BODY, OLD), set()),  # stale t: WHK-009
    ],
    ids=["overlap", "after-overlap", "spaced", "stale"],
)
def test_kit_and_stripe_agree(header_of, accepted: set[str]) -> None:
    header = header_of(int(time.time()))
    for secret in (NEW, OLD, OTHER):
        assert kit_accepts(header, secret) is (secret in accepted), secret
        assert stripe_accepts(header, secret) is (secret in accepted), secret


def test_the_old_signature_may_come_first() -> None:
    """Order carries no meaning: any one matching v1 is enough."""
    t = int(time.time())
    header = sign(OLD, t, BODY, NEW)
    assert kit_accepts(header, NEW) and kit_accepts(header, OLD)
    assert stripe_accepts(header, NEW) and stripe_accepts(header, OLD)


def test_the_problem_never_names_the_secret() -> None:
    header = sign(NEW, int(time.time()), BODY)
    why = verification_problem(header, BODY, OTHER, now=time.time())
    assert why is not None and OTHER not in why and NEW not in why
