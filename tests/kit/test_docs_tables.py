"""docs/what-the-kit-checks.md is generated (scripts/catalogue_docs.py): it must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "what-the-kit-checks.md"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "catalogue_docs", ROOT / "scripts" / "catalogue_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_doc_is_current():
    fresh = _generator().render()
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert committed == fresh, (
        "expected docs/what-the-kit-checks.md to match the catalogue, checks and kit tests, got a"
        " stale copy: run python scripts/catalogue_docs.py --output docs/what-the-kit-checks.md"
    )


def test_doc_lists_every_requirement_and_variant():
    generator = _generator()
    import fulfillment_spec

    from tests.kit.variants import VARIANTS

    text = generator.render()
    for entry in fulfillment_spec.load_requirements():
        assert f"| {entry['id']} |" in text, f"expected {entry['id']} in the catalogue table"
    for variant in VARIANTS:
        assert f"| {variant.name} |" in text, f"expected {variant.name} under what the kit accepts"


def test_checks_are_found_by_scanning(tmp_path: Path):
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "test_demo.py").write_text(
        "import pytest\n"
        "from conformance.catalogue import requirement, requirement_mark\n"
        "@requirement('ORD-001', 'ORD-002')\n"
        "def test_one(api): ...\n"
        "CASES = [pytest.param(1, marks=requirement_mark('ERR-004'), id='ERR-004-envelope')]\n",
        encoding="utf-8",
    )
    found = _generator().checks_by_requirement(checks)
    assert found == {
        "ORD-001": ["test_demo::test_one"],
        "ORD-002": ["test_demo::test_one"],
        "ERR-004": ["test_demo::[ERR-004-envelope]"],
    }
