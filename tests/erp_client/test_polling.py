"""Polling /shipments and /inventory: resumable after a crash, nothing lost, nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fulfillment_erp_client import ErpClient
from fulfillment_erp_client.store import FeedState, parse_time

from tests.erp_client.conftest import TOKEN, Crash, Recorder, Warehouse, order_body


def crash_on_shipments_page(n: int) -> Any:
    pages: list[int] = []

    def fault(request: httpx.Request, response: httpx.Response, _: int) -> None:
        if request.method == "GET" and request.url.path.endswith("/shipments"):
            pages.append(1)
            if len(pages) == n:
                raise Crash()

    return fault


def test_a_poll_resumes_after_a_crash_without_missing_or_repeating(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    store = str(tmp_path / "erp.db")
    handled: list[tuple[str, str]] = []

    def handle(row: dict[str, Any]) -> None:
        handled.append((row["id"], row["updated_at"]))

    with ErpClient(sandbox_url, TOKEN, store) as erp:
        orders = [erp.create_order(order_body(f"F-P{n}", quantity=1)) for n in range(6)]
    for order in orders[:5]:
        warehouse.ship(order["id"])

    # Pages of 2: the process dies as the second page arrives (before it is applied).
    with (
        ErpClient(
            sandbox_url, TOKEN, store, page_size=2, transport=Recorder(crash_on_shipments_page(2))
        ) as erp,
        pytest.raises(Crash),
    ):
        erp.poll_shipments(handle)
    assert len(handled) == 2

    recorder = Recorder()
    with ErpClient(sandbox_url, TOKEN, store, page_size=2, transport=recorder) as erp:
        erp.poll_shipments(handle)  # resumes from the stored cursor
        assert recorder.exchanges[0][0].url.params.get("cursor")
        assert len(handled) == 5
        mark = max(handled, key=lambda pair: parse_time(pair[1]))[1]

        # Nothing changed: the inclusive bound serves the boundary row again; it is not new.
        recorder.exchanges.clear()
        assert erp.poll_shipments(handle) == []
        ((request, response),) = recorder.exchanges
        assert request.url.params["updated_since"] == mark
        assert [row["updated_at"] for row in response.json()["data"]] == [mark]

        # A shipment moves on and another leaves: exactly those two come, each once.
        moved = handled[0][0]
        warehouse.post(f"/sandbox/shipments/{moved}/advance", {"status": "in_transit"})
        warehouse.ship(orders[5]["id"])
        fresh = erp.poll_shipments(handle)
        assert {row["id"] for row in fresh} == {moved, warehouse.all_shipments()[-1]["id"]}

    assert len(handled) == len(set(handled)) == 7
    server = {(row["id"], row["updated_at"]) for row in warehouse.all_shipments()}
    assert server <= set(handled)  # the newest version of every shipment was handled
    stored = ErpClient(sandbox_url, TOKEN, store).store.records("shipments")
    assert {(k, v["updated_at"]) for k, v in stored.items()} == server


def test_inventory_is_polled_by_sku_with_its_own_mark(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    with ErpClient(sandbox_url, TOKEN, str(tmp_path / "erp.db"), page_size=2) as erp:
        first = erp.poll_inventory()
        skus = {row["sku"] for row in first}
        assert len(skus) == len(first) >= 4
        assert erp.poll_inventory() == []  # boundary row again, deduplicated
        warehouse.post(
            "/sandbox/inventory", {"sku": "GIZMO-BLACK", "warehouse_id": "wh_syd_1", "on_hand": 7}
        )
        (changed,) = erp.poll_inventory()
        assert changed["sku"] == "GIZMO-BLACK"
        stock = {w["warehouse_id"]: w["on_hand"] for w in changed["warehouses"]}
        assert stock["wh_syd_1"] == 7


def test_an_expired_cursor_restarts_the_walk_from_the_mark(
    sandbox_url: str, warehouse: Warehouse, tmp_path: Path
) -> None:
    store = str(tmp_path / "erp.db")
    with ErpClient(sandbox_url, TOKEN, store, page_size=2) as erp:
        orders = [erp.create_order(order_body(f"F-E{n}", quantity=1)) for n in range(3)]
        for order in orders:
            warehouse.ship(order["id"])
        first = erp.poll_shipments()
        # The walk is left with a cursor the server no longer honours (kept 24 hours: PAG-017).
        state = erp.store.feed("shipments")
        with erp.store.transaction() as conn:
            erp.store.save_feed(conn, "shipments", FeedState(state.mark, "expired", None))
    recorder = Recorder()
    with ErpClient(sandbox_url, TOKEN, store, page_size=2, transport=recorder) as erp:
        assert erp.poll_shipments() == []  # restarted from the mark; the overlap deduplicated
        statuses = [r.status_code for _, r in recorder.exchanges]
        assert statuses[0] == 400 and set(statuses[1:]) == {200}
        assert "cursor" not in recorder.exchanges[1][0].url.params
        assert erp.store.feed("shipments").cursor is None
    assert len(first) == 3
