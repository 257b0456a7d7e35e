"""Prepare the directory `nox -s mutation_checks` runs mutmut in: the check modules, mutable.

mutmut (3.x) reads its settings from `[tool.mutmut]` of the pyproject.toml in its working
directory, and never mutates a decorated function (a decorator runs at definition time; it could
be a route table). Every check is decorated (`@requirement(...)`, `@pytest.mark.*`), so mutmut
run over the repository sees only the checks' undecorated helpers. This script copies what the
run needs into a work directory and there:

- makes `[tool.mutmut-checks]` of pyproject.toml the `[tool.mutmut]` table (the repository's own
  `[tool.mutmut]` is `nox -s mutation`'s, the kit's judgement code), and
- rewrites each check's marker decorators as the assignment Python makes of them anyway,
  `@a @b def f` -> `def f ...; f = b(f); f = a(f)`: the same module object, but a function mutmut
  mutates (the markers land on its trampoline, which is what pytest collects).

Only `requirement(...)` and `pytest.mark.*` decorators move; a function with any other decorator
(a fixture) stays as it is, and so unmutated.

    python scripts/mutation_workdir.py WORKDIR [--sample N --seed S]

With `--sample N` it also prints N mutant names (mutmut's own names for the mutants it will
make of the work directory's `only_mutate` files), drawn by `random.Random(S)` from all of them
in sorted order: the arguments of a reproducible `mutmut run`.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import random
import shutil
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("conformance", "spec", "examples", "tests")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "mutants", ".hypothesis")
CHECKS_TABLE = "[tool.mutmut-checks]"
MUTMUT_TABLE = "[tool.mutmut]"


def is_marker(decorator: ast.expr) -> bool:
    """`requirement(...)` or `pytest.mark.<name>` (called or not): markers, safe to move."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id == "requirement"
    text = ast.unparse(target)
    return text.startswith("pytest.mark.")


def unwrap_markers(source: str) -> str:
    """The module with every top-level function decorated only by markers rewritten as
    `def f` followed by `f = marker(f)` lines (innermost first, as Python applies them)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []  # (first, last) line indexes, replacement
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.decorator_list:
            continue
        if not all(is_marker(decorator) for decorator in node.decorator_list):
            continue
        first = node.decorator_list[0].lineno - 1
        last = node.decorator_list[-1].end_lineno or node.decorator_list[-1].lineno
        assignments = [
            f"{node.name} = {ast.get_source_segment(source, decorator)}({node.name})\n"
            for decorator in reversed(node.decorator_list)
        ]
        end = node.end_lineno or node.lineno
        edits.append((end, end, assignments))  # after the function, before the next statement
        edits.append((first, last, []))  # the decorator lines themselves
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first:last] = replacement
    return "".join(lines)


def swap_tables(pyproject: str) -> str:
    """`[tool.mutmut-checks]` becomes `[tool.mutmut]`; the original is kept under another name."""
    if CHECKS_TABLE not in pyproject:
        raise SystemExit(f"pyproject.toml has no {CHECKS_TABLE} table")
    kept = pyproject.replace(MUTMUT_TABLE, "[tool.mutmut-kit]")
    return kept.replace(CHECKS_TABLE, MUTMUT_TABLE)


def prepare(workdir: Path) -> None:
    """Copy the sources into `workdir` (a mutmut `mutants/` already there is kept: its results
    are mutmut's cache) and make the check modules mutable there."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.rmtree(workdir / name, ignore_errors=True)
        shutil.copytree(ROOT / name, workdir / name, ignore=IGNORED)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (workdir / "pyproject.toml").write_text(swap_tables(pyproject), encoding="utf-8")
    for module in sorted((workdir / "conformance" / "checks").glob("test_*.py")):
        source = module.read_text(encoding="utf-8")
        module.write_text(unwrap_markers(source), encoding="utf-8")


def mutant_names(workdir: Path) -> list[str]:
    """Every mutant mutmut makes of the work directory's `only_mutate` files, sorted."""
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name

    settings = tomllib.loads((workdir / "pyproject.toml").read_text(encoding="utf-8"))
    names: list[str] = []
    with contextlib.chdir(workdir):  # mutmut reads its settings from the working directory
        for pattern in settings["tool"]["mutmut"]["only_mutate"]:
            for path in sorted(Path().glob(pattern)):
                mutated = mutate_file_contents(str(path), path.read_text(encoding="utf-8"))
                names += [get_mutant_name(path, name) for name in mutated.mutant_names]
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--sample", type=int, metavar="N", help="print N mutant names")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    args = parser.parse_args()
    prepare(args.workdir)
    if args.sample:
        names = mutant_names(args.workdir)
        for name in random.Random(args.seed).sample(names, min(args.sample, len(names))):
            print(name)


if __name__ == "__main__":
    main()
