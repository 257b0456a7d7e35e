"""The kit's Schemathesis hooks and helpers, without a server: fast and exact.

Generated cases get unique Idempotency-Keys, no whole floats and a webhook URL that never
resolves; hand-built cases are left exactly as written; the mapping and the scrubbing hold.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from fulfillment_spec import OPENAPI_PATH
from hypothesis import HealthCheck, given, settings

from conformance.property import hooks
from conformance.property.mapping import CHECK_REQUIREMENTS, requirements_for
from conformance.property.runner import (
    PropertySettings,
    operation_profile,
    schemathesis_config,
    scrub,
)

TOKEN = "wms_test_acme_token"


@pytest.fixture(scope="module")
def schema() -> Any:
    config = schemathesis.Config.from_dict(
        schemathesis_config(
            PropertySettings(base_url="http://127.0.0.1:9/v1", token=TOKEN, seed=1), stateful=False
        )
    )
    return schemathesis.openapi.from_path(str(OPENAPI_PATH), config=config)


def _call_hook(case: Any) -> None:
    hooks.before_call(schemathesis.HookContext(operation=case.operation), case, {})


def test_whole_floats_become_ints_and_others_stay() -> None:
    value = {"quantity": 2.0, "items": [{"n": 3.0, "x": 2.5}], "flag": True, "s": "2.0"}
    assert hooks.normalise_whole_floats(value) == {
        "quantity": 2,
        "items": [{"n": 3, "x": 2.5}],
        "flag": True,
        "s": "2.0",
    }
    assert isinstance(hooks.normalise_whole_floats(1.0), int)
    assert hooks.normalise_whole_floats(float("inf")) == float("inf")


def test_a_hand_built_case_is_left_alone(schema: Any) -> None:
    operation = schema["/orders"]["POST"]
    case = operation.Case(headers={"Idempotency-Key": "same-key"}, body={"quantity": 2.0})
    _call_hook(case)
    assert case.headers["Idempotency-Key"] == "same-key"
    assert case.body == {"quantity": 2.0}


def test_generated_creates_get_unique_valid_idempotency_keys(schema: Any) -> None:
    operation = schema["/orders"]["POST"]
    keys: list[str] = []

    @settings(max_examples=15, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def collect(case: Any) -> None:
        original = case.headers.get("Idempotency-Key")
        _call_hook(case)
        key = case.headers.get("Idempotency-Key")
        if isinstance(original, str) and 1 <= len(original) <= 255:
            assert key != original or key.startswith("prop")
            keys.append(key)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    assert keys and len(set(keys)) == len(keys)
    assert all(1 <= len(key) <= 255 for key in keys)


def test_generated_webhook_urls_point_at_a_name_that_never_resolves(schema: Any) -> None:
    operation = schema["/webhooks"]["POST"]
    seen: list[str] = []

    @settings(max_examples=10, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def collect(case: Any) -> None:
        _call_hook(case)
        if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
            url = case.body["url"]
            if url.startswith(("http://", "https://")):
                seen.append(url)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    assert seen
    assert all(hooks.WEBHOOK_SINK_HOST in url for url in seen), seen


def test_scrub_removes_tokens_and_secrets_but_keeps_a_usable_curl() -> None:
    text = (
        f"curl -X POST -H 'Authorization: Bearer {TOKEN}' -H 'Idempotency-Key: k1' "
        "http://127.0.0.1/v1/webhooks -> secret whsec_abcDEF123"
    )
    clean = scrub(text, TOKEN)
    assert TOKEN not in clean and "whsec_abc" not in clean
    assert '-H "Authorization: Bearer $CONFORMANCE_TOKEN"' in clean
    assert "Idempotency-Key: k1" in clean


def test_every_check_maps_to_requirement_ids() -> None:
    from conformance.property import checks

    for name in checks.__all__:
        if name.startswith("fulfillment_"):
            assert name in CHECK_REQUIREMENTS
    assert requirements_for("some_new_check", None) == ()


@pytest.mark.parametrize(
    ("path", "tags", "profile"),
    [
        ("/orders", ["Orders"], "core"),
        ("/inbound-shipments", ["Inbound"], "inbound"),
        ("/sandbox/inbound-shipments/{id}/receive", ["Sandbox"], "inbound"),
        ("/sandbox/orders/{id}/ship", ["Sandbox"], "core"),
        ("/sandbox/webhook-deliveries/retry", ["Sandbox"], "webhooks"),
        ("/returns", ["Returns"], "returns"),
    ],
)
def test_operations_belong_to_the_profile_of_their_tag(
    path: str, tags: list[str], profile: str
) -> None:
    assert operation_profile(path, tags, {}) == profile
