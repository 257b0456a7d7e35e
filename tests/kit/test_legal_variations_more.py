"""No false alarms, the gallery's second half: stacked variants, a sandbox with thousands of
orders of history, and two kit runs at once against one sandbox.

The first half, and everything both halves share (how a variant is served and run, what
"accepted" means), is tests/kit/test_legal_variations.py; the split only lets pytest-xdist give
the gallery two workers. This module makes its own reference run to compare with.
"""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kit import variants as v
from tests.kit.harness import KitResult
from tests.kit.test_legal_variations import (
    ACME,
    SERVED,
    WRAPPERS,
    assert_accepted,
    gallery_runs,
    kit,
    served_runs,
    wrappers_of,
)
from tests.live_server import serve

pytest.importorskip("fulfillment_sandbox.app")

# Each test runs the kit in a subprocess (bounded itself); the default 300 s is too tight.
pytestmark = pytest.mark.timeout(3600)

HISTORY_ORDERS = 3000


def seed_orders(base_url: str, count: int) -> None:
    """`count` orders of an earlier "run" (some cancelled), created through the API itself."""
    headers = {"Authorization": f"Bearer {ACME}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        warehouse = client.get("/warehouses").json()["data"][0]["id"]
        stock = {"sku": "HISTORY-SKU", "warehouse_id": warehouse, "on_hand": count * 2}
        assert client.post("/sandbox/inventory", json=stock).status_code == 200

        def create(n: int) -> None:
            body = {
                "order_number": f"HIST-{n:05d}",
                "reference": f"hist-ref-{n:05d}",
                "warehouse_id": warehouse,
                "ship_to": {
                    "name": "History",
                    "address1": "1 Old St",
                    "city": "Sydney",
                    "country": "AU",
                },
                "items": [{"sku": "HISTORY-SKU", "quantity": 1 + n % 3}],
            }
            created = client.post("/orders", json=body, headers={"Idempotency-Key": f"hist-{n}"})
            assert created.status_code == 201, created.text
            if n % 10 == 0:
                order_id = created.json()["id"]
                assert client.post(f"/orders/{order_id}/cancel").status_code == 200

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(count)))


def run_with_history(tmp_path: Path) -> KitResult:
    variant = v.BY_NAME["history-3000-orders"]
    tmp_path.mkdir(parents=True, exist_ok=True)
    with serve(variant.build(str(tmp_path / "sandbox.db"))) as url:
        started = time.monotonic()
        seed_orders(f"{url}/v1", HISTORY_ORDERS)
        print(f"seeded {HISTORY_ORDERS} orders in {time.monotonic() - started:.1f} s")
        return kit(f"{url}/v1", tmp_path)


def run_twice_at_once(tmp_path: Path) -> list[KitResult]:
    variant = v.BY_NAME["two-concurrent-runs"]
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(parents=True)
    second.mkdir()
    with (
        serve(variant.build(str(tmp_path / "sandbox.db"))) as url,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        runs = [pool.submit(kit, f"{url}/v1", where) for where in (first, second)]
        return [run.result() for run in runs]


HERE = served_runs(second_module=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference run, this module's served variants, the sandbox with history and the two
    runs at once, all started together; keyed by name."""
    return gallery_runs(
        tmp_path_factory.mktemp("legal-more"),
        list(HERE.values()),
        **{"history-3000-orders": run_with_history, "two-concurrent-runs": run_twice_at_once},
    )


@pytest.fixture(scope="module")
def baseline(runs: dict[str, Any]) -> KitResult:
    """The kit against the plain reference sandbox, with the gallery's options."""
    result: KitResult = runs["baseline"]
    assert result.report, f"expected a report from the reference run, got exit {result.exit_code}"
    return result


@pytest.mark.parametrize("variant", wrappers_of(HERE))
def test_kit_accepts_stacked_legal_variant(
    variant: v.LegalVariant, baseline: KitResult, runs: dict[str, Any]
) -> None:
    served = SERVED[variant.name]
    assert_accepted(served, runs[served.name], baseline)


def test_kit_accepts_a_sandbox_with_thousands_of_orders(
    baseline: KitResult, runs: dict[str, Any]
) -> None:
    variant = v.BY_NAME["history-3000-orders"]
    assert_accepted(variant, runs[variant.name], baseline)


def test_two_kit_runs_at_once_against_one_sandbox(
    baseline: KitResult, runs: dict[str, Any]
) -> None:
    variant = v.BY_NAME["two-concurrent-runs"]
    for result in runs[variant.name]:
        assert_accepted(variant, result, baseline)


def test_the_two_modules_share_every_served_variant_out() -> None:
    """No served variant is in both halves of the gallery or in neither."""
    first = served_runs(second_module=False)
    assert not set(first) & set(HERE)
    assert set(first) | set(HERE) == {served.name for served in SERVED.values()}
    assert len(wrappers_of(first)) + len(wrappers_of(HERE)) == len(WRAPPERS)
