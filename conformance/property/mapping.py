"""Which requirement each Schemathesis check serves: the one table the report reads.

A built-in check is Schemathesis' generic rule; the catalogue id is our contract's wording of it.
A failure of a check missing here keeps an empty id list: the run's summary still counts it,
but no requirement is blamed for a rule the catalogue does not state.

A response that is a refusal to be waited out (a 429, a 503 with Retry-After) is evidence for no
requirement but RATE-001 (`judges_refusal`); `exercised_requirements` says which requirements a
case puts to the server, so a requirement whose every case was refused is `not_exercised`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "CHECK_REQUIREMENTS",
    "READ_BACK_REQUIREMENTS",
    "RETRY_AFTER_REQUIREMENT",
    "UNKNOWN_FIELD_REQUIREMENT",
    "applies",
    "exercised_requirements",
    "judges_refusal",
    "requirements_for",
]

CHECK_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    # Built-in checks.
    "not_a_server_error": ("ERR-012",),
    "status_code_conformance": ("API-008",),
    "content_type_conformance": ("API-002",),
    "response_headers_conformance": ("ERR-004",),
    "response_schema_conformance": ("API-009",),
    "positive_data_acceptance": ("API-010",),
    "negative_data_rejection": ("ERR-008",),
    # The only required request header besides Authorization is Idempotency-Key on creates.
    "missing_required_header": ("IDEM-001",),
    "unsupported_method": ("ERR-011",),
    # Re-sends each successful call without a token and with a wrong one.
    "ignored_auth": ("AUTH-001", "AUTH-002"),
    # Stateful: a created resource reads back (core: orders); see READ_BACK_REQUIREMENTS.
    "ensure_resource_availability": ("ORD-002",),
    "use_after_free": (),
    # The kit's own checks (conformance.property.checks).
    "fulfillment_timestamps_end_in_z": ("API-003",),
    "fulfillment_money_is_decimal_string": ("API-005",),
    "fulfillment_error_envelope": ("ERR-001",),
    "fulfillment_error_code_snake_case": ("ERR-002",),
    "fulfillment_error_request_id_matches": ("ERR-005",),
    "fulfillment_2xx_has_no_error": ("ERR-003",),
    "fulfillment_request_id_header": ("ERR-004",),
    "fulfillment_valid_request_not_refused_as_malformed": ("API-010",),
    "fulfillment_invalid_body_refused_with_422": ("ERR-008",),
    "fulfillment_invalid_body_error_names_field": ("ERR-008",),
}

# Decision 27: an unknown request field SHOULD get 422 `unknown_field`. A server that ignores it
# breaks that SHOULD, not the MUST that invalid input is rejected.
UNKNOWN_FIELD_REQUIREMENT = ("API-007",)
UNKNOWN_FIELD_JUDGED = frozenset(
    {"negative_data_rejection", "fulfillment_invalid_body_refused_with_422"}
)
# A 429 without its required Retry-After is RATE-001, not a missing X-Request-Id.
RETRY_AFTER_REQUIREMENT = ("RATE-001",)
# "Created, then not found" per profile of the operation that created it. Only core has an id in
# the catalogue today; other profiles' findings stay unattributed until theirs are added.
READ_BACK_REQUIREMENTS: dict[str, tuple[str, ...]] = {"core": ("ORD-002",)}


def requirements_for(
    check: str, case: Any, *, message: str = "", profile: str | None = None
) -> tuple[str, ...]:
    """The requirement ids a failure of `check` on `case` breaks."""
    if check in UNKNOWN_FIELD_JUDGED and case is not None and _only_unknown_fields(case):
        return UNKNOWN_FIELD_REQUIREMENT
    if check == "response_headers_conformance" and "retry-after" in message.lower():
        return RETRY_AFTER_REQUIREMENT
    if check == "ensure_resource_availability" and profile is not None:
        return READ_BACK_REQUIREMENTS.get(profile, ())
    return CHECK_REQUIREMENTS.get(check, ())


def _only_unknown_fields(case: Any) -> bool:
    """Whether the case is negative only because it adds properties a closed object forbids."""
    meta = getattr(case, "_meta", None)
    # An unknown field needs an object to sit in: random bytes are a syntax fault (ERR-008).
    if meta is None or not isinstance(getattr(case, "body", None), dict):
        return False
    data = meta.phase.data
    scenario = getattr(data, "scenario", None)
    if str(getattr(scenario, "value", scenario)) == "object_unexpected_properties":
        return True
    mutations = getattr(data, "mutations", ()) or ()
    return bool(mutations) and all(
        set(mutation.keywords) <= {"additionalProperties", "unevaluatedProperties"}
        for mutation in mutations
    )


def judges_refusal(check: str, message: str) -> bool:
    """Whether a failure of `check` on a refused request is about the refusal itself (RATE-001,
    Retry-After on a 429): the one kind of finding a refusal can be evidence for."""
    return requirements_for(check, None, message=message) == RETRY_AFTER_REQUIREMENT


def _scenario(case: Any) -> str | None:
    data = case._meta.phase.data
    scenario = getattr(data, "scenario", None)
    return None if scenario is None else str(getattr(scenario, "value", scenario))


def _missing_header(case: Any) -> bool:
    location = getattr(case._meta.phase.data, "parameter_location", None)
    in_header = getattr(location, "value", location) == "header"
    return in_header and _scenario(case) == "missing_parameter"


def _only_the_body_negative(case: Any) -> bool:
    """A negative case whose body, and nothing else (query, headers, path), breaks the schema."""
    if _mode(case) != "negative" or _stateful(case):
        return False
    components = getattr(case._meta, "components", None) or {}
    negative = {
        str(getattr(location, "value", location))
        for location, info in components.items()
        if getattr(getattr(info, "mode", None), "is_negative", False)
    }
    return negative == {"body"}


def _mode(case: Any) -> str:
    return str(case._meta.generation.mode.value)


def _stateful(case: Any) -> bool:
    return str(case._meta.phase.name.value) == "stateful"


# The checks that judge only some generated cases; every other check judges every response.
_APPLIES: dict[str, Callable[[Any], bool]] = {
    "missing_required_header": _missing_header,
    "unsupported_method": lambda case: _scenario(case) == "unspecified_http_method",
    "negative_data_rejection": lambda case: _mode(case) == "negative",
    "positive_data_acceptance": lambda case: _mode(case) == "positive",
    # Stateful steps carry ids and cursors from earlier answers: judged by the scenario checks.
    "fulfillment_valid_request_not_refused_as_malformed": lambda case: (
        _mode(case) == "positive" and not _stateful(case)
    ),
    "fulfillment_invalid_body_refused_with_422": _only_the_body_negative,
    "fulfillment_invalid_body_error_names_field": _only_the_body_negative,
    "ensure_resource_availability": _stateful,
    "use_after_free": _stateful,
}


def applies(check: str, case: Any) -> bool:
    """Whether `check` judges the answer to `case` (a hand-built case, without `_meta`: no)."""
    if getattr(case, "_meta", None) is None:
        return False
    rule = _APPLIES.get(check)
    return rule is None or rule(case)


def exercised_requirements(case: Any) -> set[str]:
    """The requirement ids whose checks would judge the answer to `case` (a generated case: a
    hand-built one, such as a check's own probe, exercises nothing by itself)."""
    if getattr(case, "_meta", None) is None:
        return set()
    ids: set[str] = set()
    for check in CHECK_REQUIREMENTS:
        applies = _APPLIES.get(check)
        if applies is None or applies(case):
            ids.update(requirements_for(check, case))
    return ids
