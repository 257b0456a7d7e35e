"""Outcome aggregation, the verdict and the CLI's exit code, on an in-memory catalogue."""

from __future__ import annotations

from conformance.catalogue import Requirement
from conformance.outcomes import CheckResult, aggregate


def req(rid: str, level: str = "MUST", profile: str = "core", **kw: object) -> Requirement:
    return Requirement(id=rid, level=level, profile=profile, title=f"title of {rid}", **kw)  # type: ignore[arg-type]


CATALOGUE = {
    r.id: r
    for r in [
        req("ORD-001"),
        req("ORD-002", "SHOULD"),
        req("ORD-003", "MAY"),
        req("ORD-004"),
        req("ORD-005"),
        req("INB-001", profile="inbound"),
        req("API-009", testable=False, not_tested_reason="needs the server's clock"),
    ]
}


def check(nodeid: str, ids: tuple[str, ...], outcome: str, message: str = "") -> CheckResult:
    return CheckResult(nodeid, ids, outcome, message)


def outcomes_of(results: list[CheckResult], **kw: object) -> dict[str, tuple[str, str]]:
    result = aggregate(results, profiles=kw.pop("profiles", ("core",)), catalogue=CATALOGUE, **kw)  # type: ignore[arg-type]
    return {r.id: (r.outcome, r.message) for r in result.requirements}


def test_must_fail_is_failed_should_and_may_fail_are_warnings() -> None:
    got = outcomes_of(
        [
            check("a", ("ORD-001",), "failed", "expected 201, got 500"),
            check("b", ("ORD-002",), "failed", "x"),
            check("c", ("ORD-003",), "failed", "y"),
        ]
    )
    assert got["ORD-001"] == ("failed", "expected 201, got 500")
    assert got["ORD-002"][0] == "warning" and got["ORD-003"][0] == "warning"


def test_skip_carries_its_reason_and_missing_check_is_skipped() -> None:
    got = outcomes_of([check("a", ("ORD-001",), "skipped", "driver cannot ship")])
    assert got["ORD-001"] == ("skipped", "driver cannot ship")
    assert got["ORD-004"] == ("skipped", "no check implemented")


def test_failure_wins_over_skip_and_skip_over_pass() -> None:
    got = outcomes_of(
        [
            check("a", ("ORD-001",), "passed"),
            check("b", ("ORD-001",), "failed", "broken"),
            check("c", ("ORD-001",), "skipped", "s"),
            check("d", ("ORD-004",), "passed"),
            check("e", ("ORD-004",), "skipped", "driver cannot void"),
            check("f", ("ORD-005",), "passed"),
            check("g", ("ORD-005",), "passed"),
        ]
    )
    assert got["ORD-001"] == ("failed", "broken")
    assert got["ORD-004"] == ("skipped", "driver cannot void")
    assert got["ORD-005"] == ("passed", "2 checks passed")


def test_unclaimed_profile_is_not_applicable_and_untestable_is_listed_apart() -> None:
    result = aggregate([], profiles=("core",), catalogue=CATALOGUE)
    by_id = {r.id: r for r in result.requirements}
    assert by_id["INB-001"].outcome == "not_applicable"
    assert "API-009" not in by_id
    assert [(n.id, n.reason) for n in result.not_tested] == [
        ("API-009", "needs the server's clock")
    ]


def test_only_marks_the_rest_not_selected() -> None:
    got = outcomes_of([check("a", ("ORD-001",), "passed")], only=("ORD-001",))
    assert got["ORD-001"][0] == "passed"
    assert got["ORD-004"] == ("skipped", "not selected (--only)")


def all_core_pass() -> list[CheckResult]:
    return [
        check(rid, (rid,), "passed")
        for rid in ("ORD-001", "ORD-002", "ORD-003", "ORD-004", "ORD-005")
    ]


def test_verdict_conformant_when_every_must_passed_even_with_warnings() -> None:
    results = [*all_core_pass()[:1], check("x", ("ORD-002",), "failed", "w"), *all_core_pass()[2:]]
    result = aggregate(results, profiles=("core",), catalogue=CATALOGUE)
    assert result.verdict == "conformant" and result.exit_code == 0
    assert result.summary == {
        "passed": 4,
        "failed": 0,
        "warning": 1,
        "skipped": 0,
        "not_exercised": 0,
        "not_applicable": 1,
    }


def test_verdict_not_conformant_on_a_failed_or_skipped_must() -> None:
    failed = [*all_core_pass()[1:], check("x", ("ORD-001",), "failed", "f")]
    skipped = [*all_core_pass()[1:], check("x", ("ORD-001",), "skipped", "s")]
    for results in (failed, skipped):
        result = aggregate(results, profiles=("core",), catalogue=CATALOGUE)
        assert result.verdict == "not_conformant" and result.exit_code == 1
        assert [r.id for r in result.blocking()] == ["ORD-001"]


def test_unclaimed_profile_never_blocks_and_a_claimed_one_does() -> None:
    result = aggregate(all_core_pass(), profiles=("core",), catalogue=CATALOGUE)
    assert result.verdict == "conformant"
    claimed = aggregate(all_core_pass(), profiles=("core", "inbound"), catalogue=CATALOGUE)
    assert claimed.verdict == "not_conformant"  # INB-001 has no check: skipped MUST


