"""Layers point one way: data, diagnosis, checks and the CLI never import Textual.

Checked twice: statically (every import statement in those packages) and dynamically (a
fresh interpreter imports them all and Textual must not have been loaded).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tui"
CORE_DIRS = ["db", "demo", "diagnose", "checks", "commands", "ops", "triage"]
CORE_FILES = ["core.py", "config.py", "errors.py", "textsafe.py", "cli.py", "domains.py"]
FORBIDDEN = ("textual", "rich", "tui.ui")


def core_modules() -> list[Path]:
    files = [ROOT / f for f in CORE_FILES]
    for d in CORE_DIRS:
        files += sorted((ROOT / d).rglob("*.py"))
    return [f for f in files if f.exists()]


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, top_level) for every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, node.lineno, id(node) in top))
    return out


def test_no_textual_import_below_the_ui() -> None:
    offenders = []
    for path in core_modules():
        for module, line, _top in imports_of(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
                # cli.py opens the console lazily inside run_console: allowed there only.
                if path.name == "cli.py" and module == "tui.ui.run":
                    continue
                offenders.append(f"{path.relative_to(ROOT.parent)}:{line} imports {module}")
    assert not offenders, "\n".join(offenders)
    assert len(core_modules()) >= 20


def test_importing_the_core_does_not_load_textual() -> None:
    modules = []
    for path in core_modules():
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        if not name.endswith("__main__"):
            modules.append(name)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') or m.startswith('tui.ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT.parent
    )
    assert out.stdout.strip() == "", f"loaded: {out.stdout.strip()}"
