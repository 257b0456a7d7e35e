"""Webhook delivery is fair: dead subscriptions with a huge backlog never starve a healthy one.

The scenario that once starved the sandbox: after many conformance runs against one long-lived
sandbox, 50 subscriptions point at dead receivers (most refuse the connection at once, a few accept
it and never answer) with 30,000 deliveries due between them; another subscription's fresh event
must still arrive promptly. The backlog is seeded straight into the database (through the storage
layer) for speed. Starvation used to mean a wait of a minute and more; the bound asserted here is
generous for a busy machine, and the measured figure is printed (bench/bench_delivery.py measures
it properly).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from fulfillment_sandbox.app import create_app
from fulfillment_sandbox.storage import Database, dumps, now_iso
from starlette.applications import Starlette
from starlette.routing import Route

from tests.live_server import free_port, serve

from .conftest import ACME, GLOBEX, new_sku
from .spec_client import SpecClient
from .test_webhooks import Receiver, _subscribe, wait_until

BACKLOG = 30_000
REFUSING = 45  # dead receivers that refuse the connection at once
SILENT = 5  # dead receivers that accept the connection and never answer (5 s timeout each)
ARRIVAL_BOUND = 15.0  # seconds; starvation was 60 s and more


@contextlib.contextmanager
def silent_receiver() -> Iterator[str]:
    """A URL whose port accepts connections (into the listen backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/silent"


def refusing_url(n: int) -> str:
    """A URL on a port nothing listens on: the connection is refused at once."""
    return f"http://127.0.0.1:{free_port()}/refused-{n}"


def seed_backlog(db: Database, partner: str, hook_ids: list[str], total: int) -> None:
    """`total` deliveries, all due now, spread evenly over `hook_ids` (one event per round)."""
    rounds = total // len(hook_ids)
    events = [
        (f"evt_seed_{partner}_{n:06d}", partner, "inventory.updated", now_iso())
        for n in range(rounds)
    ]
    with db.write() as conn:
        conn.executemany(
            "INSERT INTO events (id, partner, type, created_at, body) VALUES (?, ?, ?, ?, ?)",
            [
                (*event, dumps({"event_id": event[0], "event_type": event[2], "data": {}}))
                for event in events
            ],
        )
        conn.executemany(
            "INSERT INTO deliveries (event_id, webhook_id, state, attempts, next_attempt_at) "
            "VALUES (?, ?, 'pending', 0, 0)",
            [(event[0], hook_id) for event in events for hook_id in hook_ids],
        )


def attempts_made(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute("SELECT COALESCE(SUM(attempts), 0) FROM deliveries").fetchone()[0])


def pending_count(db: Database) -> int:
    with db.read() as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
        )


def test_a_healthy_subscription_is_not_starved_by_dead_ones(tmp_path: Path) -> None:
    recv = Receiver()
    healthy = Starlette(routes=[Route("/hook", recv.handle, methods=["POST"])])
    with contextlib.ExitStack() as stack:
        dead_urls = [refusing_url(n) for n in range(REFUSING)]
        dead_urls += [stack.enter_context(silent_receiver()) for _ in range(SILENT)]
        healthy_url = stack.enter_context(serve(healthy)) + "/hook"
        app = create_app(str(tmp_path / "sandbox.sqlite3"))
        base = stack.enter_context(serve(app))
        db: Database = app.state.services.db
        acme = stack.enter_context(SpecClient(base, ACME))
        globex = stack.enter_context(SpecClient(base, GLOBEX))
        # Most dead subscriptions are another partner's; a few are the healthy one's partner's.
        dead = {ACME: dead_urls[:10], GLOBEX: dead_urls[10:]}
        for partner, client in ((ACME, acme), (GLOBEX, globex)):
            hooks = [_subscribe(client, url, ["inventory.updated"])["id"] for url in dead[partner]]
            seed_backlog(db, partner, hooks, BACKLOG * len(hooks) // len(dead_urls))
        _subscribe(acme, healthy_url, ["inventory.adjusted"])
        sku = new_sku(acme, {"wh_syd_1": 5})
        wait_until(lambda: attempts_made(db) >= 100)  # the dead backlog is being worked on
        started = time.monotonic()
        acme.post(
            "/sandbox/inventory-adjustments",
            json={"sku": sku, "warehouse_id": "wh_syd_1", "quantity_delta": 1, "reason": "found"},
        )
        recv.wait_for(1, timeout=ARRIVAL_BOUND)
        latency = recv.arrived[0] - started
        print(
            f"\nhealthy delivery arrived {latency:.2f} s after the change; {pending_count(db)} "
            f"deliveries pending to {len(dead_urls)} dead subscriptions, which had had "
            f"{attempts_made(db)} attempts"
        )
