"""What the API reference adds to the contract when it is built (scripts/build_reference.py).

- The requirement catalogue rendered as one page, `requirements.html`, with an anchor per id.
- In every description of the spec, each cited requirement id (`[ORD-006, SEC-001]`) becomes a
  link to its entry on that page.
- Per operation, a table "Which error when": each documented 4xx status, the error codes it
  carries, and the requirements that name the code for this operation (their titles, linked).

The spec itself is not changed: the build works on a copy, so the source stays free of markup.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator, Mapping
from typing import Any

CATALOGUE_PAGE = "requirements.html"
ID = re.compile(r"\b([A-Z]{2,5}-\d{3})\b")
CITATION = re.compile(r"\[((?:[A-Z]{2,5}-\d{3})(?:,\s*[A-Z]{2,5}-\d{3})*)\]")
CODE = re.compile(r"`([a-z][a-z0-9_]*)`")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
CATALOGUE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }}
dt {{ font-weight: bold; margin-top: 1em; }} :target {{ background: #ffc; }}</style>
</head>
<body>
<h1>{title}</h1>
<p>Every requirement id the API reference cites, with its level, profile and statement.</p>
<dl>
{entries}
</dl>
</body>
</html>
"""


def requirement_href(requirement_id: str) -> str:
    return f"{CATALOGUE_PAGE}#{requirement_id}"


def render_catalogue(requirements: list[Mapping[str, Any]], title: str) -> str:
    """The catalogue as a self-contained page: one `<dt id="ID">` per requirement."""
    entries = "\n".join(
        f'<dt id="{html.escape(r["id"])}">{html.escape(r["id"])} ({html.escape(r["level"])},'
        f" {html.escape(r['profile'])}): {html.escape(r['title'])}</dt>\n"
        f"<dd>{html.escape(str(r['statement']))}</dd>"
        for r in requirements
    )
    return CATALOGUE_HTML.format(title=html.escape(title), entries=entries)


def link_ids(text: str, known: set[str]) -> str:
    """`[ORD-006, SEC-001]` with each known id a Markdown link to the catalogue page."""

    def linked(match: re.Match[str]) -> str:
        ids = [part.strip() for part in match[1].split(",")]
        parts = [f"[{rid}]({requirement_href(rid)})" if rid in known else rid for rid in ids]
        return "[" + ", ".join(parts) + "]"

    return CITATION.sub(linked, text)


def _descriptions(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of the document that has a string `description`."""
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            yield node
        for value in node.values():
            yield from _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value)


def _resolve(spec: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _response_codes(
    spec: Mapping[str, Any], response: Mapping[str, Any], known: set[str]
) -> list[str]:
    """The error codes a response documents: in its examples and backticked in its text."""
    found = [code for code in CODE.findall(str(response.get("description", ""))) if code in known]
    for media in (response.get("content") or {}).values():
        for example in (media.get("examples") or {}).values():
            value = _resolve(spec, example).get("value")
            code = (
                ((value or {}).get("error") or {}).get("code") if isinstance(value, dict) else None
            )
            if isinstance(code, str):
                found.append(code)
    return list(dict.fromkeys(found))


def _names(requirement: Mapping[str, Any], op_id: Any, status: str, code: str) -> bool:
    """The requirement covers the operation and names both the status and the code."""
    text = f"{requirement['title']} {requirement['statement']}"
    covers = op_id in (requirement.get("operations") or [])
    return covers and status in text and (f"`{code}`" in text or f" {code}" in text)


def error_table(
    spec: Mapping[str, Any], operation: Mapping[str, Any], requirements: list[Mapping[str, Any]]
) -> str:
    """A Markdown table for the operation: status, code, and the requirements naming the code
    (cited as `[ID]`, which `enrich` links like every other citation)."""
    known = set(_resolve(spec, spec["components"]["schemas"]["ErrorCode"]).get("examples", []))
    op_id = operation.get("operationId")
    rows = []
    for status, response in sorted((operation.get("responses") or {}).items()):
        if not str(status).startswith("4"):
            continue
        response = _resolve(spec, response)
        for code in _response_codes(spec, response, known) or ["(see the response)"]:
            naming = [r for r in requirements if _names(r, op_id, str(status), code)]
            when = "; ".join(f"{r['title']} [{r['id']}]" for r in naming) or str(
                response.get("description", "")
            ).split(". ")[0].replace("\n", " ")
            rows.append(f"| {status} | `{code}` | {when.replace('|', '/')} |")
    if not rows:
        return ""
    return (
        "\n\n**Which error when**\n\n| status | code | when |\n| --- | --- | --- |\n"
        + "\n".join(rows)
    )


def enrich(spec: Mapping[str, Any], requirements: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of the spec with linked requirement ids and a "Which error when" table per
    operation."""
    document: dict[str, Any] = copy.deepcopy(dict(spec))
    known_ids = {str(r["id"]) for r in requirements}
    for item in (document.get("paths") or {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                table = error_table(document, operation, requirements)
                operation["description"] = str(operation.get("description", "")) + table
    for node in _descriptions(document):
        node["description"] = link_ids(node["description"], known_ids)
    return document
