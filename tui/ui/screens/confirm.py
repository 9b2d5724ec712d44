"""A yes/no dialog whose default answer is No: ``y`` confirms, anything else backs out."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask before a write. ``lines`` and ``sample`` are plain text, shown literally."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen .title { text-style: bold; color: $warning; padding-bottom: 1; }
    ConfirmScreen .sample { color: $text-muted; max-height: 12; overflow-y: auto; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; padding-top: 1; }
    ConfirmScreen Button { margin-left: 2; min-width: 12; }
    """

    def __init__(
        self,
        title: str,
        lines: list[str],
        sample: list[str] | None = None,
        yes_label: str = "Yes (y)",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.sample = sample or []
        self.yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="title")
            yield Static(Text("\n".join(self.lines)))
            if self.sample:
                yield Static(Text("\n".join(self.sample)), classes="sample")
            with Horizontal():
                yield Button(self.yes_label, variant="warning", id="yes")
                yield Button("No (n / Esc)", variant="primary", id="no")

    def on_mount(self) -> None:
        """No has the focus, so Enter means No."""
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons answer too."""
        event.stop()
        self.dismiss(event.button.id == "yes")
