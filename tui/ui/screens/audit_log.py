"""The audit history in the console: every write (release, undo, connection limit) with what it
touched and on which database; Enter shows an event's rows, ``u`` undoes the event under the
cursor (asks first), ``R`` settles pending events. Events are read a page at a time, in a
worker; text from the audit (domains, errors) is shown literally.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.db.audit import AuditEvent
from tui.db.undo import undoable_reason
from tui.textsafe import cut_to_width, printable
from tui.ui.messages import WorkFailed

PAGE = 200


class AuditLogScreen(Screen[None]):
    """The newest audit events (a page of 200)."""

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="audit_close"),
        Binding("enter", "show_rows", "Rows", id="audit_rows"),
        Binding("u", "undo_event", "Undo event", id="audit_undo"),
        Binding("R", "reconcile", "Settle pending", id="audit_reconcile"),
        Binding("f5", "reload", "Reload", id="audit_reload"),
    ]

    DEFAULT_CSS = """
    AuditLogScreen { layout: vertical; }
    AuditLogScreen .title { text-style: bold; padding: 0 1; }
    AuditLogScreen DataTable { height: 1fr; }
    AuditLogScreen #audit-detail { height: 9; border-top: solid $panel; padding: 0 1; overflow-y: auto; }
    AuditLogScreen #audit-status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.events: list[AuditEvent] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Audit history: every write lmtriage made"), classes="title")
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            yield Static(Text(""), id="audit-detail")
            yield Static(
                Text("Enter rows · u undo · R settle pending · F5 reload · Esc back"),
                id="audit-status",
            )

    def on_mount(self) -> None:
        """Columns, then the first page."""
        table = self.query_one(DataTable)
        table.add_columns(
            "Id",
            "When (UTC)",
            "Action",
            "Status",
            "Touched",
            "Done",
            "Undo of",
            "Undone by",
            "User",
            "Database",
        )
        table.focus()
        self.action_reload()

    @property
    def core(self) -> Any:
        return self.app.core  # type: ignore[attr-defined]

    def status(self, text: str, style: str = "") -> None:
        """The screen's own status line."""
        self.query_one("#audit-status", Static).update(
            Text(printable(text, max_chars=300), style=style)
        )

    def action_reload(self) -> None:
        """Read the newest page again."""
        self.status("reading the audit…")
        self._read_events()

    @work(thread=True, exclusive=True, group="audit-read", exit_on_error=False)
    def _read_events(self) -> None:
        try:
            events = self.core.audit.events_list(limit=PAGE)
        except Exception as err:  # noqa: BLE001
            self.app.call_from_thread(self._failed, WorkFailed("reading the audit", err).text)
            return
        self.app.call_from_thread(self._show_events, events)

    def _failed(self, text: str) -> None:
        self.status(text, "bold red")

    def _show_events(self, events: list[AuditEvent]) -> None:
        self.events = events
        table = self.query_one(DataTable)
        table.clear()
        here = self.core.display_url
        for e in events:
            table.add_row(
                Text(str(e.id)),
                Text(f"{e.started_at:%Y-%m-%d %H:%M:%S}"),
                Text(e.action),
                Text(
                    e.status,
                    style={"failed": "red", "pending": "yellow", "unknown": "yellow"}.get(
                        e.status, ""
                    ),
                ),
                Text(cut_to_width(printable(e.touched or "", max_chars=200), 44)),
                Text(str(e.released)),
                Text("" if e.undo_of is None else str(e.undo_of)),
                Text("" if e.undone_by is None else str(e.undone_by)),
                Text(printable(e.os_user, max_chars=20)),
                Text(
                    "this database"
                    if e.database == here
                    else cut_to_width(printable(e.database, max_chars=200), 30)
                ),
                key=str(e.id),
            )
        self.status(
            f"{len(events):,} event(s) (newest first) in {self.core.audit.location} · "
            "Enter rows · u undo · R settle pending · Esc back"
        )
        if events:
            self._describe(events[0])

    def _cursor_event(self) -> AuditEvent | None:
        table = self.query_one(DataTable)
        if not self.events or table.cursor_row < 0 or table.cursor_row >= len(self.events):
            return None
        return self.events[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        current = self._cursor_event()
        if current is not None:
            self._describe(current)

    def _describe(self, event: AuditEvent, rows: list[Any] | None = None) -> None:
        lines = [
            f"Event {event.id}: {event.action} {event.status} · stream {event.stream or '-'} · "
            f"mode {event.mode or '-'} · asked {event.requested}, done {event.released}, "
            f"gone {event.already_gone}, failed {event.failed}",
            f"By {event.os_user} (database user {event.db_user or '-'}) from {event.client_host} on "
            f"{event.database}",
            f"Touched: {event.touched or '-'}",
        ]
        if event.note:
            lines.append(f"Note: {event.note}")
        if event.error:
            lines.append(f"Error: {event.error}")
        reason = undoable_reason(event)
        if reason is None and event.database != self.core.display_url:
            reason = "made on another database"
        lines.append("u undoes it" if reason is None else f"Not undoable: {reason}")
        for r in rows or []:
            lines.append(f"  {r.outcome:9} {r.kind:6} {r.key}  {_row_text(r.row)}")
        text = "\n".join(printable(line, max_chars=400) for line in lines)
        self.query_one("#audit-detail", Static).update(Text(text))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key before the screen's binding)."""
        event.stop()
        self.action_show_rows()

    def action_show_rows(self) -> None:
        """The rows of the event under the cursor."""
        event = self._cursor_event()
        if event is not None:
            self._read_rows(event.id)

    @work(thread=True, exclusive=True, group="audit-rows", exit_on_error=False)
    def _read_rows(self, event_id: int) -> None:
        try:
            event = self.core.audit.event(event_id)
        except Exception as err:  # noqa: BLE001
            self.app.call_from_thread(self._failed, WorkFailed("reading the event", err).text)
            return
        if event is not None:
            self.app.call_from_thread(self._describe, event, event.rows[:50])

    def action_undo_event(self) -> None:
        """Undo the event under the cursor (the app asks first and does it)."""
        event = self._cursor_event()
        if event is None:
            return
        self.app.confirm_undo_event(event)  # type: ignore[attr-defined]

    def action_reconcile(self) -> None:
        """Settle pending events of this database by looking at the rows."""
        self.app.reconcile_audit(report=True)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)


def _row_text(row: dict[str, Any]) -> str:
    keys = ("Domain", "IPAddress", "BlockingMX", "BlockedSince", "Domain_", "ConnectionLimit_")
    parts = [f"{k}={row[k]}" for k in keys if k in row and row[k] is not None]
    return " ".join(parts) if parts else ", ".join(f"{k}={v}" for k, v in list(row.items())[:4])
