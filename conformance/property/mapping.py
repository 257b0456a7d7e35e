"""Which requirement each Schemathesis check serves: the one table the report reads.

A built-in check is Schemathesis' generic rule; the catalogue id is our contract's wording of it.
A failure of a check missing here keeps an empty id list: the run's summary still counts it,
but no requirement is blamed for a rule the catalogue does not state.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CHECK_REQUIREMENTS",
    "READ_BACK_REQUIREMENTS",
    "RETRY_AFTER_REQUIREMENT",
    "UNKNOWN_FIELD_REQUIREMENT",
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
}

# Decision 27: an unknown request field SHOULD get 422 `unknown_field`. A server that ignores it
# breaks that SHOULD, not the MUST that invalid input is rejected.
UNKNOWN_FIELD_REQUIREMENT = ("API-007",)
# A 429 without its required Retry-After is RATE-001, not a missing X-Request-Id.
RETRY_AFTER_REQUIREMENT = ("RATE-001",)
# "Created, then not found" per profile of the operation that created it. Only core has an id in
# the catalogue today; other profiles' findings stay unattributed until theirs are added.
READ_BACK_REQUIREMENTS: dict[str, tuple[str, ...]] = {"core": ("ORD-002",)}


def requirements_for(
    check: str, case: Any, *, message: str = "", profile: str | None = None
) -> tuple[str, ...]:
    """The requirement ids a failure of `check` on `case` breaks."""
    if check == "negative_data_rejection" and case is not None and _only_unknown_fields(case):
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
