"""A yes/no dialog whose default answer is No: ``y`` confirms, anything else backs out."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask before a write. ``lines`` and ``sample`` are plain text, shown literally."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
        Binding("down", "scroll_body('down')", "Scroll", show=False),
        Binding("up", "scroll_body('up')", "Scroll", show=False),
        Binding("pagedown", "scroll_body('page_down')", "Scroll", show=False),
        Binding("pageup", "scroll_body('page_up')", "Scroll", show=False),
        Binding("end", "scroll_body('end')", "Scroll", show=False),
        Binding("home", "scroll_body('home')", "Scroll", show=False),
    ]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen .title { text-style: bold; color: $warning; padding-bottom: 1; }
    ConfirmScreen .body { height: auto; max-height: 50vh; }
    ConfirmScreen .sample { color: $text-muted; }
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
            # The rows scroll (↑ ↓ PgUp PgDn); the buttons stay on screen at any size.
            with VerticalScroll(classes="body", can_focus=False):
                yield Static(Text("\n".join(self.lines)))
                if self.sample:
                    yield Static(Text("\n".join(self.sample)), classes="sample")
            with Horizontal():
                yield Button(self.yes_label, variant="warning", id="yes")
                yield Button("No (n / Esc)", variant="primary", id="no")

    def on_mount(self) -> None:
        """No has the focus, so Enter means No."""
        self.query_one("#no", Button).focus()

    def action_scroll_body(self, how: str) -> None:
        """Scroll the rows of a long dialog (the buttons do not move)."""
        body = self.query_one(".body", VerticalScroll)
        getattr(body, f"scroll_{how}")(animate=False)

    def action_answer(self, answer: bool) -> None:
        """Close with the answer."""
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Buttons answer too."""
        event.stop()
        self.dismiss(event.button.id == "yes")


TOGGLE = "toggle"


class ReleaseDialog(ConfirmScreen):
    """The release confirmation: default No, ``y`` releases, ``o`` switches between "domain
    rows with their IP pairs" and "domain rows only" (the dialog is then made again)."""

    BINDINGS = [
        *ConfirmScreen.BINDINGS,
        Binding("o", "answer('toggle')", "Domain rows only / with pairs", id="release_toggle"),
    ]

    def __init__(
        self,
        title: str,
        lines: list[str],
        sample: list[str] | None = None,
        *,
        domain_rows_only: bool,
        has_domain_rows: bool,
    ) -> None:
        if has_domain_rows:
            lines = [
                *lines,
                "o: "
                + (
                    "release the domain rows with their IP pairs instead"
                    if domain_rows_only
                    else "release the domain rows only (their IP pairs stay blocked)"
                ),
            ]
        super().__init__(title, lines, sample, yes_label="Release (y)")
        self.has_domain_rows = has_domain_rows

    def action_answer(self, answer: bool | str) -> None:  # type: ignore[override]
        """``o`` only means something when domain rows are in the release."""
        if answer == TOGGLE and not self.has_domain_rows:
            return
        self.dismiss(answer)  # type: ignore[arg-type]
