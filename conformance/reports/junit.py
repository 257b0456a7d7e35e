"""JUnit XML with one test case per requirement, for CI dashboards (GitLab, Jenkins, Azure...).

pytest's own `--junitxml` names test functions, so a dashboard could not say which rule broke,
and requirements without a check of their own never appeared. Here every requirement id of the
report appears exactly once: `name` is "ID title", `classname` the profile.

- failed: a <failure> whose text says what happened, what the rule expects and the evidence;
- warning: not a failure (a SHOULD does not fail a build): a note in <system-out>, and a
  `warning` property on the suite (test-case properties are not in the JUnit schema CI tools
  validate against, which is why pytest warns about record_property with xunit2);
- skipped, not_exercised, not_applicable and the not-tested requirements: <skipped>, with a
  `type` that tells them apart and the reason as its message;
- passed: a plain test case.
Every text is scrubbed of secrets and of the characters XML 1.0 cannot carry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance import redaction
from conformance.reports import evidence_of, scrubbed, statement_of

__all__ = ["SUITE_NAME", "render", "write"]

SUITE_NAME = "fulfillment-conformance"
# XML 1.0 allows tab, newline, carriage return and the printable ranges only; a hostile response
# body may hold anything (a NUL, an escape sequence), and an invalid file is no file to a CI tool.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SKIP_TYPES = {
    "skipped": "skipped",
    "not_exercised": "not_exercised",
    "not_applicable": "not_applicable",
}


def _clean(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", redaction.scrub(str(value)))


def _one_line(value: Any) -> str:
    return " ".join(_clean(value).split())


def _http_message(headers: dict[str, str], body: str | None) -> list[str]:
    lines = [f"{name}: {value}" for name, value in headers.items()]
    return [*lines, "", body] if body else lines


def _evidence_text(entry: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for number, item in enumerate(evidence_of(entry), start=1):
        request, response = item["request"], item["response"]
        lines += ["", f"evidence {number}:", f"> {request['method']} {request['url']}"]
        lines += ["> " + line for line in _http_message(request["headers"], request["body"])]
        if response is None:
            lines.append("< no response")
        else:
            lines.append(f"< {response['status']}")
            lines += ["< " + line for line in _http_message(response["headers"], response["body"])]
        if item["curl"]:
            lines += ["replay:", item["curl"]]
    return lines


def _details(entry: dict[str, Any]) -> str:
    """What happened, what the rule expects, and the evidence, for a person reading CI output."""
    lines = [f"{entry['id']} [{entry['level']}] {entry['title']}", f"happened: {entry['message']}"]
    statement = statement_of(entry["id"])
    if statement:
        lines.append(f"expected: {statement}")
    return _clean("\n".join(lines + _evidence_text(entry)))


def _testcase(suite: ET.Element, entry: dict[str, Any]) -> ET.Element:
    return ET.SubElement(
        suite,
        "testcase",
        {
            "name": _one_line(f"{entry['id']} {entry['title']}"),
            "classname": _clean(entry["profile"]),
        },
    )


def _judged_case(suite: ET.Element, entry: dict[str, Any]) -> None:
    case = _testcase(suite, entry)
    outcome = entry["outcome"]
    if outcome == "failed":
        failure = ET.SubElement(
            case, "failure", {"message": _one_line(entry["message"]), "type": entry["level"]}
        )
        failure.text = _details(entry)
    elif outcome == "warning":
        ET.SubElement(
            case, "system-out"
        ).text = f"WARNING ({_clean(entry['level'])}, does not fail the build)\n{_details(entry)}"
    elif outcome in _SKIP_TYPES:
        ET.SubElement(
            case, "skipped", {"type": _SKIP_TYPES[outcome], "message": _one_line(entry["message"])}
        )


def _not_tested_case(suite: ET.Element, entry: dict[str, Any]) -> None:
    case = _testcase(suite, entry)
    ET.SubElement(case, "skipped", {"type": "not_tested", "message": _one_line(entry["reason"])})


def _error_case(suite: ET.Element, number: int, error: str) -> None:
    case = ET.SubElement(
        suite, "testcase", {"name": f"collection error {number}", "classname": "kit"}
    )
    ET.SubElement(case, "error", {"message": _one_line(error.splitlines()[0] if error else "")})
    case[0].text = _clean(error)


def _seconds(report: dict[str, Any]) -> str:
    try:
        started = datetime.fromisoformat(str(report["started_at"]).replace("Z", "+00:00"))
        finished = datetime.fromisoformat(str(report["finished_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return "0"
    return f"{max((finished - started).total_seconds(), 0.0):.3f}"


def _properties(suite: ET.Element, report: dict[str, Any]) -> None:
    facts = {
        "verdict": report["verdict"],
        "kit_version": report.get("kit_version", ""),
        "spec_version": report.get("spec_version", ""),
        "spec_sha256": report.get("spec_sha256", ""),
        "target": report.get("target", {}).get("base_url", ""),
        "profiles": ", ".join(report.get("profiles", [])),
        "requests_made": report.get("requests_made", ""),
        "run_id": report.get("run_id", ""),
        "seed": report.get("seed", ""),
    }
    properties = ET.SubElement(suite, "properties")
    for name, value in facts.items():
        ET.SubElement(properties, "property", {"name": name, "value": _one_line(value)})
    for entry in report["requirements"]:
        if entry["outcome"] == "warning":
            value = _one_line(f"{entry['id']}: {entry['message']}")
            ET.SubElement(properties, "property", {"name": "warning", "value": value})


def render(report: dict[str, Any], *, errors: Sequence[str] = ()) -> ET.Element:
    """The <testsuites> element of the report."""
    report = scrubbed(report)
    judged = report["requirements"]
    not_tested = report.get("not_tested", [])
    counts = {
        "tests": len(judged) + len(not_tested) + len(errors),
        "failures": sum(1 for entry in judged if entry["outcome"] == "failed"),
        "errors": len(errors),
        "skipped": sum(1 for entry in judged if entry["outcome"] in _SKIP_TYPES) + len(not_tested),
    }
    attributes = {name: str(count) for name, count in counts.items()}
    root = ET.Element("testsuites", {"name": SUITE_NAME, **attributes, "time": _seconds(report)})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": SUITE_NAME,
            **attributes,
            "time": _seconds(report),
            "timestamp": _clean(report.get("started_at", "")).removesuffix("Z"),
        },
    )
    _properties(suite, report)
    for entry in judged:
        _judged_case(suite, entry)
    for entry in not_tested:
        _not_tested_case(suite, entry)
    for number, error in enumerate(errors, start=1):
        _error_case(suite, number, error)
    return root


def write(report: dict[str, Any], path: str | Path, *, errors: Sequence[str] = ()) -> Path:
    """Write the JUnit XML of `report` to `path`; `errors` are check modules that could not be
    collected (each becomes an <error> test case, so CI shows them)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(render(report, errors=errors))
    ET.indent(tree)
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return target
