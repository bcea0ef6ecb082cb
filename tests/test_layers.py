"""The layers' rule, checked on every module: `knowledge/` imports nothing of ours,
`escalation/` never imports `bot/` (the README's architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"knowledge": ("bot", "escalation"), "escalation": ("bot",)}


def imported(path: Path) -> set[str]:
    """Top-level packages a module imports, anywhere in it (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_is_below_it(layer: str) -> None:
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in sorted(imported(path) & set(FORBIDDEN[layer]))
    ]

    assert not broken, "\n".join(broken)
