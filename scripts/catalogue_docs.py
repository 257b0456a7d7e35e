"""Generate "What the kit checks": the requirement catalogue, what the kit catches, what it accepts.

    python scripts/catalogue_docs.py --output docs/what-the-kit-checks.md

Three tables, all derived, never hand-written:
1. the catalogue (spec/requirements.yaml): id, level, profile, title, testable or the reason it is
   not, and the checks citing the id (found by reading `@requirement(...)` and
   `requirement_mark(...)` in conformance/checks/*.py, without importing them);
2. "What the kit catches": every broken server of the kit's own tests (the `CASES` lists of
   tests/kit/test_broken_*.py and test_property_checks.py), the requirement it violates and the
   outcome the kit must give it;
3. "What the kit accepts": every legal variation of tests/kit/variants.py (`VARIANTS`).
The output is deterministic (no dates), so tests/kit/test_docs_tables.py can fail on a stale copy.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "conformance" / "checks"
# Every broken-server gallery (found by name, so a new or renamed one is never left out) and
# the property checks' cases.
BROKEN_MODULES = tuple(
    f"tests.kit.{path.stem}"
    for path in [
        *sorted((ROOT / "tests" / "kit").glob("test_broken_*.py")),
        ROOT / "tests" / "kit" / "test_property_checks.py",
    ]
)
REQUIREMENT_ID = re.compile(r"^[A-Z]+-\d{3}$")


def cell(text: Any) -> str:
    """One Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ") if doc else ""


