"""The kit's own Schemathesis checks: the contract rules that JSON Schema alone cannot express.

`format: date-time` accepts `+00:00`, a float passes `type: number` where a decimal string was
meant, and an undocumented 4xx has no schema to validate against. Each rule here is one named
function registered with `@schemathesis.check` (registration is global for the process, so
importing this module is enough); each docstring names the requirement ids it serves, and
`conformance.property.mapping` maps its name to those ids for the report.

Each rule is written once, in `conformance.response_rules`, over a neutral view of a response:
the scenario checks of `checks/test_zz_responses.py` judge every recorded exchange by the same
functions. This module only builds the view of a Schemathesis response and raises on a problem.

None of them judges a refusal (a 429, a 503 with Retry-After: `@answers_only`): it is the server
saying "not now", and the rules about it are RATE-001/002, judged from every recorded response.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from conformance import refs
from conformance import response_rules as rules
from conformance.http import is_rate_limited
from conformance.property import mapping
from conformance.response_rules import DECIMAL_PATTERN
from conformance.validation import SpecValidator, pointer_token

__all__ = [
    "DECIMAL_PATTERN",
    "answers_only",
    "fulfillment_2xx_has_no_error",
    "fulfillment_error_code_snake_case",
    "fulfillment_error_envelope",
    "fulfillment_error_request_id_matches",
    "fulfillment_invalid_body_error_names_field",
    "fulfillment_invalid_body_refused_with_422",
    "fulfillment_money_is_decimal_string",
    "fulfillment_request_id_header",
    "fulfillment_timestamps_end_in_z",
    "fulfillment_valid_request_not_refused_as_malformed",
    "view_of",
]

# Problems of one response shown in a failure message (the rest are counted).
MAX_LISTED = 5


def _header(response: Response, name: str) -> str | None:
    values = response.headers.get(name.lower())
    return values[0] if values else None


Check = Callable[[CheckContext, Response, Case], "bool | None"]


def answers_only(check: Check) -> Check:
    """The check judges answers: on a refusal (429, 503 + Retry-After) it does nothing."""

    @functools.wraps(check)
    def judge(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if is_rate_limited(response.status_code, _header(response, "Retry-After")):
            return None
        return check(ctx, response, case)

    return judge


def _documented_schema(case: Case, status: int) -> Any:
    """The JSON schema of the documented response for `status`, or None."""
    root = case.operation.schema.raw_schema
    responses = case.operation.definition.raw.get("responses") or {}
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            response = refs.resolve(root, responses[key])
            content = response.get("content") or {} if isinstance(response, Mapping) else {}
            for media_type, entry in content.items():
                if "json" in media_type and isinstance(entry, Mapping) and "schema" in entry:
                    return entry["schema"]
            return None
    return None


# The last view built in this thread: every check of this module judges the same response in
# turn, so the body is parsed and walked once per response, not once per check.
_last_view = threading.local()


def view_of(case: Case, response: Response) -> rules.ResponseView:
    """The neutral view of a Schemathesis response that the shared response rules judge (the
    one already built for this case and response, when the previous check asked for it)."""
    cached = getattr(_last_view, "entry", None)
    if cached is not None and cached[0] is case and cached[1] is response:
        view: rules.ResponseView = cached[2]
        return view
    view = _new_view(case, response)
    _last_view.entry = (case, response, view)
    return view


def _new_view(case: Case, response: Response) -> rules.ResponseView:
    method = str(getattr(response.request, "method", None) or case.method).upper()
    headers = {str(name).lower(): values[0] for name, values in response.headers.items() if values}
    body: Any = rules.NOT_JSON
    if response.content:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.loads(response.content)

    def describe() -> str:
        request_id = headers.get("x-request-id")
        rid = f"request_id {request_id}" if request_id else "no request_id"
        return f"{method} {case.formatted_path} -> {response.status_code} ({rid})"

    return rules.ResponseView(
        method=method,
        status=response.status_code,
        headers=headers,
        content=response.content or b"",
        body=body,
        describe=describe,
        root=case.operation.schema.raw_schema,
        schema=_documented_schema(case, response.status_code),
    )


def _judge(rule: rules.ResponseRule, case: Case, response: Response) -> None:
    _judged, problems = rule(view_of(case, response))
    problems = sorted(set(problems))
    if problems:
        more = len(problems) - MAX_LISTED
        tail = f"\n(and {more} more)" if more > 0 else ""
        raise AssertionError("\n".join(problems[:MAX_LISTED]) + tail)


@schemathesis.check
@answers_only
def fulfillment_timestamps_end_in_z(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """API-003: every `format: date-time` value in a response is UTC written with `Z` (decision 26).

    JSON Schema's date-time format accepts any offset, `+00:00` included, so only this check
    enforces the trailing `Z`.
    """
    _judge(rules.timestamps_in_utc_z, case, response)
    return None


@schemathesis.check
@answers_only
def fulfillment_money_is_decimal_string(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """API-005: every money amount in a response is a decimal string like "12.50" (decision 26).

    A float loses cents; a schema node whose pattern is the decimal pattern marks an amount.
    """
    _judge(rules.money_as_decimal_strings, case, response)
    return None


@schemathesis.check
@answers_only
def fulfillment_error_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ERR-001: every 4xx and 5xx body is {"error": {"code", "message", "request_id"}}.

    Applies to undocumented statuses too (405, 404 on an unknown path), where no schema would.
    """
    _judge(rules.errors_use_the_envelope, case, response)
    return None


