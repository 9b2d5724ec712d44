"""Pick the MailStream the panes show, like the dashboard's drop-down (or All)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.db.records import Stream
from tui.textsafe import printable

ALL = "__all__"


class StreamPicker(ModalScreen[Stream | None | bool]):
    """Returns the chosen stream, None for All, or False when dismissed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker_cancel")]

    DEFAULT_CSS = """
    StreamPicker { align: center middle; }
    StreamPicker > Vertical { width: 60; max-width: 95%; height: auto; max-height: 80%; border: thick $accent; background: $surface; }
    StreamPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, streams: list[Stream], current: Stream | None) -> None:
        super().__init__()
        self.streams = streams
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(Text("All streams"), id=ALL)]
        for s in self.streams:
            label = Text(printable(s.name, max_chars=60))
            if s.description:
                label.append(f"  {printable(s.description, max_chars=60)}", style="dim")
            options.append(Option(label, id=str(s.id)))
        with Vertical():
            yield Static(Text("MailStream (Enter picks, Esc cancels)"))
            yield OptionList(*options, id="streams")

    def on_mount(self) -> None:
        """Start on the current stream."""
        option_list = self.query_one(OptionList)
        if self.current is not None:
            for i, s in enumerate(self.streams, start=1):
                if s.id == self.current.id:
                    option_list.highlighted = i
        else:
            option_list.highlighted = 0
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Answer with the stream."""
        event.stop()
        if event.option.id == ALL:
            self.dismiss(None)
            return
        chosen = next(s for s in self.streams if str(s.id) == event.option.id)
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        """Keep the current stream."""
        self.dismiss(False)
