"""Turns per-check results into one outcome per requirement, a verdict and summary counts.

The rules (an outcome says only what was seen):
- a check that passes is evidence its requirements pass; one that fails makes a MUST `failed` and
  a SHOULD or MAY `warning`; a skipped check makes its requirements `skipped` with the reason;
- a check that never met what its rule judges (no 429 was ever sent, every attempt was rate
  limited) makes its requirements `not_exercised`: shown in every report, not blocking;
- several checks for one requirement: a failure wins over a skip, a skip over a pass, a pass over
  not exercised (a requirement is verified only when every check of it ran, and one passed);
- a requirement of a profile the vendor does not claim is `not_applicable`;
- a testable requirement of a claimed profile with no check is `skipped` "no check implemented"
  (or the reason its checks were left out, e.g. --no-property-based);
- with --only, a requirement not selected is `skipped` "not selected";
- `testable: false` requirements are not judged: they are listed under `not_tested` with the
  catalogue's reason.
The verdict is `conformant` exactly when no MUST requirement of a claimed profile is `failed` or
`skipped`; a run that left checks out on purpose (--only, --no-property-based) is `partial`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NoReturn, get_args

import pytest

from conformance import redaction
from conformance.catalogue import Level, Requirement

__all__ = [
    "CHECK_OUTCOMES",
    "OUTCOMES",
    "Aggregate",
    "CheckOutcome",
    "CheckResult",
    "NotExercised",
    "NotTested",
    "Outcome",
    "RequirementResult",
    "Verdict",
    "aggregate",
    "exit_code",
    "not_exercised",
]

# A requirement's outcome, a check's outcome and a run's verdict: closed vocabularies (the JSON
# report's values), typed so a misspelt one is a type error.
Outcome = Literal["passed", "failed", "warning", "skipped", "not_exercised", "not_applicable"]
CheckOutcome = Literal["passed", "failed", "skipped", "not_exercised"]
Verdict = Literal["conformant", "not_conformant", "partial"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
CHECK_OUTCOMES: tuple[CheckOutcome, ...] = get_args(CheckOutcome)
CONFORMANT: Final = "conformant"
NOT_CONFORMANT: Final = "not_conformant"
PARTIAL: Final = "partial"


class NotExercised(pytest.skip.Exception):  # type: ignore[name-defined]
    """Raised by a check whose rule the run never met (no 429 was ever sent, no date field was
    ever seen, every attempt was rate limited): the requirement is `not_exercised`, which is
    shown in every report and does not block a verdict. A subclass of pytest's skip, so plain
    pytest shows it as a skip with the reason."""


def not_exercised(reason: str) -> NoReturn:
    """End the check: what it judges never happened in this run (`reason` says what was seen)."""
    raise NotExercised(msg=reason)


@dataclass(frozen=True)
class CheckResult:
    """What one check (one pytest item) did, and the requirement ids it cites."""

    nodeid: str
    ids: tuple[str, ...]
    outcome: CheckOutcome
    message: str = ""
    # The exchanges behind a failure (conformance.evidence items), for the person fixing it.
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass
class RequirementResult:
    id: str
    title: str
    level: Level
    profile: str
    outcome: Outcome
    message: str
    checks: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report's entry: exactly the fields of the JSON contract."""
        return {
            "id": self.id,
            "title": self.title,
            "level": self.level,
            "profile": self.profile,
            "outcome": self.outcome,
            "message": self.message,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class NotTested:
    id: str
    title: str
    level: Level
    profile: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "level": self.level,
            "profile": self.profile,
            "reason": self.reason,
        }


@dataclass
class Aggregate:
    verdict: Verdict
    profiles: tuple[str, ...]
    requirements: list[RequirementResult]
    not_tested: list[NotTested]
    summary: dict[str, int]

    @property
    def conformant(self) -> bool:
        return self.verdict == CONFORMANT

    @property
    def exit_code(self) -> int:
        """The CLI's contract: 0 conformant; 1 not; a partial run 1 only when a MUST it ran
        failed (2, configuration errors, is the CLI's own)."""
        return exit_code(self.verdict, [result.as_dict() for result in self.requirements])

    def blocking(self) -> list[RequirementResult]:
        """The MUST requirements of claimed profiles that were failed or skipped."""
        return [
            result
            for result in self.requirements
            if result.level == "MUST"
            and result.profile in self.profiles
            and result.outcome in ("failed", "skipped")
        ]


