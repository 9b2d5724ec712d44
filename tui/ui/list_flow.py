"""Narrowing and ordering a block pane: ``/`` filters as you type (Enter keeps, Esc clears,
then goes back), ``s``/``S`` sort by the next visible column or reverse.
"""

from __future__ import annotations

from textual.widgets import Input, TabbedContent

from tui.ui.panes import KIND_OF_PANE
from tui.ui.widgets.filter_bar import FilterBar


class ListFlow:
    """Mixin of :class:`~tui.ui.app.LmTriageApp`: filter and sort."""

    def action_sort_next(self) -> None:
        """Sort the pane by its next sortable column."""
        pane = self.pane
        if pane not in KIND_OF_PANE:
            return
        table = self.table_of(pane)
        order = table.visible_sorts()  # only what is on screen: a sort you can see
        if not order:
            return
        f = self.filters[pane]
        nxt = order[(order.index(f.sort) + 1) % len(order)] if f.sort in order else order[0]
        # Counts read best largest first; names and times smallest first.
        descending = nxt == "failed"
        self.filters[pane] = f.with_(sort=nxt, descending=descending)
        table.sort_id = nxt
        table.descending = descending
        table.refresh()
        title = next((c.title for c in table.columns if c.sort == nxt), nxt)
        self.set_status(
            f"sorted by {title}{', most first' if descending else ''} (S reverses, s next column)"
        )
        self.refresh_data()

    def action_sort_reverse(self) -> None:
        """Reverse the pane's sort."""
        pane = self.pane
        if pane not in KIND_OF_PANE:
            return
        f = self.filters[pane]
        self.filters[pane] = f.with_(descending=not f.descending)
        table = self.table_of(pane)
        table.descending = not f.descending
        table.refresh()
        self.refresh_data()

    # -- filter

    def action_filter(self) -> None:
        """Open the filter bar for the active pane."""
        if self.pane not in KIND_OF_PANE:
            return
        bar = self.query_one(FilterBar)
        bar.value = self.filters[self.pane].text or ""
        bar.add_class("-shown")
        # The bar takes focus on a later turn of the loop; keys typed right after "/" (a fast
        # typist, a paste) are already queued and would reach the table's bindings ("/aol"
        # ran "a", mark every row). Until it has focus, the app hands them to the bar
        # (LmTriageApp.on_event).
        self.filter_opening = True
        bar.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as the user types (debounced). A handler by name: ``@on`` is not seen on a
        mixin, so the input is told apart by its id."""
        if event.input.id != "filter":
            return
        pane = self.pane
        if pane not in KIND_OF_PANE:
            return
        self.filters[pane] = self.filters[pane].with_(text=event.value or None)
        if self.filter_debounce is not None:
            self.filter_debounce.stop()
        self.filter_debounce = self.set_timer(0.3, self.refresh_data)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter keeps the filter and returns to the list."""
        if event.input.id == "filter":
            self._close_filter_bar()

    def _close_filter_bar(self) -> None:
        self.filter_opening = False
        bar = self.query_one(FilterBar)
        bar.remove_class("-shown")
        if (table := self.active_table) is not None:
            table.focus()

    def action_back(self) -> None:
        """Esc: close the filter bar, clear the filter, then the dashboard's domain filter."""
        bar = self.query_one(FilterBar)
        pane = self.pane
        if self.check_running is not None and self.check_cancel is not None:
            self.check_cancel()
            self.set_status("checks cancelled")
            return
        if self.check_shown is not None:
            self._show_checks(None)
            return
        if bar.has_class("-shown"):
            bar.value = ""
            self._close_filter_bar()
            if pane in KIND_OF_PANE:
                self.filters[pane] = self.filters[pane].with_(text=None)
                self.refresh_data()
            return
        if pane not in KIND_OF_PANE:
            self.query_one(TabbedContent).active = "domains"
            return
        f = self.filters[pane]
        if f.text:
            self.filters[pane] = f.with_(text=None)
            self.set_status("filter cleared")
            self.refresh_data()
        elif f.domain:
            for p in KIND_OF_PANE:
                self.filters[p] = self.filters[p].with_(domain=None)
            self.set_status("showing every domain")
            self.refresh_data()
