"""The requirement catalogue as the kit sees it, and the decorator that ties a check to it.

Requirements are the product and checks are the evidence: every
check names the ids it verifies with `@requirement("IDEM-001", ...)`. The decorator refuses an
unknown id, and a check whose ids span two profiles, at import time, so the catalogue and the
checks cannot drift apart silently. The catalogue itself is read from `fulfillment_spec`, never
copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar, get_args

import fulfillment_spec
import pytest

from conformance.errors import KitError

__all__ = [
    "LEVELS",
    "MARKER",
    "PROFILES",
    "CatalogueError",
    "Level",
    "Requirement",
    "catalogue",
    "get",
    "profile_of",
    "requirement",
    "requirement_mark",
]

MARKER = "requirement"
# A requirement's level (RFC 2119): a closed vocabulary, the JSON report's `level` values.
Level = Literal["MUST", "SHOULD", "MAY"]
LEVELS: tuple[Level, ...] = get_args(Level)
# The profiles a vendor can claim, in report order: the ones the
# catalogue declares (spec/requirements.yaml, `profiles:`), never restated here.
PROFILES: tuple[str, ...] = tuple(fulfillment_spec.load_profiles())

F = TypeVar("F", bound=Callable[..., Any])


class CatalogueError(KitError, ValueError):
    """A check cites an id the catalogue does not have, or ids of two profiles."""


@dataclass(frozen=True)
class Requirement:
    """One rule of the contract: an entry of spec/requirements.yaml."""

    id: str
    level: Level
    profile: str
    title: str
    statement: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    operations: tuple[str, ...] = ()
    testable: bool = True
    not_tested_reason: str | None = None

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Requirement:
        return cls(
            id=str(entry["id"]),
            level=_level_of(entry),
            profile=str(entry["profile"]),
            title=str(entry.get("title") or ""),
            statement=str(entry.get("statement") or ""),
            source=dict(entry.get("source") or {}),
            operations=tuple(entry.get("operations") or ()),
            testable=bool(entry.get("testable", True)),
            not_tested_reason=entry.get("not_tested_reason"),
        )


def _level_of(entry: dict[str, Any]) -> Level:
    """The entry's level, upper-cased; a CatalogueError for a word RFC 2119 does not have (a
    misspelt "SHOUD" would otherwise be judged as a SHOULD-or-MAY: a warning, never a failure)."""
    level = str(entry["level"]).upper()
    for known in LEVELS:
        if level == known:
            return known
    raise CatalogueError(
        f"requirement {entry.get('id')!r} has level {entry['level']!r}, not one of"
        f" {', '.join(LEVELS)}"
    )


@cache
def catalogue() -> dict[str, Requirement]:
    """Every requirement by id, in catalogue order (cached for the process)."""
    entries = [Requirement.from_entry(entry) for entry in fulfillment_spec.load_requirements()]
    return {entry.id: entry for entry in entries}


def get(requirement_id: str) -> Requirement:
    try:
        return catalogue()[requirement_id]
    except KeyError:
        raise CatalogueError(f"unknown requirement id {requirement_id!r}") from None


def profile_of(ids: Iterable[str]) -> str:
    """The one profile shared by `ids`; a CatalogueError if they are unknown or span profiles."""
    ids = tuple(ids)
    if not ids:
        raise CatalogueError("a check must cite at least one requirement id")
    profiles = {get(requirement_id).profile for requirement_id in ids}
    if len(profiles) > 1:
        raise CatalogueError(
            f"requirement ids {', '.join(ids)} span several profiles"
            f" ({', '.join(sorted(profiles))}): a check verifies requirements of one profile"
        )
    return profiles.pop()


def requirement_mark(*ids: str) -> pytest.MarkDecorator:
    """The validated mark itself, for `pytest.param(..., marks=requirement_mark("ERR-004"))`."""
    profile_of(ids)
    mark: pytest.MarkDecorator = getattr(pytest.mark, MARKER)(*ids)
    return mark


def requirement(*ids: str) -> Callable[[F], F]:
    """Mark a check as evidence for the requirements `ids` (all of one profile).

    ```python
    @requirement("SHP-004")
    def test_each_parcel_has_exactly_one_tracking_number(api): ...
    ```
    """
    mark = requirement_mark(*ids)  # fails at import time, where the mistake is

    def decorate(check: F) -> F:
        return mark(check)

    return decorate
