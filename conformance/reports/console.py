"""The console summary: one line per requirement that needs attention, then the totals.

A vendor's CI log should say, without scrolling, which rule broke and why. Passed and
not-applicable requirements are counted, not listed (the JSON and HTML reports list them all).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance import redaction
from conformance.outcomes import NOT_SELECTED

__all__ = ["summary_lines", "verdict_line"]

_ORDER = ("failed", "warning", "skipped")
_LABEL = {"failed": "FAIL", "warning": "WARN", "skipped": "SKIP"}


def _one_line(message: str, limit: int = 220) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def verdict_line(report: dict[str, Any]) -> str:
    verdict = "CONFORMANT" if report["verdict"] == "conformant" else "NOT CONFORMANT"
    return (
        f"verdict: {verdict} (profiles {', '.join(report['profiles'])};"
        f" {report['requests_made']} requests made)"
    )


def summary_lines(report: dict[str, Any], *, errors: Sequence[str] = ()) -> list[str]:
    lines = ["", "== conformance: requirements =="]
    # An --only run leaves most requirements unselected; one count says so better than a line each.
    unselected = [e for e in report["requirements"] if e["message"] == NOT_SELECTED]
    for outcome in _ORDER:
        for entry in report["requirements"]:
            if entry["outcome"] == outcome and entry["message"] != NOT_SELECTED:
                lines.append(
                    f"{_LABEL[outcome]} {entry['id']} [{entry['level']}] {entry['title']}:"
                    f" {_one_line(entry['message'])}"
                )
    if unselected:
        lines.append(f"({len(unselected)} requirements not selected by --only)")
    summary = report["summary"]
    lines.append(
        "totals: "
        + ", ".join(f"{summary.get(name, 0)} {name}" for name in summary)
        + f"; {len(report.get('not_tested', []))} not tested"
    )
    for error in errors:
        lines.append(f"ERROR a check module could not be collected: {_one_line(error)}")
    lines.append(verdict_line(report))
    return [redaction.scrub(line) for line in lines]
