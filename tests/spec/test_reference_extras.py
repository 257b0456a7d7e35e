"""The built reference links every requirement id to the rendered catalogue and shows, per
operation, which error code happens when (scripts/reference_extras.py, used by
scripts/build_reference.py). Plain Python over the enriched document: no browser needed."""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import fulfillment_spec
import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[([A-Z]{2,5}-\d{3})\]\(requirements\.html#([A-Z]{2,5}-\d{3})\)")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _extras() -> Any:
    spec = importlib.util.spec_from_file_location(
        "reference_extras", ROOT / "scripts" / "reference_extras.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _enriched() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    requirements = list(fulfillment_spec.load_requirements())
    return _extras().enrich(fulfillment_spec.load_openapi(), requirements), requirements


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item[method]
        for item in document["paths"].values()
        for method in HTTP_METHODS
        if method in item
    ]


def test_every_cited_id_links_to_its_catalogue_entry() -> None:
    document, requirements = _enriched()
    text = str(document)
    links = LINK.findall(text)
    assert len(links) > 300
    assert all(shown == target for shown, target in links)
    known = {r["id"] for r in requirements}
    assert {target for _, target in links} <= known
    # No citation is left bare: every [ID] of the source became a link.
    bare = re.findall(r"(?<!\[)\[([A-Z]{2,5}-\d{3})\](?!\()", text)
    assert bare == [], bare[:10]


def test_the_rendered_catalogue_has_an_anchor_per_id() -> None:
    _, requirements = _enriched()
    page = _extras().render_catalogue(requirements, "Requirements")
    anchors = set(re.findall(r'<dt id="([A-Z]{2,5}-\d{3})"', page))
    assert anchors == {r["id"] for r in requirements}
    assert html.escape(requirements[0]["title"]) in page


def test_every_operation_says_which_error_when() -> None:
    document, _ = _enriched()
    source = fulfillment_spec.load_openapi()
    for operation, original in zip(_operations(document), _operations(source), strict=True):
        statuses = sorted(s for s in original["responses"] if str(s).startswith("4"))
        table = operation["description"].split("**Which error when**")[-1]
        rows = re.findall(r"^\| (4\d\d) \| `([a-z_()\s]+)` \|", table, flags=re.M)
        assert sorted({status for status, _ in rows}) == statuses, operation["operationId"]
    cancel = document["paths"]["/orders/{order_id}/cancel"]["post"]["description"]
    assert "| 409 | `too_late_to_cancel` |" in cancel and "CAN-005" in cancel


def test_the_build_writes_the_catalogue_next_to_the_reference(tmp_path: Path) -> None:
    bundle = ROOT / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
    if not bundle.exists():
        pytest.skip("the build needs Redoc's bundle (run `npm ci`)")
    out = tmp_path / "api-reference.html"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_reference.py"), "--output", str(out)],
        check=True,
        timeout=120,
    )
    assert (tmp_path / "requirements.html").exists()
    assert "requirements.html#AUTH-006" in out.read_text(encoding="utf-8")
