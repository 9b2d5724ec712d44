"""The fixes the console applies in place: a Domain Connection Limit (``c``, proposed by the
advice, confirmed, audited) and an allowlist request to the blocking domain (``w``).
"""

from __future__ import annotations

from typing import Any

from textual import work

from tui.db.records import Block
from tui.ui.messages import WorkFailed
from tui.ui.screens.confirm import ConfirmScreen


class FixesFlow:
    """Mixin of :class:`~tui.ui.app.LmTriageApp`: connection limit and allowlist request."""

    def _cursor_block(self) -> Block | None:
        table = self.active_table
        return table.current_block if table is not None else None

    def action_set_dcl(self) -> None:
        """``c``: set the cursor block's domain's connection limit (advice proposes one)."""
        block = self._cursor_block()
        if block is None:
            self.set_status("no block under the cursor")
            return
        if not self.core.schema.has("connection_limits"):
            report = self.core.schema.discovery.tables["connection_limits"]
            self.set_status(
                f"Domain Connection Limits are unavailable: {report.expected_name} is {report.summary()}",
                "warning",
            )
            return
        gap = self.core.schema.discovery.privilege_gaps("dcl")
        if gap:
            self.set_status(f"cannot set connection limits: {gap}", "warning")
            return
        self._prepare_dcl(block)

    @work(thread=True, exclusive=True, group="dcl", exit_on_error=False)
    def _prepare_dcl(self, block: Block) -> None:
        from tui.db.connection_limits import get_limit

        try:
            with self.core.connect() as conn:
                current = get_limit(self.core.schema, conn, block.domain)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("reading the connection limit", err))
            return
        self.call_from_thread(self._ask_dcl, block, current)

    def _ask_dcl(self, block: Block, current: Any) -> None:
        from tui.ui.screens.dcl import DclScreen

        advice = self.advice_cache.get(block.key, (0, None))[1]
        proposed = getattr(advice, "proposed_limit", None)
        if proposed is not None:
            proposal = (proposed.connections, proposed.per_hour, proposed.per_connection)
            why = f"{advice.category}: propose {proposed.describe()}"
        else:
            proposal = (
                max(1, current.connections // 2),
                current.per_hour,
                current.per_connection,
            )
            why = None
        domain = current.domain

        def chosen(values: tuple[int, int | None, int | None] | None) -> None:
            if values is None:
                self.set_status("connection limit unchanged")
                return
            limit, hour, per_conn = values
            lines = [
                f"{domain}: {current.describe()}",
                f"→ {limit} connection(s) per MX"
                + (f", {hour} an hour" if hour else "")
                + (f", {per_conn} per connection" if per_conn else ""),
                f"Database: {self.core.display_url}; audited.",
            ]

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._dcl_worker(domain, limit, hour, per_conn)
                else:
                    self.set_status("connection limit unchanged")

            self.push_screen(
                ConfirmScreen(f"Set the connection limit of {domain}?", lines), confirmed
            )

        self.push_screen(DclScreen(domain, current.describe(), proposal, why), chosen)

    @work(thread=True, exclusive=True, group="dcl", exit_on_error=False)
    def _dcl_worker(self, domain: str, limit: int, hour: int | None, per_conn: int | None) -> None:
        from tui.db.connection_limits import set_limit

        core = self.core
        try:
            change = set_limit(
                core.schema,
                core.engine,
                core.audit,
                core.audit_context(),
                domain,
                limit=limit,
                per_hour=hour,
                per_connection=per_conn,
                read_only=core.read_only,
            )
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("setting the connection limit", err))
            return
        text = f"{domain}: {change.before.describe()} → {change.after.describe()} (audit event {change.event_id}; H shows it, u there undoes it)"
        if change.audit_error:
            text += f"; audit incomplete: {change.audit_error}"
        self.call_from_thread(
            self.set_status, text, "warning" if change.audit_error else "information"
        )
        self.advice_cache.clear()

    def action_allowlist(self) -> None:
        """``w``: an allowlist request to the cursor block's domain, for its stream."""
        block = self._cursor_block()
        if block is None:
            self.set_status("no block under the cursor")
            return
        self.set_status(f"writing the allowlist request to {block.domain}…")
        self._allowlist_worker(block)

    @work(thread=True, exclusive=True, group="allowlist", exit_on_error=False)
    def _allowlist_worker(self, block: Block) -> None:
        from tui.triage.block_advice import allowlist_text

        stream = next((s for s in self.streams if s.id == block.stream_id), None)
        checks = self._check_results_for(block)
        try:
            with self.core.connect() as conn:
                text = allowlist_text(self.core, conn, block.domain, stream, checks)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("writing the allowlist request", err))
            return
        self.call_from_thread(self._show_allowlist, block.domain, text)

    def _show_allowlist(self, domain: str, text: str) -> None:
        from tui.ui.screens.allowlist import AllowlistScreen

        self.set_status("")
        self.push_screen(AllowlistScreen(domain, text))
