"""The fixtures checks use, registered by the plugin only when the kit is switched on.

They live apart from `plugin.py` so that a pytest run that does not ask for the kit never sees a
fixture named `api` or `spec` (the plugin stays inert). Session-scoped: one
HTTP session (one request count, one recording, one rate cap) for the whole run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import fulfillment_spec
import pytest

from conformance.config import Config
from conformance.driver import (
    DRIVER_METHODS,
    SandboxDriver,
    WarehouseDriver,
    load_driver,
    step_name,
)
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient, ApiResponse, HttpSession
from conformance.validation import SpecValidator

if TYPE_CHECKING:  # the plugin imports this module: at run time, only inside `_state`
    from conformance.plugin import ConformanceRun

__all__ = [
    "api",
    "conformance_config",
    "driver",
    "factory",
    "http_session",
    "note",
    "recorded_responses",
    "reference_data",
    "run_id",
    "schema_validator",
    "second_api",
    "spec",
]


# The user_properties key under which a passing check leaves a note for the report (the `note`
# fixture), and the one under which a check hands over evidence it gathered itself (an evidence
# item: request, response, curl), e.g. from a Schemathesis case the kit did not send.
NOTE = "conformance_note"
EVIDENCE = "conformance_evidence"


def _state(request: pytest.FixtureRequest) -> ConformanceRun:
    from conformance.plugin import SESSION_KEY

    return request.config.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def conformance_config(request: pytest.FixtureRequest) -> Config:
    """The run's settings (base URL, profiles, seed, run id, ...); tokens hidden from repr."""
    return _state(request).config


@pytest.fixture
def note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """`note("what the check passed on")`: a passing check's remark, shown in the report."""

    def leave(text: str) -> None:
        request.node.user_properties.append((NOTE, text))

    return leave


@pytest.fixture(scope="session")
def run_id(conformance_config: Config) -> str:
    """Short unique tag for everything this run creates."""
    return conformance_config.run_id


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The loaded OpenAPI document (do not mutate)."""
    return fulfillment_spec.load_openapi()


@pytest.fixture(scope="session")
def schema_validator(spec: dict[str, Any]) -> SpecValidator:
    """`schema_validator(resp)` -> list of problems; `schema_validator(body, "Order")` too;
    `.validate_component(body, name)`, `.response_problems(resp)`."""
    return SpecValidator(spec)


@pytest.fixture(scope="session")
def http_session(
    request: pytest.FixtureRequest, conformance_config: Config, spec: dict[str, Any]
) -> Iterator[HttpSession]:
    session = HttpSession(
        conformance_config.base_url,
        timeout=conformance_config.timeout,
        max_rps=conformance_config.max_rps,
        spec=spec,
    )
    _state(request).attach_http(session)
    yield session
    session.close()


@pytest.fixture(scope="session")
def api(http_session: HttpSession, conformance_config: Config) -> ApiClient:
    """The main partner's client: `api.request(method, path, json=..., params=..., headers=...,
    token=DEFAULT|None|"a-bad-token") -> ApiResponse`."""
    return ApiClient(http_session, conformance_config.token)


@pytest.fixture(scope="session")
def second_api(http_session: HttpSession, conformance_config: Config) -> ApiClient:
    """The second partner's client (security profile); skips the check without --second-token."""
    if not conformance_config.second_token:
        pytest.skip("no second token")
    return ApiClient(http_session, conformance_config.second_token)


class SkippingDriver:
    """Wraps a driver: NotImplementedError (or a missing method) -> the check is skipped."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"SkippingDriver({type(self._inner).__name__})"

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name, None)
        if attribute is None:
            if name in DRIVER_METHODS:
                pytest.skip(f"driver cannot {step_name(name)}")
            raise AttributeError(name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except NotImplementedError:
                pytest.skip(f"driver cannot {step_name(name)}")

        return call


@pytest.fixture(scope="session")
def driver(api: ApiClient, conformance_config: Config) -> WarehouseDriver:
    """The warehouse side: pick, hold, ship, advance, void, set_stock, adjust, receive_inbound,
    receive_return (SandboxDriver, or the vendor's --driver module:Class)."""
    driver_class = load_driver(conformance_config.driver_spec)
    if driver_class is SandboxDriver:
        inner: Any = SandboxDriver(api=api)
    else:
        inner = driver_class(
            base_url=conformance_config.base_url,
            token=conformance_config.token,
            timeout=conformance_config.timeout,
        )
    wrapped: WarehouseDriver = SkippingDriver(inner)
    return wrapped


@pytest.fixture(scope="session")
def reference_data(api: ApiClient, driver: WarehouseDriver, run_id: str) -> ReferenceData:
    return ReferenceData(api, driver, run_id)


@pytest.fixture
def factory(api: ApiClient, driver: WarehouseDriver, reference_data: ReferenceData) -> TestData:
    """Run-tagged test data: `sku(stock=...)`, `order_body(**overrides)`, `create_order(...)`,
    `warehouse_ids`, `shipping_method_ids`, `unique(prefix)`, `idempotency_key()`."""
    return TestData(api, driver, reference_data)


@pytest.fixture(scope="module")
def module_factory(
    api: ApiClient, driver: WarehouseDriver, reference_data: ReferenceData
) -> TestData:
    """The run's `factory` for a module-scoped scenario (orders or stock several checks of one
    module share); `factory` is per check."""
    return TestData(api, driver, reference_data)


@pytest.fixture(scope="session")
def recorded_responses(http_session: HttpSession) -> Callable[[], list[ApiResponse]]:
    """A function returning every exchange recorded so far (for cross-cutting checks)."""
    return http_session.recorded
