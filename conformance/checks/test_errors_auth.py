"""Errors, authentication and the general API rules a scenario can check (guide § Authentication,
§ Global conventions: Errors; decisions 23, 24 and 27).

A partner branches on `error.code`, never on a message, so every refusal must carry the right
status and the envelope. Authentication comes first: an operation asked without a token, or with
an unknown one, is 401 before anything else is looked at, on every operation of the contract.
The cross-cutting response checks (status documented, schema, `X-Request-Id`, rate-limit headers)
live in test_zz_responses.py and are not repeated here.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance import contract
from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import TestData
from conformance.http import ApiClient, ApiResponse
from conformance.scenarios import error_of, orders_with_reference

BAD_TOKEN = "wms_conformance_not_a_valid_token"
OVERSIZED_BYTES = 16 * 1024 * 1024
# How a body was framed, for a failure message.
FRAMING = {False: "sent with Content-Length", True: "sent chunked, without Content-Length"}


def envelope_problem(resp: ApiResponse, status: int, code: str) -> str | None:
    """None when `resp` is `status` with `{"error": {"code": code, "message": str}}`."""
    error = error_of(resp)
    if (
        resp.status == status
        and error.get("code") == code
        and isinstance(error.get("message"), str)
    ):
        return None
    body = resp.text[:120].replace("\n", " ")
    return (
        f"expected {status} {code} in the error envelope, got {resp.status} {body!r} "
        f"({resp.describe()})"
    )


@pytest.fixture(scope="module")
def real_ids(module_factory: TestData, driver: WarehouseDriver) -> dict[str, str]:
    """Path parameters filled with this run's real order and shipment (so a 404 cannot stand in
    for the 401), dummies for the rest."""
    order = module_factory.create_order()
    ids = {"order_id": str(order["id"])}
    try:
        ids["shipment_id"] = str(driver.ship(module_factory.create_order()["id"])["id"])
    except (AssertionError, NotImplementedError):
        ids["shipment_id"] = "shp_conformance_dummy"
    return ids


def applicable_requests(
    config: Config, ids: dict[str, str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, concrete path, request kwargs) for every operation of a claimed profile (its
    `x-profile`, conformance.contract).

    Sandbox control endpoints count only when the run drives the warehouse through them."""
    uses_sandbox = str(config.driver_spec) in ("", "sandbox")
    requests = []
    for operation in contract.operations():
        claimed = operation.profile in config.profiles
        if not claimed or (operation.sandbox_only and not uses_sandbox):
            continue
        method, template = operation.method, operation.path
        path = re.sub(
            r"\{([^}]+)\}",
            lambda m: ids.get(m.group(1), f"conformance_dummy_{m.group(1)}"),
            template,
        )
        kwargs: dict[str, Any] = {}
        if method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
            kwargs["headers"] = {"Idempotency-Key": f"conformance-auth-{uuid.uuid4().hex}"}
        requests.append((method, path, kwargs))
    return requests


def _assert_401_everywhere(
    api: ApiClient,
    spec: dict[str, Any],
    config: Config,
    ids: dict[str, str],
    token: str | None,
    label: str,
) -> None:
    problems = []
    for method, path, kwargs in applicable_requests(config, ids):
        resp = api.request(method, path, token=token, **kwargs)
        problem = envelope_problem(resp, 401, "unauthorized")
        if problem:
            problems.append(f"{method} {path}: {problem}")
    assert not problems, f"{label}: {len(problems)} operation(s) not refused:\n" + "\n".join(
        problems
    )


@requirement("AUTH-001")
def test_every_operation_without_a_token_gets_401(
    api: ApiClient, spec: dict[str, Any], conformance_config: Config, real_ids: dict[str, str]
) -> None:
    """Calls every operation of the claimed profiles (and the sandbox endpoints the driver uses)
    with no Authorization header: each must be 401 `unauthorized` in the envelope."""
    _assert_401_everywhere(api, spec, conformance_config, real_ids, None, "without a token")


@requirement("AUTH-002")
def test_every_operation_with_an_unknown_token_gets_401(
    api: ApiClient, spec: dict[str, Any], conformance_config: Config, real_ids: dict[str, str]
) -> None:
    """Calls every operation of the claimed profiles with a bearer token no partner has: each
    must be 401 `unauthorized` in the envelope (decision 24)."""
    _assert_401_everywhere(
        api, spec, conformance_config, real_ids, BAD_TOKEN, "with an unknown token"
    )


