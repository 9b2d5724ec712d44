"""The benchmark results table: one row per figure, printed as Markdown for the README."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    """One line of the results table."""

    scale: str
    backend: str
    what: str
    measured: str
    reference: str
    ratio: str
    target: str
    verdict: str


def fmt_s(seconds: float) -> str:
    """Seconds or milliseconds, whichever reads better."""
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def verdict(ok: bool) -> str:
    """met / missed."""
    return "met" if ok else "missed"


def print_table(rows: list[Row]) -> None:
    """The results as a Markdown table (README's Performance section takes it as is)."""
    head = [
        "scale",
        "backend",
        "what",
        "measured",
        "reference (same run)",
        "ratio",
        "target",
        "verdict",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(
            f"| {r.scale} | {r.backend} | {r.what} | {r.measured} | {r.reference} | {r.ratio} "
            f"| {r.target} | {r.verdict} |"
        )
