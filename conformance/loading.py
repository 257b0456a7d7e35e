"""`module:attribute` -> the object, for the kit's plug-in points (a driver, a client adapter)."""

from __future__ import annotations

import importlib
from typing import Any


def import_callable(spec: str, what: str) -> Any:
    """The callable `spec` names (`module:name`, dots allowed in name); ValueError, one sentence,
    naming `what` it was meant to be, if not."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise ValueError(f"the {what} {spec!r} is not 'module:name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"the {what} module {module_name!r} cannot be imported: {exc}") from None
    target: Any = module
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ValueError(f"the {what} module {module_name!r} has no {name!r}")
    if not callable(target):
        raise ValueError(f"the {what} {spec!r} is not callable")
    return target
