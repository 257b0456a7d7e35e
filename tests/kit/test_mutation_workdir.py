"""The tooling of `nox -s mutation_checks`: the work directory mutmut runs in must hold the same
checks (scripts/mutation_workdir.py), and a gallery's hits must reach every test of its module
(tests/kit/mutation_attribution.py)."""

from __future__ import annotations

import re
import runpy
import sys
import tomllib
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = sorted((ROOT / "conformance" / "checks").glob("test_*.py"))


def _script() -> dict[str, Any]:
    """scripts/mutation_workdir.py's functions, by name."""
    return runpy.run_path(str(ROOT / "scripts" / "mutation_workdir.py"))


def _marks(source: str, path: Path) -> dict[str, list[tuple[str, str]]]:
    """Each check function of the module `source` with its marks (name, args), in order; the
    args as text without addresses (a parametrize over functions names this copy's)."""
    module = ModuleType(f"_mutation_workdir_copy_of_{path.stem}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    namespace = vars(module)
    return {
        name: [
            (mark.name, re.sub(" at 0x[0-9a-f]+", "", repr(mark.args)))
            for mark in getattr(value, "pytestmark", [])
        ]
        for name, value in namespace.items()
        if name.startswith("test_") and callable(value)
    }


def test_unwrapped_check_modules_define_the_same_checks_with_the_same_marks() -> None:
    script = _script()
    unwrapped_any = False
    for path in CHECKS:
        source = path.read_text(encoding="utf-8")
        unwrapped = script["unwrap_markers"](source)
        unwrapped_any |= unwrapped != source
        assert _marks(unwrapped, path) == _marks(source, path), path.name
    assert unwrapped_any, "expected the marker decorators rewritten somewhere"


def test_only_marker_decorators_move() -> None:
    source = (
        "import pytest\n"
        "from conformance.catalogue import requirement\n\n"
        "@pytest.fixture\n"
        "def order():\n    return 1\n\n"
        '@requirement("ORD-001")\n'
        '@pytest.mark.parametrize("n", [1, 2])\n'
        "def test_x(order, n):\n    assert order\n"
    )
    unwrapped = _script()["unwrap_markers"](source)
    assert "@pytest.fixture\ndef order" in unwrapped
    assert unwrapped.endswith(
        '    assert order\ntest_x = pytest.mark.parametrize("n", [1, 2])(test_x)\n'
        'test_x = requirement("ORD-001")(test_x)\n'
    )


def test_the_work_directory_mutmut_table_is_the_checks_one() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    swapped = tomllib.loads(_script()["swap_tables"](pyproject))["tool"]
    original = tomllib.loads(pyproject)["tool"]
    assert swapped["mutmut"] == original["mutmut-checks"]
    assert swapped["mutmut-kit"] == original["mutmut"]


def test_a_module_fixtures_hits_reach_every_test_of_the_module() -> None:
    pytest.importorskip("mutmut")
    from mutmut.state import state

    from tests.kit import mutation_attribution

    def item(nodeid: str) -> Any:
        return SimpleNamespace(nodeid=nodeid)

    hits = state()._stats
    hits.clear()
    hits.add("conformance.checks.test_x.x_check")  # reached in the first test's setup
    mutation_attribution.pytest_runtest_teardown(item("tests/kit/test_g.py::test_a"), None)
    hits.clear()  # mutmut files the hits under test_a and starts afresh
    mutation_attribution.pytest_runtest_teardown(item("tests/kit/test_g.py::test_b"), None)
    assert hits == {"conformance.checks.test_x.x_check"}
    hits.clear()
    mutation_attribution.pytest_runtest_teardown(item("tests/kit/test_other.py::test_c"), None)
    assert hits == set()


def test_the_dev_extra_installs_the_mutmut_the_session_runs() -> None:
    """The glue above is tested against the mutmut `nox -s mutation_checks` installs: one pin."""
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["dev"]
    session = re.search(r'^MUTMUT = "([^"]+)"', (ROOT / "noxfile.py").read_text(), re.M)
    assert session is not None and session.group(1) in dev
