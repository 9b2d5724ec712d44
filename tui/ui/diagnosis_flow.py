"""The diagnosis of the cursor block in the console: the classifier loaded off the UI thread
after the first paint, the advice read once the cursor rests (cached per refresh), and the
detail panel's text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work

from tui.db.records import Block
from tui.textsafe import printable
from tui.ui import format as fmt
from tui.ui.messages import WorkFailed
from tui.ui.widgets.block_table import BlockTable
from tui.ui.widgets.detail_panel import DetailPanel, advice_text

ADVICE_DELAY = 0.25  # seconds the cursor rests before the block is diagnosed
ADVICE_CACHE_SIZE = 256  # diagnosed blocks kept (a long session pages through many)


def _past(when: datetime, now: datetime) -> bool:
    try:
        return when < now
    except TypeError:  # naive against aware
        return False


class DiagnosisFlow:
    """Mixin of :class:`~tui.ui.app.LmTriageApp`: classification, advice, detail text."""

    def category_of(self, block: Block) -> str:
        """The category of a block's latest reply (the classifier caches by text).

        Blank until the classifier is loaded, just after the first rows are drawn: compiling
        its rules would otherwise hold up the first screen.
        """
        if not block.latest_reply or self.classify is None:
            return ""
        return self.classify(block.latest_reply, block.latest_code).category

    @work(thread=True, exclusive=True, group="diagnosis", exit_on_error=False)
    def _load_diagnosis(self) -> None:
        from tui.diagnose.classify import classify

        classify("421 4.7.0 try again later", 421)  # compile the rules here
        self.call_from_thread(self._diagnosis_loaded, classify)

    def _diagnosis_loaded(self, classify: Callable[..., Any]) -> None:
        self.classify = classify
        for table in self.query(BlockTable):
            table._layout = []
            table.refresh()
        table = self.active_table
        if table is not None and table.current_block is not None:
            self.query_one(DetailPanel).show(self.block_detail(table.current_block))

    def block_detail(self, block: Block) -> Text:
        """The detail panel's text for a block."""
        text = Text()
        if block.kind == "domain":
            text.append("Domain block ", style="bold")
            text.append(printable(block.domain, max_chars=250), style="bold")
        else:
            text.append("IP pair ", style="bold")
            text.append(printable(f"{block.ip} → MX {block.mx}", max_chars=120), style="bold")
            text.append(" for ")
            text.append(printable(block.domain, max_chars=250), style="bold")
        text.append(
            f"   stream {printable(block.stream_name, max_chars=60)}   since {fmt.long_time(block.since)}   "
        )
        if block.next_retry is None:
            text.append("Permanent", style="red")
        elif _past(block.next_retry, self.core.now()):
            text.append(f"retry overdue (was due {fmt.long_time(block.next_retry)})")
        else:
            text.append(f"next retry {fmt.long_time(block.next_retry)}")
        text.append("\n")
        if block.outcomes is not None:
            text.append("In the window: ", style="dim")
            text.append(f"{block.outcomes.describe()}\n")
        if block.description:
            text.append("Description: ", style="dim")
            text.append(printable(block.description, max_chars=1000) + "\n")
        if block.latest_reply:
            where = f" via {block.latest_mx_host}" if block.latest_mx_host else ""
            text.append(
                f"Latest reply {fmt.long_time(block.latest_time)}{printable(where, max_chars=120)}: ",
                style="dim",
            )
            text.append(printable(block.latest_reply, one_line=False, max_chars=2000))
        elif self.core.schema.has("attempts"):
            text.append("No failed attempt in the window.", style="dim")
        else:
            report = self.core.schema.discovery.tables["attempts"]
            text.append(
                f"Replies unavailable: the delivery attempt log is {report.summary()}.",
                style="dim",
            )
        advice = self.advice_cache.get(block.key)
        if advice is not None:
            text.append("\n")
            text.append_text(advice_text(advice[1]))
            if (history := self.history_cache.get(block.key)) is not None:
                text.append("\nHistory: ", style="bold")
                text.append(printable(history, max_chars=1000))
        else:
            text.append("\ndiagnosing…", style="dim italic")
        return text

    def _want_advice(self, block: Block) -> None:
        """Diagnose the cursor block once the cursor rests (advice is a query and some CPU)."""
        cached = self.advice_cache.get(block.key)
        if cached is not None and cached[0] == self.refresh_number:
            return
        if self._advice_timer is not None:
            self._advice_timer.stop()
        self._advice_timer = self.set_timer(ADVICE_DELAY, lambda: self._advice_worker(block))

    def _check_results_for(self, block: Block) -> list[Any]:
        results: list[Any] = []
        for subject in (("block", block.key), ("stream", block.stream_id), ("stream", None)):
            run = self.check_runs.get(subject)
            if run is not None and not run.running:
                results += run.results
        return results

    @work(thread=True, exclusive=True, group="advice", exit_on_error=False)
    def _advice_worker(self, block: Block) -> None:
        """Read the facts and advise (thread)."""
        from tui.triage.block_advice import advise_block

        number = self.refresh_number
        checks = self._check_results_for(block)
        from tui.diagnose.reblock import history_line
        from tui.triage.block_advice import block_history

        try:
            with self.core.connect() as conn:
                history = block_history(self.core, conn, block)
                advice, _facts = advise_block(self.core, conn, block, checks, history)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("diagnosing the block", err))
            return
        self.call_from_thread(self._advice_ready, block, number, advice, history_line(history))

    def _advice_ready(
        self, block: Block, number: int, advice: Any, history: str | None = None
    ) -> None:
        self.history_cache[block.key] = history
        self.history_cache.move_to_end(block.key)
        while len(self.history_cache) > ADVICE_CACHE_SIZE:
            self.history_cache.popitem(last=False)
        self.advice_cache[block.key] = (number, advice)
        self.advice_cache.move_to_end(block.key)
        while len(self.advice_cache) > ADVICE_CACHE_SIZE:
            self.advice_cache.popitem(last=False)
        table = self.active_table
        if table is not None and table.current_key == block.key:
            current = table.current_block or block
            self.query_one(DetailPanel).show(self.block_detail(current))
