"""`fulfillment-sandbox` / `python -m fulfillment_sandbox`: run the sandbox on loopback.

Tokens given with --partner are never printed; the start-up line names only the partners.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from .app import create_app
from .auth import DEMO_PARTNERS
from .chaos import PROFILES, parse_profiles
from .ratelimit import RateLimit, parse_rate_limit

KEEP_ALIVE_SECONDS = 75


def _partner(text: str) -> tuple[str, str]:
    name, sep, token = text.partition(":")
    if not sep or not name or not token:
        raise argparse.ArgumentTypeError("expected NAME:TOKEN")
    return name, token


def _rate_limit(text: str) -> RateLimit:
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _chaos(text: str) -> tuple[str, ...]:
    try:
        return parse_profiles(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fulfillment-sandbox",
        description="Reference sandbox of the fulfillment API (serves /v1 on the given port).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--db", required=True, help="SQLite database file (created if missing)")
    parser.add_argument(
        "--partner",
        action="append",
        type=_partner,
        default=[],
        metavar="NAME:TOKEN",
        help="a partner and its bearer token (repeatable); default: the two demo partners",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=None,
        metavar="N[/WINDOW]",
        help=(
            "requests per partner: N a minute, or N per window such as 40/10s, 5/s, 100/2m"
            " (default: effectively unlimited)"
        ),
    )
    parser.add_argument(
        "--inventory-events",
        choices=["every-change", "on-hand-only"],
        default="every-change",
        help=(
            "which stock changes fire inventory.updated, a choice the contract leaves to the"
            " warehouse: every change, allocations included (default), or on_hand changes only"
        ),
    )
    parser.add_argument(
        "--chaos",
        type=_chaos,
        default=None,
        metavar="PROFILE[,PROFILE]",
        help=(
            "inject faults the contract allows, to prove an ERP client robust: "
            f"{', '.join(PROFILES)}, or all (see chaos.py)"
        ),
    )
    parser.add_argument(
        "--chaos-seed", type=int, default=0, help="seed of the chaos dice (default 0)"
    )
    parser.add_argument(
        "--log-level", default="info", help="log level of the server and the sandbox (default info)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    partners = dict(args.partner) if args.partner else dict(DEMO_PARTNERS)
    # One level for uvicorn and the sandbox's own loggers (each webhook attempt is an INFO line:
    # thousands a minute behind dead subscriptions, which --log-level warning must silence).
    level = getattr(logging, args.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    app = create_app(
        args.db,
        partners=partners,
        rate_limit=args.rate_limit,
        inventory_events=args.inventory_events.replace("-", "_"),
        chaos=args.chaos,
        chaos_seed=args.chaos_seed,
    )
    print(
        f"fulfillment sandbox on http://{args.host}:{args.port}/v1 "
        f"(partners: {', '.join(sorted(partners))}; db: {args.db})",
        flush=True,
    )
    # Idle connections are kept 75 s (uvicorn's default is 5): a client that pauses a few
    # seconds between requests would otherwise race the close and see "connection reset" on a
    # pooled connection; 75 s is what common gateways keep (nginx).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
