"""The kit's oracle for amends: RFC 7396's MergePatch algorithm, written as the RFC gives it.

The kit keeps its own copy rather than import the sandbox's (the kit and the sandbox never import
each other); tests/kit/test_merge_patch.py runs it over the examples of RFC 7396 Appendix A.
"""

from __future__ import annotations

from typing import Any


def apply(target: Any, patch: Any) -> Any:
    """define MergePatch(Target, Patch) (RFC 7396 section 2)."""
    if isinstance(patch, dict):
        result = dict(target) if isinstance(target, dict) else {}
        for name, value in patch.items():
            if value is None:
                result.pop(name, None)
            else:
                result[name] = apply(result.get(name), value)
        return result
    return patch
