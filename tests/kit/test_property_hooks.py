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

from conformance import contract
from conformance.catalogue import PROFILES
from conformance.property import hooks
from conformance.property.mapping import (
    CHECK_REQUIREMENTS,
    exercised_requirements,
    requirements_for,
)
from conformance.property.runner import (
    PropertySettings,
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
    ("method", "path", "profile"),
    [
        ("POST", "/orders", "core"),
        ("GET", "/inbound-shipments", "inbound"),
        ("POST", "/sandbox/inbound-shipments/ib_1/receive", "inbound"),
        ("POST", "/sandbox/orders/ord_1/ship", "core"),
        ("POST", "/sandbox/webhook-deliveries/retry", "webhooks"),
        ("GET", "/returns?limit=2", "returns"),
        ("GET", "/nowhere", None),
    ],
)
def test_operations_belong_to_the_profile_the_spec_gives_them(
    method: str, path: str, profile: str | None
) -> None:
    assert contract.profile_of_request(method, path) == profile


def test_every_operation_of_the_spec_has_a_catalogue_profile() -> None:
    for operation in contract.operations():
        assert operation.profile in PROFILES, operation
        assert contract.profile_of_operation(operation.operation_id) == operation.profile


# ---- refusals (429, 503 + Retry-After): waited out, never judged as an answer -----------------


class _Answer:
    """The little of a Schemathesis response the retry layer reads."""

    def __init__(self, status: int, retry_after: str | None = None) -> None:
        self.status_code = status
        self.headers = {"retry-after": [retry_after]} if retry_after is not None else {}


def _sender(*answers: _Answer) -> tuple[Any, list[int]]:
    sent: list[int] = []
    queue = list(answers)

    def send() -> _Answer:
        sent.append(1)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return send, sent


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(hooks.time, "sleep", slept.append)
    return slept


def test_two_429s_are_waited_out_then_the_answer_returned(waits: list[float]) -> None:
    send, sent = _sender(_Answer(429, "2"), _Answer(429), _Answer(200))
    before = hooks.request_count()
    response, retries = hooks.send_patiently(send)
    assert response.status_code == 200 and retries == 2 and len(sent) == 3
    assert waits == [2.0, 1.0]  # Retry-After, then the kit's default when there is none
    assert hooks.request_count() - before == 3  # every attempt counts


def test_a_refusal_that_persists_is_returned_after_the_bound(waits: list[float]) -> None:
    send, sent = _sender(_Answer(429, "100000"))
    response, retries = hooks.send_patiently(send)
    assert response.status_code == 429 and retries == hooks.MAX_REFUSAL_RETRIES
    assert len(sent) == hooks.MAX_REFUSAL_RETRIES + 1
    assert max(waits) <= 60  # bounded as the scenario checks' client bounds it


def test_a_503_is_retried_only_when_it_says_when(waits: list[float]) -> None:
    send, sent = _sender(_Answer(503, "1"), _Answer(200))
    assert hooks.send_patiently(send)[0].status_code == 200
    send, sent = _sender(_Answer(503), _Answer(200))
    assert hooks.send_patiently(send)[0].status_code == 503 and len(sent) == 1
    assert hooks.refused(_Answer(429)) and hooks.refused(_Answer(503, "0"))
    assert not hooks.refused(_Answer(503)) and not hooks.refused(_Answer(500, "1"))


def test_every_request_schemathesis_sends_goes_through_the_retry() -> None:
    from schemathesis.transport import requests as transport

    # Generated cases, stateful steps and the probes `ignored_auth` sends all call this `send`.
    assert hasattr(transport.REQUESTS_TRANSPORT.send, "__wrapped__")


class _Failure(AssertionError):
    checks: tuple[str, ...] = ()

    def __init__(self, message: str, checks: tuple[str, ...], case_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.checks = checks
        self.case_id = case_id


def test_a_failure_on_a_refusal_is_dropped_unless_it_is_about_retry_after(schema: Any) -> None:
    case = schema["/orders"]["POST"].Case()
    context = schemathesis.HookContext(operation=case.operation)
    idem = _Failure("Got 429 when missing required header", ("missing_required_header",))
    retry_after = _Failure(
        "The following required headers are missing from the response:\n- `Retry-After`",
        ("response_headers_conformance",),
    )
    assert not hooks.filter_failure(context, idem, case, _Answer(429, "1"))
    assert hooks.filter_failure(context, retry_after, case, _Answer(429))
    # On an answer, every failure stands.
    assert hooks.filter_failure(context, idem, case, _Answer(201))


def test_a_probe_refused_to_the_end_is_no_finding(schema: Any, waits: list[float]) -> None:
    """`ignored_auth` judges its own probe's answer: a refused probe is no evidence either."""
    case = schema["/orders"]["GET"].Case()
    probe = schema["/orders"]["GET"].Case()
    refused = hooks._patient(lambda case, **kwargs: _Answer(429, "0"))
    assert refused(probe).status_code == 429
    failure = _Failure("Expected 401 or 403, got `429`", ("ignored_auth",), case_id=probe.id)
    context = schemathesis.HookContext(operation=case.operation)
    assert not hooks.filter_failure(context, failure, case, _Answer(200))


def test_the_kits_checks_do_not_judge_a_refusal(schema: Any) -> None:
    from conformance.property import checks

    case = schema["/orders"]["GET"].Case()
    bare = _BareResponse(429, {"retry-after": ["1"]}, b"not the envelope")
    for name in checks.__all__:
        check = getattr(checks, name)
        if name.startswith("fulfillment_"):
            assert check(None, bare, case) is None, name
    # The same body as an answer (a 400) is ERR-001's finding.
    no_context: Any = None
    answer: Any = _BareResponse(400, {}, b"nope")
    with pytest.raises(AssertionError, match="JSON error envelope"):
        checks.fulfillment_error_envelope(no_context, answer, case)


class _BareResponse:
    def __init__(self, status: int, headers: dict[str, list[str]], content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content
        self.request = None


def test_cases_name_the_requirements_they_exercise(schema: Any) -> None:
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.generation.meta import (
        CaseMetadata,
        CoveragePhaseData,
        CoverageScenario,
        GenerationInfo,
        PhaseInfo,
        TestPhase,
    )
    from schemathesis.generation.modes import GenerationMode

    def generated(scenario: CoverageScenario, mode: GenerationMode) -> Any:
        data = CoveragePhaseData(
            scenario=scenario,
            description="",
            location="header",
            parameter="Idempotency-Key",
            parameter_location=ParameterLocation.HEADER,
        )
        meta = CaseMetadata(
            generation=GenerationInfo(time=0.0, mode=mode),
            components={},
            phase=PhaseInfo(name=TestPhase.COVERAGE, data=data),
        )
        return schema["/orders"]["POST"].Case(_meta=meta)

    missing = generated(CoverageScenario.MISSING_PARAMETER, GenerationMode.NEGATIVE)
    valid = generated(CoverageScenario.DEFAULT_POSITIVE_TEST, GenerationMode.POSITIVE)
    assert {"IDEM-001", "ERR-008", "ERR-012"} <= exercised_requirements(missing)
    assert "API-010" not in exercised_requirements(missing)
    assert "IDEM-001" not in exercised_requirements(valid)
    assert {"API-010", "ERR-012"} <= exercised_requirements(valid)
    assert exercised_requirements(schema["/orders"]["POST"].Case()) == set()  # hand-built
    assert "RATE-001" not in exercised_requirements(valid)  # a refusal is its evidence
