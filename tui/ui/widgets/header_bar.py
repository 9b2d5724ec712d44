"""The top line: badges (DEMO, READ-ONLY, PAUSED) first so they are never cut off, then the
database (password masked), the stream and the time of the last refresh."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tui.textsafe import printable


def middle_cut(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` by cutting its middle (both ends of a URL matter)."""
    if len(text) <= width:
        return text
    keep = max(width - 1, 2)
    return text[: keep // 2] + "…" + text[-(keep - keep // 2) :]


class HeaderBar(Static):
    """One line of plain text with styled badges; values are never parsed as markup."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $primary; color: $text; padding: 0 1; }
    """

    _shown: Text | None = None
    _last: dict | None = None

    def on_resize(self) -> None:
        """The database part fits the new width."""
        if self._last is not None:
            self.show(**self._last)

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
        profile: str | None = None,
    ) -> None:
        """Redraw the line: badges, stream and clock are never cut; the database takes what
        is left of the width (its middle cut, both ends of a URL matter)."""
        self._last = {
            "database": database,
            "stream": stream,
            "refreshed": refreshed,
            "refreshing": refreshing,
            "read_only": read_only,
            "paused": paused,
            "demo": demo,
            "profile": profile,
        }
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("lmtriage ", style="bold")
        if profile:
            text.append(f" {printable(profile, max_chars=32)} ", style="bold black on green")
            text.append(" ")
        if read_only:
            text.append(" READ-ONLY ", style="bold white on red")
            text.append(" ")
        if demo:
            text.append(" DEMO ", style="bold black on yellow")
            text.append(" ")
        if paused:
            text.append(" PAUSED ", style="bold black on cyan")
            text.append(" ")
        text.append("stream ", style="dim")
        text.append(middle_cut(printable(stream, max_chars=None), 40), style="bold")
        text.append("  ")
        if refreshing:
            text.append("refreshing… ", style="italic")
        if refreshed is not None:
            text.append(f"{refreshed:%H:%M:%S}", style="dim")
            text.append("  ")
        if demo and database.startswith("DEMO"):
            database = database[4:].strip()  # the badge says it
        width = (self.size.width or self.app.size.width) - 2  # the padding
        room = width - text.cell_len
        if room >= 8:
            text.append(middle_cut(printable(database, max_chars=None), room), style="dim")
        if text == self._shown:
            return
        self._shown = text
        # One line of fixed height: a repaint, never a layout pass (twice every refresh).
        self.update(text, layout=False)
