"""Servers that are correct but make another legal choice: the kit must pass every one of them.

Each variant is an ASGI wrapper around the reference sandbox (`create_app(db_path)`), never a flag
in the product (outline: "Broken servers ... live in tests/"). A wrapper buffers the request, may
rewrite it or answer it itself, calls the sandbox, and may rewrite the answer. `VARIANTS` is the
gallery: each entry names the legal choice, the spec text that allows it, how to build it and
which kit outcomes it may legitimately change (a missing SHOULD header is a `warning`, never a
failure). `tests/kit/test_legal_variations.py` runs the kit against each, and
`scripts/catalogue_docs.py` lists them under "What the kit accepts".
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tests.kit.asgi import Middleware, Request, Response
from tests.kit.clocks import TiesById
from tests.kit.rewrites import map_resources

App = Callable[..., Any]

# The sandbox's own ids: prefix + "_" + 14 (20 for events) characters of an alphabet that sorts in
# ASCII order (fulfillment_sandbox.storage.new_id).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijkmnopqrstuvwxyz"
ID_PREFIXES = ("ord", "shp", "ib", "ret", "adj", "whk", "evt")
SANDBOX_ID = re.compile(
    r"\b("
    + "|".join(ID_PREFIXES)
    + r")_(["
    + re.escape(ALPHABET)
    + r"]{14}(?:["
    + re.escape(ALPHABET)
    + r"]{6})?)\b"
)


def error(like: Response | None, status: int, code: str, message: str, **extra: Any) -> Response:
    """An error in the spec's envelope, keeping the sandbox's X-Request-Id and rate headers."""
    headers = [
        (k, v)
        for k, v in (like.headers if like else [])
        if k.lower().startswith("x-") and k.lower() != "content-length"
    ]
    request_id = next((v for k, v in headers if k.lower() == "x-request-id"), "req_variant")
    if not any(k.lower() == "x-request-id" for k, _ in headers):
        headers.append(("x-request-id", request_id))
    headers.append(("content-type", "application/json"))
    body = {"error": {"code": code, "message": message, "request_id": request_id, **extra}}
    return Response(status, headers, json.dumps(body).encode())


class Variant(Middleware):
    """An ASGI wrapper around the sandbox: override `request`, `handle` or `response`."""

    def request(self, req: Request) -> Request:
        return req

    def response(self, req: Request, resp: Response) -> Response:
        return resp

    async def handle(self, req: Request) -> Response:
        return self.response(req, await self.call(self.request(req)))


def rewrite_json(
    resp: Response, fn: Callable[[Any], Any], *, indent: int | None = None
) -> Response:
    """`resp` with its JSON body passed through `fn` (other bodies unchanged)."""
    payload = resp.json
    if payload is None:
        return resp
    body = json.dumps(fn(payload), indent=indent).encode()
    return Response(resp.status, resp.headers, body)


def walk_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {key: walk_strings(item, fn) for key, item in value.items()}
    if isinstance(value, list):
        return [walk_strings(item, fn) for item in value]
    return value


# -- other id formats ---------------------------------------------------------------------------
class _IdMapper(Variant):
    """Rewrites every server-assigned id both ways, keeping the order of ids (ties in `updated_at`
    are broken by id, PAG-005), so the list order the sandbox serves stays correct."""

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._back: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _number(body: str) -> int:
        value = 0
        for char in body.ljust(20, ALPHABET[0]):
            value = value * len(ALPHABET) + ALPHABET.index(char)
        return value

    def external(self, prefix: str, body: str) -> str:
        raise NotImplementedError

    def out(self, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            mapped = self.external(match.group(1), match.group(2))
            with self._lock:
                self._back[mapped] = match.group(0)
            return mapped

        return SANDBOX_ID.sub(sub, text)

    def back(self, text: str) -> str:
        with self._lock:
            if text in self._back:
                return self._back[text]
            for mapped, original in self._back.items():
                if mapped in text:
                    text = text.replace(mapped, original)
        return text

    def request(self, req: Request) -> Request:
        path = "/".join(self.back(part) for part in req.path.split("/"))
        query = {k: self.back(v) for k, v in req.query.items()}
        body = req.body
        payload = req.json
        if payload is not None:
            body = json.dumps(walk_strings(payload, self.back)).encode()
        return replace(req, path=path, query=query, body=body)

    def response(self, req: Request, resp: Response) -> Response:
        resp = rewrite_json(resp, lambda payload: walk_strings(payload, self.out))
        location = resp.header("location")
        return resp.with_header("location", self.out(location)) if location else resp


class UuidIds(_IdMapper):
    """Ids are UUIDs (lower-case hex, 8-4-4-4-12): the spec's ids are opaque strings."""

    def external(self, prefix: str, body: str) -> str:
        kind = ID_PREFIXES.index(prefix) + 1
        return str(uuid.UUID(int=(kind << 120) | self._number(body)))


