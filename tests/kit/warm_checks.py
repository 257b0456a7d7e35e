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

import pytest

from conformance.cli import HERMETIC_ENV, checks_invocation


def preload() -> int:
    """pytest's collection of the installed checks, without running them; pytest's exit code."""
    # How pytest imports and rewrites the checks is decided by the run's own invocation (ini file,
    # rootdir, hermetic environment), so the preload uses exactly that. Collect-only, no output,
    # and no kit plugin (inert without a base URL anyway).
    with pytest.MonkeyPatch.context() as patch, checks_invocation() as args:
        for name, value in HERMETIC_ENV.items():
            patch.setenv(name, value)
        return int(pytest.main([*args, "--collect-only", "-p", "no:terminal"]))


# The fork server must start even if the pass fails: its runs then import the checks themselves.
with contextlib.suppress(Exception):
    preload()
