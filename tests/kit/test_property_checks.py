"""The property-based checks have teeth: each fails on a server broken in exactly its way.

Each broken server is the reference sandbox behind one ASGI wrapper (tests/kit/broken_property.py).
The runner is called directly, restricted to the few operations that expose the fault and to a
handful of examples, so each test takes seconds. The same restricted run on the unmodified
sandbox must be clean for that check: the pass half of "passes if / fails if".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.property.mapping import CHECK_REQUIREMENTS
from conformance.property.runner import PropertyRun, PropertySettings, run_unit_phases
from tests.kit import broken_property
from tests.live_server import serve

sandbox_app = pytest.importorskip("fulfillment_sandbox.app")

TOKEN = "wms_test_acme_token"
SEED = 20260702


def _seed_an_order(base_url: str) -> str:
    """One order with priced lines, so order bodies with timestamps and money exist to read."""
    body = {
        "order_number": f"PROP-{uuid.uuid4().hex[:8]}",
        "reference": f"prop-{uuid.uuid4().hex[:8]}",
        "warehouse_id": "wh_syd_1",
        "shipping_method_id": "sm_auspost_express",
        "ship_to": {"name": "Jane Doe", "address1": "1 Main St", "city": "Sydney", "country": "AU"},
        "items": [
            {"sku": "WIDGET-BLUE-M", "quantity": 1, "unit_price": "19.90", "currency": "AUD"}
        ],
    }
    response = httpx.post(
        f"{base_url}/orders",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


def _run(app: Any, operations: tuple[str, ...], max_examples: int = 3) -> PropertyRun:
    with serve(app) as root:
        base_url = f"{root}/v1"
        _seed_an_order(base_url)
        settings = PropertySettings(
            base_url=base_url,
            token=TOKEN,
            profiles=("core",),
            seed=SEED,
            max_examples=max_examples,
            timeout=10,
            operations=operations,
        )
        return run_unit_phases(settings)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    def make(wrapper: Callable[[Any], Any] | None = None) -> Any:
        app = sandbox_app.create_app(str(tmp_path / f"sandbox-{uuid.uuid4().hex[:6]}.db"))
        return wrapper(app) if wrapper is not None else app

    yield make


# (wrapper, operations that expose it, check that must fail, requirement id it must fail)
CASES = [
    pytest.param(
        broken_property.offset_timestamps,
        ("listOrders", "listInventory"),
        "fulfillment_timestamps_end_in_z",
        "API-003",
        id="timestamps-with-plus-00-00",
    ),
    pytest.param(
        broken_property.nanosecond_timestamps,
        ("listOrders", "listInventory"),
        "fulfillment_timestamps_end_in_z",
        "API-003",
        id="timestamps-with-nine-digits",
    ),
    pytest.param(
        broken_property.float_money,
        ("listOrders",),
        "fulfillment_money_is_decimal_string",
        "API-005",
        id="money-as-float",
    ),
    pytest.param(
        broken_property.bare_errors,
        ("getOrder",),
        "fulfillment_error_envelope",
        "ERR-001",
        id="4xx-without-envelope",
    ),
    pytest.param(
        broken_property.error_in_200,
        ("getOrder",),
        "fulfillment_2xx_has_no_error",
        "ERR-003",
        id="200-with-error-body",
    ),
    pytest.param(
        broken_property.camel_case_codes,
        ("getOrder",),
        "fulfillment_error_code_snake_case",
        "ERR-002",
        id="camel-case-error-codes",
    ),
    pytest.param(
        broken_property.mismatched_request_id,
        ("getOrder",),
        "fulfillment_error_request_id_matches",
        "ERR-005",
        id="error-request-id-differs-from-header",
    ),
    pytest.param(
        broken_property.no_request_id_header,
        ("listWarehouses",),
        "fulfillment_request_id_header",
        "ERR-004",
        id="no-x-request-id",
    ),
    pytest.param(
        broken_property.plain_names_only,
        ("createOrder",),
        "fulfillment_valid_request_not_refused_as_malformed",
        "API-010",
        id="schema-valid-name-refused-as-malformed",
    ),
    pytest.param(
        broken_property.server_error_on_big_limit,
        ("listWarehouses",),
        "not_a_server_error",
        "ERR-012",
        id="500-on-some-input",
    ),
    pytest.param(
        broken_property.lenient_list_queries,
        ("listWarehouses",),
        "negative_data_rejection",
        "ERR-008",
        id="invalid-query-values-ignored",
    ),
    pytest.param(
        broken_property.body_errors_as_400,
        ("createOrder",),
        "fulfillment_invalid_body_refused_with_422",
        "ERR-008",
        id="schema-invalid-body-answered-400",
    ),
    pytest.param(
        broken_property.validation_errors_name_no_field,
        ("createOrder",),
        "fulfillment_invalid_body_error_names_field",
        "ERR-008",
        id="validation-error-names-no-field",
    ),
]


@pytest.mark.parametrize(("wrapper", "operations", "check", "requirement_id"), CASES)
def test_the_check_fails_on_a_server_broken_in_its_way(
    sandbox: Callable[..., Any],
    wrapper: Callable[[Any], Any],
    operations: tuple[str, ...],
    check: str,
    requirement_id: str,
) -> None:
    assert CHECK_REQUIREMENTS[check] == (requirement_id,)
    run = _run(sandbox(wrapper), operations)
    failing = run.for_checks(check)
    assert failing, f"expected {check} to fail, got {run.summary()}: {run.findings}"
    assert all(requirement_id in finding.requirement_ids for finding in failing)
    assert run.for_requirements(requirement_id)
    # The message names the operation and carries a reproduction without the token.
    text = "\n".join(finding.describe() for finding in failing)
    assert TOKEN not in text
    assert "curl" in text


@pytest.mark.parametrize(("wrapper", "operations", "check", "requirement_id"), CASES)
def test_the_check_passes_on_the_reference_sandbox(
    sandbox: Callable[..., Any],
    wrapper: Callable[[Any], Any],
    operations: tuple[str, ...],
    check: str,
    requirement_id: str,
) -> None:
    run = _run(sandbox(), operations)
    assert run.requests > 0 and not run.errors, run.summary()
    assert not run.for_checks(check), "\n".join(f.describe() for f in run.for_checks(check))