class IntegerIds(_IdMapper):
    """Ids are decimal integers sent as strings ("10000000000000012345...")."""

    def external(self, prefix: str, body: str) -> str:
        kind = ID_PREFIXES.index(prefix) + 1
        return str(kind * 10**40 + self._number(body))


class UuidRequestIds(Variant):
    """X-Request-Id (and the envelope's request_id) are UUIDs instead of `req_...`."""

    def response(self, req: Request, resp: Response) -> Response:
        old = resp.header("x-request-id")
        if not old:
            return resp
        new = str(uuid.uuid4())

        def fix(payload: Any) -> Any:
            return walk_strings(payload, lambda text: text.replace(old, new))

        return rewrite_json(resp, fix).with_header("x-request-id", new)


# -- pages, fields, formatting --------------------------------------------------------------------
class SmallerPages(Variant):
    """A page holds fewer rows than asked (at most 3): the spec says a server MAY return fewer."""

    PAGE = 3

    def request(self, req: Request) -> Request:
        if req.method != "GET":
            return req
        asked = req.query.get("limit")
        try:
            number = int(asked) if asked is not None else 50
        except ValueError:
            return req  # an invalid limit stays invalid: the sandbox answers 400
        if not 1 <= number <= 200:
            return req
        return req.with_query(limit=str(min(number, self.PAGE)))


class EmptyPagesBetween(Variant):
    """Every cursor's first page is empty with has_more true and a new cursor, as a server that
    filters after paging (or stops at a scan budget) serves: PAG-008 allows fewer rows, even
    none, as long as the cursor moves on."""

    MARK = "empty:"

    async def handle(self, req: Request) -> Response:
        cursor = req.query.get("cursor")
        if req.method != "GET" or not cursor:
            return await self.call(req)
        if cursor.startswith(self.MARK):
            return await self.call(req.with_query(cursor=cursor[len(self.MARK) :]))
        resp = await self.call(req)  # the sandbox judges the cursor (400 invalid_cursor)
        if resp.status != 200:
            return resp
        page = {"data": [], "pagination": {"next_cursor": self.MARK + cursor, "has_more": True}}
        return resp.with_json(page)


def _add_unknown(value: Any) -> Any:
    if isinstance(value, dict):
        out = {key: _add_unknown(item) for key, item in value.items()}
        out["x_vendor_extension"] = {"note": "clients must ignore fields they do not know"}
        out["zz_internal_rank"] = 7
        return out
    if isinstance(value, list):
        return [_add_unknown(item) for item in value]
    return value


class ExtraFields(Variant):
    """Every object of every JSON response carries unknown fields (responses are open, API-009)."""

    def response(self, req: Request, resp: Response) -> Response:
        return rewrite_json(resp, _add_unknown)


def _reorder(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reorder(value[key]) for key in sorted(value, reverse=True)}
    if isinstance(value, list):
        return [_reorder(item) for item in value]
    return value


class KeyOrderAndWhitespace(Variant):
    """Keys in reverse alphabetical order, pretty-printed with indentation and a final newline."""

    def response(self, req: Request, resp: Response) -> Response:
        resp = rewrite_json(resp, _reorder, indent=4)
        if resp.json is not None:
            resp.body += b"\n"
        return resp.with_header("content-type", "application/json; charset=utf-8")


class GzipResponses(Variant):
    """Every response body is gzip-compressed (Content-Encoding: gzip) when the client accepts."""

    def response(self, req: Request, resp: Response) -> Response:
        accepts = (req.header("accept-encoding") or "").lower()
        if "gzip" not in accepts or not resp.body:
            return resp
        resp = Response(resp.status, resp.headers, gzip.compress(resp.body))
        return resp.with_header("content-encoding", "gzip").with_header("vary", "Accept-Encoding")


class Latency(Variant):
    """Every response takes 200 ms longer."""

    DELAY = 0.2

    async def handle(self, req: Request) -> Response:
        resp = await super().handle(req)
        await asyncio.sleep(self.DELAY)
        return resp


MILLIS_Z = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z$")


class MicrosecondTimestamps(Variant):
    """Every timestamp is served with microseconds (`.123000Z`), as a server keeping
    microseconds does; clients echo them back unchanged as updated_since."""

    def response(self, req: Request, resp: Response) -> Response:
        return rewrite_json(resp, lambda payload: walk_strings(payload, _micros))


def _micros(text: str) -> str:
    return MILLIS_Z.sub(r"\g<1>000Z", text)