@schemathesis.check
@answers_only
def fulfillment_error_code_snake_case(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """ERR-002: error.code is a snake_case machine code (`validation_failed`, not `E422`)."""
    _judge(rules.error_codes_snake_case, case, response)
    return None


@schemathesis.check
@answers_only
def fulfillment_error_request_id_matches(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """ERR-005: error.request_id equals the X-Request-Id header of the same response."""
    _judge(rules.request_id_matches, case, response)
    return None


@schemathesis.check
@answers_only
def fulfillment_2xx_has_no_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ERR-003: a success never carries an error: no 2xx body with a top-level `error` key."""
    _judge(rules.no_success_with_an_error, case, response)
    return None


@schemathesis.check
@answers_only
def fulfillment_request_id_header(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """ERR-004: every response carries a non-empty X-Request-Id header (decision 23)."""
    _judge(rules.request_id_header, case, response)
    return None


# The refusals that say "your request is malformed" (API-010): a schema-valid request never gets
# them. A refusal for a data-dependent reason (an unknown warehouse, SKU, order) has its own code.
MALFORMED_CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid_json",),
    422: ("validation_failed", "unknown_field"),
}


def _body_schema_pointer(case: Case) -> str | None:
    """The JSON pointer of the schema the case's body is documented against, or None."""
    root = case.operation.schema.raw_schema
    method = case.method.lower()
    operation = (root.get("paths") or {}).get(case.operation.path, {}).get(method) or {}
    pointer = f"/paths/{pointer_token(case.operation.path)}/{method}/requestBody"
    body, pointer = refs.follow(root, operation.get("requestBody"), pointer)
    media_type = case.media_type or "application/json"
    if not isinstance(body, Mapping) or media_type not in (body.get("content") or {}):
        return None
    return f"{pointer}/content/{pointer_token(media_type)}/schema"


def _body_valid(case: Case) -> bool:
    """Whether the case's body really is valid against its documented schema: Schemathesis'
    positive cases are valid for the keywords its generator honours, not always for all (a
    `dependentRequired`, say), and API-010 judges only requests the schema accepts."""
    if case.body is None or isinstance(case.body, bytes | str):
        return True
    pointer = _body_schema_pointer(case)
    if pointer is None:
        return True
    return _validator_of(case.operation.schema.raw_schema).is_valid_at(pointer, case.body)


# One validator per spec (by identity, kept with it): the kit's own, formats included.
_VALIDATORS: dict[int, SpecValidator] = {}


def _validator_of(root: Mapping[str, Any]) -> SpecValidator:
    known = _VALIDATORS.get(id(root))
    if known is None or known.spec is not root:
        known = _VALIDATORS[id(root)] = SpecValidator(root)
    return known


@schemathesis.check
@answers_only
def fulfillment_valid_request_not_refused_as_malformed(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """API-010: a request generated valid against the spec (a positive case) is never answered
    415, 400 `invalid_json` or 422 `validation_failed` / `unknown_field`. Schemathesis' own
    positive_data_acceptance accepts any 422, since a valid request may name unknown data; this
    check tells a data-dependent refusal (its own code) from an over-validating one."""
    if not mapping.applies("fulfillment_valid_request_not_refused_as_malformed", case):
        return None
    status = response.status_code
    view = view_of(case, response)
    error = view.body.get("error") if isinstance(view.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    # The refusal first, the body's validity only then: validating every generated body against
    # the spec cost more than all the kit's other checks together, and most answers are no
    # refusal at all.
    if (status == 415 or code in MALFORMED_CODES.get(status, ())) and _body_valid(case):
        field = error.get("field") if isinstance(error, dict) else None
        raise AssertionError(
            f"expected a schema-valid request to be accepted (or refused with a data-dependent"
            f" code), got {status} {code!r} field {field!r} ({view.describe()})"
        )
    return None


def _strict_json(body: Any) -> bool:
    """Whether the body serialises as strict JSON (no NaN or Infinity, which a strict parser may
    refuse as unparseable: 400 `invalid_json` is then the right answer)."""
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _judged_json_body(case: Case) -> bool:
    """Whether the case's body is JSON a strict parser reads (so a refusal of it is about its
    schema, not its syntax)."""
    body = case.body
    return body is not None and not isinstance(body, bytes | str) and _strict_json(body)


@schemathesis.check
@answers_only
def fulfillment_invalid_body_refused_with_422(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """ERR-008: a parseable request body that breaks its schema, refused as invalid input, gets
    422 (`validation_failed`, or `unknown_field` for an undefined property), never 400: 400 is
    for a body that is not JSON at all and for invalid query values. Only a 400 is judged: a 404,
    409 or 412 (the target judged first, ORD-006) says nothing about how the body was judged, and
    Schemathesis' negative_data_rejection already fails an invalid body that is accepted."""
    if response.status_code != 400 or not mapping.applies(
        "fulfillment_invalid_body_refused_with_422", case
    ):
        return None
    if not _judged_json_body(case) or _body_valid(case):
        return None  # a negative case its mutation left valid: nothing to judge
    view = view_of(case, response)
    error = view.body.get("error") if isinstance(view.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    raise AssertionError(
        "expected 422 validation_failed for a JSON request body that breaks its schema,"
        f" got 400 {code!r} ({view.describe()})"
    )


# Keywords whose failure at the body's root still names a property (the missing or the undefined
# one); a body wrong as a whole (an array where an object belongs) has no field to name.
_NAMING_KEYWORDS = frozenset(
    {"required", "additionalProperties", "unevaluatedProperties", "dependentRequired"}
)


def _nameable_errors(case: Case) -> bool:
    """Whether some way the body breaks its schema sits at, or names, a field."""
    pointer = _body_schema_pointer(case)
    if pointer is None:
        return False
    errors = _validator_of(case.operation.schema.raw_schema).errors_at(pointer, case.body)
    return any(error.absolute_path or error.validator in _NAMING_KEYWORDS for error in errors)


def _named_fields(error: Mapping[str, Any], body: Mapping[str, Any]) -> list[Any]:
    listed = body.get("errors")
    entries = (
        [entry for entry in listed if isinstance(entry, dict)] if isinstance(listed, list) else []
    )
    return [error.get("field"), *(entry.get("field") for entry in entries)]


@schemathesis.check
@answers_only
def fulfillment_invalid_body_error_names_field(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """ERR-008: a 422 `validation_failed` (or `unknown_field`) refusing a JSON body that breaks
    its schema names the offending input in `error.field` (or in an `errors[]` entry). Which
    spelling (`items[0].quantity`, `ship_to`) is the server's; a body wrong as a whole has no
    field to name and is not judged."""
    if response.status_code != 422 or not mapping.applies(
        "fulfillment_invalid_body_error_names_field", case
    ):
        return None
    view = view_of(case, response)
    error = view.body.get("error") if isinstance(view.body, dict) else None
    if not isinstance(error, dict) or error.get("code") not in MALFORMED_CODES[422]:
        return None  # a data-dependent refusal: its own rules
    if not _judged_json_body(case) or not _nameable_errors(case):
        return None
    if any(isinstance(field, str) and field for field in _named_fields(error, view.body)):
        return None
    raise AssertionError(
        f"expected error.field to name the input that breaks the schema, got 422"
        f" {error.get('code')!r} naming no field ({view.describe()})"
    )
