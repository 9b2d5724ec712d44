"""DNS and authentication checks in the console: ``d`` for the block under the cursor, ``k``
for the stream's sending domains; results fill the checks panel as each lookup returns, Esc
cancels, and finished runs feed the block's diagnosis.
"""

from __future__ import annotations

from textual import work

from tui.db.records import Block, Stream
from tui.ui.messages import WorkFailed
from tui.ui.widgets.checks_panel import CheckRun, ChecksPanel
from tui.ui.widgets.detail_panel import DetailPanel

CHECK_RUNS_KEPT = 32  # finished check runs kept for the detail panel and the advice


class ChecksFlow:
    """Mixin of :class:`~tui.ui.app.LmTriageApp`: the checks."""

    def _show_checks(self, subject: tuple[str, object] | None) -> None:
        """Show the run for ``subject`` in the checks panel (None hides it)."""
        self.check_shown = subject
        panel = self.query_one(ChecksPanel)
        run = self.check_runs.get(subject) if subject else None
        panel.show_run(run)
        # The checks need the room more than the detail panel does.
        self.query_one(DetailPanel).display = (
            run is None and self.details_shown and self.active_table is not None
        )

    def action_check_dns(self) -> None:
        """``d``: MX, PTR/FCrDNS/HELO and blocklist checks for the block under the cursor."""
        table = self.active_table
        block = table.current_block if table is not None else None
        if block is None:
            self.set_status("no block under the cursor to check")
            return
        what = (
            f"{block.domain}"
            if block.kind == "domain"
            else f"{block.ip} → {block.mx} ({block.domain})"
        )
        self._start_checks(
            ("block", block.key),
            f"DNS and blocklist checks: {what}, stream {block.stream_name}",
            block=block,
        )

    def action_check_auth(self) -> None:
        """``k``: SPF, DMARC and DKIM for the current stream's sending domains."""
        name = self.stream.name if self.stream else "all streams"
        self._start_checks(
            ("stream", self.stream.id if self.stream else None),
            f"DKIM/SPF/DMARC: sending domains of {name}",
            stream=self.stream,
        )

    def _start_checks(
        self,
        subject: tuple[str, object],
        title: str,
        *,
        block: Block | None = None,
        stream: Stream | None = None,
    ) -> None:
        if self.check_running is not None and self.check_cancel is not None:
            self.check_cancel()
        run = CheckRun(title=title)
        self.check_runs.pop(subject, None)
        self.check_runs[subject] = run  # newest last
        for old in list(self.check_runs)[: max(len(self.check_runs) - CHECK_RUNS_KEPT, 0)]:
            if old not in (subject, self.check_shown, self.check_running):
                del self.check_runs[old]
        self.check_running = subject
        self._show_checks(subject)
        self._checks_worker(subject, run, block, stream)

    @work(thread=True, exclusive=True, group="checks", exit_on_error=False)
    def _checks_worker(
        self, subject: tuple[str, object], run: CheckRun, block: Block | None, stream: Stream | None
    ) -> None:
        """Read the targets, then run the checks on an event loop of this thread."""
        import asyncio
        import contextlib

        from tui.checks.runner import iter_jobs, planned_jobs
        from tui.triage import check_sources

        core = self.core
        try:
            settings = check_sources.check_settings(core)
            with core.connect() as conn:
                if block is not None:
                    blocks, senders = [check_sources.block_target(core, conn, block)], []
                else:
                    blocked = check_sources.blocked_domains_of_stream(
                        core, conn, stream.id if stream else None, limit=50
                    )
                    blocks, senders = (
                        [],
                        check_sources.sender_targets(
                            core, conn, stream, settings, blocked_by=blocked
                        ),
                    )
            jobs = planned_jobs(blocks, senders, settings)
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(
                self._checks_finished,
                subject,
                run,
                False,
                WorkFailed("preparing the checks", err).text,
            )
            return
        if not jobs:
            self.call_from_thread(
                self._checks_finished,
                subject,
                run,
                False,
                "nothing to check (no sending domains known: set [checks] sender_domains)",
            )
            return
        self.call_from_thread(self._checks_planned, run, [name for name, _ in jobs])
        loop = asyncio.new_event_loop()

        async def consume() -> None:
            def done(name: str) -> None:
                self.call_from_thread(self._check_job_done, run, name)

            async with contextlib.aclosing(iter_jobs(jobs, settings, on_done=done)) as results:
                async for result in results:
                    self.call_from_thread(self._check_result, run, result)

        task = loop.create_task(consume())
        self.check_cancel = lambda: loop.call_soon_threadsafe(task.cancel)
        cancelled, error = False, None
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            cancelled = True
        except Exception as err:  # noqa: BLE001
            error = WorkFailed("checks", err).text
        finally:
            loop.close()
        self.call_from_thread(self._checks_finished, subject, run, cancelled, error)

    def _checks_planned(self, run: CheckRun, names: list[str]) -> None:
        run.pending = list(names)
        self._redraw_run(run)

    def _check_job_done(self, run: CheckRun, name: str) -> None:
        if name in run.pending:
            run.pending.remove(name)
        self._redraw_run(run)

    def _check_result(self, run: CheckRun, result) -> None:  # noqa: ANN001
        run.results.append(result)
        self._redraw_run(run)

    def _redraw_run(self, run: CheckRun) -> None:
        panel = self.query_one(ChecksPanel)
        if panel.run is run:
            panel.redraw()

    def _checks_finished(
        self, subject: tuple[str, object], run: CheckRun, cancelled: bool, error: str | None
    ) -> None:
        run.running = False
        run.cancelled = cancelled
        run.error = error
        if self.check_running == subject:
            self.check_running = None
            self.check_cancel = None
        if error:
            self.set_status(error, "error")
        else:
            c = run.counts()
            self.set_status(
                f"checks {'cancelled' if cancelled else 'done'}: {c['fail']} fail, {c['warn']} warn, {c['not_tested']} not tested, {c['pass']} pass"
            )
        self._redraw_run(run)
        self._rediagnose(subject)

    def _rediagnose(self, subject: tuple[str, object]) -> None:
        """Checks feed the diagnosis: forget the advice they bear on and redo the cursor's."""
        kind, key = subject
        for cached in list(self.advice_cache):
            if kind == "stream" or cached == key:
                del self.advice_cache[cached]
        table = self.active_table
        block = table.current_block if table is not None else None
        if block is not None and block.key not in self.advice_cache and self._alive():
            self.query_one(DetailPanel).show(self.block_detail(block))
            self._want_advice(block)
