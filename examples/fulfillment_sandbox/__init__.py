"""Reference sandbox of the fulfillment API: a real, stateful, durable implementation.

`create_app(db_path, ...)` returns a Starlette app serving the contract of `spec/openapi.yaml`
under `/v1`; `python -m fulfillment_sandbox` runs it. The sandbox shares only `fulfillment_spec`
with the conformance kit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from .app import create_app
else:

    def __getattr__(name: str) -> Any:
        if name == "create_app":
            from .app import create_app

            return create_app
        raise AttributeError(name)