# -- idempotency ----------------------------------------------------------------------------------
def _is_create(req: Request) -> bool:
    return req.method == "POST" and req.header("idempotency-key") is not None


class Replay201(Variant):
    """An idempotent replay answers 201 (the original status), not 200: decision 2, kit accepts."""

    def response(self, req: Request, resp: Response) -> Response:
        if _is_create(req) and resp.status == 200 and resp.header("idempotent-replayed") == "true":
            return Response(201, resp.headers, resp.body)
        return resp


class RefusalsNotStored(Variant):
    """A create refused with a 4xx is not stored against its key: the retry is validated afresh
    (IDEM-011 allows it). Emulated by sending every later use of that key to the sandbox under a
    fresh key, so the sandbox's stored refusal is never replayed."""

    # Answers about the key itself, not outcomes of the request: the key keeps its meaning.
    KEY_ANSWERS = ("idempotency_key_reused", "idempotency_key_in_use", "rate_limited")

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._alias: dict[tuple[str, str, str], str] = {}

    async def handle(self, req: Request) -> Response:
        if not _is_create(req):
            return await super().handle(req)
        slot = (req.header("authorization") or "", req.path, req.header("idempotency-key") or "")
        sent = self._alias.get(slot, slot[2])
        resp = await self.call(req.with_header("idempotency-key", sent))
        error = (resp.json or {}).get("error") if isinstance(resp.json, dict) else None
        about_key = isinstance(error, dict) and error.get("field") == "Idempotency-Key"
        if 400 <= resp.status < 500 and resp.code not in self.KEY_ANSWERS and not about_key:
            self._alias[slot] = f"not-stored-{uuid.uuid4().hex}"
        return resp


class FirstSendSaysNotReplayed(Variant):
    """A first (non-replayed) create answer carries `Idempotent-Replayed: false`, where the sandbox
    leaves the header out: decision 49 allows either on a first send."""

    def response(self, req: Request, resp: Response) -> Response:
        if _is_create(req) and resp.status == 201 and resp.header("idempotent-replayed") is None:
            return resp.with_header("Idempotent-Replayed", "false")
        return resp


class KeyInUseConflict(Variant):
    """A duplicate create arriving while the first is in flight gets 409 `idempotency_key_in_use`
    with Retry-After (decision 4, the spec's other choice) instead of waiting for the first."""

    HOLD = 0.3

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._in_flight: set[tuple[str, str, str]] = set()

    async def handle(self, req: Request) -> Response:
        if not _is_create(req):
            return await super().handle(req)
        key = (req.header("authorization") or "", req.path, req.header("idempotency-key") or "")
        if key in self._in_flight:
            # Any cheap authenticated call gives the rate-limit headers and a request id.
            probe = await self.call(
                replace(req, method="GET", path="/v1/warehouses", query={}, body=b"")
            )
            return error(
                probe,
                409,
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still in progress; retry shortly.",
            ).with_header("retry-after", "1")
        self._in_flight.add(key)
        try:
            await asyncio.sleep(self.HOLD)  # widen the window so concurrent retries see it
            return await super().handle(req)
        finally:
            self._in_flight.discard(key)


# -- conditional requests -------------------------------------------------------------------------
ORDER_PATH = re.compile(r"^/v1/orders/[^/]+$")


class StaleIfMatch412(Variant):
    """A stale If-Match gets 412 Precondition Failed instead of 409 `version_conflict` (AMD-005)."""

    def response(self, req: Request, resp: Response) -> Response:
        payload = resp.json
        if (
            req.method == "PATCH"
            and resp.status == 409
            and isinstance(payload, dict)
            and (payload.get("error") or {}).get("code") == "version_conflict"
        ):
            return Response(412, resp.headers, resp.body)
        return resp


class IfMatchRequired428(Variant):
    """A PATCH without If-Match is refused with 428 `precondition_required` (AMD-006 allows it)."""

    async def handle(self, req: Request) -> Response:
        if (
            req.method == "PATCH"
            and ORDER_PATH.match(req.path)
            and req.header("if-match") is None
            and req.header("authorization")
        ):
            # Authenticate and count against the rate limit first: GET the order the PATCH names,
            # so a bad token or unknown order still gets 401/404 as the sandbox would answer.
            probe = await self.call(replace(req, method="GET", body=b""))
            if probe.status != 200:
                return probe
            return error(
                probe,
                428,
                "precondition_required",
                "Send If-Match with the order's current ETag.",
                field="If-Match",
            )
        return await super().handle(req)


