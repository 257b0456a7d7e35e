"""The kit's exceptions form one tree (conformance/errors.py): each is a `KitError` (the kit cannot
run as asked), a `CheckFailure` (a finding) or `NotExercised` (a rule the run never met), so the
plugin and the CLI tell them apart by class, never by name or message."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import conformance
from conformance.driver import DriverError
from conformance.errors import CheckFailure, KitError
from conformance.evidence import FailedWithEvidence
from conformance.http import RateLimited, RequestFailed, ScopeMissing
from conformance.model.machine import ModelMismatch
from conformance.outcomes import NotExercised

ROOTS = (KitError, CheckFailure, NotExercised)
# The ERP client check (`fulfillment-conformance client`) is its own command with its own errors;
# the checks are pytest modules; `__main__` runs the CLI when imported.
OUTSIDE_THE_KIT = ("conformance.client", "conformance.checks", "conformance.__main__")


def kit_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(conformance.__path__, "conformance."):
        if module_info.name.startswith(OUTSIDE_THE_KIT):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_kit_exception_has_a_root() -> None:
    found = kit_exceptions()
    assert {"conformance.model.machine.ModelMismatch", "conformance.http.RateLimited"} <= set(found)
    rootless = sorted(name for name, cls in found.items() if not issubclass(cls, ROOTS))
    assert not rootless, f"expected every kit exception under {ROOTS}, got {rootless}"


@pytest.mark.parametrize("finding", [RequestFailed, DriverError, FailedWithEvidence, ModelMismatch])
def test_findings_are_check_failures_and_assertions(finding: type[BaseException]) -> None:
    # An AssertionError, so a check that raises one fails as a plain `assert` does.
    assert issubclass(finding, CheckFailure) and issubclass(finding, AssertionError)
    assert not issubclass(finding, KitError)


def test_an_unanswered_request_is_not_exercised_and_a_lost_request() -> None:
    for refusal in (RateLimited, ScopeMissing):
        assert issubclass(refusal, NotExercised) and issubclass(refusal, RequestFailed)


def test_a_finding_keeps_its_message_and_evidence() -> None:
    mismatch = ModelMismatch("CONS-003", "CONS-003: embedded differs", [{"curl": "curl x"}])
    assert str(mismatch) == "CONS-003: embedded differs"
    assert mismatch.requirement == "CONS-003" and mismatch.evidence == [{"curl": "curl x"}]
    carried = FailedWithEvidence("expected 400, got 200", [{"curl": "curl y"}])
    assert str(carried) == "expected 400, got 200" and carried.evidence == [{"curl": "curl y"}]
