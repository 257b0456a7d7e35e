"""Settings for the whole test session that its subprocesses inherit.

The suite starts the kit (and sandboxes) in about a hundred subprocesses. With
PYTHONDONTWRITEBYTECODE set (CI sets it, to keep the checkout clean), each of them compiled every
module again (uv installs libraries without bytecode) and pytest rewrote the assertions of every
check module again: more than half of a minimal kit run's CPU. Here the subprocesses write their
bytecode once, under a cache prefix in a temporary directory of this session, so the checkout
stays clean and the cost is paid once.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_CACHE_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
_saved: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    # LONGEST_FIRST (below) needs xdist to hand out modules in collection order, but
    # `--dist loadfile` reorders them by their number of tests unless told not to (pytest-xdist's
    # `--loadscope-reorder`, on by default): that put the legal gallery ninth and the repeated full
    # runs and the rate-limited runs (few tests, minutes each) behind a hundred quick modules, at
    # the end of the run, alone.
    if getattr(config.option, "loadscopereorder", False):
        config.option.loadscopereorder = False
    if hasattr(config, "workerinput") or _saved:
        return
    _saved.update({name: os.environ.get(name) for name in _CACHE_ENV})
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="fulfillment-tests-pycache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _saved:
        return
    shutil.rmtree(os.environ.get("PYTHONPYCACHEPREFIX", ""), ignore_errors=True)
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved.clear()


# The modules that take longest, longest first (wall seconds of each module, one per worker under
# `nox -s tests`, from `--durations` on a loaded machine: the legal gallery's fixture 620, the
# model gallery's 423, the repeated full runs 377, the rate-limited runs 330, polling 264, ...).
# With `--dist loadfile` a worker takes the next module in collection order when it is free, so
# starting the long ones first keeps the last minutes of a run from being one module alone on one
# worker (longest-first scheduling); the other modules keep their collection order behind them.
LONGEST_FIRST = (
    "tests/kit/test_legal_variations.py",
    "tests/kit/test_legal_variations_more.py",
    "tests/kit/test_broken_model.py",
    "tests/kit/test_repeatable_runs.py",
    "tests/kit/test_rate_limited_runs.py",
    "tests/kit/test_broken_polling.py",
    "tests/kit/test_broken_orders.py",
    "tests/sandbox/test_schemathesis_sandbox.py",
    "tests/kit/test_property_checks.py",
    "tests/kit/test_hostile_servers.py",
    "tests/kit/test_property_kit_run.py",
    "tests/kit/test_broken_webhooks.py",
    "tests/kit/test_broken_optional.py",
    "tests/kit/test_scoped_tokens.py",
    "tests/client_check/test_client_gallery.py",
    "tests/kit/test_broken_subtle.py",
    "tests/spec/test_breaking_changes.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
