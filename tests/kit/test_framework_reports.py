"""The JSON report's shape (the design note's contract), the HTML certificate, the console
summary, the JUnit file, the progress line, and that no secret reaches any of them."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance import redaction
from conformance.catalogue import Requirement
from conformance.config import Config
from conformance.outcomes import NOT_SELECTED, CheckResult, aggregate
from conformance.reports import console, html_report, json_report, junit
from conformance.reports.progress import Progress

TOKEN = "wms_secret_token_for_reports"
SECOND = "wms_secret_second_token"
WHSEC = "whsec_9f8e7d6c5b4a"

OUTCOME = {"enum": ["passed", "failed", "warning", "skipped", "not_exercised", "not_applicable"]}
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
        "verdict": {"enum": ["conformant", "not_conformant", "partial"]},
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
                "required": ["id", "title", "level", "profile", "outcome", "message", "evidence"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Z]+-\d{3}$"},
                    "title": {"type": "string"},
                    "level": {"enum": ["MUST", "SHOULD", "MAY"]},
                    "profile": {"type": "string"},
                    "outcome": OUTCOME,
                    "message": {"type": "string"},
                    "evidence": {"type": "array", "items": {"$ref": "#/$defs/evidence"}},
                },
            },
        },
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": OUTCOME["enum"],
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
    "$defs": {
        "evidence": {
            "type": "object",
            "required": ["request", "response", "curl"],
            "properties": {
                "request": {
                    "type": "object",
                    "required": ["method", "url", "headers", "body"],
                    "properties": {
                        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                        "body": {"type": ["string", "null"]},
                    },
                },
                "response": {
                    "type": ["object", "null"],
                    "required": ["status", "headers", "body"],
                    "properties": {"status": {"type": "integer"}, "body": {"type": "string"}},
                },
                "curl": {"type": "string"},
            },
        }
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
        "not_exercised": 0,
        "not_applicable": 1,
    }
    assert loaded["not_tested"][0]["id"] == "API-009" and loaded["seed"] == 7
    assert [r["id"] for r in loaded["requirements"]] == ["ORD-001", "ORD-002", "INB-001"]
    assert all(entry["evidence"] == [] for entry in loaded["requirements"])


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
    # The one script is the page's own filter; the target's `<script>x</script>` is text.
    assert page.count("<script>") == 1 and "<script>x" not in page and "&lt;script&gt;" in page
    assert "Orders are &lt;created&gt; &amp; kept" in page
    assert "NOT CONFORMANT" in page and report["spec_sha256"] in page
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


# -- reports built by hand, with evidence ---------------------------------------------------------
FAKE_TOKEN = "secret-token-123"
EVIDENCE_BODY = '{"order_number":"K-1","items":[{"sku":"SKU-1","quantity":2}],"note":"' + "x" * 150
CREATE = {
    "request": {
        "method": "POST",
        "url": "http://127.0.0.1:8080/v1/orders?page_size=" + "9" * 120,
        "headers": {"Authorization": f"Bearer {FAKE_TOKEN}", "X-Api-Key": FAKE_TOKEN},
        "body": EVIDENCE_BODY + '"}',
    },
    "response": {
        "status": 201,
        "headers": {"Content-Type": "application/json"},
        "body": '{"id":"ord_1","items":[{"sku":"SKU-1","quantity":3}],"echo":"<script>x</script>"}',
    },
    "curl": (
        "curl -X POST 'http://127.0.0.1:8080/v1/orders?page_size=" + "9" * 120 + "'"
        f" -H 'Authorization: Bearer {FAKE_TOKEN}' -H 'X-Api-Key: {FAKE_TOKEN}'"
        f" --data-raw '{EVIDENCE_BODY}\"}}'"
    ),
}
FAILED_MESSAGE = (
    "GET /orders/{id} returned items[0].quantity 3 for SKU-1 where the order was created with"
    " quantity 2; every other field matched, including the reference, the warehouse and ship_to"
)


def entry(
    requirement_id: str,
    outcome: str,
    message: str = "1 check passed",
    *,
    level: str = "MUST",
    profile: str = "core",
    evidence: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": requirement_id,
        "title": f"the title of {requirement_id}",
        "level": level,
        "profile": profile,
        "outcome": outcome,
        "message": message,
        "evidence": evidence or [],
    }


def hand_report(verdict: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    summary = dict.fromkeys(OUTCOME["enum"], 0)
    for item in entries:
        summary[item["outcome"]] += 1
    return {
        "verdict": verdict,
        "kit_version": "9.9.9",
        "spec_version": "1.0.0",
        "spec_sha256": "0" * 64,
        "target": {"base_url": "http://127.0.0.1:8080/v1"},
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:01:30Z",
        "profiles": ["core"],
        "requests_made": 321,
        "run_id": "run-abc",
        "seed": 42,
        "requirements": entries,
        "summary": summary,
        "not_tested": [
            {
                "id": "API-013",
                "title": "not testable",
                "level": "MUST",
                "profile": "core",
                "reason": "no black-box test can see it",
            }
        ],
    }


@pytest.fixture
def failing() -> dict[str, Any]:
    """Two failures with evidence (one secret in it), a warning, a skip, two not exercised."""
    return hand_report(
        "not_conformant",
        [
            entry("API-002", "passed"),
            entry("ORD-002", "failed", FAILED_MESSAGE, evidence=[CREATE, CREATE]),
            entry("API-007", "warning", "422 missing for an unknown field", level="SHOULD"),
            entry("INV-007", "skipped", "the driver cannot stock an unknown SKU " * 6),
            entry("API-001", "not_exercised", "no 429 was ever sent"),
            entry("AMD-010", "not_exercised", "no amendable order"),
            entry("ERR-007", "failed", "200 text/html, not 404", evidence=[]),
            entry("WHK-002", "not_applicable", "profile webhooks not claimed", profile="webhooks"),
        ],
    )


def words(lines: list[str]) -> set[str]:
    return {word.rstrip(",;") for line in lines for word in line.split()}


@pytest.mark.parametrize("width", [100, 72])
def test_console_blocks_fit_the_terminal_and_say_what_to_do(
    failing: dict[str, Any], width: int
) -> None:
    lines = console.summary_lines(failing, width=width)
    text = "\n".join(lines)
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]
    assert FAKE_TOKEN not in text
    start = lines.index(next(line for line in lines if line.startswith("FAIL ORD-002 [MUST]")))
    block = lines[start : lines.index("", start)]
    # What happened, whole words only; the rule's statement; the request, response and curl.
    assert words([FAILED_MESSAGE]) <= words(block)
    assert any(line.startswith("  happened: ") for line in block)
    assert any(line.startswith("  expected: getOrder with the id") for line in block)
    assert any(line.startswith("  > POST http://127.0.0.1:8080/v1/orders") for line in block)
    assert any(line.startswith("  < 201 {") for line in block)
    # A curl with a word longer than a line would be cut inside its quotes: it is not printed
    # broken, the console says where it is whole.
    assert any(line.startswith("  replay: a curl command of ") for line in block)
    assert any(line.endswith(" \\") for line in block)  # a long URL continued
    assert lines.index(block[0]) < text.count("\n")  # the blocks come before the totals
    assert any(line.startswith("WARN API-007 [SHOULD]") for line in lines)
    assert any(line.startswith("FAIL ERR-007 [MUST]") for line in lines)
    skip = [line for line in lines if line.startswith("SKIP INV-007 [MUST]")]
    assert len(skip) == 1 and skip[0].endswith("...")
    assert any(line.startswith("NOT EXERCISED 2 requirements") for line in lines)
    assert "API-001, AMD-010" in text
    assert not any("API-002" in line or "WHK-002" in line for line in lines)
    assert "1 passed, 2 failed, 1 warning, 1 skipped, 2 not exercised" in " ".join(lines)
    assert lines[-1] == "verdict: NOT CONFORMANT; profiles core; 321 requests made"


def test_console_of_a_partial_run_folds_the_unselected_and_is_no_certificate() -> None:
    report = hand_report(
        "partial",
        [entry("ORD-002", "passed")]
        + [entry(f"ORD-0{n}", "skipped", NOT_SELECTED) for n in range(10, 40)],
    )
    lines = console.summary_lines(report)
    assert "(30 requirements not selected by --only)" in lines
    assert not any(line.startswith("SKIP") for line in lines)
    verdict = [line for line in lines if line.startswith("verdict: ")]
    assert verdict[0].startswith("verdict: PARTIAL (not a certificate")
    assert all(len(line) <= 100 for line in lines)


def test_console_keeps_the_collection_errors_within_the_width(failing: dict[str, Any]) -> None:
    error = "ImportError: " + "a very long reason " * 30
    lines = console.summary_lines(failing, errors=[error])
    assert any(line.startswith("ERROR a check module could not be collected") for line in lines)
    assert all(len(line) <= 100 for line in lines)


# -- JUnit -----------------------------------------------------------------------------------------
def junit_cases(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = {case.get("name", "").split()[0]: case for case in suite.iter("testcase")}
    assert len(cases) == len(suite.findall("testcase"))  # every id exactly once
    return suite, cases


def test_junit_has_one_case_per_requirement_with_the_evidence(
    failing: dict[str, Any], tmp_path: Path
) -> None:
    failing["requirements"][1]["message"] += " \x00\x1b[31m"  # not XML: must not break the file
    path = junit.write(failing, tmp_path / "junit.xml")
    text = path.read_text(encoding="utf-8")
    assert FAKE_TOKEN not in text
    suite, cases = junit_cases(path)
    ids = [item["id"] for item in failing["requirements"]] + ["API-013"]
    assert sorted(cases) == sorted(ids)
    assert suite.get("name") == "fulfillment-conformance"
    counts = {name: suite.get(name) for name in ("tests", "failures", "errors", "skipped")}
    # skipped: INV-007, API-001, AMD-010 (not exercised), WHK-002 (n/a), API-013 (not tested)
    assert counts == {"tests": "9", "failures": "2", "errors": "0", "skipped": "5"}
    failure = cases["ORD-002"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("GET /orders/{id}")
    assert "expected: getOrder with the id" in (failure.text or "")
    assert "> POST http://127.0.0.1:8080/v1/orders" in (failure.text or "")
    assert "curl -X POST" in (failure.text or "")
    assert cases["ORD-002"].get("name") == "ORD-002 the title of ORD-002"
    assert cases["ORD-002"].get("classname") == "core"
    warning = cases["API-007"]
    assert warning.find("failure") is None and "WARNING" in (warning.findtext("system-out") or "")
    properties = {(p.get("name"), p.get("value", "")[:7]) for p in suite.iter("property")}
    assert ("warning", "API-007") in properties
    skip_types = {
        name: skipped.get("type")
        for name in ("INV-007", "API-001", "WHK-002", "API-013")
        if (skipped := cases[name].find("skipped")) is not None
    }
    assert skip_types == {
        "INV-007": "skipped",
        "API-001": "not_exercised",
        "WHK-002": "not_applicable",
        "API-013": "not_tested",
    }
    assert list(cases["API-002"]) == []  # passed: a plain test case


def test_junit_reports_collection_errors(failing: dict[str, Any], tmp_path: Path) -> None:
    path = junit.write(failing, tmp_path / "junit.xml", errors=["ImportError: boom\ntraceback"])
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1" and suite.get("tests") == "10"


# -- HTML ------------------------------------------------------------------------------------------
def test_html_puts_failures_first_with_evidence_and_links(failing: dict[str, Any]) -> None:
    page = html_report.render(failing)
    assert FAKE_TOKEN not in page and "Bearer ***" in page
    assert "NOT CONFORMANT" in page and "Profiles claimed" in page
    # Failures and warnings (with their evidence) come before every other requirement.
    first_pass = page.index('id="API-002"')
    for name in ("ORD-002", "ERR-007", "API-007"):
        assert page.index(f'id="{name}"') < first_pass
    assert page.index('id="ORD-002"') < page.index("POST http://127.0.0.1:8080/v1/orders")
    assert "curl -X POST" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "getOrder with the id from the create response MUST" in page  # the statement
    # Every requirement an anchor, linked; operations linked into the API reference.
    for item in failing["requirements"]:
        assert f'id="{item["id"]}"' in page and f'href="#{item["id"]}"' in page
    assert 'href="api-reference.html#operation/getOrder"' in page
    assert 'href="api-reference.html#operation/amendOrder"' in page  # from the table's rows
    # The filter: one checkbox per outcome, and the profiles.
    assert '<form id="filters"' in page and '<select name="profile">' in page
    for outcome in [*OUTCOME["enum"], "not_tested"]:
        assert f'name="outcome" value="{outcome}"' in page
        assert page.count(f'data-outcome="{outcome}"') >= 1


def test_html_loads_nothing_from_elsewhere(failing: dict[str, Any]) -> None:
    reference = "https://docs.example.test/api-reference.html"
    page = html_report.render(failing, reference_url=reference)
    assert "<link" not in page and not re.search(r"\bsrc\s*=", page)
    assert "<script>" in page and "<script src" not in page
    links = re.findall(r'href="(https?:[^"]*)"', page)
    assert links and all(link.startswith(reference + "#operation/") for link in links)
    assert "default-src 'none'" in page  # the browser is told so too


def test_html_of_a_partial_run_is_not_a_certificate(tmp_path: Path) -> None:
    report = hand_report("partial", [entry("ORD-002", "passed")])
    page = html_report.write(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "PARTIAL \N{EM DASH} NOT A CERTIFICATE" in page
    assert "Profiles claimed" in page and "Profiles certified" not in page
    conformant = html_report.render(hand_report("conformant", [entry("ORD-002", "passed")]))
    assert "Profiles certified" in conformant and ">CONFORMANT<" in conformant


def test_json_report_keeps_the_evidence_and_masks_it(
    failing: dict[str, Any], tmp_path: Path
) -> None:
    loaded = json.loads(json_report.write(failing, tmp_path / "r.json").read_text(encoding="utf-8"))
    jsonschema.validate(loaded, REPORT_SCHEMA)
    evidence = loaded["requirements"][1]["evidence"]
    assert len(evidence) == 2 and evidence[0]["response"]["status"] == 201
    assert evidence[0]["request"]["headers"] == {
        "Authorization": "Bearer ***",
        "X-Api-Key": "***",
    }
    assert FAKE_TOKEN not in json.dumps(loaded)


# -- progress --------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def run_progress(tty: bool) -> str:
    stream = io.StringIO()
    progress = Progress(stream, tty=tty, clock=Clock())
    progress.start({"orders": 3, "webhooks": 2, "property-based-" + "x" * 120: 1})
    for area, outcome in [
        ("orders", "passed"),
        ("orders", "failed"),
        ("orders", "passed"),
        ("webhooks", "skipped"),
        ("webhooks", "not_exercised"),
        ("property-based-" + "x" * 120, "passed"),
    ]:
        progress.advance(area, outcome)
    progress.finish()
    return stream.getvalue()


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    output = run_progress(tty=True)
    assert output.count("\n") == 1 and output.endswith("\n")
    frames = [frame.removeprefix("\x1b[K") for frame in output.rstrip("\n").split("\r")[1:]]
    assert frames[1].startswith("orders 2/3 | all 2/6 | 1 failed | ")
    assert frames[0].startswith("orders 1/3 | all 1/6 | no failures | ")
    assert all(len(frame) <= 100 for frame in frames)


def test_progress_in_ci_prints_a_plain_line_per_area() -> None:
    output = run_progress(tty=False)
    assert "\r" not in output and "\x1b" not in output
    lines = output.splitlines()
    assert lines[0] == "orders: 3 checks, 2 passed, 1 failed, 1.5 s"
    assert lines[1] == "webhooks: 2 checks, 1 skipped, 1 not exercised, 1.0 s"
    assert len(lines) == 4 and lines[3].startswith("6 checks in ")
    assert all(len(line) <= 100 for line in lines)


def test_a_curl_that_fits_is_printed_whole_between_words_and_masked() -> None:
    """A curl the console can show without cutting a word is shown whole, token masked, so a
    person can paste it."""
    short = {
        **CREATE,
        "curl": (
            "curl -X POST 'http://127.0.0.1:8080/v1/orders'"
            f" -H 'Authorization: Bearer {FAKE_TOKEN}' -H 'Idempotency-Key: k-1'"
            ' --data-raw \'{"order_number": "SO-1"}\''
        ),
    }
    report = hand_report("not_conformant", [entry("ORD-002", "failed", "x", evidence=[short])])
    lines = console.summary_lines(report, width=100)
    curl = [line for line in lines if line.startswith("  curl ") or line.startswith("      -")]
    assert curl and all(len(line) <= 100 for line in lines)
    joined = " ".join(line.removesuffix(" \\").strip() for line in curl)
    assert FAKE_TOKEN not in joined and "Bearer ***" in joined
    assert '--data-raw \'{"order_number": "SO-1"}\'' in joined
    assert not any("replay:" in line for line in lines)
