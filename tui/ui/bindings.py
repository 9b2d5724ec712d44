"""Every key binding of the console in one table: the app, the help screen, the command
palette and the README's keybinding table are all built from it.

Each binding has an id; ``[keymap]`` in the config file rebinds by id, e.g. ``release = "R"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Key:
    """One bindable action."""

    id: str
    keys: str  # Textual key names, comma-separated
    action: str
    description: str
    show: bool = True  # in the footer
    writes: bool = False  # hidden and refused in read-only mode
    group: str = "General"

    def binding(self) -> Binding:
        """The Textual binding, with its id for keymap overrides."""
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            id=self.id,
            tooltip=self.description,
        )


KEYS: tuple[Key, ...] = (
    Key("pane_domains", "1", "show_pane('domains')", "Domains", group="Panes"),
    Key("pane_ips", "2", "show_pane('ips')", "IPs", group="Panes"),
    Key("pane_dashboard", "3", "show_pane('dashboard')", "Dashboard", group="Panes"),
    Key("stream", "m", "pick_stream", "Stream", group="Panes"),
    Key("profile", "P", "pick_profile", "Server profile", show=False, group="Panes"),
    Key("drill", "enter", "drill", "Replies", show=False, group="Blocks"),
    Key("mark", "space", "mark", "Mark", show=False, group="Marks and release"),
    Key("mark_all", "a", "mark_all", "Mark all", show=False, group="Marks and release"),
    Key("unmark_all", "U", "unmark_all", "Clear marks", show=False, group="Marks and release"),
    Key(
        "mark_release_now",
        "N",
        "mark_release_now",
        "Mark release-now rows",
        show=False,
        group="Marks and release",
    ),
    Key("release", "r", "release", "Release", writes=True, group="Marks and release"),
    Key(
        "release_all",
        "A",
        "release_all",
        "Release all",
        show=False,
        writes=True,
        group="Marks and release",
    ),
    Key("undo", "u", "undo", "Undo", show=False, writes=True, group="Marks and release"),
    Key("audit_log", "H", "audit_log", "Audit history", show=False, group="Marks and release"),
    Key("filter", "slash", "filter", "Filter", group="Blocks"),
    Key("back", "escape", "back", "Clear filter / back", show=False, group="General"),
    Key("sort", "s", "sort_next", "Sort", show=False, group="Blocks"),
    Key("sort_reverse", "S", "sort_reverse", "Reverse sort", show=False, group="Blocks"),
    Key("details", "i", "toggle_details", "Details", show=False, group="Blocks"),
    Key(
        "panel_down",
        "J",
        "scroll_panel(1)",
        "Scroll the checks/detail panel down",
        show=False,
        group="Blocks",
    ),
    Key(
        "panel_up",
        "K",
        "scroll_panel(-1)",
        "Scroll the checks/detail panel up",
        show=False,
        group="Blocks",
    ),
    Key("dns_check", "d", "check_dns", "DNS checks", group="Checks"),
    Key("auth_check", "k", "check_auth", "DKIM/SPF/DMARC", show=False, group="Checks"),
    Key("dcl", "c", "set_dcl", "Conn. limit", show=False, writes=True, group="Fixes"),
    Key("allowlist", "w", "allowlist", "Allowlist request", show=False, group="Fixes"),
    Key("refresh", "f5", "refresh", "Refresh", show=False, group="General"),
    Key("pause", "p", "toggle_pause", "Pause", show=False, group="General"),
    Key("help", "question_mark,f1", "help", "Help", group="General"),
    Key("quit", "ctrl+q", "quit", "Quit", group="General"),
)

# Cursor keys of the block and reply tables (bound on the widgets themselves).
TABLE_KEYS: tuple[Key, ...] = (
    Key("cursor_up", "up", "cursor_up", "Up", show=False, group="Moving"),
    Key("cursor_down", "down", "cursor_down", "Down", show=False, group="Moving"),
    Key("page_up", "pageup,ctrl+b", "page_up", "Page up", show=False, group="Moving"),
    Key("page_down", "pagedown,ctrl+f", "page_down", "Page down", show=False, group="Moving"),
    Key("top", "g,home", "top", "First row", show=False, group="Moving"),
    Key("bottom", "G,end", "bottom", "Last row", show=False, group="Moving"),
)

KEYS_BY_ID = {k.id: k for k in (*KEYS, *TABLE_KEYS)}
WRITE_ACTIONS = frozenset(k.action for k in KEYS if k.writes)


def display_keys(keys: str) -> str:
    """``question_mark,f1`` → ``? / F1`` for people."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "space": "space",
        "escape": "Esc",
        "enter": "Enter",
        "pageup": "PgUp",
        "pagedown": "PgDn",
        "home": "Home",
        "end": "End",
        "up": "↑",
        "down": "↓",
    }
    out = []
    for key in keys.split(","):
        key = key.strip()
        if key in names:
            out.append(names[key])
        elif key.startswith("f") and key[1:].isdigit():
            out.append(key.upper())
        elif key.startswith("ctrl+"):
            out.append("ctrl+" + key[5:])
        else:
            out.append(key)
    return " / ".join(out)
