"""The console's marks, release, undo and audit history: one module, wired into the app.

What a release takes is decided in :mod:`tui.db.release_plan` (a domain row goes with its IP
pairs unless the user says "domain rows only"); what it re-checks is the identity each row had
when the user marked it (:class:`~tui.ui.widgets.block_table.BlockTable` keeps the marked
rows). The dialog states the scope and counts, how many chosen rows are already gone or
changed since they were marked, and how many the advice says to wait for. Every database read
or write runs in a thread worker; results come back through ``call_from_thread``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from tui.db.audit import AuditEvent
from tui.db.queries import BlockFilter
from tui.db.records import Block, BlockKey, Stream
from tui.db.release import ReleaseResult, release_blocks
from tui.db.release_plan import ReleasePlan, plan_for_filters, plan_from_blocks
from tui.db.undo import UndoResult, undo_event, undoable_reason
from tui.textsafe import printable
from tui.ui.messages import ReleaseProgress, WorkFailed
from tui.ui.panes import KIND_OF_PANE
from tui.ui.screens.confirm import TOGGLE, ConfirmScreen, ReleaseDialog

if TYPE_CHECKING:
    from tui.triage.release_advice import ReleaseJudgement
    from tui.ui.widgets.block_table import BlockTable

SAMPLE_ROWS = 8
PROGRESS_FROM = 500  # releases of this many rows or more get a progress screen


class ReleaseProgressScreen(Screen[None]):
    """Progress of a large release; it closes itself when the worker is done."""

    DEFAULT_CSS = """
    ReleaseProgressScreen { align: center middle; background: $background 60%; }
    ReleaseProgressScreen > Vertical { width: 60; height: 7; border: thick $warning; background: $surface; padding: 1; }
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Releasing {self.total:,} block(s)…"))
            yield ProgressBar(total=self.total, id="release-progress")

    def advance(self, done: int) -> None:
        """Move the bar."""
        self.query_one(ProgressBar).update(progress=done)


class _Request:
    """What the user asked to release, kept so the dialog can be made again (``o``)."""

    def __init__(
        self,
        *,
        blocks: list[Block] | None = None,
        filters: list[BlockFilter] | None = None,
        scope: str,
        stream: Stream | None,
        release_all: bool,
    ) -> None:
        self.blocks = blocks
        self.filters = filters
        self.scope = scope
        self.stream = stream
        self.release_all = release_all
        self.domain_rows_only = False


