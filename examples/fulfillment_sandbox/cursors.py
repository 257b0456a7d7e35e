"""Opaque, signed list cursors that carry the filters they were issued for (decision 18).

A cursor is base64url(JSON) + "." + a truncated HMAC-SHA256 over it. The JSON holds the list it
belongs to, the filters of the first request, the position (last `updated_at`, last `id`) and the
issue time. A forged, truncated or foreign cursor, a cursor older than 24 hours, or one sent with
different filters is answered with 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

CURSOR_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Position:
    """Where the previous page ended, in (updated_at, id) order."""

    updated_at: str
    id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest()
        return _b64(digest[:16])

    def encode(self, resource: str, filters: dict[str, Any], position: Position) -> str:
        document = {
            "r": resource,
            "f": filters,
            "u": position.updated_at,
            "i": position.id,
            "t": int(time.time()),
        }
        payload = _b64(json.dumps(document, sort_keys=True, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def decode(self, resource: str, cursor: str) -> tuple[dict[str, Any], Position]:
        """The cursor's filters and position, or 400 invalid_cursor."""
        invalid = ApiError(
            400,
            "invalid_cursor",
            "The cursor is malformed, expired or not for this list.",
            field="cursor",
        )
        payload, _, signature = cursor.partition(".")
        if not payload or not signature:
            raise invalid
        try:
            expected = self._sign(payload)
        except UnicodeEncodeError:
            raise invalid from None
        # Bytes, not str: compare_digest refuses non-ASCII strings, and a cursor is client input.
        presented = signature.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected.encode("ascii"), presented):
            raise invalid
        try:
            document = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            raise invalid from None
        if not isinstance(document, dict) or document.get("r") != resource:
            raise invalid
        if time.time() - int(document.get("t", 0)) > CURSOR_TTL_SECONDS:
            raise invalid
        filters = document.get("f")
        if not isinstance(filters, dict):
            raise invalid
        return filters, Position(str(document["u"]), str(document["i"]))


def merge_filters(
    codec: CursorCodec, resource: str, cursor: str | None, given: dict[str, Any]
) -> tuple[dict[str, Any], Position | None]:
    """The effective filters of a list request, checking a cursor against what was sent.

    A filter repeated next to the cursor must equal the cursor's; one left out is taken from it.
    """
    if cursor is None:
        return {k: v for k, v in given.items() if v is not None}, None
    filters, position = codec.decode(resource, cursor)
    for name, value in given.items():
        if value is not None and filters.get(name) != value:
            raise ApiError(
                400,
                "invalid_cursor",
                f"The cursor was issued for different filters ({name} differs); "
                "start a new walk without a cursor.",
                field="cursor",
            )
    return filters, position
