"""Imported by the warm kit's fork server (tests/kit/warm_kit.py): the kit's check modules,
imported and assertion-rewritten once, so the runs forked from it find them in `sys.modules`.

Importing the 34 check modules (and what they import: Schemathesis for the property phase, the
model's state machine) costs a kit run about 0.5 s of CPU even with their rewritten bytecode
cached; the suite makes some 150 warm runs. pytest collects a module by importing its dotted name
(`conformance.checks.test_orders`: the default `prepend` import mode) and takes what is already
in `sys.modules` when its file is the one collected, so a forked run collects the same module
objects it would have imported itself, rewritten by pytest's own hook (a collect-only pass here,
with the run's own ini, rootdir and hermetic plugin settings). Nothing in a check module reads
the run's configuration at import time: that reaches the checks through fixtures, per run.

Best effort: if the pass fails, a run imports what is missing itself, as before.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

_HERMETIC = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": "", "PYTEST_PLUGINS": ""}


def preload() -> int:
    """pytest's collection of the installed checks, without running them; pytest's exit code."""
    import pytest

    import conformance.checks

    checks_dir = Path(conformance.checks.__file__).resolve().parent
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        for name, value in _HERMETIC.items():
            patch.setenv(name, value)
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        # What decides how pytest imports and rewrites the checks is the run's: its own ini
        # file (python_files) and the repository as rootdir (module names). Collect-only, no
        # output, no cache directory, and no kit plugin (inert without a base URL anyway).
        quiet = [f"-pno:{plugin}" for plugin in ("terminal", "cacheprovider", "randomly")]
        root = str(checks_dir.parent.parent)
        args = [str(checks_dir), "-c", str(ini), "--rootdir", root, "--collect-only", *quiet]
        args.append("--continue-on-collection-errors")
        return int(pytest.main(args))


# The fork server must start even if the pass fails: its runs then import the checks themselves.
with contextlib.suppress(Exception):
    preload()
