"""The pytest plugin, through pytester: inert unless asked; when asked, selection by profile
and id, per-check outcomes, reports, and no token anywhere in pytest's own output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import fulfillment_spec
import pytest

from conformance import catalogue as kit_catalogue

pytest_plugins = ["pytester"]

TOKEN = "wms_plugin_test_token_123"
FAKE_CATALOGUE = """
requirements:
  - {id: ORD-001, level: MUST, profile: core, title: One, statement: s, testable: true}
  - {id: ORD-002, level: SHOULD, profile: core, title: Two, statement: s, testable: true}
  - {id: ORD-003, level: MUST, profile: core, title: Three, statement: s, testable: true}
  - {id: ORD-004, level: MUST, profile: core, title: Four, statement: s, testable: true}
  - {id: ORD-005, level: MUST, profile: core, title: Five, statement: s, testable: true}
  - {id: INB-001, level: MUST, profile: inbound, title: In, statement: s, testable: true}
  - {id: API-009, level: MUST, profile: core, title: Clock, statement: s, testable: false,
     not_tested_reason: needs the clock}
"""

CHECKS = """
import pytest
from conformance.catalogue import requirement

@requirement("ORD-001")
def test_passes(conformance_config):
    assert conformance_config.run_id

@requirement("ORD-002")
def test_should_fails(conformance_config):
    assert False, "expected X, got Y with " + conformance_config.token

@requirement("ORD-003")
def test_skips():
    pytest.skip("driver cannot ship")

@requirement("ORD-004")
def test_setup_error(broken_fixture):
    pass

@pytest.fixture
def broken_fixture():
    raise RuntimeError("the fixture blew up")

@requirement("INB-001")
def test_inbound():
    pass

@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.requirement("ORD-005"))])
def test_param(x):
    assert x == 1
"""


@pytest.fixture
def fake_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    path = tmp_path / "requirements.yaml"
    path.write_text(FAKE_CATALOGUE, encoding="utf-8")
    for name in list(__import__("os").environ):
        if name.startswith("CONFORMANCE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(fulfillment_spec, "REQUIREMENTS_PATH", path)
    fulfillment_spec.load_requirements.cache_clear()
    kit_catalogue.catalogue.cache_clear()
    yield
    fulfillment_spec.load_requirements.cache_clear()
    kit_catalogue.catalogue.cache_clear()


def active_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--conformance-base-url",
        "http://127.0.0.1:9/v1",
        "-p",
        "no:cacheprovider",
        "--conformance-report-json",
        str(tmp_path / "report.json"),
        *extra,
    ]


def outcomes(tmp_path: Path) -> dict[str, tuple[str, str]]:
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    return {r["id"]: (r["outcome"], r["message"]) for r in report["requirements"]}


def test_inert_without_a_base_url(pytester: pytest.Pytester, fake_catalogue: None) -> None:
    pytester.makepyfile(
        test_plain="""
        def test_ordinary():
            assert True

        def test_wants_api(api):
            pass
        """,
        test_check="""
        from conformance.catalogue import requirement

        @requirement("ORD-001")
        def test_a_check(api):
            pass
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*fixture 'api' not found*"])
    result.stdout.fnmatch_lines(["*needs --conformance-base-url*"])
    assert "conformance: requirements" not in result.stdout.str()
    fixtures = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    assert "schema_validator" not in fixtures.stdout.str()


