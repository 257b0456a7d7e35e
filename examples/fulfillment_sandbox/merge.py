"""JSON merge patch (RFC 7396 section 2), as the amend of an order applies it (decision 50)."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """`target` with `patch` applied: an object patch merges member by member, recursively, a
    `null` member removes that member; anything else (an array, a scalar) replaces the target."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged
