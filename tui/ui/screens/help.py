"""Every binding, with the keys in effect after the config file's [keymap]."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.ui.bindings import KEYS, TABLE_KEYS, display_keys


class HelpScreen(ModalScreen[None]):
    """The key table; Esc, q, ? or F1 closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help_close"),
        Binding("g,home", "top", "First row", show=False, id="help_top"),
        Binding("G,end", "bottom", "Last row", show=False, id="help_bottom"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90; max-width: 98%; height: 90%; border: thick $accent; background: $surface; }
    HelpScreen DataTable { height: 1fr; }
    HelpScreen .note { color: $text-muted; }
    """

    def __init__(self, keymap: dict[str, str], read_only: bool) -> None:
        super().__init__()
        self.keymap = keymap
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Keys  (rebind any of them by id in the config file's [keymap])"))
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
            note = (
                "Release and undo are off: read-only."
                if self.read_only
                else "Writes ask first (default No) and are audited."
            )
            yield Static(Text(note + "  Esc closes."), classes="note")

    def on_mount(self) -> None:
        """Fill the table from the binding definitions."""
        table = self.query_one(DataTable)
        table.add_columns("Group", "Keys", "Does", "Id")
        for key in (*KEYS, *TABLE_KEYS):
            keys = self.keymap.get(key.id, key.keys)
            does = key.description + ("  (off: read-only)" if key.writes and self.read_only else "")
            table.add_row(Text(key.group), Text(display_keys(keys)), Text(does), Text(key.id))
        table.focus()

    def action_top(self) -> None:
        """g: the first binding."""
        self.query_one(DataTable).move_cursor(row=0)

    def action_bottom(self) -> None:
        """G: the last binding."""
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)
