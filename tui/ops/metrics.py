"""Prometheus text-format metrics for node_exporter's textfile collector.

``lmtriage -p east status --format prometheus -o /var/lib/node_exporter/textfile/lmtriage-east.prom``
writes the file atomically (a temporary file renamed over it), so the collector never reads a
half-written file. Label values are escaped as the exposition format requires, after hostile
text has been made printable.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from tui.db.records import BlockKind
from tui.errors import LmError
from tui.ops.inventory import Inventory
from tui.textsafe import printable


def label_value(text: object) -> str:
    """A label value: printable, cut, with ``\\``, ``"`` and newlines escaped."""
    value = printable(text, max_chars=200)
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, object]) -> str:
    inner = ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: Mapping[str, object], value: float) -> None:
        number = repr(float(value)) if isinstance(value, float) else str(int(value))
        self.lines.append(f"{name}{_labels(labels)} {number}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(
    *,
    profile: str,
    inventory: Inventory | None,
    by_category: Counter[tuple[str, BlockKind, str]] | None,
    failed: Counter[str] | None,
    window_seconds: float,
    duration_seconds: float,
    error: str | None = None,
) -> str:
    """The metrics of one status run (``lmtriage_up 0`` and nothing else when it failed)."""
    w = _Writer()
    base = {"profile": profile}
    w.family("lmtriage_up", "1 when the ListManager database answered, 0 when it did not.")
    w.sample("lmtriage_up", base, 0 if error or inventory is None else 1)
    w.family("lmtriage_status_duration_seconds", "How long reading the figures took.")
    w.sample("lmtriage_status_duration_seconds", base, round(duration_seconds, 3))
    if error or inventory is None:
        return w.text()
    w.family(
        "lmtriage_blocks",
        "Block rows now, by stream, kind (domain or ip) and the category of the block's "
        "latest failed reply in the evidence window.",
    )
    if by_category:
        for (stream, kind, category), n in sorted(by_category.items()):
            w.sample(
                "lmtriage_blocks",
                {**base, "stream": stream, "kind": kind, "category": category},
                n,
            )
    w.family("lmtriage_blocks_by_kind", "Block rows now, by kind (the sum of lmtriage_blocks).")
    for kind in ("domain", "ip"):
        w.sample("lmtriage_blocks_by_kind", {**base, "kind": kind}, inventory.total(kind))  # type: ignore[arg-type]
    w.family(
        "lmtriage_oldest_block_age_seconds",
        "Now minus the smallest BlockedSince of any block (0 when there is none).",
    )
    age = inventory.oldest_age()
    w.sample("lmtriage_oldest_block_age_seconds", base, int(age.total_seconds()) if age else 0)
    w.family(
        "lmtriage_attempts_failed",
        "Failed delivery attempts (code >= 400 or none) in the evidence window, by the "
        "category of their reply.",
    )
    for category, n in sorted((failed or Counter()).items()):
        w.sample("lmtriage_attempts_failed", {**base, "category": category}, n)
    w.family("lmtriage_window_seconds", "The evidence window the attempt figures cover.")
    w.sample("lmtriage_window_seconds", base, int(window_seconds))
    return w.text()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise LmError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # the collector runs as another user
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise LmError(f"cannot write {path}: {err.strerror or err}") from None
