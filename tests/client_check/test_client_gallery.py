"""The client check's gallery (issue 12): the reference ERP client passes under every chaos
profile; a client broken in one way fails the rule it breaks, with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fulfillment_erp_client.adapter import make_adapter
from fulfillment_sandbox.app import create_app
from fulfillment_sandbox.chaos import PROFILES

from conformance.client.run import check_client
from tests.live_server import serve

from . import broken_clients

TOKEN = "wms_test_acme_token"
SEED = 1


@pytest.fixture
def chaos_sandbox(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(profile: str) -> str:
            app = create_app(str(tmp_path / f"{profile}.db"), chaos=(profile,), chaos_seed=SEED)
            return f"{stack.enter_context(serve(app))}/v1"

        yield start


@pytest.mark.parametrize("profile", PROFILES)
def test_the_reference_client_passes_under_every_profile(
    chaos_sandbox: Callable[[str], str], profile: str
) -> None:
    result = check_client(make_adapter, chaos_sandbox(profile), TOKEN, orders=10, seed=SEED)
    print(profile, result["figures"], result["chaos"]["faults"])
    failed = [o for o in result["outcomes"] if o["outcome"] == "failed"]
    assert not failed, failed
    assert result["figures"]["duplicates"] == result["figures"]["lost"] == 0
    assert result["figures"]["shipments"] > 0
    assert result["chaos"]["faults"], f"{profile} injected nothing: the run proved nothing"
    outcomes = {o["id"]: o["outcome"] for o in result["outcomes"]}
    assert outcomes["CLI-007"] == outcomes["CLI-008"] == "passed"  # webhooks were judged too
    if profile == "throttle":
        assert outcomes["CLI-006"] == "passed"


BROKEN = [
    (broken_clients.no_idempotency_key, "drop-after-commit", "CLI-002", "duplicate_reference"),
    (broken_clients.exclusive_updated_since, "moving-rows", "CLI-005", "the ERP's view is of"),
    (broken_clients.no_dedup, "latency", "CLI-003", "handed to the ERP 2 times"),
    (broken_clients.ignores_retry_after, "throttle", "CLI-006", "before the Retry-After"),
    (broken_clients.no_event_dedup, "webhook-duplicates", "CLI-007", "applied 2 times"),
]


@pytest.mark.parametrize(
    ("factory", "profile", "rule", "reason"), BROKEN, ids=[case[0].__name__ for case in BROKEN]
)
def test_a_broken_client_fails_with_the_reason(
    chaos_sandbox: Callable[[str], str],
    factory: Callable[..., Any],
    profile: str,
    rule: str,
    reason: str,
) -> None:
    result = check_client(factory, chaos_sandbox(profile), TOKEN, orders=10, seed=SEED)
    outcomes = {o["id"]: o for o in result["outcomes"]}
    print(
        factory.__name__, profile, result["figures"], {i: o["outcome"] for i, o in outcomes.items()}
    )
    assert result["verdict"] == "failed"
    assert outcomes[rule]["outcome"] == "failed", outcomes[rule]
    assert any(reason in line for line in outcomes[rule]["evidence"]), outcomes[rule]["evidence"]


def test_the_kit_names_the_sandboxs_chaos_profiles() -> None:
    from conformance.client.command import PROFILES as KIT_PROFILES

    assert KIT_PROFILES == PROFILES


@pytest.mark.parametrize("second", ["2026-12-02T06:12:18", "2026-12-31T23:59:59"])
def test_the_exclusive_client_asks_past_every_mark(second: str) -> None:
    """Its bound is one millisecond past the mark whatever the clock says, so whether it loses
    a moved row depends on the chaos seed alone (a float bound once equalled 3 marks in 10)."""
    from fulfillment_erp_client.store import parse_time

    for ms in range(1000):
        mark = f"{second}.{ms:03d}Z"
        bound = broken_clients.one_ms_after(mark)
        assert (parse_time(bound) - parse_time(mark)).total_seconds() * 1000 == 1, (mark, bound)
        assert len(bound) == len(mark), bound
