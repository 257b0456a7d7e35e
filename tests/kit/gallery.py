"""The one runner of the broken-server galleries (tests/kit/test_broken_*.py).

A gallery is a list of `Broken` cases: a server broken in one way, the requirement it breaks and
any others the same behaviour legitimately breaks (`also`). Cases whose checks read disjoint
things share one server (`pack`: greedy, by the gallery's own `compatible` rule), so a gallery
costs a few kit runs instead of one per break; every run (the packed groups and the gallery's
healthy or full runs) goes to `run_all`, which runs them WORKERS at a time (one sandbox on a free
loopback port and one kit subprocess each). `assert_only_target_broke` is the assertion every
case makes: its target came out `failed` (`warning` below MUST) and nothing outside the group's
`target + also` (and what the healthy sandbox fails itself) was failed or warned.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import fulfillment_spec

from conformance.checks.test_model_based import MODEL_REQUIREMENTS
from tests.kit.harness import KitResult, outcome, run_kit
from tests.live_server import serve

T = TypeVar("T")
ACME = "wms_test_acme_token"
GLOBEX = "wms_test_globex_token"
BAD = ("failed", "warning")
# A kit run is a subprocess (CPU while it starts and checks) against a server in this process;
# two runs per core keep both busy while the other waits on the network or a delivery.
WORKERS = max(2, 2 * (os.cpu_count() or 1))


@functools.cache
def catalogue() -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in fulfillment_spec.load_requirements()}


def area_ids(prefix: str) -> tuple[str, ...]:
    """The testable requirement ids of one area ("PAG"), from the catalogue."""
    return tuple(
        rid
        for rid, entry in catalogue().items()
        if rid.startswith(f"{prefix}-") and entry.get("testable", True)
    )


def only(ids: Iterable[str]) -> list[str]:
    return [arg for rid in ids for arg in ("--only", rid)]


@dataclass(frozen=True)
class Broken:
    """A broken server, the requirement it breaks, and others the same behaviour breaks too.
    `area` is the kit area whose checks it breaks (default: the target's prefix); `base` the
    path the broken server serves the API under."""

    server: type[Any]
    target: str
    also: tuple[str, ...] = ()
    area: str = ""
    base: str = "/v1"

    def __post_init__(self) -> None:
        if not self.area:
            object.__setattr__(self, "area", self.target.split("-")[0])

    def __str__(self) -> str:
        return f"{self.target}-{self.server.__name__}"


def compatible_except(
    not_with: Mapping[type[Any], tuple[str, ...]],
) -> Callable[[Broken, Broken], bool]:
    """A `pack` rule: one break per area, and never a break with the areas `not_with` names
    for its server (whose checks read what it breaks)."""

    def compatible(a: Broken, b: Broken) -> bool:
        return (
            a.area != b.area
            and b.area not in not_with.get(a.server, ())
            and a.area not in not_with.get(b.server, ())
        )

    return compatible


def pack(
    cases: Sequence[Broken],
    compatible: Callable[[Broken, Broken], bool],
    *,
    max_group: int = 8,
    first: Callable[[Broken], Any] = lambda case: 0,
) -> list[list[Broken]]:
    """Cases packed onto shared servers: each joins the first group (of fewer than `max_group`)
    whose every member it is `compatible` with, in the order `first` sorts them."""
    packed: list[list[Broken]] = []
    for case in sorted(cases, key=first):
        home = next(
            (
                group
                for group in packed
                if len(group) < max_group and all(compatible(case, other) for other in group)
            ),
            None,
        )
        if home is None:
            packed.append([case])
        else:
            home.append(case)
    return packed


def stack(app: Any, members: Iterable[Broken]) -> Any:
    """The sandbox wrapped by every member's server (each once)."""
    for server in dict.fromkeys(case.server for case in members):
        app = server(app)
    return app


@dataclass(frozen=True)
class Run:
    """One kit run: the broken servers it serves (none: the healthy sandbox) and the options."""

    name: str
    members: tuple[Broken, ...] = ()
    ids: tuple[str, ...] = ()  # --only these; empty: every check
    profiles: tuple[str, ...] = ("core",)
    second_token: bool = False
    extra_args: tuple[str, ...] = ("--no-property-based",)
    build: Callable[[str, Sequence[Broken]], Any] | None = None  # (db path, members) -> app
    base: str = field(default="")

    def app(self, db_path: str) -> Any:
        if self.build is not None:
            return self.build(db_path, self.members)
        from fulfillment_sandbox.app import create_app

        return stack(create_app(db_path), self.members)

    def execute(self, root: Path) -> KitResult:
        tmp = Path(tempfile.mkdtemp(prefix=f"{self.name[:40]}-", dir=root))
        base = self.base or next((m.base for m in self.members if m.base != "/v1"), "/v1")
        with serve(self.app(str(tmp / "sandbox.db"))) as url:
            return run_kit(
                f"{url}{base}",
                ACME,
                profiles=self.profiles,
                second_token=GLOBEX if self.second_token else None,
                extra_args=[*self.extra_args, *only(self.ids)],
                tmp_path=tmp,
            )


def parallel(jobs: Mapping[str, Callable[[], T]], workers: int = WORKERS) -> dict[str, T]:
    """Every job once, `workers` at a time; keyed as `jobs` (a job's exception is re-raised)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def run_all(runs: Sequence[Run], root: Path, workers: int = WORKERS) -> dict[str, KitResult]:
    """Every run once, `workers` at a time; keyed by run name."""
    return parallel({run.name: functools.partial(run.execute, root) for run in runs}, workers)


def model_owned(members: Iterable[Broken]) -> bool:
    """Whether the model-based phase judges a member's target (it owns MODEL_REQUIREMENTS)."""
    return any(member.target in MODEL_REQUIREMENTS for member in members)


def group_runs(
    groups: Sequence[Sequence[Broken]], ids: Callable[[Sequence[Broken]], Sequence[str]], **options
) -> list[Run]:
    """One `Run` per packed group, named after its members, `--only` the ids `ids` gives.

    A group none of whose targets the model-based phase judges runs without the phase
    (`--no-model-based`): the phase names only its own ids, so it cannot decide such a target, and
    it is most of a run's CPU (about 3.5 of 6 s, kit and server). Its ids in the group's `--only`
    then come out `not_exercised`, which the collateral assertion does not count. Groups with a
    model-owned target, and every healthy run, keep the phase."""
    extra_args = tuple(options.pop("extra_args", Run.extra_args))
    return [
        Run(
            " ".join(map(str, members)),
            tuple(members),
            tuple(ids(members)),
            extra_args=extra_args if model_owned(members) else (*extra_args, "--no-model-based"),
            **options,
        )
        for members in groups
    ]


def by_case(
    runs: Sequence[Run], results: Mapping[str, KitResult]
) -> dict[str, tuple[KitResult, list[Broken]]]:
    """Case name -> (the result of the run that served it, every member of that run)."""
    return {
        str(case): (results[run.name], list(run.members)) for run in runs for case in run.members
    }


def one_server_per_case(
    cases: Sequence[Broken], ids: Sequence[str], workdir: Path
) -> dict[str, Any]:
    """The healthy sandbox and each case on a server of its own, every run `--only` `ids`, all
    run together; keyed by case name (result, members) and "healthy" (its result)."""
    runs = [Run("healthy", ids=tuple(ids)), *group_runs([[case] for case in cases], lambda _: ids)]
    results = run_all(runs, workdir)
    return {"healthy": results["healthy"]} | by_case(runs, results)


def bad_outcomes(report: Mapping[str, Any]) -> dict[str, str]:
    return {
        e["id"]: f"{e['outcome']}: {e.get('message', '')}"
        for e in report.get("requirements", [])
        if e["outcome"] in BAD
    }


def expected_outcome(requirement_id: str) -> str:
    level = str(catalogue()[requirement_id]["level"]).upper()
    return "failed" if level == "MUST" else "warning"


def assert_only_target_broke(
    case: Broken,
    result: KitResult,
    members: Sequence[Broken] = (),
    baseline: KitResult | None = None,
) -> None:
    """The target failed (warning for a SHOULD or MAY); nothing else failed or warned except what
    the members' behaviour legitimately breaks, or what already fails on the healthy sandbox
    (`baseline`: other areas' problems are their own tests' business)."""
    assert result.report, (
        f"the kit wrote no report (exit {result.exit_code}): {result.stderr[-2000:]}"
    )
    expected = expected_outcome(case.target)
    got = outcome(result.report, case.target)
    assert got == expected, (
        f"expected {case.target} {expected} on {case.server.__name__}, got {got}: "
        f"{[e.get('message') for e in result.report['requirements'] if e['id'] == case.target]}"
    )
    allowed = {rid for member in (case, *members) for rid in (member.target, *member.also)}
    if baseline is not None:
        allowed |= set(bad_outcomes(baseline.report))
    collateral = {
        rid: why for rid, why in bad_outcomes(result.report).items() if rid not in allowed
    }
    assert not collateral, (
        f"expected no requirement outside {sorted(allowed)} to fail on "
        f"{[m.server.__name__ for m in (members or [case])]}, got {collateral}"
    )


def assert_all_passed(result: KitResult, ids: Iterable[str], what: str) -> None:
    """Every one of `ids` passed in the run (the healthy sandbox's)."""
    report = result.report
    assert report, f"the kit wrote no report for the healthy sandbox: {result.stderr[-2000:]}"
    not_passed = {rid: outcome(report, rid) for rid in ids}
    not_passed = {rid: got for rid, got in not_passed.items() if got != "passed"}
    details = {rid: why for rid, why in bad_outcomes(report).items() if rid in not_passed}
    assert not not_passed, f"expected every {what} id passed, got {not_passed} {details}"


def assert_every_id_targeted(cases: Iterable[Broken], ids: Iterable[str]) -> None:
    """Each of `ids` is the target of at least one broken server."""
    targets = {case.target for case in cases}
    missing = [rid for rid in ids if rid not in targets]
    assert not missing, f"expected a broken server for every id, got none for {missing}"
