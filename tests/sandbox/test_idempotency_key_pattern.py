"""The sandbox accepts exactly the Idempotency-Keys the spec's pattern allows (decision 33).

Schemathesis' own CLI found the sandbox refusing schema-valid keys (`café`, `a<TAB>b`) while the
schema had no pattern. Now the header's schema carries the pattern, and `parse_key` must agree
with it both ways: every header value the pattern matches is accepted, every other one is refused
with 400 `validation_failed` naming the header.
"""

from __future__ import annotations

import re

import fulfillment_spec
import pytest
from fulfillment_sandbox.errors import ApiError
from fulfillment_sandbox.idempotency import parse_key
from hypothesis import given, settings
from hypothesis import strategies as st

SCHEMA = fulfillment_spec.load_openapi()["components"]["parameters"]["IdempotencyKey"]["schema"]
PATTERN = re.compile(SCHEMA["pattern"])


def _accepted(header: str) -> bool:
    try:
        parse_key(header)
    except ApiError as refused:
        assert refused.status == 400 and refused.code == "validation_failed", refused
        return False
    return True


def _schema_valid(header: str) -> bool:
    return (
        SCHEMA["minLength"] <= len(header) <= SCHEMA["maxLength"]
        and PATTERN.search(header) is not None
    )


@pytest.mark.parametrize(
    ("header", "valid"),
    [
        ("8e0f7a1c-3b5d-4d2a-9f6e-2c1b0a9d8e7f", True),
        ('"8e0f7a1c"', True),
        ("a b", True),
        ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", True),
        ("k" * 255, True),
        ('"' + "k" * 255 + '"', True),
        ('""', True),
        ("k" * 256, False),
        ('"' + "k" * 256 + '"', False),
        ("café", False),
        ("a\tb", False),
        ("a\x7fb", False),
    ],
)
def test_examples_agree(header: str, valid: bool) -> None:
    assert _schema_valid(header) is valid
    assert _accepted(header) is valid


@settings(max_examples=300, deadline=None)
@given(st.from_regex(PATTERN, fullmatch=True).filter(lambda s: len(s) <= SCHEMA["maxLength"]))
def test_every_schema_valid_key_is_accepted(header: str) -> None:
    assert _accepted(header), header


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=300).filter(lambda s: s == s.strip()))
def test_any_key_is_accepted_exactly_when_schema_valid(header: str) -> None:
    assert _accepted(header) is _schema_valid(header), header
