"""Concurrent duplicates never make two orders (decision 4), and polling walks skip nothing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .conftest import ACME, new_sku, order_body
from .spec_client import SpecClient


def test_fifty_concurrent_creates_with_one_key_make_one_order(base_url: str) -> None:
    body = order_body()
    barrier = threading.Barrier(50)

    def create(_: int) -> tuple[int, str]:
        with SpecClient(base_url, ACME) as client:
            barrier.wait()
            r = client.create_order(body, key="one-key-for-fifty")
            return r.status_code, r.json().get("id", r.text)

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(create, range(50)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {200, 201, 409}, statuses
    assert len({oid for status, oid in results if status < 300}) == 1
    with SpecClient(base_url, ACME) as client:
        listed = client.get("/orders", params={"reference": body["reference"]}).json()["data"]
    assert len(listed) == 1


def test_concurrent_creates_with_one_reference_make_one_order(base_url: str) -> None:
    body = order_body()

    def create(_: int) -> int:
        with SpecClient(base_url, ACME) as client:
            return client.create_order(body).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(pool.map(create, range(20)))
    assert statuses == [201] + [409] * 19


def test_shipment_walk_during_concurrent_writes_skips_nothing(base_url: str) -> None:
    acme = SpecClient(base_url, ACME)
    sku = new_sku(acme, {"wh_syd_1": 100_000})
    items = [{"sku": sku, "quantity": 1}]
    for _ in range(6):
        order_id = acme.create_order(order_body(items=items)).json()["id"]
        assert acme.post(f"/sandbox/orders/{order_id}/ship").status_code == 201
    before = {
        s["id"]: s["updated_at"]
        for s in acme.get("/shipments", params={"limit": 200}).json()["data"]
    }
    stop = threading.Event()
    created: list[str] = []

    def writer() -> None:
        with SpecClient(base_url, ACME) as client:
            while not stop.is_set():
                oid = client.create_order(order_body(items=items)).json()["id"]
                created.append(client.post(f"/sandbox/orders/{oid}/ship").json()["id"])

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
    while len(created) < 2:
        time.sleep(0.01)
    seen: list[tuple[str, str]] = []
    params: dict[str, str | int] = {"limit": 2}
    try:
        while True:
            page = acme.get("/shipments", params=params).json()
            seen += [(s["id"], s["updated_at"]) for s in page["data"]]
            if not page["pagination"]["has_more"]:
                break
            assert page["pagination"]["next_cursor"]
            params = {"limit": 2, "cursor": page["pagination"]["next_cursor"]}
            time.sleep(0.02)
            if len(seen) > 40:
                stop.set()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    ids = [sid for sid, _ in seen]
    assert len(ids) == len(set(ids)), "a row was served twice"
    assert set(before) <= set(ids), "an unchanged row was skipped"
    keys = [(updated, sid) for sid, updated in seen]
    assert keys == sorted(keys), "not in (updated_at, id) order"
    assert created, "the writers made no shipments during the walk"
    acme.close()
