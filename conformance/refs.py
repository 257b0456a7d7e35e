"""The one `$ref` follower of the kit: local references (`#/components/...`) in the spec.

OpenAPI 3.1 allows keywords next to a `$ref` (a `description`, say); they apply too, so they are
merged over the target. A chain of references is followed up to `MAX_HOPS` (a cycle must not
hang a run); a reference that points nowhere resolves to None. A non-local reference is returned
as it is: the kit only ever reads the one spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_HOPS", "follow", "resolve"]

MAX_HOPS = 32
# How deep a walk over a body and its schema goes: bodies in this API are shallow.
MAX_DEPTH = 32


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def follow(root: Mapping[str, Any], node: Any, pointer: str = "") -> tuple[Any, str]:
    """(the node a chain of local `$ref`s leads to, its JSON pointer); siblings merged over it.

    `pointer` is where `node` itself sits, returned unchanged when `node` is no reference."""
    siblings: dict[str, Any] = {}
    for _ in range(MAX_HOPS):
        if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str)):
            break
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            break
        # The outermost sibling wins: it is the one written next to the use.
        siblings = {**{k: v for k, v in node.items() if k != "$ref"}, **siblings}
        pointer = ref[1:]
        target: Any = root
        for token in ref[2:].split("/"):
            target = target.get(_unescape(token)) if isinstance(target, Mapping) else None
        node = target
    if siblings and isinstance(node, Mapping) and not isinstance(node.get("$ref"), str):
        node = {**node, **siblings}
    return node, pointer


def resolve(root: Mapping[str, Any], node: Any) -> Any:
    """The node a chain of local `$ref`s leads to (siblings merged), None when it leads nowhere."""
    return follow(root, node)[0]
