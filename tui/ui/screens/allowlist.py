"""The allowlist request for the blocking domain: read it, save it, copy it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from tui.config import xdg_dir
from tui.textsafe import printable


class AllowlistScreen(Screen[None]):
    """A read-only view of the request; ``s`` saves it to a file, ``y`` copies it."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="allowlist_back"),
        Binding("s", "save", "Save to file", id="allowlist_save"),
        Binding("y", "copy", "Copy", id="allowlist_copy"),
    ]

    DEFAULT_CSS = """
    AllowlistScreen #allowlist-title { background: $panel; text-style: bold; padding: 0 1; }
    AllowlistScreen TextArea { height: 1fr; }
    AllowlistScreen #allowlist-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, domain: str, text: str) -> None:
        super().__init__()
        self.domain = domain
        self.text = text
        self.saved: Path | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                f"Allowlist request to {printable(self.domain, max_chars=100)} (s saves, y copies, Esc back)"
            ),
            id="allowlist-title",
        )
        # TextArea shows text as text: no markup is parsed.
        yield TextArea(self.text, read_only=True, id="allowlist-text", soft_wrap=True)
        yield Static(Text(""), id="allowlist-status")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the text so it can be scrolled and selected."""
        self.query_one(TextArea).focus()

    def _status(self, text: str) -> None:
        self.query_one("#allowlist-status", Static).update(Text(text))

    def action_save(self) -> None:
        """Write the request to the data directory."""
        safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in self.domain)[:80] or "domain"
        folder = xdg_dir("DATA") / "allowlist-requests"
        path = folder / f"{safe}-{datetime.now():%Y%m%d-%H%M%S}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(self.text + "\n", encoding="utf-8")
        except OSError as err:
            self._status(f"could not save: {err.strerror or err}")
            return
        self.saved = path
        self._status(f"saved to {path}")
        self.app.notify(f"saved to {path}", markup=False)

    def action_copy(self) -> None:
        """Copy through the terminal (OSC 52; works over SSH where the terminal allows it)."""
        self.app.copy_to_clipboard(self.text)
        self._status("copied to the clipboard (if the terminal allows OSC 52)")

    def action_back(self) -> None:
        """Back to the console."""
        self.dismiss(None)
