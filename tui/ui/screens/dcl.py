"""Set a receiving domain's Domain Connection Limit: the current value, the advice's proposal,
three fields, then a confirmation (default No) before anything is written."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.textsafe import printable


class DclScreen(ModalScreen[tuple[int, int | None, int | None] | None]):
    """Returns (limit, per hour or None, per connection or None), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dcl_cancel")]

    DEFAULT_CSS = """
    DclScreen { align: center middle; }
    DclScreen > Vertical { width: 76; max-width: 95%; height: auto; border: thick $accent; background: $surface; padding: 0 1; }
    DclScreen .title { text-style: bold; padding-bottom: 1; }
    DclScreen Horizontal { height: auto; }
    DclScreen Label { width: 28; padding-top: 1; }
    DclScreen Input { width: 1fr; }
    DclScreen #dcl-error { color: $error; height: auto; }
    DclScreen #dcl-buttons { align-horizontal: right; padding-top: 1; }
    DclScreen Button { margin-left: 2; }
    """

    def __init__(
        self,
        domain: str,
        current: str,
        proposal: tuple[int, int | None, int | None],
        why: str | None,
    ) -> None:
        super().__init__()
        self.domain = domain
        self.current = current
        self.proposal = proposal
        self.why = why

    def compose(self) -> ComposeResult:
        limit, hour, per_conn = self.proposal
        with Vertical():
            yield Static(
                Text(f"Domain Connection Limit of {printable(self.domain, max_chars=100)}"),
                classes="title",
            )
            yield Static(Text(f"Now: {printable(self.current, max_chars=200)}"))
            if self.why:
                yield Static(Text(f"Advice: {printable(self.why, max_chars=400)}", style="dim"))
            with Horizontal():
                yield Label("Connections per MX (1-1000)")
                yield Input(str(limit), id="dcl-limit", restrict=r"\d*")
            with Horizontal():
                yield Label("Connections an hour (blank: keep)")
                yield Input("" if hour is None else str(hour), id="dcl-hour", restrict=r"\d*")
            with Horizontal():
                yield Label("Messages per connection (blank: keep)")
                yield Input(
                    "" if per_conn is None else str(per_conn), id="dcl-conn", restrict=r"\d*"
                )
            yield Static("", id="dcl-error")
            with Horizontal(id="dcl-buttons"):
                yield Button("Set… (Enter)", variant="warning", id="dcl-set")
                yield Button("Cancel (Esc)", variant="primary", id="dcl-cancel")

    def on_mount(self) -> None:
        """Start in the first field."""
        self.query_one("#dcl-limit", Input).focus()

    def _value(self, widget_id: str) -> int | None:
        text = self.query_one(widget_id, Input).value.strip()
        return int(text) if text else None

    def _submit(self) -> None:
        limit = self._value("#dcl-limit")
        if limit is None or not 1 <= limit <= 1000:
            self.query_one("#dcl-error", Static).update(
                Text("the connection limit must be 1 to 1000")
            )
            return
        self.dismiss((limit, self._value("#dcl-hour"), self._value("#dcl-conn")))

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        """Enter in any field asks to set (the app confirms first)."""
        event.stop()
        self._submit()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """Set or cancel."""
        event.stop()
        if event.button.id == "dcl-set":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Leave without changing anything."""
        self.dismiss(None)
