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
