"""Pick the server (``[profiles.NAME]`` of the config file) the console shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.db.connect import masked, parse_url
from tui.ops.profiles import Profile
from tui.textsafe import printable


def _where(profile: Profile) -> str:
    """The profile's URL with any password masked (never shown as given)."""
    try:
        return masked(parse_url(profile.url))
    except Exception:  # noqa: BLE001 - a bad URL is reported when it is opened
        return "(URL not readable)"


class ProfilePicker(ModalScreen[str | None]):
    """Returns the chosen profile's name, or None when dismissed or the current one is picked."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="profile_picker_cancel")]

    DEFAULT_CSS = """
    ProfilePicker { align: center middle; }
    ProfilePicker > Vertical { width: 76; max-width: 95%; height: auto; max-height: 80%; border: thick $accent; background: $surface; }
    ProfilePicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, profiles: dict[str, Profile], current: str | None) -> None:
        super().__init__()
        self.profiles = profiles
        self.current = current

    def compose(self) -> ComposeResult:
        options = []
        for name, profile in self.profiles.items():
            label = Text(printable(name, max_chars=64), style="bold")
            if name == self.current:
                label.append("  (shown now)", style="italic")
            if profile.read_only:
                label.append("  read-only", style="red")
            label.append(f"\n  {printable(_where(profile), max_chars=70)}", style="dim")
            if profile.description:
                label.append(f"\n  {printable(profile.description, max_chars=70)}", style="dim")
            options.append(Option(label, id=name))
        with Vertical():
            yield Static(Text("Server profile (Enter opens it, Esc cancels)"))
            yield OptionList(*options, id="profiles")

    def on_mount(self) -> None:
        """Start on the current profile."""
        option_list = self.query_one(OptionList)
        names = list(self.profiles)
        option_list.highlighted = names.index(self.current) if self.current in names else 0
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Answer with the profile's name (None: the one already shown)."""
        event.stop()
        name = event.option.id
        self.dismiss(None if name == self.current else name)

    def action_cancel(self) -> None:
        """Keep the current server."""
        self.dismiss(None)