def test_outcomes_selection_and_reports(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFORMANCE_TOKEN", TOKEN)
    pytester.makepyfile(test_checks=CHECKS)
    junit = tmp_path / "junit.xml"
    html = tmp_path / "report.html"
    result = pytester.runpytest(
        *active_args(tmp_path, "--junitxml", str(junit), "--conformance-report-html", str(html))
    )
    result.assert_outcomes(passed=2, failed=1, skipped=1, errors=1, deselected=1)
    got = outcomes(tmp_path)
    assert got["ORD-001"] == ("passed", "1 check passed")
    assert got["ORD-002"][0] == "warning" and got["ORD-002"][1].startswith("expected X, got Y")
    assert got["ORD-003"] == ("skipped", "driver cannot ship")
    assert got["ORD-004"][0] == "failed" and "the fixture blew up" in got["ORD-004"][1]
    assert got["ORD-005"][0] == "passed"
    assert got["INB-001"][0] == "not_applicable"
    assert "API-009" not in got
    output = result.stdout.str() + result.stderr.str()
    assert "FAIL ORD-004 [MUST]" in output and "verdict: NOT CONFORMANT" in output
    assert "reproduce with --seed" in output
    for text in (
        output,
        junit.read_text(),
        html.read_text(),
        (tmp_path / "report.json").read_text(),
    ):
        assert TOKEN not in text


def test_only_runs_the_checks_citing_the_ids(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path
) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest(*active_args(tmp_path, "--conformance-only", "ORD-001"))
    result.assert_outcomes(passed=1, deselected=5)
    got = outcomes(tmp_path)
    assert got["ORD-001"][0] == "passed"
    assert got["ORD-002"] == ("skipped", "not selected (--only)")


def test_claimed_profile_runs_its_checks_and_core_is_always_evaluated(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path
) -> None:
    """Claiming only inbound still runs core: a certificate always covers core."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest(*active_args(tmp_path, "--conformance-profile", "inbound"))
    result.assert_outcomes(passed=3, failed=1, skipped=1, errors=1)
    assert outcomes(tmp_path)["ORD-001"][0] == "passed"


def test_driver_not_implemented_skips_the_check(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path
) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(
        vendor_driver="""
        class Driver:
            def __init__(self, base_url, token, timeout):
                self.base_url = base_url

            def ship(self, order_id, parcels=1, items=None):
                raise NotImplementedError
        """,
        test_checks="""
        from conformance.catalogue import requirement

        @requirement("ORD-001")
        def test_ships(driver):
            driver.ship("ord_1")

        @requirement("ORD-003")
        def test_voids(driver):
            driver.void("shp_1")
        """,
    )
    result = pytester.runpytest(
        *active_args(tmp_path, "--conformance-driver", "vendor_driver:Driver")
    )
    result.assert_outcomes(skipped=2)
    got = outcomes(tmp_path)
    assert got["ORD-001"] == ("skipped", "driver cannot ship")
    assert got["ORD-003"] == ("skipped", "driver cannot void")


def test_a_param_citing_an_unknown_id_fails(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path
) -> None:
    pytester.makepyfile(
        test_checks="""
        import pytest

        @pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.requirement("ORD-999"))])
        def test_unknown(x):
            pass
        """
    )
    result = pytester.runpytest(*active_args(tmp_path))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown requirement id 'ORD-999'*"])


def test_decorator_refuses_unknown_ids_and_mixed_profiles(fake_catalogue: None) -> None:
    with pytest.raises(kit_catalogue.CatalogueError, match="unknown requirement id"):
        kit_catalogue.requirement("NOPE-001")
    with pytest.raises(kit_catalogue.CatalogueError, match="span several profiles"):
        kit_catalogue.requirement("ORD-001", "INB-001")


def test_bad_configuration_is_a_usage_error(
    pytester: pytest.Pytester, fake_catalogue: None
) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("--conformance-base-url", "not-a-url", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is not an http:// or https:// URL*"])


def test_a_check_hands_over_its_own_evidence_and_not_exercised_is_its_own_outcome(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path
) -> None:
    """A failure raised with evidence (the Schemathesis phase's) carries it into the report,
    secrets masked; a check that never met its rule ends not_exercised, not passed."""
    pytester.makepyfile(
        test_checks=f"""
        from conformance.catalogue import requirement
        from conformance.evidence import FailedWithEvidence, evidence_item
        from conformance.outcomes import not_exercised

        @requirement("ORD-001")
        def test_fails_with_evidence():
            item = evidence_item(
                method="GET", url="http://x/v1/orders?updated_since=",
                request_headers={{"Authorization": "Bearer {TOKEN}"}}, request_body=None,
                status=200, response_headers={{}}, response_body="[]", curl="curl ...",
            )
            raise FailedWithEvidence("expected 400, got 200", [item])

        @requirement("ORD-003")
        def test_never_met():
            not_exercised("the server sent no 429")
        """
    )
    result = pytester.runpytest(*active_args(tmp_path))
    result.assert_outcomes(failed=1, skipped=1)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    entries = {entry["id"]: entry for entry in report["requirements"]}
    evidence = entries["ORD-001"]["evidence"]
    assert evidence and evidence[0]["request"]["url"] == "http://x/v1/orders?updated_since="
    assert TOKEN not in json.dumps(report)
    assert entries["ORD-003"]["outcome"] == "not_exercised"
    assert entries["ORD-003"]["message"] == "the server sent no 429"


NOTED_CHECKS = """
from conformance.catalogue import requirement
from conformance.http import RequestFailed

@requirement("ORD-001")
def test_leaves_a_note(note):
    note("no 429 was met")

@requirement("ORD-003")
def test_loses_its_request():
    raise RequestFailed("expected an answer, got a timeout")

@requirement("ORD-004")
def test_crashes():
    raise KeyError("oops")
"""


def test_notes_and_messages_told_apart_by_exception_class(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path
) -> None:
    """A passing check's note is its message; a finding (CheckFailure) gives its message alone;
    any other exception keeps its class name."""
    pytester.makepyfile(test_checks=NOTED_CHECKS)
    pytester.runpytest(*active_args(tmp_path))
    got = outcomes(tmp_path)
    assert got["ORD-001"] == ("passed", "no 429 was met")
    assert got["ORD-003"] == ("failed", "expected an answer, got a timeout")
    assert got["ORD-004"][0] == "failed" and got["ORD-004"][1].startswith("KeyError: 'oops'")
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["recorded_exchanges_dropped"] == 0
    assert report["requests_resent_after_lost_connection"] == 0


def test_without_pytest_terminal_a_failed_check_keeps_its_message_and_a_native_traceback(
    pytester: pytest.Pytester, fake_catalogue: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kit's own runs turn pytest's terminal off: the traceback of a failed check then goes
    to JUnit in Python's format (cheaper than pytest's), and the message and the verdict are the
    same as with the terminal on."""
    monkeypatch.setenv("CONFORMANCE_TOKEN", TOKEN)
    pytester.makepyfile(test_checks=CHECKS)
    seen: dict[str, dict[str, tuple[str, str]]] = {}
    for mode, extra in (("terminal", ()), ("no terminal", ("-p", "no:terminal"))):
        junit = tmp_path / f"junit-{len(seen)}.xml"
        pytester.runpytest(*active_args(tmp_path, "--junitxml", str(junit), *extra))
        seen[mode] = outcomes(tmp_path)
        failure = junit.read_text()
        if mode == "terminal":
            assert "Traceback (most recent call last)" not in failure
        else:
            assert "Traceback (most recent call last)" in failure
        assert "expected X, got Y" in failure
    assert seen["terminal"] == seen["no terminal"]
