"""Webhooks: subscriptions and signed, retried deliveries with the full resource (profile
`webhooks`; spec/openapi.yaml § Webhooks and its `webhooks:`).

The kit runs its own receiver (conformance/webhook_receiver.py; --webhook-listen, default
127.0.0.1 on a free port), subscribes one of its URLs through the API (or of --webhook-url, a
public URL that forwards to it), makes events happen through the driver and the API, and reads
what arrived: the signature is verified over the raw bytes as received, `t` against the arrival
time, the payload against the spec's `webhooks:` schema for its event type. Every wait for a
delivery lasts --webhook-timeout, by default the spec's deadline for a first attempt (WHK-024),
so a delivery missing after it is late; a shorter wait proves nothing and skips instead. The
receiver answers 500 once to see a retry with the same `event_id` and a fresh signature; with the
sandbox driver the retry is triggered with POST /sandbox/webhook-deliveries/retry, otherwise the
kit waits for the server's own schedule (10 s, then the usual wait) and skips when nothing comes.

The signing secret is kept in memory only: no message, report or log line carries it (the
redaction layer also masks anything shaped like `whsec_...`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

from conformance.catalogue import requirement
from conformance.config import Config
from conformance.driver import WarehouseDriver
from conformance.factories import ReferenceData, TestData
from conformance.http import ApiClient, ApiResponse
from conformance.listing import parse_ts, walk_list
from conformance.outcomes import not_exercised
from conformance.scenarios import error_code
from conformance.signatures import verification_problem
from conformance.validation import SpecValidator
from conformance.webhook_receiver import (
    DELIVERY_DEADLINE,
    Delivery,
    WebhookReceiver,
    parse_listen,
    public_url,
)

# The retry schedule's first step (WHK-012): a retry the kit cannot trigger comes this much later.
FIRST_RETRY_DELAY = 10.0
TOLERANCE = 300  # seconds either side of the arrival time a signature's t may be (WHK-009)
SIGNATURE_HEADER = "x-webhook-signature"
SIGNATURE_FORMAT = re.compile(r"^t=\d+(,[a-z0-9]+=[^,\s]+)*$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
OPTIONAL_EVENTS = {
    "inbound": "inbound.received",
    "adjustments": "inventory.adjusted",
    "returns": "return.received",
}


# -- the receiver and subscriptions ---------------------------------------------------------


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _on_this_machine(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def unreachable_reason(base_url: str, public: str | None) -> str | None:
    """Why the target cannot deliver to the kit's receiver (None: it can, as far as the kit
    knows): a target elsewhere needs a public URL."""
    if public is not None or _on_this_machine(base_url):
        return None
    return (
        "the target is not on this machine, so it cannot deliver to the kit's webhook receiver:"
        " pass --webhook-url with a public URL (a tunnel, a routable host) that forwards to"
        " --webhook-listen HOST:PORT to certify the webhooks profile"
    )


def delivery_timeout(config: Config) -> float:
    """--webhook-timeout, by default the spec's deadline for a first delivery attempt."""
    return float(config.webhook_timeout or DELIVERY_DEADLINE)


@pytest.fixture(scope="session")
def webhook_receiver(request: pytest.FixtureRequest, conformance_config: Config) -> WebhookReceiver:
    """The kit's receiver on --webhook-listen (default: loopback, a free port), stopped when the
    session ends; subscriptions name --webhook-url when given.

    Without --webhook-url a target on another machine could not deliver to the receiver's own
    address: those checks skip (which blocks certifying the webhooks profile) rather than fail a
    server for the kit's setup. So does a listen address this machine cannot bind.
    """
    host, port = parse_listen(conformance_config.webhook_listen)
    public = public_url(conformance_config.webhook_url)
    reason = unreachable_reason(conformance_config.base_url, public)
    if reason:
        pytest.skip(reason)
    try:
        receiver = WebhookReceiver(
            host,
            port,
            public=public,
            timeout=delivery_timeout(conformance_config),
            tag=conformance_config.run_id,
        )
    except OSError as exc:
        pytest.skip(
            f"the kit's webhook receiver cannot listen on {host}:{port} ({exc.strerror or exc}):"
            " choose another --webhook-listen"
        )
    request.addfinalizer(receiver.start().stop)
    return receiver


def missing_delivery(timeout: float, message: str) -> NoReturn:
    """Nothing arrived within the wait: a failure when the kit waited the spec's whole deadline
    (WHK-024), a skip when --webhook-timeout cut the wait shorter (the server may be on time)."""
    if timeout < DELIVERY_DEADLINE:
        pytest.skip(
            f"{message}; --webhook-timeout {timeout:g} is shorter than the"
            f" {DELIVERY_DEADLINE:g} s the spec allows, so this is not judged"
        )
    pytest.fail(message)


def plain_http_elsewhere(url: str) -> bool:
    """A plain-http URL to another machine: the spec asks for https, so a server may refuse it."""
    parts = urlsplit(url)
    return parts.scheme == "http" and not _on_this_machine(url)


@dataclass
class Hook:
    """A subscription the kit made; the secret is never part of its repr."""

    id: str
    path: str
    url: str
    events: list[str]
    secret: str = field(repr=False)


def error_fields(resp: ApiResponse) -> set[str]:
    body = resp.json if isinstance(resp.json, dict) else {}
    entries = [body.get("error"), *(body.get("errors") or [])]
    return {str(e["field"]) for e in entries if isinstance(e, dict) and e.get("field")}


def shown(resp: ApiResponse) -> str:
    """A response for a failure message, without its body (it may carry a secret)."""
    return f"{resp.method} {resp.path} -> {resp.status}"


class Hooks:
    """Creates subscriptions to the receiver and deletes them all at teardown."""

    def __init__(self, api: ApiClient, factory: TestData, receiver: WebhookReceiver) -> None:
        self.api, self.factory, self.receiver = api, factory, receiver
        self.created: list[Hook] = []

    def post(self, body: dict[str, Any], key: str | None) -> ApiResponse:
        headers = {"Idempotency-Key": key} if key is not None else {}
        resp = self.api.request("POST", "/webhooks", json=body, headers=headers)
        url = str(body.get("url"))
        if (
            resp.status == 422
            and "url" in error_fields(resp)
            and url.startswith(self.receiver.base_url)
            and plain_http_elsewhere(url)
        ):
            pytest.skip(
                f"the target refuses the kit's plain-http webhook URL {self.receiver.base_url}"
                " (the spec asks for https): pass an https --webhook-url"
            )
        return resp

    def create(self, events: list[str], name: str = "hook") -> Hook:
        path = self.receiver.new_path(name)
        url = self.receiver.url(path)
        resp = self.post({"url": url, "events": events}, self.factory.idempotency_key())
        body = resp.json if isinstance(resp.json, dict) else {}
        assert resp.status == 201 and isinstance(body.get("id"), str), (
            f"expected 201 with the new subscription's id, got {shown(resp)} "
            f"(code {error_code(resp)!r})"
        )
        secret = body.get("secret")
        assert isinstance(secret, str) and secret, (
            f"expected the signing secret in the createWebhook response, got "
            f"{type(secret).__name__} ({shown(resp)})"
        )
        hook = Hook(id=body["id"], path=path, url=url, events=list(events), secret=secret)
        self.created.append(hook)
        return hook

    def delete_all(self) -> None:
        for hook in self.created:
            self.api.request("DELETE", f"/webhooks/{hook.id}")
        self.created.clear()


@pytest.fixture
def hooks(api: ApiClient, factory: TestData, webhook_receiver: WebhookReceiver) -> Iterator[Hooks]:
    manager = Hooks(api, factory, webhook_receiver)
    yield manager
    manager.delete_all()


def listed_hooks(api: ApiClient) -> list[dict[str, Any]]:
    walk = walk_list(api, "/webhooks", {}, limit=100, max_pages=20)
    assert walk.error is None, walk.error
    return [row for _, row in walk.rows()]


