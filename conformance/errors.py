"""The kit's two kinds of exception, told apart by class (the plugin never parses a message).

- `KitError`: the kit cannot run as asked (a bad option, a catalogue mismatch, ...). The CLI turns
  it into exit status 2 with its one sentence; in a check it is an error, not a finding.
- `CheckFailure`: the target broke a rule, or gave no usable answer. An `AssertionError`, so a
  check that raises it fails like one whose `assert` did, and its message is the finding itself.
  Its kinds: `http.RequestFailed` (no usable response), `driver.DriverError` (a warehouse step
  the target refused), `evidence.FailedWithEvidence` (a finding with its own exchanges, from the
  Schemathesis and model-based phases), `model.machine.ModelMismatch` (the target disagrees with
  the model).

A rule the run never met is neither: `conformance.outcomes.NotExercised` (a pytest skip).
"""

from __future__ import annotations

__all__ = ["CheckFailure", "KitError"]


class KitError(Exception):
    """The kit cannot run as asked: configuration, catalogue or driver set-up."""


class CheckFailure(AssertionError):
    """A finding: the check's message says what was expected and what happened."""
