"""How the console keeps its panes current: the first screenful read while Textual builds the
screen, then refreshes that never overlap (one exclusive worker, re-armed by a timer when it
finishes), each reading a pane's keys again only when its probe moved; and the dashboard,
read by its own worker only while pane 3 is shown. Handlers are named ``on_<message>``:
``@on`` is not seen on a mixin.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.message import Message

from tui.core import Core
from tui.db import change_probe, queries
from tui.db.queries import BlockFilter
from tui.db.records import Block, Stream
from tui.ui.messages import RefreshDone, RefreshResult, WorkFailed
from tui.ui.widgets.block_table import BlockTable
from tui.ui.widgets.dashboard import DashboardView

FIRST_KEYS = 200
FIRST_ROWS = 100
FIRST_PAINT_WAIT = 2.0  # seconds start-up work that can wait gives the first rows

DASHBOARD_MIN_AGE = 120.0  # seconds: a week-long aggregate needs no fresher


@dataclass
class Prefetch:
    """The first pane's keys and rows, read on a thread of their own while Textual builds
    the screen: a screenful of keys and their rows first (started before the UI competes for
    the GIL), then the whole key list once the first rows are drawn."""

    filt: BlockFilter
    head: Future[tuple[list[int], list[Block]]]
    whole: Future[list[int]]


class KeysRead(Message):
    """A refresh has read one pane's keys (the pane on screen, before the other's)."""

    def __init__(self, pane: str, keys: list[int], streams: list[Stream]) -> None:
        super().__init__()
        self.pane = pane
        self.keys = keys
        self.streams = streams


def _prefetch(core: Core, filt: BlockFilter, first_paint: threading.Event) -> Prefetch:
    def head() -> tuple[list[int], list[Block]]:
        with core.connect() as conn:
            keys = queries.block_keys(core.schema, conn, filt, limit=FIRST_KEYS)
            rows = queries.fetch_blocks(core.schema, conn, filt.kind, keys[:FIRST_ROWS], since=None)
        return keys, rows

    def whole() -> list[int]:
        first_paint.wait(FIRST_PAINT_WAIT)
        with core.connect() as conn:
            return queries.block_keys(core.schema, conn, filt)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmtriage-prefetch")
    prefetch = Prefetch(filt, pool.submit(head), pool.submit(whole))
    pool.shutdown(wait=False)
    return prefetch


class RefreshFlow:
    """Mixin of :class:`~tui.ui.app.LmTriageApp`: pane keys, refresh, dashboard."""

    def current_filters(self) -> dict[str, BlockFilter]:
        """The filters the block panes show, with the current stream."""
        sid = self.stream.id if self.stream else None
        return {pane: f.with_(stream_id=sid) for pane, f in self.filters.items()}

    def refresh_data(self) -> None:
        """Start a refresh unless one is running (then run one more right after it)."""
        if self.refreshing:
            self.refresh_again = True
            return
        if self.refresh_timer is not None:
            self.refresh_timer.stop()
            self.refresh_timer = None
        self.refreshing = True
        self.refresh_again = False
        self.update_header()
        self._refresh_worker(self.current_filters(), self.stream)

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _refresh_worker(self, filters: dict[str, BlockFilter], stream: Stream | None) -> None:
        """Read the stream list and the keys of both block panes (thread).

        The dashboard is not read here: its week-long aggregate is far slower than a key list
        on a big attempt log, so it has its own worker and runs only while pane 3 is shown.
        """
        core = self.core
        result = RefreshResult(filters=filters)
        shown = self.pane
        # The pane on screen first: its rows can be drawn while the other's keys are read.
        order = sorted(filters, key=lambda p: p != shown)
        try:
            with core.connect() as conn:
                result.streams = queries.list_streams(core.schema, conn)
                for pane in order:
                    first, self._prefetch = self._prefetch, None
                    if first is not None and first.filt == filters[pane]:
                        head, rows = first.head.result()
                        if len(head) >= FIRST_KEYS:
                            self.call_from_thread(
                                self._apply_keys, pane, head, result.streams, False, rows
                            )
                            result.keys[pane] = first.whole.result()
                        else:
                            result.keys[pane] = head  # that was all of them
                    else:
                        if pane != shown:
                            self._first_paint.wait(FIRST_PAINT_WAIT)
                        result.keys[pane] = self._keys_unless_unchanged(conn, pane, filters[pane])
                    if pane == shown and len(order) > 1:
                        # Posted, not called: the worker goes on to the other pane's keys
                        # without waiting for the UI thread (a round trip every refresh).
                        self.post_message(KeysRead(pane, result.keys[pane], result.streams))
            result.finished = self.clock()
        except Exception as err:  # noqa: BLE001 - one line in the status bar
            self.post_message(RefreshDone(None, WorkFailed("refresh", err).text))
            return
        self.post_message(RefreshDone(result))

    def _keys_unless_unchanged(self, conn: Any, pane: str, filt: BlockFilter) -> list[int]:
        """The pane's key list, read again only when its probe (count, highest and summed
        BlockID, latest NextRetry, the sort column's checksum) moved since the last read; a
        copy, so the table still re-reads the rows on screen. Refresh worker thread only."""
        from tui.triage.computed_sort import COMPUTED_SORTS, computed_keys, computed_probe

        memo: dict[str, tuple[Any, list[int]]] = self.__dict__.setdefault("_key_memo", {})
        computed = filt.sort in COMPUTED_SORTS
        if computed:
            probe = computed_probe(self.core, conn, filt)
        else:
            probe = change_probe.key_probe(self.core.schema, conn, filt)
        last = memo.get(pane)
        if last is not None and last[0] == probe:
            return list(last[1])
        if computed:
            keys, note = computed_keys(self.core, conn, filt)
            if note:
                self.call_from_thread(self.set_status, note, "warning")
        else:
            keys = queries.block_keys(self.core.schema, conn, filt)
        memo[pane] = (probe, keys)
        return list(keys)

    def on_refresh_done(self, message: RefreshDone) -> None:
        """Apply a refresh, then re-arm the timer (with backoff after a failure)."""
        self.refreshing = False
        if not self._alive():
            return
        if not self._first_paint.is_set():
            self.call_after_refresh(self.start_up_rest)  # no rows to draw, or it failed
        delay = self.core.config.refresh_seconds
        if message.error:
            self.failures += 1
            delay = min(2**self.failures, 60)
            self.set_status(f"{message.error} — retrying in {delay:.0f}s", "error")
            for table in self.query(BlockTable):
                table.loading = False
        else:
            result = message.result
            assert result is not None
            lost = self.core.health.lost
            if lost > self.losses_seen:
                # The pool replaced dead connections (pre-ping) or a refresh failed on one.
                self.set_status("the connection to the database was lost; reconnected", "warning")
            elif self.failures:
                self.set_status(
                    f"the database answers again (after {self.failures} failed refresh(es))"
                )
            self.losses_seen = lost
            self.failures = 0
            for pane, keys in result.keys.items():
                table = self.table_of(pane)
                if table.keys is not keys:
                    self._apply_keys(pane, keys, result.streams)
            self.last_refresh = result.finished
            self.refresh_number += 1
            if self.pane == "dashboard":
                self.refresh_dashboard()
            self.update_tab_titles()
            if result.filters != self.current_filters():
                self.refresh_again = True
        self.update_header()
        if self.refresh_again:
            self.refresh_data()
        elif not self.paused and delay > 0:
            self.refresh_timer = self.set_timer(delay, self._timed_refresh)

    def on_keys_read(self, message: KeysRead) -> None:
        """The pane on screen, drawn while the refresh reads the other pane's keys."""
        self._apply_keys(message.pane, message.keys, message.streams)

    def _apply_keys(
        self,
        pane: str,
        keys: list[int],
        streams: list[Stream],
        complete: bool = True,
        rows: list[Block] | None = None,
    ) -> None:
        """Show a pane's new key list (the table keeps cursor, marks and stale rows);
        ``complete`` False for the first screenful read at start-up."""
        if not self._alive():
            return
        self.streams = streams
        self._names = {s.id: s.name for s in streams}
        table = self.table_of(pane)
        table.loading = False
        table.empty_text = self._empty_text(pane)
        table.set_keys(keys, rows)
        table.keys_complete = complete
        self.update_tab_titles()
        if not keys and pane == self.pane:
            self.call_after_refresh(self.start_up_rest)  # no first rows will come

    # -- dashboard

    def refresh_dashboard(self, *, force: bool = False) -> None:
        """Recompute the dashboard if it is stale (or for another stream), never twice at once."""
        import time

        sid = self.stream.id if self.stream else None
        fresh = self.dashboard_for == sid and time.monotonic() - self.dashboard_at < max(
            self.core.config.refresh_seconds, DASHBOARD_MIN_AGE
        )
        if fresh and not force:
            return
        if self.dashboard_running:
            self.dashboard_again = True
            return
        self.dashboard_running = True
        self.dashboard_again = False
        view = self.query_one(DashboardView)
        if self.dashboard_for != sid:
            view.loading = True
        self._dashboard_worker(self.stream)

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def _dashboard_worker(self, stream: Stream | None) -> None:
        """The dashboard's queries (thread)."""
        core = self.core
        # To the minute the dashboard shows ("… to 12:34"): within a minute, and while the
        # tables it reads are unchanged (dashboard_inputs), its figures are the same.
        now = core.now().replace(second=0, microsecond=0)
        try:
            with core.connect() as conn:
                inputs = (
                    stream,
                    now,
                    core.config.window,
                    queries.dashboard_inputs(core.schema, conn),
                )
                last = self.__dict__.get("_dashboard_memo")
                if last is not None and last[0] == inputs:
                    dash = last[1]
                else:
                    dash = queries.dashboard(
                        core.schema, conn, stream, now=now, window=core.config.window
                    )
                    self.__dict__["_dashboard_memo"] = (inputs, dash)
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(
                self._dashboard_done, stream, None, WorkFailed("the dashboard", err).text
            )
            return
        self.call_from_thread(self._dashboard_done, stream, dash, None)

    def _dashboard_done(self, stream: Stream | None, dash: Any, error: str | None) -> None:
        import time

        self.dashboard_running = False
        view = self.query_one(DashboardView)
        view.loading = False
        if error:
            self.set_status(error, "error")
        else:
            view.show(dash)
            self.dashboard_for = stream.id if stream else None
            self.dashboard_at = time.monotonic()
        current = self.stream.id if self.stream else None
        if self.dashboard_again or (self.pane == "dashboard" and self.dashboard_for != current):
            self.dashboard_again = False
            self.refresh_dashboard(force=True)

    def _timed_refresh(self) -> None:
        # Not ``_auto_refresh``: Textual's DOMNode keeps its own ``_auto_refresh`` attribute
        # (None), which shadowed the method and stopped every timed refresh and retry.
        self.refresh_timer = None
        if not self.paused and self._alive():
            self.refresh_data()

    def _empty_text(self, pane: str) -> str:
        f = self.filters[pane]
        what = "blocked domains" if pane == "domains" else "blocked IP pairs"
        where = f" in stream {self.stream.name}" if self.stream else ""
        if f.text or f.domain:
            return f"no {what}{where} match the filter (Esc clears it)"
        return f"no {what}{where}"
