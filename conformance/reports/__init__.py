"""The run's evidence: JSON (a contract for scripts), HTML (a certificate for people), JUnit XML
(for CI dashboards), the console summary and the live progress line.

Every writer works from the JSON report's dict, so they can never disagree. That dict is scrubbed
of secrets when it is built, and every writer scrubs it again through `scrubbed`: a report dict
handed to a writer by other code must leak nothing either. The helpers here are the few things
all writers share: the verdict's words, the catalogue's statement and operations of an id, and
the evidence of an entry in one predictable shape.
"""

from __future__ import annotations

import re
from typing import Any

from conformance import redaction
from conformance.catalogue import catalogue

__all__ = [
    "evidence_of",
    "operations_of",
    "scrubbed",
    "statement_of",
    "verdict_text",
]

_VERDICT_TEXT = {
    "conformant": "CONFORMANT",
    "not_conformant": "NOT CONFORMANT",
    "partial": "PARTIAL",
}

# Header values that are credentials whatever they look like (redaction.scrub only knows the
# registered tokens and the `Bearer` and `whsec_` shapes). Signatures stay: they are evidence.
_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
_SCHEME = re.compile(r"^(\s*(?:bearer|basic|token|digest)\s+)", re.IGNORECASE)
_CURL_CREDENTIAL = re.compile(
    r"((?:-H|--header)\s+['\"](?:"
    + "|".join(sorted(_CREDENTIAL_HEADERS))
    + r"):\s*)([^'\"]*)(['\"])",
    re.IGNORECASE,
)
_QUERY_CREDENTIAL = re.compile(r"([?&](?:access_token|token|api_key|apikey)=)[^&\s'\"#]+", re.I)


def verdict_text(verdict: str) -> str:
    """CONFORMANT, NOT CONFORMANT or PARTIAL; an unknown verdict is shown as it came."""
    return _VERDICT_TEXT.get(verdict, str(verdict).upper())


def statement_of(requirement_id: str) -> str:
    """The catalogue's statement of the requirement (what was expected), or ''."""
    entry = catalogue().get(requirement_id)
    return " ".join(entry.statement.split()) if entry else ""


def operations_of(requirement_id: str) -> tuple[str, ...]:
    """The operationIds the catalogue names for the requirement (links into the API reference)."""
    entry = catalogue().get(requirement_id)
    return entry.operations if entry else ()


def _mask_header_value(value: str) -> str:
    scheme = _SCHEME.match(value)
    return (scheme.group(1) if scheme else "") + redaction.MASK


def _mask_text(text: str) -> str:
    text = _CURL_CREDENTIAL.sub(
        lambda m: m.group(1) + _mask_header_value(m.group(2)) + m.group(3), text
    )
    return redaction.scrub(_QUERY_CREDENTIAL.sub(lambda m: m.group(1) + redaction.MASK, text))


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {
        str(name): _mask_header_value(str(value))
        if str(name).lower() in _CREDENTIAL_HEADERS
        else _mask_text(str(value))
        for name, value in raw.items()
    }


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _mask_text(str(value))


def _one_evidence(item: Any) -> dict[str, Any]:
    item = item if isinstance(item, dict) else {}
    request = item.get("request") if isinstance(item.get("request"), dict) else {}
    response = item.get("response") if isinstance(item.get("response"), dict) else None
    cleaned: dict[str, Any] = dict(item)
    cleaned["request"] = {
        "method": str(request.get("method") or "").upper(),
        "url": _mask_text(str(request.get("url") or "")),
        "headers": _headers(request.get("headers")),
        "body": _text_or_none(request.get("body")),
    }
    # No response is evidence too (a timeout, a refused connection): keep it None, not {}.
    cleaned["response"] = (
        None
        if response is None
        else {
            "status": response.get("status"),
            "headers": _headers(response.get("headers")),
            "body": _text_or_none(response.get("body")) or "",
        }
    )
    cleaned["curl"] = _mask_text(str(item.get("curl") or ""))
    result: dict[str, Any] = redaction.scrub_data(cleaned)
    return result


def evidence_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The entry's evidence, each item with request/response/curl in one shape, credentials
    masked; [] when the entry has none (most passed requirements)."""
    raw = entry.get("evidence") or []
    return [_one_evidence(item) for item in raw] if isinstance(raw, list) else []


def scrubbed(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of `report` with every string scrubbed and every entry's evidence masked."""
    clean: dict[str, Any] = redaction.scrub_data(report)
    for entry in clean.get("requirements", []):
        entry["evidence"] = evidence_of(entry)
    return clean