def exit_code(verdict: str, requirements: Sequence[Mapping[str, Any]]) -> int:
    """0 or 1 from a verdict and the report's requirement entries (see Aggregate.exit_code)."""
    if verdict == PARTIAL:
        failed = any(r["level"] == "MUST" and r["outcome"] == "failed" for r in requirements)
        return 1 if failed else 0
    return 0 if verdict == CONFORMANT else 1


# The message of a requirement an --only run did not select (the console folds these).
NOT_SELECTED = "not selected (--only)"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _evidence(checks: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """The failed checks' evidence, the first check's first (at most three items)."""
    items = [item for check in checks if check.outcome == "failed" for item in check.evidence]
    return items[:3]


def _judge(requirement: Requirement, checks: Sequence[CheckResult]) -> tuple[Outcome, str]:
    failed = [check for check in checks if check.outcome == "failed"]
    skipped = [check for check in checks if check.outcome == "skipped"]
    if failed:
        outcome: Outcome = "failed" if requirement.level == "MUST" else "warning"
        message = failed[0].message or "the check failed"
        if len(failed) > 1:
            message += f" (and {_plural(len(failed) - 1, 'more failed check')})"
        return outcome, message
    if skipped:
        return "skipped", skipped[0].message or "the check was skipped"
    unexercised = [check for check in checks if check.outcome == "not_exercised"]
    if len(unexercised) == len(checks):
        return "not_exercised", unexercised[0].message or "the run never met what this rule judges"
    checks = [check for check in checks if check.outcome == "passed"]
    notes = [check.message for check in checks if check.message]
    return "passed", "; ".join(notes) or f"{_plural(len(checks), 'check')} passed"


def aggregate(
    results: Iterable[CheckResult],
    *,
    profiles: Sequence[str],
    catalogue: Mapping[str, Requirement],
    only: Sequence[str] = (),
    not_run: Mapping[str, str] | None = None,
    partial: bool = False,
) -> Aggregate:
    """One outcome per testable requirement (catalogue order), the not-tested list, the verdict.

    `partial`: the run left checks out on purpose (--only, --no-property-based), so its verdict
    is `partial` whatever it found: it is evidence, not a certificate.
    """
    by_id: dict[str, list[CheckResult]] = {}
    for result in results:
        for requirement_id in result.ids:
            by_id.setdefault(requirement_id, []).append(result)
    selected = set(only)
    requirements: list[RequirementResult] = []
    not_tested: list[NotTested] = []
    for requirement in catalogue.values():
        if not requirement.testable:
            reason = requirement.not_tested_reason or "not testable from outside the API"
            not_tested.append(
                NotTested(
                    requirement.id,
                    requirement.title,
                    requirement.level,
                    requirement.profile,
                    redaction.scrub(reason),
                )
            )
            continue
        checks = by_id.get(requirement.id, [])
        outcome: Outcome
        if requirement.profile not in profiles:
            outcome, message = "not_applicable", f"profile {requirement.profile} not claimed"
        elif selected and requirement.id not in selected:
            outcome, message = "skipped", NOT_SELECTED
        elif not checks:
            reason = (not_run or {}).get(requirement.id, "no check implemented")
            outcome, message = "skipped", reason
        else:
            outcome, message = _judge(requirement, checks)
        requirements.append(
            RequirementResult(
                id=requirement.id,
                title=requirement.title,
                level=requirement.level,
                profile=requirement.profile,
                outcome=outcome,
                message=redaction.scrub(message),
                checks=[check.nodeid for check in checks],
                evidence=_evidence(checks) if outcome in ("failed", "warning") else [],
            )
        )
    summary: dict[str, int] = {name: 0 for name in OUTCOMES}
    for judged in requirements:
        summary[judged.outcome] += 1
    blocked = any(
        result.level == "MUST" and result.outcome in ("failed", "skipped")
        for result in requirements
        if result.profile in profiles
    )
    verdict: Verdict = NOT_CONFORMANT if blocked else CONFORMANT
    return Aggregate(
        verdict=PARTIAL if partial else verdict,
        profiles=tuple(profiles),
        requirements=requirements,
        not_tested=not_tested,
        summary=summary,
    )
