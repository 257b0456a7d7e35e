"""App wiring: routes generated from the spec's operations, and the envelope middleware.

Every route comes from `spec/openapi.yaml` (served under `/v1`), so the sandbox cannot serve a path
the contract does not have. The outer middleware gives EVERY response, errors and 404s included,
an `X-Request-Id` and the rate-limit headers (decisions 23, 25), authenticates the bearer token
(401) and applies the per-partner rate limit (429 with `Retry-After`).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import control, handlers, retention
from .auth import DEMO_PARTNERS, Authenticator
from .chaos import ChaosMiddleware, ChaosState
from .context import Ctx, Reply, Services
from .cursors import CursorCodec
from .delivery import Deliverer
from .errors import ApiError, error_response
from .ratelimit import RateLimit, RateLimiter
from .reference import seed_partner
from .storage import Database, transaction
from .validation import Contract, Operation, check_json_limits, check_text

MAX_BODY_BYTES = 1024 * 1024
PREFIX = "/v1"
log = logging.getLogger("fulfillment_sandbox")


def _request_id(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "req_unknown"))


class EnvelopeMiddleware:
    """Request id, auth, rate limit and rate-limit headers around everything else."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(12)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        headers = Headers(scope=scope)
        partner = self.services.auth.partner_for(headers.get("authorization"))
        verdict = self.services.limiter.hit(partner) if partner else self.services.limiter.peek()
        extra = {"X-Request-Id": request_id, **verdict.headers()}
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = list(message.get("headers", []))
                raw += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": raw}
            await send(message)

        error: ApiError | None = None
        if partner is None:
            error = ApiError(
                401,
                "unauthorized",
                "A valid bearer token is required.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        elif not verdict.allowed:
            error = ApiError(
                429,
                "rate_limited",
                f"Rate limit of {self.services.limiter.describe()} exceeded; "
                f"retry after {verdict.retry_after} seconds.",
                headers={"Retry-After": str(verdict.retry_after)},
            )
        if error is not None:
            await error_response(error, request_id)(scope, receive, send_with_headers)
            return
        state["partner"] = partner
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception(
                "unhandled error in %s %s (%s)", scope["method"], scope["path"], request_id
            )
            if started:
                raise
            failure = ApiError(500, "internal_error", "The sandbox failed; quote the request id.")
            await error_response(failure, request_id)(scope, receive, send_with_headers)


_ABSENT: Any = object()


async def _read_body(request: Request, op: Operation) -> Any:
    """413 / 415 / 400 invalid_json; the parsed JSON body, or `_ABSENT` when none was sent."""
    raw_type = request.headers.get("content-type")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(
            413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes."
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                413, "payload_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes."
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    # Only a truly empty body is "no body": white space alone is not a JSON text (RFC 8259).
    if not raw and raw_type is None:
        if op.body_required:
            raise ApiError(422, "validation_failed", "A JSON request body is required.")
        return _ABSENT
    media = (raw_type or "").split(";")[0].strip().lower()
    if media not in op.media_types:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type must be {' or '.join(op.media_types)}, got '{raw_type or ''}'.",
        )
    if not raw:
        if op.body_required:
            raise ApiError(422, "validation_failed", "A JSON request body is required.")
        return _ABSENT
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    body = op.defined_part(body)
    check_json_limits(body)
    return body


def _endpoint(services: Services, op: Operation) -> Callable[[Request], Awaitable[Response]]:
    sync_handler = handlers.OPERATIONS.get(op.operation_id) or control.SYNC_OPERATIONS.get(
        op.operation_id
    )
    async_handler = control.ASYNC_OPERATIONS.get(op.operation_id)
    # createX operations validate their body inside the idempotent transaction (stored 422s).
    validate_early = op.body_validator is not None and not op.operation_id.startswith("create")
    validate_early = validate_early and op.operation_id != "amendOrder"

    async def endpoint(request: Request) -> Response:
        for value in (*request.path_params.values(), *request.query_params.values()):
            check_text(str(value))
        query = services.contract.parse_query(op.operation_id, request.query_params)
        body = await _read_body(request, op) if op.media_types else _ABSENT
        if validate_early and body is not _ABSENT:
            services.contract.check_body(op.operation_id, body)
        if body is _ABSENT:
            body = None
        ctx = Ctx(
            services=services,
            operation_id=op.operation_id,
            partner=request.scope["state"]["partner"],
            request_id=_request_id(request.scope),
            path=dict(request.path_params),
            query=query,
            body=body,
            headers=request.headers,
        )
        if async_handler is not None:
            reply = await async_handler(ctx)
        else:
            assert sync_handler is not None
            reply = await run_in_threadpool(sync_handler, ctx)
        return _render(reply)

    return endpoint


IMPLEMENTED = {*handlers.OPERATIONS, *control.SYNC_OPERATIONS, *control.ASYNC_OPERATIONS}


def _dispatch(
    endpoints: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    """One route per path, so a 405 lists every method the path has in `Allow`."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return dispatch


def _render(reply: Reply) -> Response:
    if reply.status == 204 or reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    payload = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(payload, reply.status, reply.headers, media_type="application/json")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, _request_id(request.scope))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ApiError(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}.",
            headers=dict(exc.headers or {}),
        )
    elif exc.status_code == 404:
        error = ApiError(404, "not_found", f"No such resource: {request.url.path}.")
    else:
        error = ApiError(exc.status_code, "validation_failed", str(exc.detail))
    return error_response(error, _request_id(request.scope))


INVENTORY_EVENT_CHOICES = ("every_change", "on_hand_only")


def create_app(
    db_path: str,
    *,
    partners: dict[str, str] | None = None,
    rate_limit_per_minute: int | None = None,
    rate_limit: RateLimit | None = None,
    webhook_retry_schedule: list[float] | None = None,
    inventory_events: str = "every_change",
    chaos: tuple[str, ...] | None = None,
    chaos_seed: int = 0,
) -> Starlette:
    """The sandbox as an ASGI app serving the contract under `/v1`, backed by `db_path`.

    `rate_limit` (N per window) wins over `rate_limit_per_minute` (N per minute).
    `inventory_events` is which stock changes fire inventory.updated, a choice the contract leaves
    to the server: "every_change" (allocations too) or "on_hand_only".
    `chaos` (profile names from `chaos.PROFILES`) puts the seeded fault injector of `chaos.py`
    outside every other middleware, seeded with `chaos_seed`.
    """
    if inventory_events not in INVENTORY_EVENT_CHOICES:
        raise ValueError(f"inventory_events must be one of {INVENTORY_EVENT_CHOICES}")
    partners = dict(partners) if partners else dict(DEMO_PARTNERS)
    db = Database(db_path)
    db.inventory_events = inventory_events
    with db.write() as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'cursor_secret'").fetchone()
        if row is None:
            secret = secrets.token_hex(32)
            conn.execute("INSERT INTO meta (key, value) VALUES ('cursor_secret', ?)", (secret,))
        else:
            secret = row["value"]
        retention.prune_at_start(db, conn)  # what aged out while the sandbox was down
    for name in partners:
        with transaction(db, name) as tx:
            seed_partner(tx)
    deliverer = Deliverer(db, webhook_retry_schedule)
    db.after_commit = deliverer.wake
    services = Services(
        db=db,
        contract=Contract(),
        codec=CursorCodec(bytes.fromhex(secret)),
        deliverer=deliverer,
        limiter=RateLimiter(rate_limit or rate_limit_per_minute),
        auth=Authenticator(partners),
    )
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    unhandled = sorted(set(services.contract.operations) - IMPLEMENTED)
    if unhandled:  # never a silent 404 where the contract promises an answer
        raise RuntimeError(f"spec operations without a sandbox handler: {', '.join(unhandled)}")
    for op in services.contract.operations.values():
        by_path.setdefault(op.path, {})[op.method] = _endpoint(services, op)
    routes = [
        Route(PREFIX + path, _dispatch(endpoints), methods=list(endpoints))
        for path, endpoints in by_path.items()
    ]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await deliverer.start()
        try:
            yield
        finally:
            await deliverer.stop()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, 404: _http_error, 405: _http_error},
    )
    app.router.redirect_slashes = False
    app.add_middleware(EnvelopeMiddleware, services=services)
    app.state.services = services
    if chaos:
        app.add_middleware(ChaosMiddleware, services=services, state=ChaosState(chaos, chaos_seed))
    return app


__all__ = ["create_app"]
