"""The detail panel under a block pane: the block, its evidence and its diagnosis, as plain
text (values from mail and the database are never markup).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.textsafe import printable

BLOCK_REASON_CATEGORIES = frozenset(
    {"ip_reputation_block", "dnsbl_listing", "rate_limit", "authentication_failure", "policy_block"}
)


def advice_text(advice: Any) -> Text:
    """The diagnosis part of the detail panel: what happened, why, what to do, when."""
    text = Text()
    style = "bold red" if advice.category in BLOCK_REASON_CATEGORIES else "bold"
    text.append(advice.category, style=style)
    text.append(f" · {printable(advice.provider, max_chars=40)}")
    if advice.provider_code:
        text.append(f" · {printable(advice.provider_code, max_chars=40)}")
    if advice.confidence != "high":
        text.append(f"  ({advice.confidence} confidence)", style="dim")
    text.append("\n")
    text.append(printable(advice.headline, max_chars=300) + "\n", style="bold")
    text.append(printable(advice.explanation, max_chars=2000) + "\n")
    for i, step in enumerate(advice.steps, 1):
        text.append(f"{i}. ", style="bold")
        text.append(printable(step, max_chars=1000) + "\n")
    when = advice.release
    colour = {"now": "green", "wait": "yellow", "after-fix": "red"}.get(when.when, "")
    text.append("Release: ", style="bold")
    text.append(when.when, style=f"bold {colour}".strip())
    text.append(when.not_before_text())
    text.append(" — " + printable(when.reason, max_chars=500))
    return text


class DetailPanel(VerticalScroll):
    """The block under the cursor, in full: what the row had to cut."""

    DEFAULT_CSS = """
    DetailPanel { height: 40%; min-height: 6; border-top: solid $accent; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="detail-text")

    _shown: Text | None = None

    def show(self, text: Text) -> None:
        """Replace the text (a layout pass only when it changed: every refresh re-shows it)."""
        if text == self._shown:
            return
        self._shown = text
        self.query_one("#detail-text", Static).update(text)