class ExistenceAndStateFirst(Variant):
    """A PATCH looks the order up before anything else: an unknown order is 404 whatever the
    body, and an order past picking is 409 too_late_to_amend before its body or If-Match is
    judged (ORD-006: after existence, the order of the checks is the server's choice)."""

    AMENDABLE = ("received", "backordered", "on_hold")

    async def handle(self, req: Request) -> Response:
        if not (req.method == "PATCH" and ORDER_PATH.match(req.path)):
            return await super().handle(req)
        found = await self.call(replace(req, method="GET", body=b""))
        if found.status != 200:
            return found
        status = (found.json or {}).get("status") if isinstance(found.json, dict) else None
        if status not in self.AMENDABLE:
            return error(
                found,
                409,
                "too_late_to_amend",
                f"Order is {status}; it can only be amended before picking.",
                order_status=status,
            )
        return await super().handle(req)


# -- rate-limit headers ---------------------------------------------------------------------------
class NoRateLimitHeaders(Variant):
    """No X-RateLimit-* headers (a SHOULD, decision 25): only RATE warnings, never a failure."""

    def response(self, req: Request, resp: Response) -> Response:
        return resp.without_headers(lambda name: name.lower().startswith("x-ratelimit-"))


class VendorCodesInErrorsList(Variant):
    """Every entry of `errors[]` after the first carries a finer code of the vendor's own
    (`value_rejected`): the error list is open (decision 39) and the catalogue names only the
    top-level code."""

    def response(self, req: Request, resp: Response) -> Response:
        listed = resp.json.get("errors") if isinstance(resp.json, dict) else None
        if resp.status < 400 or not isinstance(listed, list) or len(listed) < 2:
            return resp

        def finer(payload: Any) -> Any:
            rest = [{**entry, "code": "value_rejected"} for entry in payload["errors"][1:]]
            return {**payload, "errors": [payload["errors"][0], *rest]}

        return rewrite_json(resp, finer)


# -- permission-scoped tokens (decision 43) ---------------------------------------------------
ACME_TOKEN = "wms_test_acme_token"
ACME_READ_ONLY_TOKEN = "wms_test_acme_read_only_token"
CANCEL_PATH = re.compile(r"^/v1/orders/[^/]+/cancel$")


async def _refuse_scope(variant: Variant, req: Request, needs: str) -> Response:
    """403 `insufficient_scope` after authenticating as the sandbox would: a GET of the
    warehouses with the same token, so an unknown token still gets 401 and the rate limit
    counts the request."""
    probe = await variant.call(
        replace(req, method="GET", path="/v1/warehouses", query={}, body=b"")
    )
    if probe.status != 200:
        return probe
    return error(probe, 403, "insufficient_scope", f"This token has no {needs} permission.")


class ScopedTokens(Variant):
    """The server issues permission-scoped tokens: acme also has a read-only token, which gets
    403 `insufficient_scope` on every write. The kit's token has every scope."""

    async def handle(self, req: Request) -> Response:
        if req.token != ACME_READ_ONLY_TOKEN:
            return await super().handle(req)
        as_acme = req.with_header("authorization", f"Bearer {ACME_TOKEN}")
        if req.method in ("GET", "HEAD"):
            return await self.call(as_acme)
        return await _refuse_scope(self, as_acme, "write")


class KitTokenCannotCancel(Variant):
    """The kit's own token lacks the `orders:cancel` scope: POST /orders/{id}/cancel gets 403
    `insufficient_scope` for it (before the order is looked up, as scope checks go), whatever
    the order. Other partners' tokens keep every scope."""

    async def handle(self, req: Request) -> Response:
        if req.method == "POST" and CANCEL_PATH.match(req.path) and req.token == ACME_TOKEN:
            return await _refuse_scope(self, req, "orders:cancel")
        return await super().handle(req)


class SapLineNumbers(Variant):
    """Lines sent without `line_id` are numbered SAP-style, `000010`, `000020`, ... in turn,
    skipping numbers the ERP's own ids took: the form of an assigned id is the server's choice
    (decision 46)."""

    def request(self, req: Request) -> Request:
        writes = (req.method == "POST" and req.path == "/v1/orders") or (
            req.method == "PATCH" and ORDER_PATH.match(req.path) is not None
        )
        body = req.json if writes else None
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return req
        lines = [line for line in items if isinstance(line, dict)]
        taken = {line.get("line_id") for line in lines}
        number = 0
        numbered = []
        for line in lines:
            if line.get("line_id") is None:
                number += 10
                while f"{number:06d}" in taken:
                    number += 10
                line = {**line, "line_id": f"{number:06d}"}
            numbered.append(line)
        return req.with_json({**body, "items": numbered})


