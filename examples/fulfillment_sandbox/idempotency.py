"""Idempotent creates (decisions 1-7): one key, one outcome, never two resources.

The key is looked up, the resource created and the outcome stored in ONE write transaction under
the single-writer lock. Concurrent duplicates are therefore serialised: the second one finds the
stored outcome and replays it, so two resources can never be made (decision 4, "wait and answer
with the first result"). Only 2xx and deterministic 4xx outcomes are stored (decision 7); a 429 or
5xx never reaches this code or rolls back with the transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .storage import Database, Tx, dumps, now_iso, transaction

MAX_KEY_LENGTH = 255
_TOKEN = re.compile(r"[\x21-\x7e]+")


def parse_key(header: str | None) -> str:
    """The key from a bare token or a quoted structured-field string (decision 1), of printable
    ASCII and inner spaces only (decision 33)."""
    if header is None or not header.strip():
        raise ApiError(
            400,
            "idempotency_key_required",
            "This request creates a resource: send an Idempotency-Key header (a UUID is fine).",
            field="Idempotency-Key",
        )
    key = header.strip()
    # A quoted structured-field string; `""` is a bare two-character key (the spec's pattern).
    if len(key) >= 3 and key[0] == key[-1] == '"':
        key = key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not _TOKEN.fullmatch(key.replace(" ", "!")):
        raise ApiError(
            400,
            "validation_failed",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            field="Idempotency-Key",
        )
    return key


def fingerprint(operation_id: str, body: Any) -> str:
    """Canonical JSON of the body (key order and white space do not count, decision 3)."""
    canonical = json.dumps(
        {"operation": operation_id, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool


def run(
    db: Database,
    partner: str,
    key: str,
    operation_id: str,
    body: Any,
    create: Callable[[Tx], tuple[str, dict[str, Any]]],
) -> Outcome:
    """Create once per (partner, key); `create` returns (resource id, response body).

    `body` is what the key's fingerprint is taken of (the caller's normal form, decision 48). A
    replay answers the stored response as first sent, never the resource as it is now (decision
    41: an amend after the create does not change what a retry of the create gets)."""
    fp = fingerprint(operation_id, body)
    stored_error: ApiError | None = None
    with transaction(db, partner) as tx:
        row = tx.conn.execute(
            "SELECT * FROM idempotency WHERE partner = ? AND key = ?", (partner, key)
        ).fetchone()
        if row is not None:
            if row["fingerprint"] != fp:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request body.",
                    field="Idempotency-Key",
                )
            if row["error"] is not None:
                raise ApiError.from_dict(json.loads(row["error"]))
            return Outcome(200, json.loads(row["snapshot"]), True)
        tx.conn.execute("SAVEPOINT create_op")
        try:
            resource_id, response = create(tx)
        except ApiError as error:
            if error.status >= 500 or error.status == 429:
                raise
            tx.conn.execute("ROLLBACK TO create_op")
            tx.discard_hooks()
            stored_error = error
            tx.conn.execute(
                "INSERT INTO idempotency (partner, key, operation, fingerprint, status_code, "
                "error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (partner, key, operation_id, fp, error.status, dumps(error.to_dict()), now_iso()),
            )
        else:
            tx.conn.execute(
                "INSERT INTO idempotency (partner, key, operation, fingerprint, status_code, "
                "resource_id, snapshot, created_at) VALUES (?, ?, ?, ?, 201, ?, ?, ?)",
                (
                    partner,
                    key,
                    operation_id,
                    fp,
                    resource_id,
                    dumps(response),
                    now_iso(),
                ),
            )
        tx.conn.execute("RELEASE create_op")
    if stored_error is not None:
        raise stored_error
    return Outcome(201, response, False)