# -- reading deliveries -----------------------------------------------------------------------


def signature_parts(header: str | None) -> tuple[str | None, list[str]]:
    """(`t`, the `v1` values) of a signature header, read leniently (spaces stripped)."""
    t: str | None = None
    v1: list[str] = []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip() == "t" and t is None:
            t = value.strip()
        elif name.strip() == "v1":
            v1.append(value.strip())
    return t, v1


def format_problem(delivery: Delivery) -> str | None:
    header = delivery.headers.get(SIGNATURE_HEADER)
    if header is None:
        return f"no X-Webhook-Signature header ({delivery.describe()})"
    _, v1 = signature_parts(header)
    if not SIGNATURE_FORMAT.match(header) or not v1 or not all(HEX64.match(v) for v in v1):
        return (
            f"X-Webhook-Signature {header!r} is not t=<unix seconds>,v1=<64 lowercase hex> "
            f"without spaces ({delivery.describe()})"
        )
    return None


def signature_problem(delivery: Delivery, secret: str) -> str | None:
    """Why the delivery does not verify as HMAC-SHA256(secret, "{t}." + raw body), or None."""
    t, v1 = signature_parts(delivery.headers.get(SIGNATURE_HEADER))
    if not t or not t.isdigit() or not v1:
        return f"no t and v1 to verify in the signature header ({delivery.describe()})"
    expected = hmac.new(
        secret.encode("utf-8"), f"{t}.".encode() + delivery.body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, value) for value in v1):
        return (
            f"no v1 equals HMAC-SHA256(secret, '{t}.' + the {len(delivery.body)} raw body "
            f"bytes) ({delivery.describe()})"
        )
    return None


def timestamp_problem(delivery: Delivery) -> str | None:
    t, _ = signature_parts(delivery.headers.get(SIGNATURE_HEADER))
    if not t or not t.isdigit():
        return f"no integer t in the signature header ({delivery.describe()})"
    skew = delivery.arrived - int(t)
    if abs(skew) > TOLERANCE:
        return (
            f"t={t} is {skew:+.0f} s from the arrival time, more than {TOLERANCE} s "
            f"({delivery.describe()})"
        )
    return None


# Picks the deliveries a check waits for by their `data` (the resource).
DataMatch = Callable[[dict[str, Any]], bool]


def with_id(resource_id: str) -> DataMatch:
    return lambda data: data.get("id") == resource_id