class ReleaseFlow:
    """Mixin of :class:`~tui.ui.app.LmTriageApp`: marks, release, undo, audit history."""

    # Provided by the app.
    core: Any
    stream: Stream | None
    filters: dict[str, BlockFilter]
    last_release: ReleaseResult | None
    release_screen: ReleaseProgressScreen | None
    advice_cache: Any
    _marking_release_now: bool = False  # N is reading advice: r/A wait for its marks

    # ------------------------------------------------------------------ marks

    def action_mark(self) -> None:
        """Space: mark (remembering the row as shown) and move down."""
        if (table := self.active_table) is not None:  # type: ignore[attr-defined]
            table.toggle_mark()

    def action_mark_all(self) -> None:
        """Mark every row the filter shows, as the rows are now."""
        table = self.active_table  # type: ignore[attr-defined]
        if table is None:
            return
        self.set_status(f"marking {len(table.keys):,} row(s)…")  # type: ignore[attr-defined]
        self._mark_rows_worker(table, list(table.keys))

    @work(thread=True, exclusive=True, group="marks", exit_on_error=False)
    def _mark_rows_worker(self, table: BlockTable, ids: list[int]) -> None:
        from tui.db.queries import fetch_blocks

        try:
            with self.core.connect() as conn:
                rows = fetch_blocks(self.core.schema, conn, table.kind, ids, since=None)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("marking", err))  # type: ignore[attr-defined]
            return
        self.call_from_thread(self._marks_read, table, {b.block_id: b for b in rows})  # type: ignore[attr-defined]

    def _marks_read(self, table: BlockTable, rows: dict[int, Block]) -> None:
        table.set_marks(rows)
        self.set_status(f"marked {len(table.marks):,} row(s)")  # type: ignore[attr-defined]

    def action_unmark_all(self) -> None:
        """Clear the marks of both block panes."""
        for pane in KIND_OF_PANE:
            self.table_of(pane).clear_marks()  # type: ignore[attr-defined]

    def action_mark_release_now(self) -> None:
        """Mark only the rows of this pane whose advice says "release now"."""
        table = self.active_table  # type: ignore[attr-defined]
        if table is None:
            return
        self.set_status(f"reading the advice of {len(table.keys):,} row(s)…")  # type: ignore[attr-defined]
        self._marking_release_now = True
        self._mark_release_now_worker(table, list(table.keys))

    @work(thread=True, exclusive=True, group="marks", exit_on_error=False)
    def _mark_release_now_worker(self, table: BlockTable, ids: list[int]) -> None:
        from tui.db.queries import fetch_blocks
        from tui.triage.release_advice import MAX_JUDGED, judge_blocks

        try:
            with self.core.connect() as conn:
                rows = fetch_blocks(self.core.schema, conn, table.kind, ids[:MAX_JUDGED], since=None)
                judged = judge_blocks(self.core, conn, rows, cached=self._cached_advice)
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(setattr, self, "_marking_release_now", False)  # type: ignore[attr-defined]
            self.post_message(WorkFailed("reading the advice", err))  # type: ignore[attr-defined]
            return
        now_keys = set(judged.keys("now"))
        chosen = {b.block_id: b for b in rows if b.key in now_keys}
        extra = max(0, len(ids) - MAX_JUDGED)
        self.call_from_thread(self._release_now_marked, table, chosen, judged, extra)  # type: ignore[attr-defined]

    def _release_now_marked(
        self, table: BlockTable, chosen: dict[int, Block], judged: ReleaseJudgement, extra: int
    ) -> None:
        self._marking_release_now = False
        table.set_marks(chosen)
        others = len(judged.when) - len(chosen)
        text = (
            f"marked {len(table.marks):,} row(s) whose advice says release now; "
            f"{others:,} left unmarked (wait or fix first)"
        )
        if extra:
            text += f"; {extra:,} row(s) beyond the first {len(judged.when) + judged.failed:,} not judged"
        self.set_status(text)  # type: ignore[attr-defined]

    def _cached_advice(self, key: BlockKey) -> Any:
        cached = self.advice_cache.get(key)
        return cached[1] if cached is not None else None

    # ------------------------------------------------------------------ release

    def _marked_or_cursor(self) -> tuple[list[Block], str]:
        blocks: list[Block] = []
        for pane in KIND_OF_PANE:
            blocks += self.table_of(pane).marked_blocks()  # type: ignore[attr-defined]
        if blocks:
            return blocks, "the marked rows"
        table = self.active_table  # type: ignore[attr-defined]
        if table is not None and table.current_block is not None:
            return [table.current_block], "the row under the cursor"
        return [], ""

    def action_release(self) -> None:
        """Release the marked rows of both panes, or the cursor row."""
        if not self._writes_allowed():
            return
        blocks, scope = self._marked_or_cursor()
        if not blocks:
            self.set_status("nothing to release: no marks and no row under the cursor")  # type: ignore[attr-defined]
            return
        request = _Request(blocks=blocks, scope=scope, stream=self.stream, release_all=False)
        self._prepare_release(request)

    def action_release_all(self) -> None:
        """Release what the panes show: every block of the stream, or, when a pane is
        filtered, the filtered set of each filtered pane (a pane without a filter adds
        nothing: it shows every pair, which the user did not narrow down to choose)."""
        if not self._writes_allowed():
            return
        filters = self.current_filters()  # type: ignore[attr-defined]
        stream = f"stream {self.stream.name}" if self.stream else "all streams"
        narrowed: list[str] = []
        chosen_filters = []
        for pane, label in (("domains", "domains"), ("ips", "IP pairs")):
            f = filters[pane]
            said = []
            if f.domain is not None:
                said.append(f"{label} of {f.domain}")
            if f.text:
                said.append(f"{label} matching '{f.text}'")
            if said:
                narrowed += said
                chosen_filters.append(f)
        scope = (
            f"the filtered rows in {stream}: {'; '.join(narrowed)}"
            if narrowed
            else f"every block of {stream}"
        )
        request = _Request(
            filters=chosen_filters or [filters["domains"], filters["ips"]],
            scope=scope,
            stream=self.stream,
            release_all=not narrowed,
        )
        self._prepare_release(request)

    def _writes_allowed(self) -> bool:
        if self._marking_release_now:
            # r right after N would take the cursor row before the marks land.
            self.set_status(  # type: ignore[attr-defined]
                "still marking the rows whose advice says release now; release when it is done",
                "warning",
            )
            return False
        mode = self.core.config.release_mode
        gap = self.core.schema.discovery.privilege_gaps(f"release_{mode}")
        if gap:
            self.set_status(f"release is off in mode {mode}: {gap}", "warning")  # type: ignore[attr-defined]
            return False
        return True

    @work(thread=True, exclusive=True, group="prepare-release", exit_on_error=False)
    def _prepare_release(self, request: _Request) -> None:
        """Plan, check each row as a dry run would, and read the advice (thread)."""
        from tui.triage.release_advice import judge_blocks

        core = self.core
        try:
            with core.connect() as conn:
                if request.blocks is not None:
                    plan = plan_from_blocks(
                        core.schema,
                        conn,
                        request.blocks,
                        domain_rows_only=request.domain_rows_only,
                        scope=request.scope,
                    )
                    chosen = request.blocks
                else:
                    plan = plan_for_filters(
                        core.schema,
                        conn,
                        request.filters or [],
                        scope=request.scope,
                        domain_rows_only=request.domain_rows_only,
                    )
                    chosen = []
                check = release_blocks(
                    core.schema,
                    core.engine,
                    None,
                    core.audit_context(),
                    plan.refs,
                    mode=core.config.release_mode,
                    now=core.now(),
                    dry_run=True,
                )
                if not chosen and plan.chosen:
                    from tui.db.queries import fetch_blocks

                    for kind in ("domain", "ip"):
                        ids = [r.ref.key.block_id for r in plan.chosen if r.ref.key.kind == kind]
                        chosen += fetch_blocks(core.schema, conn, kind, ids[:500], since=None)  # type: ignore[arg-type]
                judged = judge_blocks(core, conn, chosen, cached=self._cached_advice)
                if len(plan.chosen) > len(chosen):
                    judged.unjudged += len(plan.chosen) - len(chosen)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("preparing the release", err))  # type: ignore[attr-defined]
            return
        self.call_from_thread(self._confirm_release, request, plan, check, judged)  # type: ignore[attr-defined]

    def _confirm_release(
        self,
        request: _Request,
        plan: ReleasePlan,
        check: ReleaseResult,
        judged: ReleaseJudgement,
    ) -> None:
        if not plan.rows:
            self.set_status("no blocks to release")  # type: ignore[attr-defined]
            self.refresh_data()  # type: ignore[attr-defined]
            return
        mode = self.core.config.release_mode
        lines = [
            f"{plan.headline()}.",
            f"Chosen: {printable(plan.scope, max_chars=200)}.",
            f"Database: {self.core.display_url}",
            f"Mode: {mode} ({'delete the block rows' if mode == 'delete' else 'set NextRetry to now'}); audited; u undoes it.",
        ]
        lines += [printable(line, max_chars=120) for line in plan.domain_lines(limit=6)]
        if check.gone:
            lines.append(f"{len(check.gone):,} of them are already gone.")
        if check.changed:
            lines.append(
                f"{len(check.changed):,} changed since chosen (released and blocked again, or "
                "another block under the same id): they will be left alone."
            )
        warning = judged.warning(self.core.now())
        if warning:
            lines.append(warning)
        rows = []
        for row in plan.rows[:SAMPLE_ROWS]:
            ident = row.ref.identity
            pair = f"{ident.ip} → {ident.mx}  " if row.ref.key.kind == "ip" else ""
            extra = "  (with its domain row)" if row.why != "chosen" else ""
            rows.append(
                printable(
                    f"  {row.ref.key.kind:6} {row.stream_name:12.12} {pair}{ident.domain}{extra}",
                    max_chars=100,
                )
            )
        if len(plan.rows) > len(rows):
            rows.append(f"  … and {len(plan.rows) - len(rows):,} more")
        title = (
            f"Release {printable(plan.scope, max_chars=60)}?"
            if request.release_all
            else "Release these blocks?"
        )

        def answered(answer: bool | str | None) -> None:
            if answer == TOGGLE:
                request.domain_rows_only = not request.domain_rows_only
                self._prepare_release(request)
            elif answer is True:
                if len(plan.rows) >= PROGRESS_FROM:
                    self.release_screen = ReleaseProgressScreen(len(plan.rows))
                    self.push_screen(self.release_screen)  # type: ignore[attr-defined]
                self.set_status(f"releasing {len(plan.rows):,} block(s)…")  # type: ignore[attr-defined]
                self._release_worker(plan, request)
            else:
                self.set_status("nothing released")  # type: ignore[attr-defined]

        self.push_screen(  # type: ignore[attr-defined]
            ReleaseDialog(
                title,
                lines,
                rows,
                domain_rows_only=request.domain_rows_only,
                has_domain_rows=plan.count("domain") > 0,
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="release", exit_on_error=False)
    def _release_worker(self, plan: ReleasePlan, request: _Request) -> None:
        """Release in one transaction, audited (thread)."""
        core = self.core
        stream = request.stream
        try:
            result = release_blocks(
                core.schema,
                core.engine,
                core.audit,
                core.audit_context(),
                plan.refs,
                mode=core.config.release_mode,
                now=core.now(),
                stream_label=plan.stream_label(stream.name if stream else None),
                action="release-all" if request.release_all else "release",
                read_only=core.read_only,
                progress=lambda done, total: self.post_message(ReleaseProgress(done, total)),  # type: ignore[attr-defined]
            )
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("release", err))  # type: ignore[attr-defined]
            self.call_from_thread(self._close_release_screen)  # type: ignore[attr-defined]
            return
        self.call_from_thread(self._release_finished, result)  # type: ignore[attr-defined]

    def on_release_progress(self, message: ReleaseProgress) -> None:
        """Move the progress bar (a handler by name: ``@on`` is not seen on a mixin)."""
        if self.release_screen is not None:
            self.release_screen.advance(message.done)

    def _close_release_screen(self) -> None:
        if self.release_screen is not None:
            if self.screen is self.release_screen:  # type: ignore[attr-defined]
                self.pop_screen()  # type: ignore[attr-defined]
            self.release_screen = None

    def _release_finished(self, result: ReleaseResult) -> None:
        self._close_release_screen()
        if result.error:
            self.set_status(f"release failed, nothing released: {result.error}", "error")  # type: ignore[attr-defined]
        else:
            self.last_release = result
            settled = {(k.kind, k.block_id) for k in (*result.released, *result.gone, *result.changed)}
            for pane, kind in KIND_OF_PANE.items():
                self.table_of(pane).unmark({bid for k, bid in settled if k == kind})  # type: ignore[attr-defined]
            text = f"{result.summary()} — audit event {result.event_id}; u undoes it"
            if result.changed:
                text += "; look again at the changed rows before marking them"
            severity = "warning" if result.audit_error or result.changed else "information"
            self.set_status(text, severity)  # type: ignore[attr-defined]
            self.notify(result.summary(), title="Release", markup=False)  # type: ignore[attr-defined]
        self.refresh_data()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ undo

    def action_undo(self) -> None:
        """Undo this session's last release."""
        self._prepare_undo()

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def _prepare_undo(self) -> None:
        core = self.core
        try:
            event = core.audit.last_undoable(core.session_id, core.display_url)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("reading the audit", err))  # type: ignore[attr-defined]
            return
        self.call_from_thread(self._confirm_undo, event)  # type: ignore[attr-defined]

    def _confirm_undo(self, event: AuditEvent | None) -> None:
        if event is None:
            self.set_status("nothing to undo in this session")  # type: ignore[attr-defined]
            return
        self.confirm_undo_event(event)

    def confirm_undo_event(self, event: AuditEvent) -> None:
        """Ask, then undo ``event`` (a release or a connection-limit change)."""
        reason = undoable_reason(event)
        if reason is None and event.database != self.core.display_url:
            reason = f"it was made on {event.database}"
        if reason is None:
            operation = "dcl" if event.action == "dcl" else f"undo_{event.mode or 'delete'}"
            reason = self.core.schema.discovery.privilege_gaps(operation)
        if self.core.read_only:
            reason = f"writes are off ({self.core.read_only_reason})"
        if reason:
            self.set_status(f"cannot undo event {event.id}: {reason}", "warning")  # type: ignore[attr-defined]
            return
        what = "connection limit" if event.action == "dcl" else f"{event.released:,} block(s)"
        lines = [
            f"Audit event {event.id}: {event.action} of {what} at {event.started_at:%Y-%m-%d %H:%M:%S} UTC ({event.mode}).",
            printable(f"Touched: {event.touched or '-'}", max_chars=300),
            "Put back exactly as it was, unless it has changed again meanwhile.",
        ]

        def answered(yes: bool | None) -> None:
            if yes:
                self._undo_worker(event.id)
            else:
                self.set_status("nothing undone")  # type: ignore[attr-defined]

        self.push_screen(  # type: ignore[attr-defined]
            ConfirmScreen(f"Undo event {event.id}?", lines, [], yes_label="Undo (y)"), answered
        )

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def _undo_worker(self, event_id: int) -> None:
        core = self.core
        try:
            result = undo_event(
                core.schema,
                core.engine,
                core.audit,
                core.audit_context(),
                event_id,
                read_only=core.read_only,
            )
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("undo", err))  # type: ignore[attr-defined]
            return
        self.call_from_thread(self._undo_finished, result)  # type: ignore[attr-defined]

    def _undo_finished(self, result: UndoResult) -> None:
        self.set_status(result.summary(), "information" if result.ok else "warning")  # type: ignore[attr-defined]
        self.refresh_data()  # type: ignore[attr-defined]
        from tui.ui.screens.audit_log import AuditLogScreen

        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, AuditLogScreen):
                screen.action_reload()

    # ------------------------------------------------------------------ audit

    def action_audit_log(self) -> None:
        """The audit history."""
        from tui.ui.screens.audit_log import AuditLogScreen

        self.push_screen(AuditLogScreen())  # type: ignore[attr-defined]

    def reconcile_audit(self, *, report: bool = False) -> None:
        """Settle pending audit events of this database (at start, and on ``R``)."""
        self._reconcile_worker(report)

    @work(thread=True, exclusive=True, group="reconcile", exit_on_error=False)
    def _reconcile_worker(self, report: bool) -> None:
        from tui.db.reconcile import reconcile_pending

        core = self.core
        if not report and not _audit_exists(core):
            return  # nothing was ever written: do not create an audit store just to look
        try:
            outcomes = reconcile_pending(core.schema, core.engine, core.audit, core.display_url)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("settling pending audit events", err))  # type: ignore[attr-defined]
            return
        self.call_from_thread(self._reconciled, outcomes, report)  # type: ignore[attr-defined]

    def _reconciled(self, outcomes: list[Any], report: bool) -> None:
        settled = [o for o in outcomes if o.status != "pending"]
        if settled:
            self.set_status(  # type: ignore[attr-defined]
                f"settled {len(settled)} pending audit event(s): "
                + "; ".join(o.line() for o in settled[:3]),
                "warning",
            )
        elif report:
            left = len(outcomes)
            self.set_status(  # type: ignore[attr-defined]
                "no pending audit events" if not left else f"{left} pending event(s) still in progress"
            )
        from tui.ui.screens.audit_log import AuditLogScreen

        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, AuditLogScreen):
                screen.action_reload()


def _audit_exists(core: Any) -> bool:
    cfg = core.config
    if cfg.audit_in_database or cfg.audit_url:
        return True
    return cfg.resolved_audit_path().exists() or "audit" in core.__dict__
