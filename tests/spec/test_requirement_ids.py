"""The requirement catalogue is well formed and every id the spec cites exists in it.

The spec cites requirements in brackets: "The server MUST ... [IDEM-002]" or "[PAG-001, PAG-002]".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import fulfillment_spec

ID = r"[A-Z]{2,5}-\d{3}"
CITATION = re.compile(rf"\[({ID}(?:,\s*{ID})*)\]")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def cited_ids(spec: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for text in _strings(spec):
        for match in CITATION.finditer(text):
            ids.update(part.strip() for part in match.group(1).split(","))
    return ids


def test_catalogue_ids_are_unique_and_well_formed() -> None:
    ids = [entry["id"] for entry in fulfillment_spec.load_requirements()]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicates == []
    assert [i for i in ids if not re.fullmatch(ID, i)] == []


def test_every_cited_id_exists_in_the_catalogue(spec: dict[str, Any]) -> None:
    known = {entry["id"] for entry in fulfillment_spec.load_requirements()}
    cited = cited_ids(spec)
    assert cited, "the spec cites no requirement ids"
    assert sorted(cited - known) == []


def test_catalogue_operations_exist_in_the_spec(spec: dict[str, Any]) -> None:
    operation_ids = {
        item[method]["operationId"]
        for section in ("paths", "webhooks")
        for item in spec[section].values()
        for method in ("get", "post", "patch", "put", "delete")
        if method in item
    }
    unknown = {
        f"{entry['id']}: {op}"
        for entry in fulfillment_spec.load_requirements()
        for op in entry.get("operations") or []
        if op not in operation_ids
    }
    assert sorted(unknown) == []