def event_schema(spec: dict[str, Any], event_type: Any) -> str | None:
    """The component name of the spec's `webhooks:` schema for `event_type`."""
    entry: Any = (
        (spec.get("webhooks") or {}).get(event_type) if isinstance(event_type, str) else None
    )
    try:
        ref = entry["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    except (KeyError, TypeError):
        return None
    return str(ref).rsplit("/", 1)[-1]


def payload_problems(
    delivery: Delivery, spec: dict[str, Any], validator: SpecValidator
) -> list[str]:
    """How one delivery departs from {event_id, event_type, created_at, data: full resource}."""
    what = delivery.describe()
    if delivery.method != "POST":
        return [f"expected a POST, got {delivery.method} ({what})"]
    body = delivery.json
    if not isinstance(body, dict):
        return [f"expected a JSON object body, got {delivery.body[:60]!r} ({what})"]
    missing = [k for k in ("event_id", "event_type", "created_at", "data") if k not in body]
    if missing:
        return [f"expected keys event_id, event_type, created_at, data; missing {missing} ({what})"]
    data = body.get("data")
    if not isinstance(data, dict) or len(data) <= 1:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        return [f"expected data to be the full resource, got {keys} ({what})"]
    if parse_ts(data.get("updated_at")) is None:
        return [f"expected data.updated_at, got {data.get('updated_at')!r} ({what})"]
    schema = event_schema(spec, body.get("event_type"))
    if schema is None:
        return [f"event_type {body.get('event_type')!r} is not in the spec's webhooks ({what})"]
    return [f"{p} ({schema}; {what})" for p in validator.validate_component(body, schema)]


def by_event(deliveries: list[Delivery], event_type: str, resource_id: str) -> list[Delivery]:
    return [d for d in deliveries if d.event_type == event_type and d.data.get("id") == resource_id]


def arrived_types(deliveries: list[Delivery]) -> list[str]:
    return [f"{d.event_type}:{d.data.get('id')}" for d in deliveries]


def wait_event(
    receiver: WebhookReceiver,
    hook: Hook,
    event_type: str,
    match: DataMatch,
    *,
    count: int = 1,
    timeout: float | None = None,
) -> list[Delivery]:
    """Deliveries of `event_type` to `hook` whose data satisfies `match` (waits at most
    `timeout`, by default the receiver's: --webhook-timeout)."""
    return receiver.wait_for(
        hook.path,
        lambda d: d.event_type == event_type and match(d.data),
        count=count,
        timeout=timeout,
    )


def stocked_order(factory: TestData, quantity: int = 1) -> dict[str, Any]:
    warehouse = factory.warehouse_ids[0]
    sku = factory.sku(stock={warehouse: quantity + 5})
    order: dict[str, Any] = factory.create_order(
        warehouse_id=warehouse, items=[{"sku": sku, "quantity": quantity}]
    )
    return order


# -- one shared scenario: a subscriber sees ships, status changes, voids and a cancel -------------


@dataclass(frozen=True)
class Expected:
    """An event the scenario caused, and when the call that caused it had returned."""

    hook: Hook
    event_type: str
    rid: str
    caused: float  # unix seconds, after the change's API call answered
    status: str | None = None  # the shipment status the event carries, when it matters

    def matches(self, data: dict[str, Any]) -> bool:
        return data.get("id") == self.rid and self.status in (None, data.get("status"))


@dataclass
class Traffic:
    main: Hook  # shipment.created, shipment.updated, order.cancelled
    narrow: Hook  # shipment.updated only
    shipped: dict[str, Any]  # advanced to in_transit
    voided: dict[str, Any]
    cancelled: dict[str, Any]
    deliveries: dict[str, list[Delivery]]  # by hook path
    expected: list[Expected]
    waited_until: float  # unix seconds when the kit stopped waiting
    timeout: float  # --webhook-timeout

    def all(self) -> list[tuple[Hook, Delivery]]:
        return [(hook, d) for hook in (self.main, self.narrow) for d in self.deliveries[hook.path]]


@pytest.fixture(scope="module")
def traffic(
    api: ApiClient,
    driver: WarehouseDriver,
    reference_data: ReferenceData,
    webhook_receiver: WebhookReceiver,
) -> Iterator[Traffic]:
    """Subscribes two hooks, then ships one order and advances it to in_transit, ships and voids
    a second, cancels a third; waits (at most --webhook-timeout after the last change) for the
    deliveries each should see, noting when each change was made (WHK-024 measures from it)."""
    factory = TestData(api, driver, reference_data)
    manager = Hooks(api, factory, webhook_receiver)
    try:
        main = manager.create(["shipment.created", "shipment.updated", "order.cancelled"], "main")
        narrow = manager.create(["shipment.updated"], "narrow")
        expected: list[Expected] = []

        def caused(event_type: str, rid: str, *to: Hook, status: str | None = None) -> None:
            now = time.time()
            expected.extend(Expected(hook, event_type, rid, now, status) for hook in to)

        shipped = driver.ship(stocked_order(factory)["id"])
        caused("shipment.created", shipped["id"], main)
        driver.advance(shipped["id"], "in_transit")
        caused("shipment.updated", shipped["id"], main, narrow, status="in_transit")
        voided = driver.ship(stocked_order(factory)["id"])
        caused("shipment.created", voided["id"], main)
        driver.void(voided["id"])
        caused("shipment.updated", voided["id"], main, narrow)
        order = stocked_order(factory)
        resp = api.request("POST", f"/orders/{order['id']}/cancel")
        assert resp.status == 200, f"expected 200 for the cancel, got {resp.describe()}"
        caused("order.cancelled", order["id"], main)
        cancelled = resp.json if isinstance(resp.json, dict) else {"id": order["id"]}
        deadline = time.monotonic() + webhook_receiver.timeout
        for event in expected:
            left = max(0.5, deadline - time.monotonic())
            wait_event(webhook_receiver, event.hook, event.event_type, event.matches, timeout=left)
        waited_until = time.time()
        time.sleep(0.5)  # a stray delivery (an unsubscribed type) arrives with the rest
        yield Traffic(
            main=main,
            narrow=narrow,
            shipped=shipped,
            voided=voided,
            cancelled=cancelled,
            deliveries={h.path: webhook_receiver.deliveries(h.path) for h in (main, narrow)},
            expected=expected,
            waited_until=waited_until,
            timeout=webhook_receiver.timeout,
        )
    finally:
        manager.delete_all()


def require_deliveries(traffic: Traffic) -> list[tuple[Hook, Delivery]]:
    pairs = traffic.all()
    if not pairs:
        missing_delivery(
            traffic.timeout,
            f"expected deliveries to the kit's receiver within {traffic.timeout:g} s of shipping,"
            " voiding and cancelling, got none",
        )
    return pairs


# -- subscription management --------------------------------------------------------------------


@requirement("WHK-001")
def test_create_without_idempotency_key_is_400(
    hooks: Hooks, api: ApiClient, webhook_receiver: WebhookReceiver
) -> None:
    """POST /webhooks without Idempotency-Key: 400 idempotency_key_required, and GET /webhooks
    does not list the URL afterwards."""
    url = webhook_receiver.url(webhook_receiver.new_path("nokey"))
    resp = hooks.post({"url": url, "events": ["shipment.created"]}, None)
    if resp.status in (200, 201) and isinstance(resp.json, dict) and resp.json.get("id"):
        api.request("DELETE", f"/webhooks/{resp.json['id']}")
    assert resp.status == 400 and error_code(resp) == "idempotency_key_required", (
        f"expected 400 idempotency_key_required without Idempotency-Key, got {resp.status} "
        f"{error_code(resp)!r} ({shown(resp)})"
    )
    listed = [row.get("id") for row in listed_hooks(api) if row.get("url") == url]
    assert not listed, f"expected no subscription created, got {listed} in GET /webhooks"


@requirement("WHK-002")
def test_create_returns_the_subscription_and_its_secret(hooks: Hooks) -> None:
    """createWebhook answers 201 with id, url, events, created_at and a `whsec_` secret."""
    path = hooks.receiver.new_path("create")
    url = hooks.receiver.url(path)
    events = ["shipment.created", "order.cancelled"]
    resp = hooks.post({"url": url, "events": events}, hooks.factory.idempotency_key())
    body = resp.json if isinstance(resp.json, dict) else {}
    if isinstance(body.get("id"), str):
        hooks.created.append(Hook(body["id"], path, url, events, str(body.get("secret"))))
    assert resp.status == 201, f"expected 201 for a new subscription, got {shown(resp)}"
    missing = [k for k in ("id", "url", "events", "created_at", "secret") if body.get(k) is None]
    assert not missing, f"expected id, url, events, created_at and secret, missing {missing}"
    got_events = body.get("events")
    assert body.get("url") == url and isinstance(got_events, list), (
        f"expected url as sent and an events list, got url {body.get('url')!r} "
        f"events {got_events!r}"
    )
    assert sorted(map(str, got_events)) == sorted(events), (
        f"expected events {sorted(events)} as sent, got {got_events!r}"
    )
    secret = body.get("secret")
    assert isinstance(secret, str) and secret.startswith("whsec_") and len(secret) > 6, (
        f"expected a secret starting with whsec_, got one starting with "
        f"{str(secret)[:3]!r} ({len(str(secret))} characters)"
    )


@requirement("WHK-003")
def test_secret_is_never_shown_again(hooks: Hooks, api: ApiClient) -> None:
    """After createWebhook, neither GET /webhooks/{id} nor GET /webhooks (every page) carries a
    `secret` field or the secret's text anywhere in the raw response."""
    hook = hooks.create(["shipment.created"], "secret")
    resp = api.request("GET", f"/webhooks/{hook.id}")
    assert resp.status == 200, f"expected 200 for GET /webhooks/{hook.id}, got {shown(resp)}"
    pages = [resp]
    walk = walk_list(api, "/webhooks", {}, limit=100, max_pages=20)
    assert walk.error is None, walk.error
    pages += [page.response for page in walk.pages]
    for page in pages:
        text = page.content.decode("utf-8", "replace")
        assert hook.secret not in text, (
            f"expected the signing secret never shown again, got it in {shown(page)}"
        )
        body = page.json if isinstance(page.json, dict) else {}
        data = body.get("data")
        rows: list[Any] = data if isinstance(data, list) else [body]
        keyed = [r.get("id") for r in rows if isinstance(r, dict) and "secret" in r]
        assert not keyed, f"expected no secret field, got one on {keyed} in {shown(page)}"


@requirement("WHK-004")
def test_deleted_subscription_is_gone_and_gets_nothing(
    hooks: Hooks,
    api: ApiClient,
    driver: WarehouseDriver,
    factory: TestData,
    webhook_receiver: WebhookReceiver,
) -> None:
    """DELETE /webhooks/{id} answers 204; GET it is 404, GET /webhooks omits it; a shipment
    made afterwards reaches a second, live subscription but never the deleted one."""
    gone = hooks.create(["shipment.created"], "deleted")
    live = hooks.create(["shipment.created"], "live")
    resp = api.request("DELETE", f"/webhooks/{gone.id}")
    assert resp.status == 204, f"expected 204 for DELETE /webhooks/{gone.id}, got {shown(resp)}"
    read = api.request("GET", f"/webhooks/{gone.id}")
    assert read.status == 404, f"expected 404 for the deleted subscription, got {shown(read)}"
    listed = [row.get("id") for row in listed_hooks(api) if row.get("id") == gone.id]
    assert not listed, f"expected {gone.id} absent from GET /webhooks after the delete"
    shipment = driver.ship(stocked_order(factory)["id"])
    got = wait_event(
        webhook_receiver, live, "shipment.created", lambda d: d.get("id") == shipment["id"]
    )
    if not got:
        pytest.skip(
            "no shipment.created reached the live subscription; cannot judge the deleted one"
        )
    time.sleep(1.0)
    stray = webhook_receiver.deliveries(gone.path)
    assert not stray, (
        f"expected no deliveries to the deleted subscription, got "
        f"{[d.describe() for d in stray[:3]]}"
    )


@requirement("WHK-005")
@pytest.mark.parametrize(
    ("label", "body", "field_name"),
    [
        ("relative url", {"url": "not a url", "events": ["shipment.created"]}, "url"),
        ("ftp url", {"url": "ftp://127.0.0.1/hook", "events": ["shipment.created"]}, "url"),
        ("empty events", {"url": "RECEIVER", "events": []}, "events"),
        ("unknown event type", {"url": "RECEIVER", "events": ["shipment.teleported"]}, "events"),
    ],
)
def test_invalid_subscription_is_422(
    hooks: Hooks, api: ApiClient, label: str, body: dict[str, Any], field_name: str
) -> None:
    """createWebhook with a bad url, an empty events list or an unknown event type: 422
    validation_failed naming the field."""
    if body["url"] == "RECEIVER":
        body = {**body, "url": hooks.receiver.url(hooks.receiver.new_path("invalid"))}
    resp = hooks.post(body, hooks.factory.idempotency_key())
    if resp.status in (200, 201) and isinstance(resp.json, dict) and resp.json.get("id"):
        api.request("DELETE", f"/webhooks/{resp.json['id']}")
    fields = error_fields(resp)
    named = any(
        f == field_name or f.startswith((f"{field_name}[", f"{field_name}.")) for f in fields
    )
    assert resp.status == 422 and error_code(resp) == "validation_failed" and named, (
        f"expected 422 validation_failed naming {field_name} for a {label}, got {resp.status} "
        f"{error_code(resp)!r} fields {sorted(fields)} ({shown(resp)})"
    )


@requirement("WHK-021")
def test_each_subscription_gets_its_own_secret(hooks: Hooks) -> None:
    """Two subscriptions get two different secrets."""
    first = hooks.create(["shipment.created"], "one")
    second = hooks.create(["shipment.created"], "two")
    assert first.secret != second.secret, (
        f"expected different secrets for {first.id} and {second.id}, got the same one"
    )


@requirement("WHK-022")
def test_create_retry_returns_the_same_subscription(hooks: Hooks, api: ApiClient) -> None:
    """The same Idempotency-Key and body twice: the same id (200 or 201), one subscription."""
    path = hooks.receiver.new_path("replay")
    url = hooks.receiver.url(path)
    body = {"url": url, "events": ["shipment.created"]}
    key = hooks.factory.idempotency_key()
    first, again = hooks.post(body, key), hooks.post(body, key)
    ids = []
    for resp in (first, again):
        if isinstance(resp.json, dict) and isinstance(resp.json.get("id"), str):
            ids.append(resp.json["id"])
            hooks.created.append(Hook(resp.json["id"], path, url, ["shipment.created"], ""))
    assert first.status == 201 and again.status in (200, 201), (
        f"expected 201 then 200 (or 201), got {first.status} then {again.status} ({shown(again)})"
    )
    assert len(ids) == 2 and ids[0] == ids[1], f"expected the same id twice, got {ids}"
    listed = [row.get("id") for row in listed_hooks(api) if row.get("url") == url]
    assert len(listed) == 1, f"expected one subscription for the URL, got {listed}"


# -- what a delivery looks like ------------------------------------------------------------------


@requirement("WHK-006")
def test_delivery_is_the_envelope_with_the_full_resource(
    traffic: Traffic, spec: dict[str, Any], schema_validator: SpecValidator
) -> None:
    """Every delivery of the scenario is a POST of {event_id, event_type, created_at, data} with
    data the full resource (with updated_at), valid against the spec's schema for its type."""
    problems = [
        p
        for _, d in require_deliveries(traffic)
        for p in payload_problems(d, spec, schema_validator)
    ]
    assert not problems, f"expected valid deliveries, got {len(problems)} problems: {problems[:3]}"


@requirement("WHK-007")
def test_signature_header_format(traffic: Traffic) -> None:
    """Every delivery carries X-Webhook-Signature: t=<unix seconds>,v1=<64 lowercase hex>."""
    problems = [p for _, d in require_deliveries(traffic) if (p := format_problem(d))]
    assert not problems, f"expected well-formed signature headers, got {problems[:3]}"


@requirement("WHK-008")
def test_signature_is_hmac_over_the_raw_body(traffic: Traffic) -> None:
    """Every delivery verifies: one v1 == hex(HMAC-SHA256(secret, "{t}." + raw body bytes))."""
    problems = [p for h, d in require_deliveries(traffic) if (p := signature_problem(d, h.secret))]
    assert not problems, f"expected every signature to verify, got {problems[:3]}"


@requirement("WHK-009")
def test_signature_timestamp_is_fresh(traffic: Traffic) -> None:
    """Every delivery's t is within 300 s of when it arrived."""
    problems = [p for _, d in require_deliveries(traffic) if (p := timestamp_problem(d))]
    assert not problems, f"expected t within {TOLERANCE} s of arrival, got {problems[:3]}"


# -- which events fire ---------------------------------------------------------------------------


def one_event(
    traffic: Traffic, event_type: str, rid: str, match: DataMatch | None = None
) -> list[Delivery]:
    got = [
        d
        for d in by_event(traffic.deliveries[traffic.main.path], event_type, rid)
        if match is None or match(d.data)
    ]
    if not got:
        missing_delivery(
            traffic.timeout,
            f"expected a {event_type} delivery for {rid} within {traffic.timeout:g} s, got "
            f"{arrived_types(traffic.deliveries[traffic.main.path])}",
        )
    return got


@requirement("WHK-013")
def test_shipment_created_fires_once_per_shipment(traffic: Traffic) -> None:
    """Two shipments: each gives exactly one shipment.created event (one event_id) with the
    shipment's id and order_id."""
    for shipment in (traffic.shipped, traffic.voided):
        got = one_event(traffic, "shipment.created", shipment["id"])
        ids = {d.event_id for d in got}
        assert len(ids) == 1, f"expected one shipment.created event for {shipment['id']}, got {ids}"
        assert got[0].data.get("order_id") == shipment.get("order_id"), (
            f"expected data.order_id {shipment.get('order_id')!r}, "
            f"got {got[0].data.get('order_id')!r}"
        )


@requirement("WHK-014")
def test_shipment_updated_fires_on_status_change_and_void(traffic: Traffic) -> None:
    """Advancing to in_transit and voiding each deliver shipment.updated with the new state."""
    one_event(
        traffic,
        "shipment.updated",
        traffic.shipped["id"],
        lambda d: d.get("status") == "in_transit",
    )
    one_event(
        traffic,
        "shipment.updated",
        traffic.voided["id"],
        lambda d: d.get("voided") is True or d.get("status") == "voided",
    )


@requirement("WHK-015")
def test_order_cancelled_fires(traffic: Traffic) -> None:
    """Cancelling an order through the API delivers order.cancelled with the cancelled order."""
    got = one_event(traffic, "order.cancelled", str(traffic.cancelled.get("id")))
    assert got[-1].data.get("status") == "cancelled", (
        f"expected data.status cancelled, got {got[-1].data.get('status')!r}"
    )


@requirement("WHK-018")
def test_only_subscribed_types_are_delivered(traffic: Traffic) -> None:
    """A subscription to shipment.updated only gets only shipment.updated (the scenario also
    ships, cancels and moves stock), and the three-type subscription only its three types."""
    require_deliveries(traffic)
    for hook in (traffic.main, traffic.narrow):
        stray = [
            d.describe() for d in traffic.deliveries[hook.path] if d.event_type not in hook.events
        ]
        assert not stray, f"expected only {hook.events} for {hook.id}, got {stray[:3]}"
    assert traffic.deliveries[traffic.narrow.path], (
        "expected the shipment.updated subscription to receive shipment.updated, got nothing"
    )


@requirement("WHK-019")
def test_each_event_has_its_own_event_id(traffic: Traffic) -> None:
    """Deliveries sharing an event_id carry the same event (type, resource, updated_at); the
    scenario's different events have different event_ids."""
    events: dict[Any, set[tuple[Any, Any, Any]]] = {}
    for _, d in require_deliveries(traffic):
        events.setdefault(d.event_id, set()).add(
            (d.event_type, d.data.get("id"), d.data.get("updated_at"))
        )
    shared = {str(eid): sorted(map(str, seen)) for eid, seen in events.items() if len(seen) > 1}
    assert not shared, f"expected one event per event_id, got several behind {shared}"
    assert None not in events, "expected an event_id on every delivery, got one without"


@requirement("WHK-020")
def test_delivered_resources_are_also_polled(traffic: Traffic, api: ApiClient) -> None:
    """Each delivered shipment and order is served by GET /shipments (/orders) with
    updated_since = its data.updated_at, with an updated_at at least as new."""
    latest: dict[tuple[str, str], str] = {}
    for _, d in require_deliveries(traffic):
        prefix = str(d.event_type).split(".")[0]
        if prefix not in ("order", "shipment"):
            continue  # a type this scenario does not subscribe to (WHK-018 judges it)
        resource = f"/{prefix}s"
        stamp = d.data.get("updated_at")
        key = (resource, str(d.data.get("id")))
        if isinstance(stamp, str) and (key not in latest or stamp > latest[key]):
            latest[key] = stamp
    assert latest, "expected deliveries carrying data.id and data.updated_at, got none"
    for (resource, rid), stamp in sorted(latest.items()):
        walk = walk_list(api, resource, {"updated_since": stamp}, limit=200, max_pages=20)
        assert walk.error is None, walk.error
        rows = [row for _, row in walk.rows() if row.get("id") == rid]
        assert rows, f"expected {rid} in GET {resource}?updated_since={stamp}, got it absent"
        polled, pushed = parse_ts(rows[-1].get("updated_at")), parse_ts(stamp)
        assert polled and pushed and polled >= pushed, (
            f"expected updated_at at least {stamp}, got {rows[-1].get('updated_at')!r} "
            f"(GET {resource}?updated_since={stamp}, {rid})"
        )


# -- when deliveries arrive ----------------------------------------------------------------------


def first_arrival(traffic: Traffic, event: Expected) -> Delivery | None:
    got = [
        d
        for d in traffic.deliveries[event.hook.path]
        if d.event_type == event.event_type and event.matches(d.data)
    ]
    return min(got, key=lambda d: d.arrived, default=None)


def lateness(traffic: Traffic, event: Expected) -> str | None:
    """Why `event` was late (None: on time, or not judged because the wait was shorter).

    Measured from when the call that caused the change had answered (the change was made before
    that) to when the receiver, which answers at once, had read the first delivery.
    """
    what = f"{event.event_type} for {event.rid} to subscription {event.hook.id}"
    first = first_arrival(traffic, event)
    if first is not None:
        took = first.arrived - event.caused
        return f"{what} arrived {took:.1f} s after the change" if took > DELIVERY_DEADLINE else None
    waited = traffic.waited_until - event.caused
    return f"no {what} within {waited:.0f} s of the change" if waited >= DELIVERY_DEADLINE else None


@requirement("WHK-024")
def test_first_delivery_attempt_is_within_the_deadline(traffic: Traffic) -> None:
    """Each event the scenario caused (two ships, a status change, a void, a cancel) reaches
    each subscription to it within 30 s of the change: the first attempt arrives in time."""
    late = [why for event in traffic.expected if (why := lateness(traffic, event))]
    assert not late, (
        f"expected the first delivery attempt of every event within {DELIVERY_DEADLINE:g} s of "
        f"the change that caused it, got {late[:3]}"
    )
    unjudged = [e for e in traffic.expected if first_arrival(traffic, e) is None]
    if unjudged:
        missing_delivery(
            traffic.timeout,
            f"expected a {unjudged[0].event_type} delivery for {unjudged[0].rid} within"
            f" {traffic.timeout:g} s, got none",
        )


# -- retries -------------------------------------------------------------------------------------


def delivery_after(
    hooks: Hooks, hook: Hook, driver: WarehouseDriver, factory: TestData
) -> Delivery:
    """Ships a new order and returns the first shipment.created delivery of it to `hook`."""
    receiver = hooks.receiver
    shipment = driver.ship(stocked_order(factory)["id"])
    got = wait_event(receiver, hook, "shipment.created", lambda d: d.get("id") == shipment["id"])
    if not got:
        missing_delivery(
            receiver.timeout,
            f"expected a shipment.created delivery for {shipment['id']} within"
            f" {receiver.timeout:g} s, got {arrived_types(receiver.deliveries(hook.path))}",
        )
    return got[0]


def failed_then_retried(
    hooks: Hooks, driver: WarehouseDriver, factory: TestData
) -> tuple[Hook, Delivery, Delivery]:
    """Subscribes, answers 500 to the first delivery of a new shipment and returns (hook, the
    failed attempt, the next delivery of that shipment); skips when no retry can be seen."""
    receiver = hooks.receiver
    hook = hooks.create(["shipment.created"], "retry")
    receiver.fail_next(hook.path, 1, lambda d: d.event_type == "shipment.created")
    failed = delivery_after(hooks, hook, driver, factory)
    shipment = {"id": failed.data.get("id")}
    assert failed.answered == 500, f"expected the kit to answer 500, got {failed.describe()}"
    # A fresh t must be able to differ from the failed attempt's (whole seconds).
    t, _ = signature_parts(failed.headers.get(SIGNATURE_HEADER))
    start = int(t) if t and t.isdigit() else int(failed.arrived)
    time.sleep(max(0.0, start + 2.05 - time.time()))
    # An optional driver step (not in WarehouseDriver): a vendor driver may lack it.
    retry: Callable[[], object] | None = getattr(driver, "retry_webhook_deliveries", None)
    can_trigger = retry is not None
    if retry is not None:
        retry()
    # Untriggered, the retry is due on the schedule's first step: then the usual wait applies.
    wait = receiver.timeout if can_trigger else FIRST_RETRY_DELAY + receiver.timeout
    later = receiver.wait_for(
        hook.path,
        lambda d: d.seq > failed.seq and d.data.get("id") == shipment["id"],
        timeout=wait,
    )
    if not later and not can_trigger:
        pytest.skip(f"no retry arrived within {wait:g} s and the driver cannot trigger one")
    if not later:
        missing_delivery(
            receiver.timeout,
            "expected a retry of the shipment.created delivery answered 500 (event"
            f" {failed.event_id!r}) after POST /sandbox/webhook-deliveries/retry, got none"
            f" within {wait:g} s",
        )
    return hook, failed, later[0]


@requirement("WHK-010")
def test_failed_delivery_is_retried_with_the_same_event_id(
    hooks: Hooks, driver: WarehouseDriver, factory: TestData
) -> None:
    """The receiver answers 500 to a shipment.created delivery: the server delivers that
    shipment's event again, with the same event_id."""
    _, failed, retry = failed_then_retried(hooks, driver, factory)
    assert retry.event_id == failed.event_id and retry.event_type == failed.event_type, (
        f"expected the retry to carry event_id {failed.event_id!r} ({failed.event_type}), got "
        f"{retry.event_id!r} ({retry.event_type})"
    )


@requirement("WHK-011")
def test_retry_is_signed_again_with_a_fresh_timestamp(
    hooks: Hooks, driver: WarehouseDriver, factory: TestData
) -> None:
    """The retry (sent at least 2 s after the failed attempt's t) carries a later t, within
    300 s of its arrival, and a v1 that verifies over its raw bytes."""
    hook, failed, retry = failed_then_retried(hooks, driver, factory)
    problems = [p for p in (signature_problem(retry, hook.secret), timestamp_problem(retry)) if p]
    assert not problems, f"expected the retry signed afresh, got {problems}"
    t_failed, _ = signature_parts(failed.headers.get(SIGNATURE_HEADER))
    t_retry, _ = signature_parts(retry.headers.get(SIGNATURE_HEADER))
    assert t_failed and t_retry and int(t_retry) > int(t_failed), (
        f"expected the retry's t later than the failed attempt's t={t_failed}, got t={t_retry} "
        f"(the retry arrived {retry.arrived - failed.arrived:.1f} s later)"
    )


# -- optional events -----------------------------------------------------------------------------


@requirement("WHK-016")
def test_inventory_updated_when_sent_is_well_formed(
    hooks: Hooks, factory: TestData, spec: dict[str, Any], schema_validator: SpecValidator
) -> None:
    """A subscriber to inventory.updated gets, if the server sends it at all, a valid, signed
    delivery with the full inventory item (stock is set for a new SKU to cause one)."""
    hook = hooks.create(["inventory.updated"], "inventory")
    sku = factory.sku(stock={factory.warehouse_ids[0]: 7})
    got = wait_event(hooks.receiver, hook, "inventory.updated", lambda d: d.get("sku") == sku)
    if not got:
        pytest.skip(
            f"the server sent no inventory.updated for a stock change within"
            f" {hooks.receiver.timeout:g} s (it MAY not)"
        )
    d = got[0]
    problems = payload_problems(d, spec, schema_validator)
    problems += [
        p for p in (format_problem(d), signature_problem(d, hook.secret), timestamp_problem(d)) if p
    ]
    assert not problems, f"expected inventory.updated per WHK-006..009, got {problems[:3]}"


@requirement("WHK-017")
def test_advanced_flow_events_fire_for_claimed_profiles(
    hooks: Hooks,
    api: ApiClient,
    driver: WarehouseDriver,
    factory: TestData,
    conformance_config: Config,
    spec: dict[str, Any],
    schema_validator: SpecValidator,
) -> None:
    """For each claimed profile among inbound, adjustments and returns: receiving an ASN,
    recording an adjustment and receiving a return deliver inbound.received,
    inventory.adjusted and return.received with the full, schema-valid resource."""
    claimed = [p for p in OPTIONAL_EVENTS if p in conformance_config.profiles]
    if not claimed:
        # The rule is per claimed profile: with none claimed there was nothing to see.
        not_exercised("none of the inbound, adjustments and returns profiles is claimed")
    hook = hooks.create([OPTIONAL_EVENTS[p] for p in claimed], "advanced")
    warehouse = factory.warehouse_ids[0]
    expected: list[tuple[str, str]] = []
    if "inbound" in claimed:
        sku = factory.sku(stock={warehouse: 0})
        body = {
            "reference": factory.unique("PO"),
            "warehouse_id": warehouse,
            "items": [{"sku": sku, "expected_quantity": 3}],
        }
        resp = api.request(
            "POST",
            "/inbound-shipments",
            json=body,
            headers={"Idempotency-Key": factory.idempotency_key()},
        )
        assert resp.status == 201 and isinstance(resp.json, dict), (
            f"expected 201 for the inbound shipment, got {resp.describe()}"
        )
        driver.receive_inbound(resp.json["id"], [{"sku": sku, "received_quantity": 3}])
        expected.append(("inbound.received", resp.json["id"]))
    if "adjustments" in claimed:
        adjustment = driver.adjust(factory.sku(stock={warehouse: 5}), warehouse, 1, "found")
        expected.append(("inventory.adjusted", str(adjustment.get("id"))))
    if "returns" in claimed:
        order = stocked_order(factory)
        driver.ship(order["id"])
        line = order["items"][0]
        returned = driver.receive_return(
            order["id"],
            [{"sku": line["sku"], "quantity": 1, "condition": "resellable", "restocked": True}],
        )
        expected.append(("return.received", str(returned.get("id"))))
    for event_type, rid in expected:
        got = wait_event(hooks.receiver, hook, event_type, with_id(rid))
        if not got:
            missing_delivery(
                hooks.receiver.timeout,
                f"expected a {event_type} delivery for {rid} within {hooks.receiver.timeout:g}"
                f" s, got {arrived_types(hooks.receiver.deliveries(hook.path))}",
            )
        problems = payload_problems(got[0], spec, schema_validator)
        assert not problems, f"expected a full, valid {event_type} payload, got {problems[:3]}"


# -- secret rotation -------------------------------------------------------------------------------

# The overlap window a rotation MUST give at least (WHK-025), less the clock skew the kit allows
# between itself and the server.
ROTATION_OVERLAP = 24 * 3600
CLOCK_SKEW = TOLERANCE


def rotate(api: ApiClient, hook: Hook) -> tuple[Any, dict[str, Any]]:
    """POST /webhooks/{id}/rotate-secret; (the response, its body as a dict)."""
    resp = api.request("POST", f"/webhooks/{hook.id}/rotate-secret")
    return resp, (resp.json if isinstance(resp.json, dict) else {})


def rotated(api: ApiClient, hook: Hook) -> str:
    """Rotates `hook`'s secret and returns the new one (asserting only that one came back)."""
    resp, body = rotate(api, hook)
    secret = body.get("secret")
    assert resp.status == 200 and isinstance(secret, str) and secret, (
        f"expected 200 with the new secret from the rotation, got {shown(resp)} "
        f"(code {error_code(resp)!r})"
    )
    return secret


def rejection(delivery: Delivery, secret: str) -> str | None:
    """Why a Stripe-style receiver holding `secret` rejects `delivery` (None: it accepts)."""
    return verification_problem(
        delivery.headers.get(SIGNATURE_HEADER), delivery.body, secret, now=delivery.arrived
    )


@requirement("WHK-025")
def test_rotating_a_secret_answers_a_new_secret_once(hooks: Hooks, api: ApiClient) -> None:
    """POST /webhooks/{id}/rotate-secret answers 200 with the subscription, a new `whsec_`
    secret and `previous_secret_expires_at` at least 24 h later; GET /webhooks/{id} and every
    page of GET /webhooks never show the new secret; an unknown subscription gets 404."""
    hook = hooks.create(["shipment.created"], "rotate")
    before = time.time()
    resp, body = rotate(api, hook)
    assert resp.status == 200, f"expected 200 for the rotation, got {shown(resp)}"
    secret = body.get("secret")
    assert body.get("id") == hook.id, f"expected the subscription {hook.id}, got {body.get('id')!r}"
    assert isinstance(secret, str) and secret.startswith("whsec_") and len(secret) > 6, (
        f"expected a new secret starting with whsec_, got one starting with {str(secret)[:3]!r}"
    )
    assert secret != hook.secret, "expected a new secret, got the old one back"
    ends = parse_ts(body.get("previous_secret_expires_at"))
    assert ends is not None, (
        f"expected previous_secret_expires_at, got {body.get('previous_secret_expires_at')!r}"
    )
    overlap = ends.timestamp() - before
    assert overlap >= ROTATION_OVERLAP - CLOCK_SKEW, (
        f"expected the old secret to keep signing for at least 24 h, got an overlap window of "
        f"{overlap / 3600:.2f} h (previous_secret_expires_at {body['previous_secret_expires_at']})"
    )
    pages = [api.request("GET", f"/webhooks/{hook.id}")]
    walk = walk_list(api, "/webhooks", {}, limit=100, max_pages=20)
    assert walk.error is None, walk.error
    for page in pages + [page.response for page in walk.pages]:
        assert secret not in page.content.decode("utf-8", "replace"), (
            f"expected the rotated secret never shown again, got it in {shown(page)}"
        )
    unknown = api.request("POST", f"/webhooks/whk_unknown_{hook.id[-6:]}x/rotate-secret")
    assert unknown.status == 404, (
        f"expected 404 for rotating an unknown subscription, got {shown(unknown)}"
    )


@requirement("WHK-023")
def test_during_the_overlap_deliveries_verify_with_either_secret(
    hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData
) -> None:
    """After a rotation, a delivery carries several v1 values: a Stripe-style receiver (any one
    v1 may match, t within 300 s) accepts it holding the new secret, and also holding the old
    one, over the raw bytes as received."""
    hook = hooks.create(["shipment.created"], "rotation")
    new = rotated(api, hook)
    delivery = delivery_after(hooks, hook, driver, factory)
    problems = [
        f"with the {which} secret: {why} ({delivery.describe()})"
        for which, secret in (("new", new), ("previous", hook.secret))
        if (why := rejection(delivery, secret))
    ]
    assert not problems, (
        f"expected a delivery inside the overlap window to verify with each secret, got {problems}"
    )


@requirement("WHK-026")
def test_after_the_overlap_only_the_new_secret_signs(
    hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData
) -> None:
    """After a rotation whose overlap window the driver ends at once, a delivery verifies with
    the new secret and no v1 verifies with the previous one."""
    if not hasattr(driver, "end_webhook_secret_overlap"):
        not_exercised(
            "the driver cannot end a rotation's overlap window (sandboxEndWebhookSecretOverlap),"
            " and waiting 24 hours is out of reach"
        )
    hook = hooks.create(["shipment.created"], "rotated")
    new = rotated(api, hook)
    driver.end_webhook_secret_overlap(hook.id)
    delivery = delivery_after(hooks, hook, driver, factory)
    why = rejection(delivery, new)
    assert why is None, f"expected the delivery to verify with the new secret, got: {why}"
    stale = rejection(delivery, hook.secret)
    assert stale is not None, (
        f"expected no v1 signed with the previous secret once the overlap window ended, got one"
        f" ({delivery.describe()})"
    )


# -- the end of the retry window -----------------------------------------------------------------


DISABLE_GRACE = 10.0  # seconds the kit waits for `disabled` after the driver ended the window


def disabled_hook(hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData) -> Hook:
    """A subscription whose receiver answers 500 to everything, a delivery that failed, and its
    retry window ended by the driver; not exercised without that driver step."""
    if not hasattr(driver, "exhaust_webhook_retries"):
        not_exercised(
            "the driver cannot end a retry window (sandboxExhaustWebhookRetries), and the real"
            " one lasts a day"
        )
    hook = hooks.create(["shipment.created"], "exhausted")
    hooks.receiver.fail_next(hook.path, 1_000_000)
    delivery_after(hooks, hook, driver, factory)
    driver.exhaust_webhook_retries(hook.id)
    # A server may record the end state just after its driver step returns: allow it a moment.
    deadline = time.monotonic() + DISABLE_GRACE
    while time.monotonic() < deadline:
        read = api.request("GET", f"/webhooks/{hook.id}")
        if isinstance(read.json, dict) and read.json.get("status") == "disabled":
            break
        time.sleep(0.5)
    return hook


def disabled_problems(row: dict[str, Any], where: str) -> list[str]:
    problems = []
    if row.get("status") != "disabled":
        problems.append(f"status {row.get('status')!r} in {where}, expected 'disabled'")
    if parse_ts(row.get("disabled_at")) is None:
        problems.append(f"disabled_at {row.get('disabled_at')!r} in {where}, expected a time")
    reason = row.get("disabled_reason")
    if not isinstance(reason, str) or not reason.strip():
        problems.append(f"disabled_reason {reason!r} in {where}, expected a sentence")
    return problems


@requirement("WHK-027")
def test_exhausted_retries_disable_the_subscription(
    hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData
) -> None:
    """Every delivery answered 500 and the retry window ended (driver): GET /webhooks/{id} and
    GET /webhooks show `status: disabled` with disabled_at and disabled_reason, and a shipment
    made afterwards is not delivered to it."""
    hook = disabled_hook(hooks, api, driver, factory)
    resp = api.request("GET", f"/webhooks/{hook.id}")
    assert resp.status == 200, f"expected 200 for GET /webhooks/{hook.id}, got {shown(resp)}"
    problems = disabled_problems(resp.json if isinstance(resp.json, dict) else {}, "GET")
    listed = [row for row in listed_hooks(api) if row.get("id") == hook.id]
    if not listed:
        problems.append("the subscription is missing from GET /webhooks")
    problems += [p for row in listed for p in disabled_problems(row, "GET /webhooks")]
    assert not problems, f"expected a disabled subscription after its retries ran out: {problems}"
    arrived = len(hooks.receiver.deliveries(hook.path))
    driver.ship(stocked_order(factory)["id"])
    time.sleep(2.0)
    later = hooks.receiver.deliveries(hook.path)[arrived:]
    assert not later, (
        f"expected no delivery to a disabled subscription, got {[d.describe() for d in later][:2]}"
    )


@requirement("WHK-028")
def test_patch_active_reenables_a_disabled_subscription(
    hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData
) -> None:
    """PATCH /webhooks/{id} {"status": "active"} on the disabled subscription answers 200 with
    `status: active` and no disabled_at or disabled_reason, GET agrees, and the next shipment's
    event reaches it."""
    hook = disabled_hook(hooks, api, driver, factory)
    read = api.request("GET", f"/webhooks/{hook.id}")
    if not isinstance(read.json, dict) or read.json.get("status") != "disabled":
        pytest.skip(f"the subscription was not disabled (WHK-027 judges that): {shown(read)}")
    hooks.receiver.fail_next(hook.path, 0)
    resp = api.request("PATCH", f"/webhooks/{hook.id}", json={"status": "active"})
    assert resp.status == 200, f"expected 200 for PATCH status active, got {shown(resp)}"
    for seen in (resp, api.request("GET", f"/webhooks/{hook.id}")):
        row = seen.json if isinstance(seen.json, dict) else {}
        leftover = [k for k in ("disabled_at", "disabled_reason") if row.get(k) is not None]
        assert row.get("status") == "active" and not leftover, (
            f"expected status active without disabled_at and disabled_reason, got status "
            f"{row.get('status')!r} and {leftover} ({shown(seen)})"
        )
    delivery_after(hooks, hook, driver, factory)


# -- the event log, redelivery and order.updated (decision 45) -----------------------------------

# How far before an order's created_at the kit starts reading the log: the log's clock and the
# order's may differ slightly, and rows are matched by event_id and data.id anyway.
LOG_MARGIN = 60.0


def since_before(resource: dict[str, Any]) -> str:
    """An RFC 3339 instant LOG_MARGIN seconds before the resource's created_at (or now)."""
    moment = parse_ts(resource.get("created_at"))
    start = (moment.timestamp() if moment is not None else time.time()) - LOG_MARGIN
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))