@requirement("AUTH-003")
def test_token_under_another_scheme_gets_401(api: ApiClient, conformance_config: Config) -> None:
    """The valid token sent as `Token <token>` and as `Basic <token>` on GET /orders is refused
    with 401 `unauthorized` (the token travels only as a Bearer token)."""
    if not conformance_config.token:
        pytest.skip("no token configured")
    for scheme in ("Token", "Basic"):
        resp = api.request(
            "GET", "/orders", headers={"Authorization": f"{scheme} {conformance_config.token}"}
        )
        problem = envelope_problem(resp, 401, "unauthorized")
        assert problem is None, f"{scheme} scheme: {problem}"


@requirement("AUTH-004")
def test_valid_token_is_accepted_on_every_operation(
    api: ApiClient, spec: dict[str, Any], conformance_config: Config, real_ids: dict[str, str]
) -> None:
    """Calls every operation of the claimed profiles with the valid token (empty bodies, so
    nothing is created): none answers 401. Runs after the 401 checks, which need the same ids."""
    problems = []
    for method, path, kwargs in applicable_requests(conformance_config, real_ids):
        resp = api.request(method, path, **kwargs)
        if resp.status == 401:
            problems.append(f"{method} {path}: got 401 with a valid token ({resp.describe()})")
    assert not problems, "expected the valid token accepted, got:\n" + "\n".join(problems)


@requirement("ERR-007")
def test_unknown_path_gets_404_in_the_envelope(api: ApiClient, run_id: str) -> None:
    """GET and POST on paths the contract does not have return 404 `not_found` in the
    envelope, not an HTML page or an empty body."""
    for method, path in (("GET", f"/no-such-resource-{run_id}"), ("POST", f"/orders-{run_id}/x")):
        resp = api.request(method, path)
        problem = envelope_problem(resp, 404, "not_found")
        assert problem is None, problem


def new_key(run_id: str) -> str:
    return f"{run_id}-{uuid.uuid4().hex}"


def version_of(api: ApiClient, order_id: str) -> Any:
    resp = api.request("GET", f"/orders/{order_id}")
    return resp.json.get("version") if isinstance(resp.json, dict) else None