class BackorderOnFirstLines(Variant):
    """An order's backorder of a SKU sits on its first lines of that SKU, not its last: which
    line waits is the server's choice (decision 47; PART-001 judges the sum per SKU)."""

    def response(self, req: Request, resp: Response) -> Response:
        if not (200 <= resp.status < 300 and resp.json is not None):
            return resp

        def first_lines_wait(order: dict[str, Any]) -> dict[str, Any]:
            items = [dict(line) for line in order.get("items") or []]
            waiting: dict[str, int] = {}
            for line in items:
                waiting[line["sku"]] = waiting.get(line["sku"], 0) + line["backordered_quantity"]
            for line in items:
                owed = line["quantity"] - line["shipped_quantity"] - line["cancelled_quantity"]
                line["backordered_quantity"] = min(owed, waiting[line["sku"]])
                waiting[line["sku"]] -= line["backordered_quantity"]
            return {**order, "items": items}

        return rewrite_json(resp, lambda body: map_resources(body, "order", first_lines_wait))


# -- the gallery ----------------------------------------------------------------------------------
def _ship_to_members() -> tuple[str, ...]:
    import fulfillment_spec

    schema = fulfillment_spec.load_openapi()["components"]["schemas"]["ShipTo"]
    return tuple(schema["properties"])


class ShipToNullsWrittenOut(Variant):
    """Every order's ship_to writes out each member it does not hold (one never sent, or removed
    by a merge patch's null) as null, where the sandbox leaves it out: decision 50 allows both."""

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.members = _ship_to_members()

    def _fill(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._fill(item) for item in value]
        if not isinstance(value, dict):
            return value
        filled = {key: self._fill(item) for key, item in value.items()}
        ship_to = filled.get("ship_to")
        if isinstance(ship_to, dict) and "status" in filled:  # an order, not a request echo
            filled["ship_to"] = {name: ship_to.get(name) for name in self.members} | ship_to
        return filled

    def response(self, req: Request, resp: Response) -> Response:
        if req.path.startswith("/v1/orders"):
            return rewrite_json(resp, self._fill)
        return resp


class WaitingStockOnlyBeyondAvailable(Variant):
    """A SKU's stock row counts as `backordered` only the waiting units beyond what is
    available: the units of a short ship_complete order that the warehouse could cover are not
    counted there (decision 55 leaves the stock row's reading of them to the server)."""

    def response(self, req: Request, resp: Response) -> Response:
        if not (200 <= resp.status < 300 and resp.json is not None):
            return resp

        def beyond_available(item: dict[str, Any]) -> dict[str, Any]:
            rows = [
                {**row, "backordered": max(0, row["backordered"] - row["available"])}
                if isinstance(row.get("backordered"), int) and isinstance(row.get("available"), int)
                else row
                for row in item.get("warehouses") or []
            ]
            return {**item, "warehouses": rows}

        return rewrite_json(resp, lambda body: map_resources(body, "inventory", beyond_available))


SET_STOCK_PATH = "/v1/sandbox/inventory"


class NoUnavailableBucket(Variant):
    """A server without non-sellable stock, as every 1.0 server is: inventory entries carry no
    `unavailable`, and its set-stock control refuses the member as unknown (422 unknown_field).
    Decision 57: the bucket is optional and absent means 0."""

    def request(self, req: Request) -> Request:
        body = req.json
        if not (req.method == "POST" and req.path == SET_STOCK_PATH and isinstance(body, dict)):
            return req
        if "unavailable" in body:
            # Renamed, the sandbox itself refuses the member (its headers kept); the answer is
            # put back under the member's own name below.
            body["unavailable_units"] = body.pop("unavailable")
            return req.with_json(body)
        return req

    def response(self, req: Request, resp: Response) -> Response:
        def drop(item: dict[str, Any]) -> dict[str, Any]:
            for entry in item.get("warehouses") or []:
                entry.pop("unavailable", None)
            return item

        if resp.status >= 400 and req.path == SET_STOCK_PATH:
            text = resp.body.decode("utf-8", "replace").replace("unavailable_units", "unavailable")
            return Response(resp.status, resp.headers, text.encode())
        if 200 <= resp.status < 300 and resp.json is not None:
            return rewrite_json(resp, lambda body: map_resources(body, "inventory", drop))
        return resp


