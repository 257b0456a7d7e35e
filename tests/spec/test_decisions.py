"""Every decision the catalogue cites is a section of docs/decisions.md, in this repository.

The catalogue's `source.decision` numbers, and the "decision N" citations in the spec, the kit and
the sandbox, must resolve to a `### N. Title` section; nothing may point at a design document
outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import fulfillment_spec

ROOT = Path(__file__).resolve().parents[2]
DECISIONS = ROOT / "docs" / "decisions.md"


def _sections() -> set[int]:
    return {int(n) for n in re.findall(r"^### (\d+)\. \S", DECISIONS.read_text(), flags=re.M)}


def _cited_by_catalogue() -> dict[str, set[int]]:
    cited: dict[str, set[int]] = {}
    for rule in fulfillment_spec.load_requirements():
        numbers = rule["source"]["decision"]
        cited[rule["id"]] = set(numbers if isinstance(numbers, list) else [numbers])
    return cited


def test_sections_are_numbered_once_and_in_order() -> None:
    """Ascending from 1, each number once. A gap is allowed: branches worked on at the same time
    are each given their own numbers, so one branch alone lacks the others' sections until they
    merge (a number is never reused or renumbered)."""
    numbers = [int(n) for n in re.findall(r"^### (\d+)\. ", DECISIONS.read_text(), flags=re.M)]
    # Strictly increasing from 1. A gap is allowed: numbers are handed to branches developed side
    # by side, so one branch may hold 59 before the branches holding 52 to 58 are merged.
    assert numbers[:1] == [1]
    assert numbers == sorted(set(numbers)), numbers


def test_every_catalogue_decision_is_a_section() -> None:
    sections = _sections()
    missing = {rule: cited - sections for rule, cited in _cited_by_catalogue().items()}
    assert {rule: gone for rule, gone in missing.items() if gone} == {}
    assert any(_cited_by_catalogue().values())


def test_every_decision_cited_in_the_code_and_spec_is_a_section() -> None:
    files = subprocess.run(
        ["git", "ls-files", "spec", "conformance", "examples", "tests", "scripts", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    cited: dict[int, str] = {}
    pattern = re.compile(r"\bdecisions? (\d+)(?:\s*(?:-|to|and|,)\s*(\d+))?")
    for name in files:
        path = ROOT / name
        if path.suffix not in {".py", ".yaml", ".md"} or not path.exists():
            continue
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            first, last = int(match[1]), int(match[2] or match[1])
            for number in range(first, max(first, last) + 1):
                cited.setdefault(number, name)
    assert cited
    assert {n: where for n, where in cited.items() if n not in _sections()} == {}


def test_nothing_points_outside_the_repository() -> None:
    # Spelled in two parts so that this file does not find itself.
    outside = ["/work/" + "shared", "design/" + "decisions.md"]
    outside += [name + ".md" for name in ("conformance-kit", "schemathesis-notes", "house-style")]
    patterns = [arg for name in outside for arg in ("-e", name)]
    hits = subprocess.run(
        ["git", "grep", "-n", "-I", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert hits == ""
