"""The labelled reply corpora of ``tests/data`` and how the classifier scores on them.

One place for the test that guards the scores (``tests/unit/test_classify_corpora.py``) and
the benchmark that prints them (``python -m tests.benchmarks.bench_classify --accuracy``).
``heldout-replies.csv`` is read here only to *measure*: see ``tests/data/README.md``.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tui.diagnose.classify import CATEGORIES, classify

DATA = Path(__file__).resolve().parents[1] / "data"

CORPORA: dict[str, str] = {
    "samples": "smtp-samples.csv",
    "extra (dev)": "extra-replies.csv",
    "dev": "dev-replies.csv",
    "held-out": "heldout-replies.csv",
}
"""Display name → file, in the order the report prints them."""


def load(name: str) -> list[dict[str, str]]:
    """The rows of one corpus file (``name`` is a file name in ``tests/data``)."""
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def code_of(row: dict[str, str]) -> int | None:
    """The reply code column, when the row has one."""
    return int(row["smtp_code"]) if row.get("smtp_code") else None


def is_held_out(text: str) -> bool:
    """The split rule the held-out file was made with (before any rule saw its replies)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 3 == 0


@dataclass
class Score:
    """How one corpus came out: totals, the misses, and wanted → got counts."""

    name: str
    total: int = 0
    right: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    def line(self) -> str:
        return f"{self.name:<12} {self.right:>4}/{self.total:<4} {self.accuracy:6.1%}"

    def table(self) -> str:
        """Per category: rows, right, and where the wrong ones went."""
        lines = [f"{'category':<24} {'rows':>4} {'right':>5}  wrong → got"]
        for category in CATEGORIES:
            rows = sum(n for (want, _), n in self.confusion.items() if want == category)
            if not rows:
                continue
            right = self.confusion[(category, category)]
            wrong = ", ".join(
                f"{got} {n}"
                for (want, got), n in sorted(self.confusion.items(), key=lambda kv: -kv[1])
                if want == category and got != category
            )
            lines.append(f"{category:<24} {rows:>4} {right:>5}  {wrong}".rstrip())
        return "\n".join(lines)


def score(name: str, rows: list[dict[str, str]]) -> Score:
    """Classify every row (with its reply code when the row has one) against its label."""
    result = Score(name)
    for row in rows:
        got = classify(row["response_text"], code_of(row)).category
        result.total += 1
        result.confusion[(row["category"], got)] += 1
        if got == row["category"]:
            result.right += 1
        else:
            result.misses.append((row["category"], got, row["response_text"]))
    return result


def score_all() -> list[Score]:
    """Every corpus of :data:`CORPORA`, in order."""
    return [score(name, load(file)) for name, file in CORPORA.items()]


def report(scores: list[Score]) -> str:
    """The accuracy of every corpus, then the held-out set per category."""
    lines = ["classifier accuracy (tests/data):"] + ["  " + s.line() for s in scores]
    held = next((s for s in scores if s.name == "held-out"), None)
    if held is not None:
        lines += ["held-out, per category:"] + ["  " + t for t in held.table().splitlines()]
    return "\n".join(lines)