@requirement("ERR-006")
def test_malformed_json_gets_400_invalid_json(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """POST /orders with a body cut off mid-JSON (sent with Content-Length, then chunked), and
    PATCH /orders/{id} with trailing garbage (both declared application/json), get 400
    `invalid_json`; the order keeps its version."""
    raw = json.dumps(factory.order_body())[:-7]
    for chunked in (False, True):
        resp = api.request(
            "POST",
            "/orders",
            content=raw,
            headers={"Content-Type": "application/json", "Idempotency-Key": new_key(run_id)},
            chunked=chunked,
        )
        problem = envelope_problem(resp, 400, "invalid_json")
        assert problem is None, f"{problem} ({FRAMING[chunked]})"
    order = factory.create_order()
    resp = api.request(
        "PATCH",
        f"/orders/{order['id']}",
        content='{"packing_note": "x"} trailing',
        headers={"Content-Type": "application/json", "If-Match": f'"{order["version"]}"'},
    )
    problem = envelope_problem(resp, 400, "invalid_json")
    assert problem is None, problem
    assert version_of(api, order["id"]) == order["version"], (
        f"expected order {order['id']} unchanged (version {order['version']}) after the refusal"
    )


@requirement("API-007")
def test_unknown_request_field_gets_422_unknown_field(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """POST /orders with an extra top-level field the schema does not define SHOULD get 422
    `unknown_field` (decision 27: request objects are closed), so a typo does not vanish."""
    body = factory.order_body()
    body[f"x_unexpected_{run_id}"] = "surprise"
    resp = api.request("POST", "/orders", json=body, headers={"Idempotency-Key": new_key(run_id)})
    problem = envelope_problem(resp, 422, "unknown_field")
    assert problem is None, problem


@requirement("ERR-009")
def test_wrong_content_type_gets_415(api: ApiClient, factory: TestData, run_id: str) -> None:
    """POST /orders and PATCH /orders/{id} with valid JSON declared as text/plain get 415
    `unsupported_media_type`; the order keeps its version."""
    resp = api.request(
        "POST",
        "/orders",
        content=json.dumps(factory.order_body()),
        headers={"Content-Type": "text/plain", "Idempotency-Key": new_key(run_id)},
    )
    problem = envelope_problem(resp, 415, "unsupported_media_type")
    assert problem is None, problem
    order = factory.create_order()
    resp = api.request(
        "PATCH",
        f"/orders/{order['id']}",
        content=json.dumps({"packing_note": "changed"}),
        headers={"Content-Type": "application/xml", "If-Match": f'"{order["version"]}"'},
    )
    problem = envelope_problem(resp, 415, "unsupported_media_type")
    assert problem is None, problem
    assert version_of(api, order["id"]) == order["version"], (
        f"expected order {order['id']} unchanged (version {order['version']}) after the refusal"
    )


@requirement("ERR-010")
def test_oversized_body_gets_413(api: ApiClient, factory: TestData, run_id: str) -> None:
    """A 16 MiB JSON order (a huge packing_note) gets 413 `payload_too_large` (the limit is the
    server's choice up to 16 MiB), sent with Content-Length and again chunked (a limit checked on
    Content-Length alone lets the chunked one through), and no order is created."""
    body = factory.order_body()
    body["packing_note"] = "x" * OVERSIZED_BYTES
    for chunked in (False, True):
        resp = api.request(
            "POST",
            "/orders",
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": new_key(run_id)},
            timeout=120,
            chunked=chunked,
        )
        problem = envelope_problem(resp, 413, "payload_too_large")
        assert problem is None, f"{problem} ({FRAMING[chunked]})"
    left = orders_with_reference(api, body["reference"])
    assert left == [], f"expected no order after the 413s, got {len(left)}"


@requirement("ERR-011")
def test_wrong_method_gets_405(api: ApiClient, run_id: str) -> None:
    """DELETE /orders and PUT /shipments (methods the paths do not support) get 405
    `method_not_allowed` in the envelope, never 404 or 2xx, with an `Allow` header that lists
    the path's own method (GET) and not the refused one (RFC 9110: Allow is a MUST on a 405)."""
    for method, path in (("DELETE", "/orders"), ("PUT", "/shipments")):
        resp = api.request(method, path)
        problem = envelope_problem(resp, 405, "method_not_allowed")
        assert problem is None, problem
        allowed = {m.strip().upper() for m in (resp.headers.get("allow") or "").split(",")}
        assert "GET" in allowed and method not in allowed, (
            f"expected an Allow header listing GET (and not {method}) on the 405, got"
            f" {resp.headers.get('allow')!r} ({resp.describe()})"
        )


@requirement("ERR-013")
def test_errors_list_when_present_is_well_formed(
    api: ApiClient, factory: TestData, run_id: str
) -> None:
    """An order with two invalid fields (quantity 0, country 'Australia') gets 422 with the
    top-level error; if it also lists errors[], every item has a code, a message and a field."""
    body = factory.order_body()
    body["items"][0]["quantity"] = 0
    body["ship_to"]["country"] = "Australia"
    resp = api.request("POST", "/orders", json=body, headers={"Idempotency-Key": new_key(run_id)})
    body_json = resp.json if isinstance(resp.json, dict) else {}
    assert resp.status == 422 and error_of(resp), (
        f"expected 422 with the error envelope for two invalid fields, got {resp.status} "
        f"({resp.describe()})"
    )
    listed = body_json.get("errors")
    if listed is None:
        return
    assert isinstance(listed, list) and all(
        isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("message"), str)
        for e in listed
    ), f"expected errors[] of {{code, message, field}} objects, got {listed!r} ({resp.describe()})"


@requirement("API-001")
def test_base_url_carries_the_major_version(api: ApiClient) -> None:
    """The API is served under a path that ends in `/v1` (the spec's servers), and answers
    there (GET /warehouses is 200)."""
    path = urlsplit(api.base_url).path.rstrip("/")
    assert path.endswith("/v1"), f"expected the base URL's path to end in /v1, got {path or '/'!r}"
    resp = api.request("GET", "/warehouses")
    assert resp.status == 200, f"expected the API to answer under {path}, got {resp.describe()}"