class EveryWarehouseListed(Variant):
    """Every inventory item lists every warehouse, at 0 where the SKU never was (the unfiltered
    list and the set-stock answer): decision 58 lets a warehouse the SKU never reached be listed
    at 0 or left out."""

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.warehouses: dict[str, list[str]] = {}

    async def handle(self, req: Request) -> Response:
        resp = await self.call(req)
        listed = req.method == "GET" and req.path == "/v1/inventory"
        if req.query.get("warehouse_id") or not (listed or req.path == SET_STOCK_PATH):
            return resp
        if not (200 <= resp.status < 300 and resp.json is not None):
            return resp
        token = req.token or ""
        if token not in self.warehouses:
            page = (await self.api(req, "GET", "/v1/warehouses", limit="200")).json or {}
            self.warehouses[token] = sorted(str(w.get("id")) for w in page.get("data") or [])
        every = self.warehouses[token]

        def fill(item: dict[str, Any]) -> dict[str, Any]:
            entries = {str(e.get("warehouse_id")): e for e in item.get("warehouses") or []}
            zero = dict.fromkeys(("on_hand", "available", "allocated", "incoming"), 0)
            item["warehouses"] = [
                entries.get(w, {"warehouse_id": w, **zero, "backordered": 0, "unavailable": 0})
                for w in sorted({*every, *entries})
            ]
            return item

        return rewrite_json(resp, lambda body: map_resources(body, "inventory", fill))


@dataclass(frozen=True)
class LegalVariant:
    """One legal choice: how to build it, what allows it, and what it may change in the report."""

    name: str
    choice: str
    allowed_by: str
    build: Callable[[str], App]  # db_path -> ASGI app
    extra_args: tuple[str, ...] = ("--no-property-based",)
    # requirement id -> outcomes the variant may legitimately get besides "passed"
    may_differ: dict[str, tuple[str, ...]] = field(default_factory=dict)
    slow: bool = False
    kind: str = "wrapper"

    def __str__(self) -> str:
        return self.name


def sandbox(db_path: str, **kwargs: Any) -> App:
    from fulfillment_sandbox.app import create_app

    return create_app(db_path, **kwargs)


def wrapped(*layers: type[Variant]) -> Callable[[str], App]:
    def build(db_path: str) -> App:
        app = sandbox(db_path)
        for layer in layers:
            app = layer(app)
        return app

    build.layers = layers  # type: ignore[attr-defined]  # read by stacked()
    return build


def layers_of(variant: LegalVariant) -> tuple[type[Variant], ...]:
    """The wrapper layers a `wrapped` variant is built from (empty for any other build)."""
    return tuple(getattr(variant.build, "layers", ()))


def stacked(name: str, members: Sequence[LegalVariant]) -> LegalVariant:
    """One server making every member's legal choice at once (their layers in order): what each
    member may change in the report, it may change here too."""
    may_differ: dict[str, tuple[str, ...]] = {}
    for member in members:
        for rid, allowed in member.may_differ.items():
            may_differ[rid] = tuple(dict.fromkeys((*may_differ.get(rid, ()), *allowed)))
    return LegalVariant(
        name,
        " + ".join(member.choice for member in members),
        "; ".join(member.allowed_by for member in members),
        wrapped(*(layer for member in members for layer in layers_of(member))),
        may_differ=may_differ,
        kind="stack of wrappers",
    )