def logged_events(api: ApiClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    walk = walk_list(api, "/events", params, limit=100, max_pages=50)
    assert walk.error is None, walk.error
    return [row for _, row in walk.rows()]


def first_delivery(
    hooks: Hooks, hook: Hook, event_type: str, match: DataMatch, what: str
) -> Delivery:
    receiver = hooks.receiver
    got = wait_event(receiver, hook, event_type, match)
    if not got:
        missing_delivery(
            receiver.timeout,
            f"expected a {event_type} delivery {what} within {receiver.timeout:g} s, got "
            f"{arrived_types(receiver.deliveries(hook.path))}",
        )
    return got[0]


def held_order(hooks: Hooks, driver: WarehouseDriver, factory: TestData, hook: Hook) -> Delivery:
    """A new order put on hold; its order.updated delivery (status on_hold) to `hook`."""
    order = stocked_order(factory)
    driver.hold(order["id"])
    return first_delivery(
        hooks,
        hook,
        "order.updated",
        lambda d: d.get("id") == order["id"] and d.get("status") == "on_hold",
        f"for the hold of {order['id']}",
    )


def order_problems(rows: list[dict[str, Any]], since: str, event_type: str) -> list[str]:
    """Whether a page walk of the log runs oldest first and starts at `created_since`."""
    times = [parse_ts(row.get("created_at")) for row in rows]
    known = [moment for moment in times if moment is not None]
    problems = []
    if len(known) < len(times):
        problems.append(f"type={event_type}: an event without an RFC 3339 created_at")
    if any(later < earlier for earlier, later in itertools.pairwise(known)):
        problems.append(f"type={event_type}: the log is not ordered by created_at")
    start = parse_ts(since)
    early = [moment.isoformat() for moment in known if start is not None and moment < start]
    if early:
        problems.append(f"created_since={since} listed events created at {early[:2]}")
    return problems


@requirement("WHK-029")
def test_event_log_lists_every_event_as_delivered(
    hooks: Hooks,
    api: ApiClient,
    factory: TestData,
    spec: dict[str, Any],
    schema_validator: SpecValidator,
) -> None:
    """A subscription to order.cancelled only; an order is cancelled. GET /events?type=
    order.cancelled lists the delivered event with the same envelope; GET /events?type=
    order.updated lists the cancel's order.updated too (no subscription of the kit's lasts
    beyond its check but the shared scenario's, which does not want it); `created_since` and
    `type` filter; each listed event is valid against its type's schema; the log runs oldest
    first."""
    hook = hooks.create(["order.cancelled"], "log")
    order = stocked_order(factory)
    resp = api.request("POST", f"/orders/{order['id']}/cancel")
    assert resp.status == 200, f"expected 200 for the cancel, got {resp.describe()}"
    delivered = first_delivery(
        hooks,
        hook,
        "order.cancelled",
        lambda d: d.get("id") == order["id"],
        f"for the cancel of {order['id']}",
    ).envelope
    since = since_before(order)
    problems: list[str] = []
    for event_type, wanted in (("order.cancelled", True), ("order.updated", False)):
        rows = logged_events(api, {"created_since": since, "type": event_type})
        others = sorted({str(r.get("event_type")) for r in rows} - {event_type})
        if others:
            problems.append(f"type={event_type} also listed {others}")
        problems += order_problems(rows, since, event_type)
        mine = [
            r
            for r in rows
            if isinstance(r.get("data"), dict) and r["data"].get("id") == order["id"]
        ]
        for row in mine:
            schema = event_schema(spec, row.get("event_type"))
            if schema is not None:
                problems += [
                    f"{p} ({schema})" for p in schema_validator.validate_component(row, schema)
                ]
        if wanted:
            same = [r for r in mine if r.get("event_id") == delivered.get("event_id")]
            if not same:
                problems.append(
                    f"the delivered {event_type} {delivered.get('event_id')!r} is not in the log"
                )
            elif same[0] != delivered:
                keys = sorted(
                    k for k in {*same[0], *delivered} if same[0].get(k) != delivered.get(k)
                )
                problems.append(f"the logged event differs from the delivery in {keys}")
        elif not any(r.get("data", {}).get("status") == "cancelled" for r in mine):
            problems.append(
                f"the order.updated event of {order['id']}'s cancel (no kit subscription wanted"
                " it) is not in the log"
            )
    assert not problems, f"expected the event log to list every event as delivered: {problems}"


@requirement("WHK-030")
def test_redelivery_carries_the_same_event_id_signed_afresh(
    hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData
) -> None:
    """Two subscriptions to order.updated get an order's hold. POST /events/{id}/redeliver naming
    the first answers 202 with that one subscription and delivers the event to it alone, same
    event_id and data, with a new t and a v1 that verifies; without a body it answers 202 naming
    both and the second gets it again too."""
    first = hooks.create(["order.updated"], "redeliver-a")
    second = hooks.create(["order.updated"], "redeliver-b")
    original = held_order(hooks, driver, factory, first)
    event_id, rid = original.event_id, original.data.get("id")
    receiver = hooks.receiver

    def copies(hook: Hook, count: int, timeout: float | None = None) -> list[Delivery]:
        return receiver.wait_for(
            hook.path,
            lambda d: d.event_id == event_id and d.data.get("id") == rid,
            count=count,
            timeout=timeout,
        )

    if not copies(second, 1):
        missing_delivery(receiver.timeout, f"expected {event_id!r} at the second subscription")
    t, _ = signature_parts(original.headers.get(SIGNATURE_HEADER))
    # The first delivery was signed in its arrival's second or before: a fresh t differs.
    time.sleep(max(0.0, int(original.arrived) + 1.05 - time.time()))
    resp = api.request("POST", f"/events/{event_id}/redeliver", json={"webhook_id": first.id})
    body = resp.json if isinstance(resp.json, dict) else {}
    assert resp.status == 202 and body.get("webhook_ids") == [first.id], (
        f"expected 202 naming {first.id} only, got {resp.describe()}"
    )
    again = copies(first, 2)
    if len(again) < 2:
        missing_delivery(receiver.timeout, f"expected the redelivery of {event_id!r}, got none")
    redelivered = again[1]
    problems = []
    if redelivered.envelope != original.envelope:
        problems.append("the redelivered envelope differs from the first delivery's")
    if problem := signature_problem(redelivered, first.secret):
        problems.append(problem)
    t2, _ = signature_parts(redelivered.headers.get(SIGNATURE_HEADER))
    if not (t2 and t2.isdigit() and t and t.isdigit() and int(t2) > int(t)):
        problems.append(f"the redelivery's t={t2} is not fresh (the first delivery's was {t})")
    if len(copies(second, 2, timeout=1.5)) > 1:
        problems.append(f"the redelivery named {first.id} also reached {second.id}")
    everyone = api.request("POST", f"/events/{event_id}/redeliver")
    named = everyone.json.get("webhook_ids") if isinstance(everyone.json, dict) else None
    if (
        everyone.status != 202
        or not isinstance(named, list)
        or not {first.id, second.id} <= set(named)
    ):
        problems.append(
            f"expected 202 naming both subscriptions without a body, got {everyone.describe()}"
        )
    elif len(copies(second, 2)) < 2:
        problems.append(f"the redelivery to every subscription did not reach {second.id}")
    assert not problems, f"expected a redelivery of {event_id!r} signed afresh: {problems}"


@requirement("WHK-031")
def test_redelivering_unknown_things_is_404(
    hooks: Hooks, api: ApiClient, driver: WarehouseDriver, factory: TestData
) -> None:
    """POST /events/{id}/redeliver answers 404 in the error envelope for an event id that does
    not exist, and for a webhook_id that does not exist (of an event that does)."""
    hook = hooks.create(["order.updated"], "redeliver-404")
    event_id = held_order(hooks, driver, factory, hook).event_id
    problems = []
    for path, body in (
        (f"/events/evt_kit_no_such_event_{factory.run_id}/redeliver", None),
        (f"/events/{event_id}/redeliver", {"webhook_id": f"whk_kit_no_such_{factory.run_id}"}),
    ):
        resp = api.request("POST", path, json=body)  # None: no body
        if resp.status != 404 or error_code(resp) is None:
            problems.append(f"{path} {body or ''}: {resp.describe()}")
    assert not problems, f"expected 404 in the error envelope, got {problems}"


def order_update(hooks: Hooks, hook: Hook, rid: str, key: str, value: Any, what: str) -> Delivery:
    """The order.updated delivery to `hook` of order `rid` whose data has `key` == `value`."""
    return first_delivery(
        hooks,
        hook,
        "order.updated",
        lambda d: d.get("id") == rid and d.get(key) == value,
        f"for the {what} of {rid}",
    )


@requirement("WHK-032")
def test_order_updated_fires_on_every_change_with_the_full_order(
    hooks: Hooks,
    api: ApiClient,
    driver: WarehouseDriver,
    factory: TestData,
    spec: dict[str, Any],
    schema_validator: SpecValidator,
) -> None:
    """A subscription to order.updated sees an amend (the new packing_note), a hold and a cancel
    of one order, each with the full order valid against the spec's OrderUpdatedEvent."""
    hook = hooks.create(["order.updated"], "order-updated")
    order = stocked_order(factory)
    rid = order["id"]
    note = f"kit {factory.run_id}"
    resp = api.request(
        "PATCH",
        f"/orders/{rid}",
        json={"packing_note": note},
        headers={"If-Match": f'"{order.get("version")}"'},
    )
    assert resp.status == 200, f"expected 200 for the amend, got {resp.describe()}"
    seen = [order_update(hooks, hook, rid, "packing_note", note, "amend")]
    driver.hold(rid)
    seen.append(order_update(hooks, hook, rid, "status", "on_hold", "hold"))
    resp = api.request("POST", f"/orders/{rid}/cancel")
    assert resp.status == 200, f"expected 200 for the cancel, got {resp.describe()}"
    seen.append(order_update(hooks, hook, rid, "status", "cancelled", "cancel"))
    problems = [p for d in seen for p in payload_problems(d, spec, schema_validator)]
    assert not problems, f"expected full orders in order.updated, got {problems[:3]}"