def test_messages_are_scrubbed() -> None:
    from conformance import redaction

    redaction.register_secret("sekrit_token_value")
    got = outcomes_of([check("a", ("ORD-001",), "failed", "sent sekrit_token_value whsec_abc123")])
    assert "sekrit_token_value" not in got["ORD-001"][1] and "whsec_abc123" not in got["ORD-001"][1]


# -- killing the mutants a mutmut run of outcomes.py left alive ---------------------------------
def test_a_requirement_after_an_untestable_one_is_still_judged() -> None:
    catalogue = {
        r.id: r
        for r in [
            req("API-001"),
            req("API-013", testable=False, not_tested_reason="TLS"),
            req("API-002"),
        ]
    }
    result = aggregate(
        [check("a", ("API-002",), "failed", "not JSON")], profiles=("core",), catalogue=catalogue
    )
    assert [(r.id, r.outcome) for r in result.requirements] == [
        ("API-001", "skipped"),
        ("API-002", "failed"),
    ]
    (listed,) = result.not_tested
    assert (listed.id, listed.title, listed.level, listed.profile) == (
        "API-013",
        "title of API-013",
        "MUST",
        "core",
    )


def test_a_requirement_whose_checks_did_not_run_says_why() -> None:
    got = outcomes_of([], not_run={"ORD-004": "property-based checks disabled"})
    assert got["ORD-004"] == ("skipped", "property-based checks disabled")
    assert got["ORD-005"] == ("skipped", "no check implemented")


def test_several_failed_checks_are_counted_in_the_message() -> None:
    got = outcomes_of(
        [
            check("a", ("ORD-001",), "failed", "first"),
            check("b", ("ORD-001",), "failed", "second"),
            check("c", ("ORD-001",), "failed", "third"),
        ]
    )
    assert got["ORD-001"] == ("failed", "first (and 2 more failed checks)")
    one_more = outcomes_of(
        [check("a", ("ORD-001",), "failed", "first"), check("b", ("ORD-001",), "failed", "x")]
    )
    assert one_more["ORD-001"] == ("failed", "first (and 1 more failed check)")


def test_a_result_names_its_requirement_and_checks() -> None:
    result = aggregate(
        [check("checks/test_x.py::t", ("ORD-001",), "passed")],
        profiles=("core",),
        catalogue=CATALOGUE,
    )
    first = result.requirements[0]
    assert (first.id, first.title, first.checks) == (
        "ORD-001",
        "title of ORD-001",
        ["checks/test_x.py::t"],
    )
    assert first.as_dict()["title"] == "title of ORD-001"


# -- not exercised, partial runs and the exit code --------------------------------------------
def test_a_rule_never_exercised_is_not_exercised_and_does_not_block() -> None:
    result = aggregate(
        [
            check("a", ("ORD-001",), "not_exercised", "no 429 was ever sent"),
            *(check(f"x{n}", (rid,), "passed") for n, rid in enumerate(["ORD-004", "ORD-005"])),
        ],
        profiles=("core",),
        catalogue=CATALOGUE,
    )
    got = {r.id: (r.outcome, r.message) for r in result.requirements}
    assert got["ORD-001"] == ("not_exercised", "no 429 was ever sent")
    assert result.summary["not_exercised"] == 1
    # ORD-002/003 have no check: skipped, but they are SHOULD/MAY, so the verdict holds.
    assert result.verdict == "conformant" and result.exit_code == 0


def test_a_pass_wins_over_not_exercised_but_a_failure_wins_over_both() -> None:
    got = outcomes_of(
        [
            check("a", ("ORD-001",), "not_exercised", "none seen"),
            check("b", ("ORD-001",), "passed"),
            check("c", ("ORD-004",), "not_exercised", "none seen"),
            check("d", ("ORD-004",), "failed", "expected 404, got 200"),
        ]
    )
    assert got["ORD-001"][0] == "passed"
    assert got["ORD-004"] == ("failed", "expected 404, got 200")


def test_a_partial_run_is_partial_and_exits_0_unless_a_must_it_ran_failed() -> None:
    passing = [check("a", ("ORD-001",), "passed")]
    result = aggregate(
        passing, profiles=("core",), catalogue=CATALOGUE, only=("ORD-001",), partial=True
    )
    assert result.verdict == "partial" and result.exit_code == 0
    failing = [check("a", ("ORD-001",), "failed", "expected 201, got 500")]
    result = aggregate(
        failing, profiles=("core",), catalogue=CATALOGUE, only=("ORD-001",), partial=True
    )
    assert result.verdict == "partial" and result.exit_code == 1
    warned = [check("a", ("ORD-002",), "failed", "a SHOULD broke")]
    result = aggregate(
        warned, profiles=("core",), catalogue=CATALOGUE, only=("ORD-002",), partial=True
    )
    assert result.exit_code == 0


def test_failed_requirements_carry_their_checks_evidence_and_passed_ones_none() -> None:
    item = {"request": {"method": "POST"}, "response": {"status": 500}, "curl": "curl ..."}
    result = aggregate(
        [
            CheckResult("a", ("ORD-001",), "failed", "expected 201, got 500", (item,)),
            CheckResult("b", ("ORD-004",), "passed", "", (item,)),
        ],
        profiles=("core",),
        catalogue=CATALOGUE,
    )
    entries = {r.id: r.as_dict() for r in result.requirements}
    assert entries["ORD-001"]["evidence"] == [item]
    assert entries["ORD-004"]["evidence"] == []
