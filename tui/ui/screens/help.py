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
        """Fill the table once the dialog is laid out: its width decides the wrapping."""
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """The table from the binding definitions, grouped; long descriptions wrap so every
        column, the id to rebind by included, fits the dialog's width."""
        table = self.query_one(DataTable)
        rows = []
        for key in (*KEYS, *TABLE_KEYS):
            keys = self.keymap.get(key.id, key.keys)
            does = key.description + ("  (off: read-only)" if key.writes and self.read_only else "")
            rows.append((key.group, display_keys(keys), key.id, does))
        order: dict[str, int] = {}
        for group, *_ in rows:
            order.setdefault(group, len(order))
        rows.sort(key=lambda r: order[r[0]])  # stable: each group together, in its first place
        widths = [min(max(len(r[0]) for r in rows), 10)]
        widths += [max(len(r[i]) for r in rows) for i in (1, 2)]
        room = self.query_one(Vertical).content_region.width
        # Each cell has one column of padding either side; the scroll bar takes two.
        does_width = max(20, room - sum(widths) - 2 * 4 - 3)
        for label, width in zip(("Group", "Keys", "Id", "Does"), (*widths, does_width), strict=True):
            table.add_column(label, width=width)
        console = self.app.console
        previous = None
        for group, keys, key_id, does in rows:
            shown = Text(group if group != previous else "", style="bold")
            previous = group
            text = Text(does)
            height = max(len(text.wrap(console, does_width)), len(shown.wrap(console, widths[0])))
            table.add_row(shown, Text(keys), Text(key_id), text, height=max(1, height))
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
