"""The client is a thing to copy: it may lean on the contract, never on the kit or the sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "examples" / "erp_client"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_client_imports_neither_the_kit_nor_the_sandbox() -> None:
    modules = sorted(CLIENT.glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        assert not imported_roots(module) & {"conformance", "fulfillment_sandbox"}, module.name
