"""The catalogue and the checks agree (Inferno's requirements coverage): every testable
requirement is verified by at least one check, and every untestable one says why.

Collected the way the kit collects (pytest over conformance.checks), so requirement marks on
parametrized cases count too. Collection needs no server: nothing here talks to a target.
"""

from __future__ import annotations

from typing import Any

import fulfillment_spec
import pytest


class _MarkCollector:
    def __init__(self) -> None:
        self.cited: set[str] = set()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for mark in item.iter_markers("requirement"):
                self.cited.update(str(arg) for arg in mark.args)


@pytest.fixture(scope="module")
def cited_ids() -> set[str]:
    collector = _MarkCollector()
    code = pytest.main(
        ["--collect-only", "-q", "-p", "no:cacheprovider", "--pyargs", "conformance.checks"],
        plugins=[collector],
    )
    assert code == 0, f"collecting conformance.checks failed with exit code {code}"
    return collector.cited


def _catalogue() -> list[dict[str, Any]]:
    return fulfillment_spec.load_requirements()


def test_every_testable_requirement_has_a_check(cited_ids: set[str]) -> None:
    testable = {entry["id"] for entry in _catalogue() if entry.get("testable", True)}
    missing = sorted(testable - cited_ids)
    assert not missing, f"expected a check for every testable requirement, got none for {missing}"


def test_no_check_claims_an_untestable_requirement(cited_ids: set[str]) -> None:
    untestable = {entry["id"] for entry in _catalogue() if not entry.get("testable", True)}
    claimed = sorted(untestable & cited_ids)
    assert not claimed, f"expected untestable requirements to have no check, got {claimed}"


def test_every_untestable_requirement_says_why() -> None:
    silent = [
        entry["id"]
        for entry in _catalogue()
        if not entry.get("testable", True) and not str(entry.get("not_tested_reason", "")).strip()
    ]
    assert not silent, f"expected a not_tested_reason, got none for {silent}"
