"""The checks and the catalogue cannot drift apart (Inferno's requirements coverage checker):
every check module imports (so every id it cites exists, one profile per check), and every
requirement a check cites is testable."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import conformance.checks
from conformance.catalogue import LEVELS, MARKER, CatalogueError, Requirement, catalogue

MODULES = sorted(
    name
    for _, name, _ in pkgutil.iter_modules(conformance.checks.__path__)
    if name.startswith("test_")
)


def test_every_check_module_cites_known_ids_of_one_profile() -> None:
    broken = {}
    for name in MODULES:
        try:
            importlib.import_module(f"conformance.checks.{name}")
        except CatalogueError as exc:
            broken[name] = str(exc)
    assert not broken, f"expected every check module to cite catalogue ids, got {broken}"


def test_checks_cite_only_testable_requirements() -> None:
    cited: dict[str, str] = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"conformance.checks.{name}")
        except CatalogueError:
            continue  # reported by the test above
        for attribute, value in vars(module).items():
            for mark in getattr(value, "pytestmark", []):
                if getattr(mark, "name", None) == MARKER:
                    cited.update({rid: f"{name}.{attribute}" for rid in mark.args})
    untestable = {rid: where for rid, where in cited.items() if not catalogue()[rid].testable}
    assert not untestable, f"expected checks only for testable requirements, got {untestable}"


def test_every_catalogue_level_is_an_rfc_2119_word() -> None:
    assert {entry.level for entry in catalogue().values()} <= set(LEVELS)


def test_a_misspelt_level_is_refused_not_judged_as_a_should() -> None:
    entry = {"id": "X-001", "level": "should", "profile": "core", "title": "t"}
    assert Requirement.from_entry(entry).level == "SHOULD"  # the catalogue's case is not kept
    with pytest.raises(CatalogueError, match=r"'X-002' has level 'SHOUD', not one of MUST"):
        Requirement.from_entry({**entry, "id": "X-002", "level": "SHOUD"})
