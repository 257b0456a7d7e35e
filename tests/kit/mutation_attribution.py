"""A pytest plugin for mutmut runs over the check modules (`nox -s mutation_checks`).

mutmut (3.x) ties a function to the tests during which it ran, and later tries a mutant of that
function against those tests only. A broken-server gallery runs the kit in its module fixture,
that is during the setup of the module's first test: every check function would be tied to that
one test, which judges one broken server, and a mutant that blinds the check of another case
would survive unjudged. Here what a module's tests reached is tied to every test of the module,
so a mutant faces the whole gallery (the fixture still runs once per mutant).

Loaded with `-p tests.kit.mutation_attribution` from `[tool.mutmut-checks]`; without mutmut it
does nothing.
"""

from __future__ import annotations

import pytest

_reached_by_module: dict[str, set[str]] = {}


@pytest.hookimpl(tryfirst=True)  # before mutmut's own teardown hook files the hits under the test
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    try:
        from mutmut.state import state
    except ImportError:
        return
    hits: set[str] = state()._stats
    module = item.nodeid.split("::", 1)[0]
    reached = _reached_by_module.setdefault(module, set())
    reached |= hits
    hits |= reached
