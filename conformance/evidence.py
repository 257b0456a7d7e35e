"""Evidence for a person: the exchange behind a failed rule, and a curl line that repeats it.

A failure message says what was expected and what came back; the person who has to fix the
server also needs the request as sent and the response as received, without digging through a
log. So the plugin keeps the exchanges each check makes, and for a failed or warned requirement
picks the ones the message is about: those whose request id the message names, else those whose
`METHOD /path` it names, else the check's last exchange. Secrets never travel: the token is
masked (the curl line reads it from `$CONFORMANCE_TOKEN`), as is any `secret` field of a body
(a webhook signing secret is shown once, by the create call, and the kit keeps quiet about it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from conformance import redaction
from conformance.errors import CheckFailure
from conformance.http import ApiResponse

__all__ = [
    "MAX_EVIDENCE",
    "FailedWithEvidence",
    "describe_exchange",
    "evidence_item",
    "mask_body",
    "pick_exchanges",
]

MAX_EVIDENCE = 3
MAX_BODY_CHARS = 2000
# Request headers that are transport noise in evidence.
_TRANSPORT_HEADERS = ("user-agent", "accept-encoding", "connection", "content-length")
# Headers a person needs to repeat a request; the rest is transport noise.
_REQUEST_HEADERS = ("content-type", "idempotency-key", "if-match", "accept")
_SECRET_FIELDS = re.compile(r"(?i)^(secret|token|password|webhook_secret)$")


def pick_exchanges(
    message: str, own: Sequence[ApiResponse], everything: Sequence[ApiResponse]
) -> list[ApiResponse]:
    """The exchanges `message` is about (at most MAX_EVIDENCE), newest last."""
    named = [
        response
        for response in [*own, *everything]
        if response.request_id and response.request_id in message
    ]
    if not named:
        named = [response for response in own if _request_line(response) in message]
    if not named and own:
        named = [own[-1]]
    unique: dict[int, ApiResponse] = {}
    for response in named:
        unique.setdefault(id(response), response)
    return list(unique.values())[-MAX_EVIDENCE:]


def _request_line(response: ApiResponse) -> str:
    return f"{response.method} {response.path.split('?')[0]}"


def _mask_body(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        return _excerpt(redaction.scrub(text))
    return _excerpt(redaction.scrub(json.dumps(_mask_fields(value), ensure_ascii=False)))


def _mask_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                redaction.MASK
                if _SECRET_FIELDS.match(str(key)) and isinstance(item, str)
                else _mask_fields(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_fields(item) for item in value]
    return value


def _excerpt(text: str) -> str:
    if len(text) <= MAX_BODY_CHARS:
        return text
    return text[:MAX_BODY_CHARS] + f" ... ({len(text) - MAX_BODY_CHARS} more characters)"


def _quote(text: str) -> str:
    """Always single-quoted (shlex leaves a plain URL bare): one shape a person can scan."""
    return "'" + text.replace("'", "'\\''") + "'"


def _curl(response: ApiResponse, body: str | None) -> str:
    parts = ["curl", "-X", response.method, _quote(response.url or response.path)]
    if response.auth == "token":
        parts += ["-H", '"Authorization: Bearer $CONFORMANCE_TOKEN"']
    for name, value in response.request_headers.items():
        if name.lower() in _REQUEST_HEADERS:
            parts += ["-H", _quote(f"{name}: {value}")]
    if body is not None and body != "":
        parts += ["--data-raw", _quote(body)]
    return " ".join(parts)


def describe_exchange(response: ApiResponse) -> dict[str, Any]:
    """One evidence item of the JSON report: request, response and a curl line."""
    request_body = _mask_body(response.request_body)
    return evidence_item(
        method=response.method,
        url=response.url or response.path,
        request_headers=response.request_headers,
        request_body=request_body,
        status=response.status,
        response_headers=dict(response.headers.items()),
        response_body=_mask_body(response.content) or "",
        curl=_curl(response, request_body),
    )


def evidence_item(
    *,
    method: str,
    url: str,
    request_headers: Mapping[str, str],
    request_body: str | None,
    status: int | None,
    response_headers: Mapping[str, str],
    response_body: str,
    curl: str,
) -> dict[str, Any]:
    """An evidence item from its parts (the Schemathesis phase builds its own), scrubbed."""
    item = {
        "request": {
            "method": method,
            "url": url,
            "headers": {
                name: value
                for name, value in request_headers.items()
                if name.lower() not in _TRANSPORT_HEADERS
            },
            "body": request_body,
        },
        "response": {"status": status, "headers": dict(response_headers), "body": response_body},
        "curl": curl,
    }
    scrubbed: dict[str, Any] = redaction.scrub_data(item)
    return scrubbed


def mask_body(raw: bytes | None) -> str | None:
    """A body as text for a person: `secret`-like fields masked, cut after MAX_BODY_CHARS."""
    return _mask_body(raw)


class FailedWithEvidence(CheckFailure):
    """A check failure that brings its own evidence items (e.g. from the Schemathesis phase,
    whose requests the kit's HTTP session never saw)."""

    def __init__(self, message: str, evidence: Sequence[dict[str, Any]]) -> None:
        super().__init__(message)
        self.evidence = list(evidence)[:MAX_EVIDENCE]
