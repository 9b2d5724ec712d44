"""tui.checks is UI-free: no Textual or Rich import anywhere in it."""

from __future__ import annotations

import ast
from pathlib import Path

import tui.checks

ROOT = Path(tui.checks.__file__).parent


def test_no_ui_imports() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"textual", "rich"}:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
