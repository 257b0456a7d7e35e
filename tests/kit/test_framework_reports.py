"""The JSON report's shape (the design note's contract), the HTML certificate, the console
summary, and that no secret reaches any of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance import redaction
from conformance.catalogue import Requirement
from conformance.config import Config
from conformance.outcomes import CheckResult, aggregate
from conformance.reports import console, html_report, json_report

TOKEN = "wms_secret_token_for_reports"
SECOND = "wms_secret_second_token"
WHSEC = "whsec_9f8e7d6c5b4a"

OUTCOME = {"enum": ["passed", "failed", "warning", "skipped", "not_applicable"]}
TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"}
COUNT = {"type": "integer", "minimum": 0}
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "verdict",
        "kit_version",
        "spec_version",
        "spec_sha256",
        "target",
        "started_at",
        "finished_at",
        "profiles",
        "requests_made",
        "requirements",
        "summary",
        "not_tested",
        "run_id",
        "seed",
    ],
    "additionalProperties": False,
    "properties": {
        "verdict": {"enum": ["conformant", "not_conformant"]},
        "kit_version": {"type": "string", "minLength": 1},
        "spec_version": {"type": "string", "minLength": 1},
        "spec_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "target": {
            "type": "object",
            "required": ["base_url"],
            "additionalProperties": False,
            "properties": {"base_url": {"type": "string"}},
        },
        "started_at": TIMESTAMP,
        "finished_at": TIMESTAMP,
        "profiles": {"type": "array", "items": {"type": "string"}},
        "requests_made": COUNT,
        "requirements": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "title", "level", "profile", "outcome", "message"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Z]+-\d{3}$"},
                    "title": {"type": "string"},
                    "level": {"enum": ["MUST", "SHOULD", "MAY"]},
                    "profile": {"type": "string"},
                    "outcome": OUTCOME,
                    "message": {"type": "string"},
                },
            },
        },
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["passed", "failed", "warning", "skipped", "not_applicable"],
            "properties": {name: COUNT for name in OUTCOME["enum"]},
        },
        "not_tested": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "level", "profile", "reason"],
                "properties": {"reason": {"type": "string", "minLength": 1}},
            },
        },
        "run_id": {"type": "string", "minLength": 1},
        "seed": {"type": "integer"},
    },
}

CATALOGUE = {
    r.id: r
    for r in [
        Requirement("ORD-001", "MUST", "core", "Orders are <created> & kept"),
        Requirement("ORD-002", "SHOULD", "core", "A should"),
        Requirement("INB-001", "MUST", "inbound", "Inbound"),
        Requirement("API-009", "MUST", "core", "Clock", testable=False, not_tested_reason="why"),
    ]
}


@pytest.fixture
def report() -> dict[str, Any]:
    redaction.register_secret(TOKEN)
    redaction.register_secret(SECOND)
    config = Config(base_url="http://127.0.0.1:1/v1", token=TOKEN, second_token=SECOND, seed=7)
    results = [
        CheckResult(
            "a", ("ORD-001",), "failed", f"sent Bearer {TOKEN} and {WHSEC} <script>x</script>"
        ),
        CheckResult("b", ("ORD-002",), "passed"),
    ]
    result = aggregate(results, profiles=("core",), catalogue=CATALOGUE)
    return json_report.build(
        result,
        config=config,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:01:00Z",
        requests_made=12,
    )


def test_json_report_matches_the_contract(report: dict[str, Any], tmp_path: Path) -> None:
    path = json_report.write(report, tmp_path / "out" / "report.json")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(loaded, REPORT_SCHEMA)
    assert loaded["verdict"] == "not_conformant"
    assert loaded["summary"] == {
        "passed": 1,
        "failed": 1,
        "warning": 0,
        "skipped": 0,
        "not_applicable": 1,
    }
    assert loaded["not_tested"][0]["id"] == "API-009" and loaded["seed"] == 7
    assert [r["id"] for r in loaded["requirements"]] == ["ORD-001", "ORD-002", "INB-001"]


def test_no_secret_in_json_html_or_console(report: dict[str, Any], tmp_path: Path) -> None:
    texts = [
        json_report.write(report, tmp_path / "r.json").read_text(encoding="utf-8"),
        html_report.write(report, tmp_path / "r.html").read_text(encoding="utf-8"),
        "\n".join(console.summary_lines(report)),
    ]
    for text in texts:
        for secret in (TOKEN, SECOND, WHSEC):
            assert secret not in text


def test_html_certificate_is_self_contained_and_escaped(report: dict[str, Any]) -> None:
    page = html_report.render(report)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Orders are &lt;created&gt; &amp; kept" in page
    assert "Not conformant" in page and report["spec_sha256"] in page
    assert "http://127.0.0.1:1/v1" in page and "Requests made" in page and "why" in page
    assert "src=" not in page and "<link" not in page  # nothing loaded from elsewhere


def test_console_lists_what_needs_attention_and_totals(report: dict[str, Any]) -> None:
    lines = console.summary_lines(report)
    assert any(line.startswith("FAIL ORD-001 [MUST]") for line in lines)
    assert not any("ORD-002" in line for line in lines)  # passed: counted, not listed
    assert any(line.startswith("totals: 1 passed, 1 failed") for line in lines)
    assert lines[-1].startswith("verdict: NOT CONFORMANT")


def test_scrub_masks_tokens_bearer_and_webhook_secrets() -> None:
    redaction.register_secret("abcdefgh-registered")
    text = "token abcdefgh-registered; Authorization: Bearer unregistered.jwt.value; whsec_x1y2"
    scrubbed = redaction.scrub(text)
    assert "abcdefgh-registered" not in scrubbed
    assert "unregistered.jwt.value" not in scrubbed
    assert "whsec_x1y2" not in scrubbed
    assert redaction.scrub("a Bearer token") == "a Bearer token"
    assert redaction.scrub_data({"k": ["whsec_abc", 1]}) == {"k": ["whsec_***", 1]}
