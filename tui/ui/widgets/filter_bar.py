"""The filter input of the block panes."""

from __future__ import annotations

from textual.widgets import Input


class FilterBar(Input):
    """``/`` opens it; typing filters the pane; Enter keeps the filter, Esc clears it."""

    DEFAULT_CSS = """
    FilterBar { dock: bottom; height: 3; display: none; }
    FilterBar.-shown { display: block; }
    """
