"""The top line: database (masked or DEMO), stream, last refresh, READ-ONLY and PAUSED badges."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tui.textsafe import printable


class HeaderBar(Static):
    """One line of plain text with styled badges; values are never parsed as markup."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $primary; color: $text; padding: 0 1; }
    """

    def show(
        self,
        *,
        database: str,
        stream: str,
        refreshed: datetime | None,
        refreshing: bool,
        read_only: bool,
        paused: bool,
        demo: bool,
    ) -> None:
        """Redraw the line."""
        text = Text()
        text.append("lmtriage ", style="bold")
        if demo:
            text.append(" DEMO ", style="bold black on yellow")
            text.append(" ")
        text.append(printable(database, max_chars=60))
        text.append("  stream: ", style="dim")
        text.append(printable(stream, max_chars=40), style="bold")
        text.append("  ")
        if refreshing:
            text.append("refreshing… ", style="italic")
        if refreshed is not None:
            text.append(f"refreshed {refreshed:%H:%M:%S}", style="dim")
        if paused:
            text.append("  PAUSED ", style="bold black on cyan")
        if read_only:
            text.append("  ")
            text.append(" READ-ONLY ", style="bold white on red")
        self.update(text)