VARIANTS: list[LegalVariant] = [
    LegalVariant(
        "uuid-ids",
        "resource ids are UUIDs",
        "ids are opaque strings (spec schemas: `id: string`)",
        wrapped(UuidIds),
    ),
    LegalVariant(
        "integer-ids",
        "resource ids are decimal integers sent as strings",
        "ids are opaque strings",
        wrapped(IntegerIds),
    ),
    LegalVariant(
        "uuid-request-ids",
        "X-Request-Id and the envelope's request_id are UUIDs",
        "request_id is an opaque string (decision 23)",
        wrapped(UuidRequestIds),
    ),
    LegalVariant(
        "smaller-pages",
        "pages hold at most 3 rows whatever limit asks",
        "a server MAY return fewer rows than limit (PAG-008, decision 18)",
        wrapped(SmallerPages),
    ),
    LegalVariant(
        "vendor-error-codes",
        "errors[] entries after the first carry a code this version does not list",
        "error codes are an open list; clients MUST tolerate unknown codes (ERR-002, decision 39)",
        wrapped(VendorCodesInErrorsList),
    ),
    LegalVariant(
        "empty-pages-between",
        "every cursor first answers an empty page with has_more true and a new cursor",
        "a server MAY return fewer rows than limit, even none, while the cursor moves on (PAG-008)",
        wrapped(EmptyPagesBetween),
    ),
    LegalVariant(
        "microsecond-timestamps",
        "every timestamp carries six fractional digits (microseconds)",
        "the Timestamp pattern allows no fraction or 3 to 6 digits (API-003, PAG-015)",
        wrapped(MicrosecondTimestamps),
    ),
    LegalVariant(
        "extra-fields",
        "every response object carries unknown fields",
        "response objects are open; clients MUST ignore unknown fields (decision 27)",
        wrapped(ExtraFields),
    ),
    LegalVariant(
        "key-order-whitespace",
        "keys in another order, pretty-printed, charset=utf-8",
        "JSON object member order and white space carry no meaning (RFC 8259)",
        wrapped(KeyOrderAndWhitespace),
    ),
    LegalVariant(
        "gzip",
        "responses are gzip-compressed (Content-Encoding: gzip)",
        "HTTP content coding (RFC 9110 section 8.4)",
        wrapped(GzipResponses),
    ),
    LegalVariant(
        "replay-201",
        "an idempotent replay answers 201 instead of 200",
        "decision 2: kit accepts a replayed 201 (Stripe, IETF draft)",
        wrapped(Replay201),
    ),
    LegalVariant(
        "refusals-not-stored",
        "a create refused with a 4xx is not stored: its retry is validated afresh",
        "IDEM-011: storing a 4xx or validating the retry afresh are both conformant",
        wrapped(RefusalsNotStored),
    ),
    LegalVariant(
        "first-send-replayed-false",
        "a first create answer carries Idempotent-Replayed: false instead of no header",
        "decision 49, IDEM-013: a first response carries the header absent or false",
        wrapped(FirstSendSaysNotReplayed),
    ),
    LegalVariant(
        "ship-to-nulls-written-out",
        "an order's ship_to writes out every member it does not hold as null",
        "decision 50, AMD-013: a removed or never-sent optional member reads as null or is absent",
        wrapped(ShipToNullsWrittenOut),
    ),
    LegalVariant(
        "key-in-use-409",
        "a concurrent duplicate create gets 409 idempotency_key_in_use + Retry-After",
        "decision 4: 409 idempotency_key_in_use or wait; never two orders",
        wrapped(KeyInUseConflict),
    ),
    LegalVariant(
        "stale-if-match-412",
        "a stale If-Match gets 412 instead of 409",
        "decision 9: kit accepts 412 (RFC 9110 section 13.1.1); AMD-005",
        wrapped(StaleIfMatch412),
    ),
    LegalVariant(
        "if-match-required-428",
        "a PATCH without If-Match gets 428 precondition_required",
        "decision 9: a PATCH without If-Match MAY be refused with 428 (RFC 6585); AMD-006",
        wrapped(IfMatchRequired428),
    ),
    LegalVariant(
        "existence-and-state-first",
        "a PATCH is judged for existence, then state, before its body and If-Match",
        "ORD-006: after existence, body, precondition and state may be judged in any order",
        wrapped(ExistenceAndStateFirst),
    ),
    LegalVariant(
        "sap-line-numbers",
        "lines sent without line_id are numbered 000010, 000020, ... instead of 1, 2, ...",
        "decision 46: an assigned line_id is any unique string of the field's form (LIN-002)",
        wrapped(SapLineNumbers),
    ),
    LegalVariant(
        "backorder-on-first-lines",
        "a SKU's backorder is reported on the order's first lines of that SKU, not its last",
        "decision 47: which line waits is the server's choice; PART-001 judges the sum",
        wrapped(BackorderOnFirstLines),
    ),
    LegalVariant(
        "no-rate-limit-headers",
        "no X-RateLimit-* headers",
        "X-RateLimit-* are SHOULD (decision 25): a warning at most, never a failure",
        wrapped(NoRateLimitHeaders),
        may_differ={"RATE-003": ("warning",), "RATE-004": ("skipped",)},
    ),
    LegalVariant(
        "everything-at-once",
        "UUID ids + extra fields + key order + gzip + 201 replays + 412 + Replayed: false",
        "all of the above together",
        wrapped(
            UuidIds,
            ExtraFields,
            KeyOrderAndWhitespace,
            Replay201,
            FirstSendSaysNotReplayed,
            StaleIfMatch412,
            GzipResponses,
        ),
    ),
    LegalVariant(
        "millisecond-clock-ties-by-id",
        "writes that overlap share one updated_at (a per-request millisecond clock); lists order"
        " the ties by id ascending, bytewise, with the server's own keyset cursor",
        "PAG-005 orders by updated_at then id; PAG-016 forbids only an older updated_at",
        lambda db_path: TiesById(sandbox(db_path)),
    ),
    LegalVariant(
        "scoped-tokens-kit-has-every-scope",
        "the server issues permission-scoped tokens (a read-only one gets 403 insufficient_scope"
        " on writes); the kit's token has every scope",
        "a server MAY issue permission-scoped tokens (AUTH-006, decision 43)",
        wrapped(ScopedTokens),
        kind="scoped-token wrapper (tests/kit/test_scoped_tokens.py)",
    ),
    LegalVariant(
        "kit-token-cannot-cancel",
        "the kit's token lacks the cancel permission: every cancel gets 403 insufficient_scope",
        "AUTH-006, decision 43: what the token may not do is not exercised, neither passed nor"
        " failed",
        wrapped(KitTokenCannotCancel),
        # What a cancel-less token leaves unjudged (seen on the reference run's seed); the test
        # accepts any id here only as not_exercised with the scope refusal as its reason.
        may_differ={
            rid: ("not_exercised",)
            for rid in (
                *(f"CAN-{n:03d}" for n in range(1, 11)),
                "AMD-007",
                "AUTH-004",
                "INV-004",
                "ORD-005",
                "ORD-006",
            )
        },
        kind="scoped-token wrapper (tests/kit/test_scoped_tokens.py)",
    ),
    LegalVariant(
        "latency-200ms",
        "every response takes 200 ms",
        "the spec sets no response-time bound",
        wrapped(Latency),
        slow=False,
        kind="wrapper (slow)",
    ),
    LegalVariant(
        "rate-limit-120",
        "120 requests a minute per partner, then 429 + Retry-After",
        "every operation documents 429 with Retry-After (decision 25)",
        lambda db_path: sandbox(db_path, rate_limit_per_minute=120),
        slow=True,
        kind="create_app(rate_limit_per_minute=120)",
    ),
    LegalVariant(
        "history-3000-orders",
        "the sandbox already holds 3000 orders from earlier runs",
        "runs are isolated by run id and work on a sandbox with history (lesson 9)",
        sandbox,
        kind="sandbox seeded with 3000 orders",
    ),
    LegalVariant(
        "two-concurrent-runs",
        "two kit runs at once against the same sandbox",
        "runs are isolated by run id (lesson 9)",
        sandbox,
        kind="two kit runs in parallel",
    ),
    LegalVariant(
        "waiting-stock-only-beyond-available",
        "a SKU's stock row counts as backordered only the waiting units beyond what is available",
        "decision 55: how the stock row counts a short ship_complete order's coverable units is "
        "the server's choice; POL-004 judges allocated and available",
        wrapped(WaitingStockOnlyBeyondAvailable),
    ),
    LegalVariant(
        "no-unavailable-bucket",
        "no non-sellable stock: entries carry no `unavailable` and the set-stock control refuses"
        " it as an unknown member",
        "decision 57: `unavailable` is optional and absent means 0 (INV-014, INV-015 are then"
        " not exercised)",
        wrapped(NoUnavailableBucket),
        may_differ={"INV-014": ("not_exercised",), "INV-015": ("not_exercised",)},
    ),
    LegalVariant(
        "every-warehouse-listed",
        "every inventory item lists every warehouse, at 0 where the SKU never was",
        "decision 58: a warehouse the SKU never reached MAY be listed at 0 or left out (INV-016)",
        wrapped(EveryWarehouseListed),
    ),
]

