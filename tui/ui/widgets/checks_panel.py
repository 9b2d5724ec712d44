"""The checks panel: DNS, blocklist and DKIM/SPF/DMARC results filling in as lookups return.

A :class:`CheckRun` holds one run's state (pending jobs, results, whether it is still going);
the app keeps one per block (``d``) or per stream (``k``) so the last results stay visible
when the cursor comes back. The panel only draws a run: every record and reason is plain
text made printable, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.textsafe import printable

if TYPE_CHECKING:  # the check engine (dnspython, dkimpy, pyspf) loads on the first check
    from tui.checks import CheckResult

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ICONS = {
    "pass": ("✓", "green"),
    "warn": ("!", "yellow"),
    "fail": ("✗", "bold red"),
    "not_tested": ("?", "magenta"),
}
ORDER = {"fail": 0, "warn": 1, "not_tested": 2, "pass": 3}


@dataclass
class CheckRun:
    """One run of checks and what it has found so far."""

    title: str
    pending: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    running: bool = True
    cancelled: bool = False
    error: str | None = None

    def counts(self) -> dict[str, int]:
        """Results per status."""
        out = {"pass": 0, "warn": 0, "fail": 0, "not_tested": 0}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


class ChecksPanel(VerticalScroll):
    """Draws a :class:`CheckRun`; a timer turns the spinner while it runs."""

    DEFAULT_CSS = """
    ChecksPanel { height: 45%; border-top: solid $warning; padding: 0 1; display: none; }
    ChecksPanel.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.run: CheckRun | None = None
        self.frame = 0

    def compose(self):  # noqa: ANN201
        yield Static(Text(""), id="checks-text")

    def on_mount(self) -> None:
        """Spin while a run is going."""
        self.set_interval(0.12, self._tick)

    def _tick(self) -> None:
        if self.run is not None and self.run.running and self.display:
            self.frame = (self.frame + 1) % len(SPINNER)
            self.redraw()

    def show_run(self, run: CheckRun | None) -> None:
        """Draw ``run`` (None hides the panel)."""
        self.run = run
        self.set_class(run is not None, "-shown")
        self.redraw()

    def redraw(self) -> None:
        """Re-render the current run."""
        run = self.run
        text = Text()
        if run is None:
            self.query_one("#checks-text", Static).update(text)
            return
        counts = run.counts()
        text.append(printable(run.title, max_chars=200), style="bold")
        text.append(
            f"   {counts['pass']} pass  {counts['warn']} warn  {counts['fail']} fail  {counts['not_tested']} not tested",
        )
        if run.running:
            text.append(
                f"   {SPINNER[self.frame]} {len(run.pending)} check(s) running — Esc cancels",
                style="italic",
            )
        elif run.cancelled:
            text.append("   cancelled", style="yellow")
        elif run.error:
            text.append("   " + printable(run.error, max_chars=300), style="bold red")
        else:
            text.append("   done — d / k runs again, Esc hides", style="dim")
        text.append("\n")
        for result in sorted(
            run.results, key=lambda r: (ORDER.get(r.status, 9), r.check, r.subject)
        ):
            icon, style = ICONS.get(result.status, ("·", ""))
            text.append(f" {icon} ", style=style)
            text.append(f"{result.check:<16.16} ", style="bold" if result.status != "pass" else "")
            text.append(f"{printable(result.subject, max_chars=48):<40.48} ")
            text.append(
                printable(result.reason, max_chars=400),
                style=style if result.status != "pass" else "dim",
            )
            text.append("\n")
            if result.status in ("fail", "warn") and result.evidence:
                for line in result.evidence[:3]:
                    text.append("      " + printable(line, max_chars=300) + "\n", style="dim")
        for name in run.pending[:12] if run.running else []:
            text.append(
                f" {SPINNER[self.frame]} {printable(name, max_chars=80)}\n", style="italic dim"
            )
        if run.running and len(run.pending) > 12:
            text.append(f"   … {len(run.pending) - 12} more running\n", style="dim")
        self.query_one("#checks-text", Static).update(text)
