"""Polling and lookup latency of the reference sandbox at 1 thousand and at 1 million orders.

The guide promises that incremental polling stays cheap however long a partner's history grows.
For each size this seeds a database straight through SQLite (one partner, a year of history:
orders, their lines and allocations, one delivered shipment each, SKUs and stock rows, stamped
the way the sandbox stamps them), then starts `python -m fulfillment_sandbox` on a free
127.0.0.1 port over it and measures p50/p99 of the polling and lookup requests, the page latency
of a 10,000-row cursor walk, POST /orders and GET /orders/{id} throughput with 1 and 16 clients,
webhook delivery latency, the server's RSS and the database size. The last `RECENT` orders fall
in the last hour at every size, so a poll has the same answer to give whatever the history: a
ratio near 1 means the cost does not grow with it. Then the kit's whole run (every profile, a
fixed seed) against a fresh sandbox and against the largest history: a kit that finds its own
data by filters and ids makes the same requests in about the same time (scale_extras.py).
Prints the SQLite query plan of every query measured. Asserts nothing; figures go to
bench/results/scale.json (scale-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from fulfillment_sandbox import inventory, orders, shipments
from fulfillment_sandbox.cursors import CursorCodec
from fulfillment_sandbox.paging import ListQuery
from fulfillment_sandbox.reference import seed_partner
from fulfillment_sandbox.shipments import DEFAULT_COST, TRACKING_URLS
from fulfillment_sandbox.storage import _ALPHABET, Database, dumps, format_ms, transaction
from sandbox_process import sandbox_process
from scale_extras import get_throughput, kit_run, print_kit_runs, webhook_latencies

PARTNER = "acme"
TOKEN = "wms_test_acme_token"
WAREHOUSE = "wh_syd_1"
RECENT = 100  # orders created, shipped and delivered within the last hour, at every size
HOUR_MS = 3_600_000
YEAR_MS = 365 * 24 * HOUR_MS
# One order's life, as offsets from its creation (ms). Creation times are multiples of 4 apart,
# so every stamp in a table is distinct, as the sandbox's strictly increasing clock makes them.
SHIP_AFTER = 10 * 60_000 + 1
DELIVER_AFTER = 40 * 60_000 + 2
CHUNK = 20_000
WALK_ROWS = 10_000
RESULTS = Path(__file__).resolve().parent / "results"


# --- seeding --------------------------------------------------------------------------------


def make_id(rng: random.Random, prefix: str) -> str:
    return prefix + "_" + "".join(rng.choices(_ALPHABET, k=14))


def creation_times(rows: int, now_ms: int) -> list[int]:
    """Older orders spread over the year before the last two hours; the last RECENT ones are
    created so that their whole life (up to delivery) ends inside the last hour."""
    older = max(0, rows - RECENT)
    start = now_ms - YEAR_MS
    span = YEAR_MS - 3 * HOUR_MS
    step = max(4, span // max(1, older)) // 4 * 4
    times = [start + n * step for n in range(older)]
    recent_start = (now_ms - HOUR_MS + 60_000 - DELIVER_AFTER) // 4 * 4
    times += [recent_start + n * 20_000 for n in range(rows - older)]
    return times


def order_skus(n: int, sku_count: int) -> list[str]:
    first = n % sku_count
    second = (n * 7 + 3) % sku_count
    names = {f"SCALE-{first:06d}", f"SCALE-{second:06d}"}
    return sorted(names)[: 1 + n % 2]


def order_rows(n: int, created: int, skus: list[str], rng: random.Random) -> dict[str, Any]:
    """The rows the sandbox writes for one order that was created, shipped and delivered."""
    order_id = make_id(rng, "ord")
    created_at = format_ms(created)
    shipped_at = format_ms(created + SHIP_AFTER)
    delivered_at = format_ms(created + DELIVER_AFTER)
    # Line ids as the sandbox assigns them (decision 46: by position); a shipment item names
    # the line it ships, as ShipmentItem requires.
    items = [
        {
            "line_id": str(position),
            "sku": sku,
            "quantity": 1 + n % 3,
            "unit_price": "19.99",
            "currency": "AUD",
        }
        for position, sku in enumerate(skus, start=1)
    ]
    doc = {
        "shipping_method_id": "sm_auspost_express",
        "shipping_method": "Express Post",
        "order_date": created_at,
        "signature_required": False,
        "insurance": False,
        "gift_message": None,
        "packing_note": None,
        "ship_to": {
            "name": f"Customer {n}",
            "address1": f"{1 + n % 400} Main St",
            "city": "Sydney",
            "state": "NSW",
            "postcode": "2000",
            "country": "AU",
        },
        "items": items,
    }
    number = "SBX" + "".join(rng.choices("0123456789", k=10)) + "AU"
    parcel = {
        "tracking_number": number,
        "tracking_url": TRACKING_URLS["auspost"].format(number),
        "carrier": "auspost",
        "service": "Express Post",
        "weight": {"value": 1.0, "unit": "kg"},
        "dimensions": {"length": 30, "width": 20, "height": 10, "unit": "cm"},
    }
    shipped_items = [
        {"line_id": item["line_id"], "sku": item["sku"], "quantity": item["quantity"]}
        for item in items
    ]
    ship_doc = {"cost": DEFAULT_COST, "parcels": [parcel], "items": shipped_items}
    # created (version 1), shipped (2), in_transit (3), out_for_delivery (4), delivered (5);
    # the order's last stamp comes just after its shipment's.
    return {
        "order": (
            order_id,
            PARTNER,
            f"SO-{n:07d}",
            f"REF-{n:07d}",
            "shipped",
            WAREHOUSE,
            5,
            created_at,
            format_ms(created + DELIVER_AFTER + 1),
            None,
            dumps(doc),
        ),
        "shipment": (
            make_id(rng, "shp"),
            PARTNER,
            order_id,
            "delivered",
            WAREHOUSE,
            shipped_at,
            shipped_at,
            delivered_at,
            0,
            dumps(ship_doc),
        ),
        # Shipping consumed the whole allocation; the sandbox keeps the row at zero.
        "allocations": [(order_id, sku, 0, 0) for sku in skus],
    }


def insert_chunk(conn: sqlite3.Connection, chunk: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO orders (id, partner, order_number, reference, status, warehouse_id, version,"
        " created_at, updated_at, cancelled_at, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [rows["order"] for rows in chunk],
    )
    conn.executemany(
        "INSERT INTO shipments (id, partner, order_id, status, warehouse_id, shipped_at, "
        "created_at, updated_at, voided, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [rows["shipment"] for rows in chunk],
    )
    conn.executemany(
        "INSERT INTO order_allocations (order_id, sku, allocated, backordered) VALUES (?,?,?,?)",
        [allocation for rows in chunk for allocation in rows["allocations"]],
    )


def insert_skus(conn: sqlite3.Connection, first: dict[str, int], last: dict[str, int]) -> None:
    """A SKU's updated_at is its last stock change: the shipment of the last order holding it
    (one stamp per SKU, after the shipment's, as `consume` takes them)."""
    conn.executemany(
        "INSERT INTO skus (partner, sku, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [
            (PARTNER, sku, format_ms(first[sku]), format_ms(last[sku]))
            for sku in sorted(last, key=last.__getitem__)
        ],
    )
    conn.executemany(
        "INSERT INTO stock (partner, sku, warehouse_id, on_hand) VALUES (?, ?, ?, ?)",
        [(PARTNER, sku, wh, 500) for sku in last for wh in ("wh_syd_1", "wh_mel_1")],
    )


def drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop the sandbox's own indexes on the seeded tables and return their definitions: building
    an index once over sorted keys is far faster than inserting a million random keys into it."""
    tables = ("orders", "shipments", "order_allocations", "skus", "stock")
    marks = ",".join("?" * len(tables))
    found = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    for name, _sql in found:
        conn.execute(f"DROP INDEX {name}")
    return [sql for _name, sql in found]


def sync_to_disk(db_path: Path) -> None:
    """Flush what the no-fsync bulk load left in the OS cache, so that the sandbox's first
    fsync (at its first commit) does not pay for a gigabyte of someone else's writes."""
    fd = os.open(db_path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seed(db_path: Path, rows: int) -> dict[str, Any]:
    """A sandbox database with `rows` historical orders; returns what the requests need."""
    started = time.perf_counter()
    db = Database(str(db_path))  # the sandbox's own schema and indexes
    with transaction(db, PARTNER) as tx:
        seed_partner(tx)
    db.close()
    rng = random.Random(rows)
    sku_count = max(50, rows // 20)
    now_ms = int(time.time() * 1000) - 60_000
    conn = sqlite3.connect(db_path, isolation_level=None)
    # Bulk load only: no journal and no fsync; the sandbox reopens it in WAL with FULL sync.
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("BEGIN")
    indexes = drop_indexes(conn)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    sample: list[tuple[str, str]] = []
    chunk: list[dict[str, Any]] = []
    for n, created in enumerate(creation_times(rows, now_ms)):
        skus = order_skus(n, sku_count)
        chunk.append(order_rows(n, created, skus, rng))
        for offset, sku in enumerate(skus):
            first.setdefault(sku, created)
            last[sku] = created + SHIP_AFTER + 1 + offset
        if n % max(1, rows // 200) == 0:
            sample.append((chunk[-1]["order"][0], chunk[-1]["order"][3]))
        if len(chunk) == CHUNK:
            insert_chunk(conn, chunk)
            chunk = []
    insert_chunk(conn, chunk)
    insert_skus(conn, first, last)
    for sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    sync_to_disk(db_path)
    return {"seconds": time.perf_counter() - started, "sample": sample, "now_ms": now_ms}


# --- query plans ----------------------------------------------------------------------------


def captured_sql(
    db_path: Path, call: Callable[[sqlite3.Connection, CursorCodec], Any]
) -> list[str]:
    """The SELECTs the sandbox's own code runs for `call`, with their parameters inlined."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        call(conn, CursorCodec(b"bench"))
    finally:
        conn.close()
    selects = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    # One of each shape: a page renders many rows with the same statement.
    return list({shape(sql): sql for sql in selects}.values())


def shape(sql: str) -> str:
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)


def walk_second_page(conn: sqlite3.Connection, codec: CursorCodec) -> None:
    page = orders.list_orders(conn, codec, PARTNER, ListQuery(limit=2))
    cursor = page["pagination"]["next_cursor"]
    orders.list_orders(conn, codec, PARTNER, ListQuery(cursor=cursor, limit=2))


def print_plans(db_path: Path, since: str, order_id: str, reference: str) -> dict[str, list[str]]:
    calls: dict[str, Callable[[sqlite3.Connection, CursorCodec], Any]] = {
        "shipments?updated_since": lambda c, k: shipments.list_shipments(
            c, k, PARTNER, ListQuery(filters={"updated_since": since})
        ),
        "inventory?updated_since": lambda c, k: inventory.list_inventory(
            c, k, PARTNER, ListQuery(filters={"updated_since": since})
        ),
        "orders?reference": lambda c, k: orders.list_orders(
            c, k, PARTNER, ListQuery(filters={"reference": reference})
        ),
        "orders/{id}": lambda c, _k: orders.get(c, PARTNER, order_id),
        "orders?cursor (walk)": walk_second_page,
    }
    plans: dict[str, list[str]] = {}
    for label, call in calls.items():
        print(f"  query plans: GET /{label}")
        for sql in captured_sql(db_path, call):
            conn = sqlite3.connect(db_path)
            steps = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            conn.close()
            plans[f"{label}: {shape(sql)}"] = steps
            print(f"    {shape(sql)}")
            for step in steps:
                print(f"      {step}")
    return plans


# --- serving and measuring ------------------------------------------------------------------


@contextlib.contextmanager
def sandbox(db_path: Path) -> Iterator[tuple[str, int]]:
    """The sandbox over `db_path` on a free loopback port: (base URL, server pid)."""
    # Opening may build a new index over a big table.
    with sandbox_process(db_path, startup_timeout=300) as served:
        yield served


def client(base: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60, trust_env=False
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "n": len(ordered)}


def timed_get(http: httpx.Client, path: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = http.get(path, params=params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


def read_cases(info: dict[str, Any], repeat: int) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    since = format_ms(info["now_ms"] - HOUR_MS)
    sample = info["sample"]
    picks = [sample[n % len(sample)] for n in range(repeat)]
    return {
        "GET /shipments?updated_since": [("/shipments", {"updated_since": since})] * repeat,
        "GET /inventory?updated_since": [("/inventory", {"updated_since": since})] * repeat,
        "GET /orders?reference": [("/orders", {"reference": ref}) for _, ref in picks],
        "GET /orders/{id}": [(f"/orders/{oid}", {}) for oid, _ in picks],
    }


def cursor_walk(http: httpx.Client, pages: int, limit: int = 200) -> Iterator[float]:
    """Latencies of `pages` pages of a walk over the orders from the oldest, `limit` a page;
    a history too short for that many is walked again from the start, so that every size
    serves the same number of pages side by side."""
    params: dict[str, Any] = {"limit": limit}
    for _ in range(pages):
        started = time.perf_counter()
        page = http.get("/orders", params=params).json()
        yield time.perf_counter() - started
        cursor = page["pagination"]["next_cursor"]
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}


def measure_reads(targets: list[tuple[str, dict[str, Any]]], repeat: int) -> list[dict[str, Any]]:
    """p50/p99 per query for every (base URL, seed info), one request to each in turn, so that
    whatever else the machine is doing weighs on every size alike."""
    clients = [client(base) for base, _ in targets]
    cases = [read_cases(info, repeat) for _, info in targets]
    figures: list[dict[str, Any]] = [{} for _ in targets]
    try:
        for label in cases[0]:
            samples: list[list[float]] = [[] for _ in targets]
            for n in range(-5, repeat):  # the first five warm the connection and the caches
                for http, case, into in zip(clients, cases, samples, strict=True):
                    elapsed = timed_get(http, *case[label][n % repeat])
                    if n >= 0:
                        into.append(elapsed)
            for figure, into in zip(figures, samples, strict=True):
                figure[label] = percentiles(into)
        walks = {n: cursor_walk(http, WALK_ROWS // 200) for n, http in enumerate(clients)}
        pages: list[list[float]] = [[] for _ in targets]
        while walks:
            for n, walk in list(walks.items()):
                step = next(walk, None)
                if step is None:
                    del walks[n]
                else:
                    pages[n].append(step)
        for figure, into in zip(figures, pages, strict=True):
            figure[f"cursor walk page ({WALK_ROWS:,} rows)"] = percentiles(into)
    finally:
        for http in clients:
            http.close()
    return figures


def order_body() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:12]
    return {
        "order_number": f"SO-{tag}",
        "reference": f"F-{tag}",
        "warehouse_id": WAREHOUSE,
        "shipping_method_id": "sm_auspost_express",
        "ship_to": {"name": "Jane Doe", "address1": "1 Main St", "city": "Sydney", "country": "AU"},
        "items": [{"sku": "SCALE-000001", "quantity": 1, "unit_price": "9.99", "currency": "AUD"}],
    }


def post_throughput(base: str, clients: int, total: int) -> float:
    """POST /orders per second from `clients` concurrent clients (every commit is fsynced)."""

    def worker(count: int) -> None:
        with client(base) as http:
            for _ in range(count):
                key = {"Idempotency-Key": str(uuid.uuid4())}
                response = http.post("/orders", json=order_body(), headers=key)
                assert response.status_code == 201, response.text

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [total // clients] * clients))
    return (total // clients * clients) / (time.perf_counter() - started)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def db_size_mb(db_path: Path) -> float:
    files = [db_path, Path(f"{db_path}-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


# --- one size, and the comparison -----------------------------------------------------------


def seed_size(rows: int, tmp: Path) -> tuple[Path, dict[str, Any]]:
    db_path = tmp / f"scale-{rows}.sqlite3"
    info = seed(db_path, rows)
    print(f"{rows:>9,} orders seeded in {info['seconds']:6.1f} s")
    return db_path, info


def run_sizes(sizes: list[int], tmp: Path, repeat: int, posts: int) -> list[dict[str, Any]]:
    seeded = [seed_size(rows, tmp) for rows in sizes]
    results = [
        {"rows": rows, "seed_seconds": info["seconds"]}
        for rows, (_, info) in zip(sizes, seeded, strict=True)
    ]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(sandbox(db_path)) for db_path, _ in seeded]
        for result, (db_path, info) in zip(results, seeded, strict=True):
            # Plans after the server opened the file: opening is what adds a missing index.
            print(f"\n{result['rows']:,} orders: query plans")
            order_id, reference = info["sample"][len(info["sample"]) // 2]
            since = format_ms(info["now_ms"] - HOUR_MS)
            result["plans"] = print_plans(db_path, since, order_id, reference)
        latencies = measure_reads(
            [(base, info) for (base, _), (_, info) in zip(servers, seeded, strict=True)], repeat
        )
        for result, latency, (base, _pid), (_, info) in zip(
            results, latencies, servers, seeded, strict=True
        ):
            result["latency"] = latency
            result["post_orders_per_s"] = {
                str(n): post_throughput(base, n, posts * max(1, n // 4)) for n in (1, 16)
            }
            order_ids = [order_id for order_id, _ in info["sample"]]
            result["get_order_per_s"] = {
                str(n): get_throughput(base, n, 4 * posts * max(1, n // 4), order_ids)
                for n in (1, 16)
            }
        bases = [base for base, _ in servers]
        for result, latency in zip(results, webhook_latencies(bases, repeat // 2), strict=True):
            result["webhook_latency"] = percentiles(latency)
        for result, (_, pid) in zip(results, servers, strict=True):
            result["server_rss_mb"] = rss_mb(pid)
    for result, (db_path, _) in zip(results, seeded, strict=True):
        result["db_size_mb"] = db_size_mb(db_path)
        print_size(result)
    return results


def kit_runs(largest: Path, rows: int, tmp: Path, kit_args: list[str]) -> dict[str, Any]:
    """The kit's run against a fresh sandbox and against the largest history, one after the
    other (each run is CPU-bound on this machine; side by side they would slow each other)."""
    runs = {}
    for label, db_path in (("fresh", tmp / "fresh.sqlite3"), (f"{rows:,} orders", largest)):
        with sandbox(db_path) as (base, _pid):
            runs[label] = kit_run(base, kit_args)
    print(
        f"\nthe kit against a fresh sandbox and one holding {rows:,} orders ({' '.join(kit_args)})"
    )
    return {"runs": runs, "ratios": print_kit_runs(runs)}


def print_size(result: dict[str, Any]) -> None:
    print(f"\n{result['rows']:,} orders (seeded in {result['seed_seconds']:.1f} s)")
    for label, figure in result["latency"].items():
        print(f"  {label:<34} p50 {figure['p50_ms']:7.2f} ms  p99 {figure['p99_ms']:7.2f} ms")
    for n, rate in result["post_orders_per_s"].items():
        print(f"  POST /orders, {n:>2} client(s)            {rate:8.1f} req/s")
    for n, rate in result["get_order_per_s"].items():
        print(f"  GET /orders/{{id}}, {n:>2} client(s)        {rate:8.1f} req/s")
    hook = result["webhook_latency"]
    print(
        f"  {'webhook delivery (change to receiver)':<34} p50 {hook['p50_ms']:7.2f} ms  "
        f"p99 {hook['p99_ms']:7.2f} ms"
    )
    print(f"  server RSS {result['server_rss_mb']:.0f} MB, database {result['db_size_mb']:.0f} MB")


def print_ratios(small: dict[str, Any], large: dict[str, Any]) -> dict[str, dict[str, float]]:
    print(f"\nratio {large['rows']:,} / {small['rows']:,} orders (goal: under 1.5)")
    ratios = {}
    large_latency = {**large["latency"], "webhook delivery": large["webhook_latency"]}
    small_latency = {**small["latency"], "webhook delivery": small["webhook_latency"]}
    for label, figure in large_latency.items():
        base = small_latency[label]
        ratio = {p: figure[p] / base[p] for p in ("p50_ms", "p99_ms")}
        ratios[label] = ratio
        print(f"  {label:<34} p50 x{ratio['p50_ms']:5.2f}  p99 x{ratio['p99_ms']:5.2f}")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="orders of history (repeatable; default: 1000 and 1000000)",
    )
    parser.add_argument("--repeat", type=int, default=200, help="requests per measured query")
    parser.add_argument("--posts", type=int, default=100, help="POST /orders per 4 clients")
    parser.add_argument("--tmp", default=None, help="directory for the databases")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="while developing: 1 k and 20 k orders, fewer requests, a kit run without the "
        "property-based phase",
    )
    parser.add_argument("--no-kit", action="store_true", help="skip the kit runs")
    args = parser.parse_args()
    sizes = args.rows or ([1_000, 20_000] if args.quick else [1_000, 1_000_000])
    repeat, posts = (
        (min(args.repeat, 40), min(args.posts, 20))
        if args.quick
        else (
            args.repeat,
            args.posts,
        )
    )
    kit_args = ["--profile", "all", "--seed", "1"]
    if args.quick:
        kit_args += ["--no-property-based", "--model-steps", "40"]
    summary: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "quick": args.quick}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        results = run_sizes(sizes, Path(tmp), repeat, posts)
        summary["sizes"] = results
        if len(results) >= 2:
            summary["ratios"] = print_ratios(results[0], results[-1])
        if not args.no_kit:
            largest = Path(tmp) / f"scale-{sizes[-1]}.sqlite3"
            summary["kit"] = kit_runs(largest, sizes[-1], Path(tmp), kit_args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("scale-quick.json" if args.quick else "scale.json")
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nfigures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
