"""Every operation of the spec has a sandbox handler, and every handler serves a spec operation.

The app builds its routes from the spec; an operation without a handler would otherwise be left
out silently (a 404 where the contract promises an answer).
"""

from __future__ import annotations

import fulfillment_spec
from fulfillment_sandbox import app

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _spec_operation_ids() -> set[str]:
    spec = fulfillment_spec.load_openapi()
    return {
        str(operation["operationId"])
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_spec_operation_has_a_handler() -> None:
    missing = sorted(_spec_operation_ids() - app.IMPLEMENTED)
    assert not missing, f"spec operations without a sandbox handler: {', '.join(missing)}"


def test_every_handler_serves_a_spec_operation() -> None:
    unknown = sorted(app.IMPLEMENTED - _spec_operation_ids())
    assert not unknown, f"sandbox handlers for no spec operation: {', '.join(unknown)}"
