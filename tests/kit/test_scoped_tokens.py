"""Permission-scoped tokens (AUTH-006, decision 43): 403 `insufficient_scope` is legal, judged
honestly, and never a way around the 404 of another partner's resource.

- The client: a 403 `insufficient_scope` to the kit's own token ends the check `not_exercised`
  (`ScopeMissing`), unless the check asked for the answer (the security checks do).
- Legal variants (tests/kit/variants.py, kind "scoped-token wrapper"): a server with scoped
  tokens where the kit's token has every scope is judged as the sandbox is; a server where the
  kit's token may not cancel gets the cancel rules `not_exercised` with the reason, nothing
  `failed` and nothing `passed` that was not put to it.
- Broken servers (tests/kit/broken_security.py): 403 `insufficient_scope` for another partner's
  order fails SEC-001; a 403 with another code fails AUTH-006.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import fulfillment_spec
import httpx
import pytest

from conformance.http import ApiClient, HttpSession, ScopeMissing
from conformance.outcomes import NotExercised
from tests.kit import broken_security as sec
from tests.kit import variants as v
from tests.kit.gallery import Broken, KitResult, Run, assert_only_target_broke, parallel
from tests.kit.harness import outcome
from tests.kit.test_legal_variations import BASELINE, assert_accepted, outcomes, run_variant
from tests.live_server import serve

pytest.importorskip("fulfillment_sandbox.app")
pytestmark = pytest.mark.timeout(3600)

NO_SCOPE = {"error": {"code": "insufficient_scope", "message": "No.", "request_id": "req_1"}}
FORBIDDEN = {"error": {"code": "forbidden", "message": "No.", "request_id": "req_1"}}


def client(answer: httpx.Response) -> ApiClient:
    session = HttpSession(
        "https://api.example.test/v1",
        spec=fulfillment_spec.load_openapi(),
        transport=httpx.MockTransport(lambda request: answer),
    )
    return ApiClient(session, "tok_scoped")


# -- the client ---------------------------------------------------------------------------------
def test_a_scope_refusal_to_the_kits_token_ends_the_check_not_exercised() -> None:
    api = client(httpx.Response(403, json=NO_SCOPE))
    with pytest.raises(ScopeMissing) as raised:
        api.request("POST", "/orders/ord_1/cancel")
    assert isinstance(raised.value, NotExercised)
    assert "cancelOrder" in str(raised.value) and "insufficient_scope" in str(raised.value)
    assert "tok_scoped" not in str(raised.value)


def test_a_check_that_judges_the_403_gets_it() -> None:
    api = client(httpx.Response(403, json=NO_SCOPE))
    resp = api.request("GET", "/orders/ord_1", scope_refusal_ends_check=False)
    assert resp.status == 403


@pytest.mark.parametrize(
    ("answer", "token"),
    [
        (httpx.Response(403, json=FORBIDDEN), None),  # another code: a finding, not a skip
        (httpx.Response(403, json=NO_SCOPE), "another-token"),  # not the kit's own token
    ],
)
def test_only_insufficient_scope_to_the_kits_own_token_is_a_skip(
    answer: httpx.Response, token: str | None
) -> None:
    api = client(answer)
    kwargs: dict[str, Any] = {"token": token} if token else {}
    assert api.request("GET", "/orders/ord_1", **kwargs).status == 403


# -- the variants and broken servers, through the CLI --------------------------------------------
SCOPE_VARIANTS = [variant for variant in v.VARIANTS if variant.kind.startswith("scoped-token")]
HIDES_OWNERSHIP = Broken(sec.ScopeHidesOwnership, "SEC-001", area="SEC")
OTHER_CODE = Broken(sec.ForbiddenWithAnotherCode, "AUTH-006", area="AUTH")
BROKEN_RUNS = [
    Run(
        "scope-hides-ownership",
        (HIDES_OWNERSHIP,),
        ids=("SEC-001", "AUTH-006"),
        profiles=("core", "security"),
        second_token=True,
    ),
    Run("forbidden-with-another-code", (OTHER_CODE,), ids=("AUTH-006",)),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KitResult]:
    """The reference sandbox, each scoped-token variant and each broken server: all at once."""
    root = tmp_path_factory.mktemp("scoped")
    jobs: dict[str, Any] = {
        variant.name: functools.partial(run_variant, variant, root / variant.name)
        for variant in [BASELINE, *SCOPE_VARIANTS]
    }
    jobs |= {run.name: functools.partial(run.execute, root) for run in BROKEN_RUNS}
    return parallel(jobs)


def test_scoped_tokens_work_as_the_variant_says(tmp_path: Path) -> None:
    """The variant really is scoped: its read-only token reads, and a write gets 403
    `insufficient_scope` and changes nothing."""
    with serve(v.wrapped(v.ScopedTokens)(str(tmp_path / "sandbox.db"))) as url:
        headers = {"Authorization": f"Bearer {v.ACME_READ_ONLY_TOKEN}"}
        with httpx.Client(base_url=f"{url}/v1", headers=headers, timeout=30) as http:
            assert http.get("/orders").status_code == 200
            refused = http.post("/sandbox/inventory", json={})
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "insufficient_scope"


def test_kit_accepts_scoped_tokens_when_its_token_has_every_scope(
    runs: dict[str, KitResult],
) -> None:
    variant = v.BY_NAME["scoped-tokens-kit-has-every-scope"]
    assert_accepted(variant, runs[variant.name], runs[BASELINE.name])


def test_what_the_kits_token_may_not_do_is_not_exercised(runs: dict[str, KitResult]) -> None:
    """Every rule that differs from the reference run is `not_exercised` (or skipped) with a
    reason naming the scope refusal: never failed, never passed unheard."""
    result = runs["kit-token-cannot-cancel"]
    assert result.report, f"expected a report, got exit {result.exit_code}: {result.stderr[-1500:]}"
    base = outcomes(runs[BASELINE.name].report)
    changed = {
        rid: (got, why)
        for rid, (got, why) in outcomes(result.report).items()
        if got != base.get(rid, ("missing", ""))[0]
    }
    print({rid: got for rid, (got, _) in sorted(changed.items())})  # the figures, with -s
    assert changed, "expected the cancel rules to come out differently when cancel is refused"
    dishonest = {
        rid: f"{got}: {why}"
        for rid, (got, why) in changed.items()
        if rid != "AUTH-006"
        and not (got in ("not_exercised", "skipped") and "insufficient_scope" in why)
    }
    assert not dishonest, f"expected only not_exercised for the refused cancels, got {dishonest}"
    assert outcome(result.report, "AUTH-006") == "passed"


@pytest.mark.parametrize("run", BROKEN_RUNS, ids=lambda run: run.name)
def test_kit_fails_a_scope_answer_that_breaks_the_contract(
    run: Run, runs: dict[str, KitResult]
) -> None:
    assert_only_target_broke(run.members[0], runs[run.name], run.members)