# -- checks citing each id -------------------------------------------------------------------
def _string_args(call: ast.Call) -> list[str]:
    """The ids a `requirement(...)` call names: string literals, and the property phase's
    `*CHECK_REQUIREMENTS["check"]` (looked up in conformance/property/mapping.py)."""
    found: list[str] = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append(str(arg.value))
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Subscript):
            table, key = arg.value.value, arg.value.slice
            if (
                isinstance(table, ast.Name)
                and table.id == "CHECK_REQUIREMENTS"
                and isinstance(key, ast.Constant)
            ):
                mapping = _import("conformance.property.mapping")
                found += list(mapping.CHECK_REQUIREMENTS.get(key.value, ())) if mapping else []
    return found


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def checks_by_requirement(checks_dir: Path = CHECKS) -> dict[str, list[str]]:
    """Requirement id -> sorted `module::check` names citing it."""
    found: dict[str, set[str]] = {}
    for path in sorted(checks_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        owners: dict[int, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    owners[id(decorator)] = node.name
            if isinstance(node, ast.Call) and _call_name(node) == "param":
                param_id = next(
                    (
                        kw.value.value
                        for kw in node.keywords
                        if kw.arg == "id" and isinstance(kw.value, ast.Constant)
                    ),
                    None,
                )
                for inner in ast.walk(node):
                    if inner is not node and param_id:
                        owners.setdefault(id(inner), "[" + str(param_id) + "]")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in (
                "requirement",
                "requirement_mark",
            ):
                owner = owners.get(id(node), "")
                name = f"{path.stem}::{owner}" if owner else path.stem
                for rid in _string_args(node):
                    if REQUIREMENT_ID.match(rid):
                        found.setdefault(rid, set()).add(name)
    return {rid: sorted(names) for rid, names in found.items()}


# -- what the kit catches / accepts ----------------------------------------------------------
def _import(name: str) -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # the module does not exist (yet)
        raise


def broken_cases(levels: dict[str, str]) -> list[tuple[str, str, str, str, str]]:
    """(test module, server, requirement, expected outcome, what is broken) for every case."""
    rows: list[tuple[str, str, str, str, str]] = []
    for module_name in BROKEN_MODULES:
        module = _import(module_name)
        if module is None:
            continue
        short = module_name.rsplit(".", 1)[1]
        for case in getattr(module, "CASES", []):
            values: Iterable[Any]
            if hasattr(case, "target"):
                server = getattr(case, "server", None)
                name = getattr(server, "__name__", str(case))
                targets = [case.target]
                what = first_line(server)
            else:  # pytest.param(...)
                values = getattr(case, "values", ())
                targets = [
                    value
                    for value in values
                    if isinstance(value, str) and REQUIREMENT_ID.match(value)
                ]
                name = str(getattr(case, "id", None) or "")
                wrapper = next((value for value in values if callable(value)), None)
                what = first_line(wrapper) if wrapper else ""
                name = name or getattr(wrapper, "__name__", "?")
            for target in targets:
                expected = "failed" if levels.get(target) == "MUST" else "warning"
                rows.append((short, name, target, expected, what))
    return rows


def legal_variants() -> list[Any]:
    module = _import("tests.kit.variants")
    return list(getattr(module, "VARIANTS", [])) if module else []


# -- the document ------------------------------------------------------------------------------
def render() -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import fulfillment_spec

    requirements = fulfillment_spec.load_requirements()
    levels = {entry["id"]: str(entry["level"]).upper() for entry in requirements}
    cited = checks_by_requirement()
    out: list[str] = [
        "# What the kit checks",
        "",
        "Generated by `python scripts/catalogue_docs.py --output docs/what-the-kit-checks.md`"
        " from spec/requirements.yaml, conformance/checks and the kit's own tests; do not edit"
        " by hand (tests/kit/test_docs_tables.py fails when this file is stale).",
        "",
        f"Spec version {fulfillment_spec.spec_version()}.",
        "",
        "Three kinds of checks judge the requirements: scenario checks (conformance/checks), the"
        " Schemathesis phase (`test_property_based`, off with `--no-property-based`) and the"
        " model-based phase (`test_model_based`, `--model-steps N`, off with `--no-model-based`)."
        " The model-based phase drives the target and an executable model of the contract"
        " (conformance/model) side by side through random sequences of operations (create,"
        " replayed create, amend, cancel, hold, pick, ship in one or several parcels, carrier"
        " updates, void, stock changes), seeded by `--seed`, and after every step compares the"
        " touched orders (standalone, listed, polled), their shipments (standalone and embedded)"
        " and the stock of the run's SKUs with the model; a disagreement is shrunk to the"
        " shortest sequence, printed as numbered requests with their answers. Its figures (steps,"
        " examples, seconds, seed) are the JSON report's `phases.model_based`.",
        "",
        "## The requirement catalogue",
        "",
        "| id | level | profile | title | testable | checks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    testable = untested = uncovered = 0
    for entry in requirements:
        rid = entry["id"]
        if entry.get("testable", True):
            testable += 1
            status = "yes"
        else:
            untested += 1
            status = "not tested: " + str(entry.get("not_tested_reason") or "")
        checks = cited.get(rid, [])
        if entry.get("testable", True) and not checks:
            uncovered += 1
        out.append(
            f"| {rid} | {entry['level']} | {entry['profile']} | {cell(entry['title'])} |"
            f" {cell(status)} | {cell(', '.join(f'`{c}`' for c in checks) or '—')} |"
        )
    out += [
        "",
        f"{len(requirements)} requirements: {testable} testable ({uncovered} without a check yet),"
        f" {untested} not tested.",
        "",
        "## What the kit catches",
        "",
        "Each row is a server broken in exactly one way (an ASGI wrapper around the reference"
        " sandbox, in tests/kit/); the kit's tests assert that the kit gives the requirement"
        " this outcome.",
        "",
        "| test module | broken server | violates | expected outcome | what is broken |",
        "| --- | --- | --- | --- | --- |",
    ]
    cases = broken_cases(levels)
    for module, name, target, expected, what in cases:
        out.append(f"| {module} | `{cell(name)}` | {target} | {expected} | {cell(what)} |")
    out += [
        "",
        f"{len(cases)} broken servers.",
        "",
        "## What the kit accepts",
        "",
        "Each row is a correct server that makes another legal choice"
        " (tests/kit/variants.py); tests/kit/test_legal_variations.py (and its second half,"
        " test_legal_variations_more.py) asserts the kit judges it"
        " as it judges the reference sandbox.",
        "",
        "| variation | the legal choice | allowed by | may change |",
        "| --- | --- | --- | --- |",
    ]
    variants = legal_variants()
    for variant in variants:
        may = ", ".join(
            f"{rid} → {'/'.join(outcomes)}" for rid, outcomes in sorted(variant.may_differ.items())
        )
        out.append(
            f"| {variant.name} | {cell(variant.choice)} | {cell(variant.allowed_by)} |"
            f" {cell(may or 'nothing')} |"
        )
    out += ["", f"{len(variants)} legal variations.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", required=True, help="the Markdown file to write")
    args = parser.parse_args(argv)
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