BY_NAME = {variant.name: variant for variant in VARIANTS}

# Wrapper variants served together, one kit run per stack instead of one per variant: their choices
# touch different things (formats, pages, idempotent replays, preconditions), so a server making
# all of a stack's choices at once is as legal as each alone, and the kit must pass it. A variant
# in no stack runs alone; "everything-at-once" is a stack across these that predates them.
STACKS: dict[str, tuple[str, ...]] = {
    "stack-formats": (
        "uuid-ids",
        "uuid-request-ids",
        "extra-fields",
        "microsecond-timestamps",
        "vendor-error-codes",
        "no-rate-limit-headers",
        "key-order-whitespace",
        "gzip",  # outermost: it compresses what the others wrote
    ),
    "stack-pages": ("integer-ids", "smaller-pages", "empty-pages-between"),
    "stack-idempotency": (
        "replay-201",
        "no-replayed-header",
        "refusals-not-stored",
        "key-in-use-409",
    ),
    "stack-preconditions": (
        "stale-if-match-412",
        "if-match-required-428",
        "existence-and-state-first",
    ),
}


def wrapper_runs() -> dict[str, LegalVariant]:
    """Every wrapper variant -> the variant its kit run serves: its stack, or itself alone. A
    stack member no longer in the gallery is left out of its stack."""
    served: dict[str, LegalVariant] = {}
    for stack_name, names in STACKS.items():
        members = [BY_NAME[name] for name in names if name in BY_NAME and layers_of(BY_NAME[name])]
        if members:
            stack = stacked(stack_name, members)
            served.update({member.name: stack for member in members})
    for variant in VARIANTS:
        if variant.kind == "wrapper":
            served.setdefault(variant.name, variant)
    return served
