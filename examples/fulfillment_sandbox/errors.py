"""The one error envelope (decision 23) and the exception every layer raises to produce it.

Handlers never build error bodies themselves: they raise `ApiError`, and the app turns it into
`{"error": {...}, "errors": [...]}` with the request's id, so no response can be a
"200 with an error buried in the body" (the guide, § Errors).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


class ApiError(Exception):
    """An HTTP error with a machine-readable code; `extra` adds fields such as `order_status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form without the request id, so a stored outcome can be replayed."""
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "errors": self.errors,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiError:
        return cls(
            data["status"],
            data["code"],
            data["message"],
            field=data.get("field"),
            errors=data.get("errors"),
            **data.get("extra", {}),
        )


def not_found(what: str, ident: str) -> ApiError:
    # Decision 24: another partner's resource is reported exactly like a missing one.
    return ApiError(404, "not_found", f"{what} '{ident}' was not found.")


def error_body(error: ApiError, request_id: str) -> dict[str, Any]:
    main: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field is not None:
        main["field"] = error.field
    main["request_id"] = request_id
    main.update(error.extra)
    body: dict[str, Any] = {"error": main}
    if error.errors:
        body["errors"] = [{**item, "request_id": request_id} for item in error.errors]
    return body


def error_response(error: ApiError, request_id: str) -> Response:
    payload = json.dumps(error_body(error, request_id), separators=(",", ":")).encode()
    return Response(
        payload,
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )
