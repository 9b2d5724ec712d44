"""The lmtriage console: blocked domains, blocked IPs and the dashboard in one screen.

State lives here and changes only in message handlers on the UI thread; every database read
or write runs in a thread worker that posts a message back. A refresh never overlaps another:
it is one exclusive worker, re-armed by a timer when it finishes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from tui.core import Core
from tui.db import change_probe, queries
from tui.db.queries import BlockFilter
from tui.db.records import Block, BlockKey, BlockKind, Stream
from tui.db.release import ReleaseResult
from tui.textsafe import printable
from tui.ui import format as fmt
from tui.ui.bindings import KEYS, KEYS_BY_ID, WRITE_ACTIONS
from tui.ui.messages import RefreshDone, RefreshResult, WorkFailed
from tui.ui.release_flow import ReleaseFlow, ReleaseProgressScreen
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.profile_picker import ProfilePicker
from tui.ui.screens.replies import RepliesScreen
from tui.ui.screens.stream_picker import StreamPicker
from tui.ui.widgets.block_table import BlockTable, Column
from tui.ui.widgets.checks_panel import CheckRun, ChecksPanel
from tui.ui.widgets.dashboard import DashboardView
from tui.ui.widgets.header_bar import HeaderBar

PANES = ("domains", "ips", "dashboard")
ADVICE_DELAY = 0.25  # seconds the cursor rests before the block is diagnosed
ADVICE_CACHE_SIZE = 256  # diagnosed blocks kept (a long session pages through many)
CHECK_RUNS_KEPT = 32  # finished check runs kept for the detail panel and the advice
DASHBOARD_MIN_AGE = 120.0  # seconds: a week-long aggregate needs no fresher
KIND_OF_PANE: dict[str, BlockKind] = {"domains": "domain", "ips": "ip"}
SAMPLE_ROWS = 8
BLOCK_REASON_CATEGORIES = frozenset(
    {"ip_reputation_block", "dnsbl_listing", "rate_limit", "authentication_failure", "policy_block"}
)
PANE_ONLY_ACTIONS = frozenset(
    {
        "mark",
        "mark_all",
        "mark_release_now",
        "unmark_all",
        "sort_next",
        "sort_reverse",
        "toggle_details",
        "release",
        "filter",
        "drill",
        "check_dns",
        "set_dcl",
        "allowlist",
    }
)


def _split(block: Block) -> str:
    """``430/44``: deferred (4xx) / rejected (5xx) attempts in the window."""
    o = block.outcomes
    return "" if o is None else f"{o.deferred:,}/{o.rejected:,}"


def _past(when: datetime, now: datetime) -> bool:
    try:
        return when < now
    except TypeError:  # naive against aware
        return False


def _delivered(block: Block) -> str:
    return "" if block.outcomes is None else f"{block.outcomes.delivered:,}"


def outcome_columns(priority: int) -> list[Column]:
    """Failed attempts in the window (at ``priority``), deferred/rejected and delivered (the
    first to go when the terminal is narrow); README: where the numbers come from."""
    return [
        Column(
            "failed", "Failed", 6, lambda b: fmt.count(b.failed), priority=priority, right=True,
            sort="failed",
        ),
        Column("split", "4xx/5xx", 9, _split, priority=1, right=True),
        Column("delivered", "Dlvd", 6, _delivered, priority=1, right=True),
    ]


# Column priorities decide what an 80-column terminal keeps: the block (domain, or IP → MX),
# when ListManager retries, the failed attempts, the category and the reply text, which takes
# the width left. Stream goes when one stream is picked (the header names it); Since is in the
# detail panel when there is no room for it.


def domain_columns(category: Callable[[Block], str]) -> list[Column]:
    """Pane 1: stream, domain, since, next retry or Permanent, failed / 4xx-5xx / delivered
    attempts, category, latest reply."""
    return [
        Column("stream", "Stream", 12, lambda b: b.stream_name, priority=4, sort="stream"),
        Column("domain", "Domain", 20, lambda b: b.domain, priority=10, sort="domain"),
        Column("since", "Since", 11, lambda b: fmt.short_time(b.since), priority=5, sort="since"),
        Column("next_retry", "Next retry", 11, fmt.next_retry, priority=7, sort="next_retry"),
        *outcome_columns(8),
        Column("category", "Category", 13, lambda b: fmt.category_label(category(b)), priority=6, sort="category"),
        Column(
            "latest",
            "Latest reply",
            20,
            lambda b: fmt.one_line(b.latest_reply),
            priority=9,
            flex=True,
            want=21,
        ),
    ]


def ip_columns(category: Callable[[Block], str]) -> list[Column]:
    """Pane 2: ListManager's columns, then since, failed / 4xx-5xx / delivered attempts,
    category, latest reply (the pair and the reply first at 80 columns)."""
    return [
        Column("stream", "Stream", 11, lambda b: b.stream_name, priority=4, sort="stream"),
        Column("ip", "IP", 15, lambda b: b.ip or "", priority=10, sort="ip"),
        Column("domain", "Domain", 16, lambda b: b.domain, priority=10, sort="domain"),
        Column("mx", "Blocking MX", 15, lambda b: b.mx or "", priority=9, sort="mx"),
        Column(
            "description", "Description", 18, lambda b: fmt.one_line(b.description), priority=2,
            sort="description",
        ),
        Column("next_retry", "Next retry", 11, fmt.next_retry, priority=7, sort="next_retry"),
        Column("since", "Since", 11, lambda b: fmt.short_time(b.since), priority=1, sort="since"),
        *outcome_columns(6),
        Column("category", "Category", 13, lambda b: fmt.category_label(category(b)), priority=3, sort="category"),
        Column(
            "latest",
            "Latest reply",
            14,
            lambda b: fmt.one_line(b.latest_reply),
            priority=8,
            flex=True,
            want=30,
        ),
    ]


FIRST_KEYS = 200
FIRST_ROWS = 100
FIRST_PAINT_WAIT = 2.0  # seconds start-up work that can wait gives the first rows


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


def advice_text(advice: Any) -> Text:
    """The diagnosis part of the detail panel: what happened, why, what to do, when."""
    text = Text()
    style = "bold red" if advice.category in BLOCK_REASON_CATEGORIES else "bold"
    text.append(advice.category, style=style)
    text.append(f" · {printable(advice.provider, max_chars=40)}")
    if advice.provider_code:
        text.append(f" · {printable(advice.provider_code, max_chars=40)}")
    if advice.confidence != "high":
        text.append(f"  ({advice.confidence} confidence)", style="dim")
    text.append("\n")
    text.append(printable(advice.headline, max_chars=300) + "\n", style="bold")
    text.append(printable(advice.explanation, max_chars=2000) + "\n")
    for i, step in enumerate(advice.steps, 1):
        text.append(f"{i}. ", style="bold")
        text.append(printable(step, max_chars=1000) + "\n")
    when = advice.release
    colour = {"now": "green", "wait": "yellow", "after-fix": "red"}.get(when.when, "")
    text.append("Release: ", style="bold")
    text.append(when.when, style=f"bold {colour}".strip())
    if when.not_before:
        text.append(f" (not before {when.not_before:%Y-%m-%d %H:%M})")
    text.append(" — " + printable(when.reason, max_chars=500))
    return text


class DetailPanel(VerticalScroll):
    """The block under the cursor, in full: what the row had to cut."""

    DEFAULT_CSS = """
    DetailPanel { height: 40%; min-height: 6; border-top: solid $accent; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="detail-text")

    _shown: Text | None = None

    def show(self, text: Text) -> None:
        """Replace the text (a layout pass only when it changed: every refresh re-shows it)."""
        if text == self._shown:
            return
        self._shown = text
        self.query_one("#detail-text", Static).update(text)


class FilterBar(Input):
    """``/`` opens it; typing filters the pane; Enter keeps the filter, Esc clears it."""

    DEFAULT_CSS = """
    FilterBar { dock: bottom; height: 3; display: none; }
    FilterBar.-shown { display: block; }
    """


class LmTriageApp(ReleaseFlow, App[int]):
    """The console."""

    TITLE = "lmtriage"
    CSS_PATH = "app.tcss"
    BINDINGS = [k.binding() for k in KEYS]
    ENABLE_COMMAND_PALETTE = True
    # The block table, not the tab strip, has the keyboard from the start (1 2 3 switch tabs).
    AUTO_FOCUS = "#domain-table"

    def __init__(
        self,
        core: Core,
        *,
        clock: Callable[[], datetime] = datetime.now,
        open_profile: Callable[[str], Core] | None = None,
    ) -> None:
        super().__init__()
        self.core = core
        self.clock = clock
        # P: how to open another [profiles.NAME]; the console then exits with ``next_core``
        # and is started again on it (see tui.ui.run), so no state of one server leaks into
        # the other's screen.
        self.open_profile = open_profile
        self.next_core: Core | None = None
        self.history_cache: OrderedDict[BlockKey, Any] = OrderedDict()
        self.stream: Stream | None = None
        self.streams: list[Stream] = []
        self.filters: dict[str, BlockFilter] = {
            "domains": BlockFilter("domain", sort="domain"),
            "ips": BlockFilter("ip", sort="domain"),
        }
        self.paused = False
        self.refreshing = False
        self.refresh_again = False
        self.last_refresh: datetime | None = None
        self.refresh_timer: Timer | None = None
        self.failures = 0
        self.losses_seen = core.health.lost  # connections lost so far, as last reported
        self.last_release: ReleaseResult | None = None
        self.release_screen: ReleaseProgressScreen | None = None
        self.details_shown = True
        self.filter_debounce: Timer | None = None
        self._names: dict[int, str] = {}
        self.check_runs: dict[tuple[str, object], CheckRun] = {}
        self.check_shown: tuple[str, object] | None = None
        self.check_cancel: Callable[[], None] | None = None
        self.check_running: tuple[str, object] | None = None
        self.dashboard_running = False
        self.dashboard_again = False
        self.dashboard_for: int | None | bool = False  # stream id shown; False: nothing yet
        self.dashboard_at = 0.0
        self.classify: Callable[..., Any] | None = None
        # key -> (refresh number, Advice), the most recently diagnosed last (bounded: LRU)
        self.advice_cache: OrderedDict[BlockKey, tuple[int, Any]] = OrderedDict()
        self.refresh_number = 0
        self._advice_timer: Timer | None = None
        self._diagnosis_loading = False
        # Read the first pane's keys while Textual builds the screen.
        self._first_paint = threading.Event()
        self._prefetch: Prefetch | None = _prefetch(
            core, self.current_filters()["domains"], self._first_paint
        )

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with TabbedContent(initial="domains", id="tabs"):
            with TabPane("1 Blocked domains", id="domains"):
                yield BlockTable(
                    "domain",
                    domain_columns(self.category_of),
                    loader=self._loader("domain"),
                    evidence_loader=self._evidence_loader("domain"),
                    id="domain-table",
                )
            with TabPane("2 Blocked IPs", id="ips"):
                yield BlockTable(
                    "ip",
                    ip_columns(self.category_of),
                    loader=self._loader("ip"),
                    evidence_loader=self._evidence_loader("ip"),
                    id="ip-table",
                )
            with TabPane("3 Dashboard", id="dashboard"):
                yield DashboardView(id="dashboard-view")
        yield DetailPanel(id="detail")
        yield ChecksPanel(id="checks")
        yield FilterBar(
            placeholder="filter: domain, IP, MX or description (Enter keeps, Esc clears)",
            id="filter",
        )
        yield Static(Text(""), id="status")
        # The footer is mounted once the first rows are drawn (see start_up_rest): its keys
        # take a tenth of a second to lay out, which the first screen need not wait for.

    def on_mount(self) -> None:
        """Apply the keymap, draw the header and start the first refresh."""
        keymap = {k: v for k, v in self.core.config.keymap.items() if k in KEYS_BY_ID}
        unknown = sorted(set(self.core.config.keymap) - set(KEYS_BY_ID))
        if keymap:
            self.set_keymap(keymap)
        if unknown:
            self.set_status(
                f"config [keymap]: unknown binding id(s) {', '.join(unknown)}; see ? for the ids",
                "warning",
            )
        for warning in self.core.config.warnings:
            self.set_status(warning, "warning")
        if self.core.read_only:
            self.set_status(
                f"read-only: {self.core.read_only_reason}; release and undo are off", "warning"
            )
        for table in self.query(BlockTable):
            table.sort_id = "domain"
            table.loading = True
        self.query_one("#domain-table", BlockTable).focus()
        self.update_header()
        self.refresh_data()

    # ------------------------------------------------------------------ helpers

    def _loader(self, kind: BlockKind) -> Callable[[list[int]], list[Block]]:
        """Rows of a page by key, without evidence (a few milliseconds; thread)."""

        def load(ids: list[int]) -> list[Block]:
            with self.core.connect() as conn:
                return queries.fetch_blocks(
                    self.core.schema, conn, kind, ids, since=None, names=self._names or None
                )

        return load

    def _evidence_loader(self, kind: BlockKind) -> Callable[[list[Block]], list[Block]] | None:
        """Attempts and latest reply of a page's rows, classified on the way (thread)."""
        if not self.core.schema.has("attempts"):
            return None

        def load(blocks: list[Block]) -> list[Block]:
            classify = self.classify

            with self.core.connect() as conn:
                queries.fetch_evidence(
                    self.core.schema, conn, kind, blocks, since=self.core.since()
                )
            for block in blocks:
                if block.latest_reply and classify is not None:
                    # Classify here, off the UI thread: the column then reads the cache.
                    classify(block.latest_reply, block.latest_code)
            return blocks

        return load

    def category_of(self, block: Block) -> str:
        """The category of a block's latest reply (the classifier caches by text).

        Blank until the classifier is loaded, just after the first rows are drawn: compiling
        its rules would otherwise hold up the first screen.
        """
        if not block.latest_reply or self.classify is None:
            return ""
        return self.classify(block.latest_reply, block.latest_code).category

    @on(BlockTable.FirstRowsDrawn)
    async def first_rows_drawn(self, message: BlockTable.FirstRowsDrawn) -> None:
        """The first rows are on screen: now the rest of the start-up."""
        await self.start_up_rest()

    async def start_up_rest(self) -> None:
        """What the first screen need not wait for: the footer, the diagnosis layer (loaded
        off the UI thread) and the other pane's keys. Runs once: after the first rows are
        drawn, or after the first refresh when there are none to draw."""
        if self._first_paint.is_set():
            return
        self._first_paint.set()
        if self.classify is None and not self._diagnosis_loading:
            self._diagnosis_loading = True
            self._load_diagnosis()
        self.reconcile_audit()
        main = self.screen_stack[0]  # not a dialog that may be open by now
        if not main.query(Footer):
            await main.mount(Footer())
            main.refresh_bindings()  # the footer draws its keys when the bindings change

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

    def _alive(self) -> bool:
        """False once the app is closing: its widgets are being removed, and a worker's late
        message (or a timer) must not touch them."""
        if self._exit:
            return False
        try:
            self.table_of("domains")
            self.table_of("ips")
            self.query_one(HeaderBar)
        except NoMatches:
            return False
        return True

    @property
    def pane(self) -> str:
        """The active pane id ("" while the screen is being torn down)."""
        try:
            return self.query_one(TabbedContent).active or "domains"
        except NoMatches:
            return ""

    def table_of(self, pane: str) -> BlockTable:
        """The block table of pane ``domains`` or ``ips``."""
        return self.query_one("#domain-table" if pane == "domains" else "#ip-table", BlockTable)

    @property
    def active_table(self) -> BlockTable | None:
        """The block table of the active pane, if it has one."""
        return self.table_of(self.pane) if self.pane in KIND_OF_PANE else None

    def set_status(self, text: str, severity: str = "information") -> None:
        """One line at the bottom (and a toast for warnings and errors)."""
        style = {"error": "bold red", "warning": "yellow"}.get(severity, "")
        self.query_one("#status", Static).update(
            Text(printable(text, max_chars=400), style=style), layout=False
        )
        if severity in ("error", "warning"):
            self.notify(printable(text, max_chars=400), severity=severity, markup=False)  # type: ignore[arg-type]

    def update_header(self) -> None:
        """Redraw the header line (and drop the Stream column when one stream is shown: the
        header names it, and the reply text gets the room)."""
        for pane in KIND_OF_PANE:
            self.table_of(pane).hide_columns({"stream"} if self.stream else set())
        self.query_one(HeaderBar).show(
            database=self.core.display_url,
            stream=self.stream.name if self.stream else "All",
            refreshed=self.last_refresh,
            refreshing=self.refreshing,
            read_only=self.core.read_only,
            paused=self.paused,
            demo=self.core.is_demo,
            profile=self.core.config.profile,
        )

    def update_tab_titles(self) -> None:
        """Row and mark counts in the tab titles."""
        tabs = self.query_one(TabbedContent)
        for pane, label in (("domains", "1 Blocked domains"), ("ips", "2 Blocked IPs")):
            table = self.table_of(pane)
            more = "" if getattr(table, "keys_complete", True) else "+"
            title = f"{label} ({len(table.keys):,}{more})"
            if table.marks:
                title += f" ●{len(table.marks):,}"
            f = self.filters[pane]
            if f.text or f.domain:
                # The filter stays named after Enter closes the bar.
                shown = printable(f.text or f.domain or "", max_chars=None)
                title += f" ⧩{shown[:14]}{'…' if len(shown) > 14 else ''}"
            tab = tabs.get_tab(pane)
            if tab.label.plain != title:  # a relabel costs a layout pass: only on a change
                tab.label = Text(title)

    # ------------------------------------------------------------------ refresh

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
        from tui.computed_sort import COMPUTED_SORTS, computed_keys, computed_probe

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

    @on(RefreshDone)
    def refresh_done(self, message: RefreshDone) -> None:
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

    @on(KeysRead)
    def keys_read(self, message: KeysRead) -> None:
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

    # ------------------------------------------------------------------ table events

    @on(BlockTable.Highlighted)
    def block_highlighted(self, message: BlockTable.Highlighted) -> None:
        """Show the cursor block in the detail panel."""
        if message.table is not self.active_table:
            return
        if message.block is None:
            key = message.table.current_key
            text = Text("loading…" if key else message.table.empty_text, style="dim")
        else:
            text = self.block_detail(message.block)
            self._want_advice(message.block)
        self.query_one(DetailPanel).show(text)
        key = message.table.current_key
        if key is not None and ("block", key) in self.check_runs:
            self._show_checks(("block", key))
        elif self.check_shown is not None and self.check_shown[0] == "block":
            self._show_checks(None)

    @on(BlockTable.LoadFailed)
    def rows_failed(self, message: BlockTable.LoadFailed) -> None:
        """A page of rows (or its evidence) could not be read: say so, once a line."""
        if self._alive():
            self.set_status(f"reading rows failed: {message.error}", "error")

    @on(BlockTable.MarkRefused)
    def mark_refused(self, message: BlockTable.MarkRefused) -> None:
        """A row could not be marked."""
        self.set_status(f"not marked: {message.reason}")

    @on(BlockTable.MarksChanged)
    def marks_changed(self, message: BlockTable.MarksChanged) -> None:
        """Counts in the tab titles."""
        self.update_tab_titles()

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Focus the pane's main widget and show its cursor block."""
        table = self.active_table
        detail = self.query_one(DetailPanel)
        if table is not None:
            table.focus()
            detail.display = self.details_shown
            block = table.current_block
            detail.show(self.block_detail(block) if block else Text(""))
            if block is not None:
                self._want_advice(block)
        else:
            detail.display = False
            self.query_one("#dash-domains").focus()
            self.refresh_dashboard()
        self.refresh_bindings()

    @on(DashboardView.ViewBlocks)
    def view_blocks(self, message: DashboardView.ViewBlocks) -> None:
        """The dashboard's "view blocks": panes 1 and 2 show that domain's blocks."""
        for pane in KIND_OF_PANE:
            self.filters[pane] = self.filters[pane].with_(domain=message.domain, text=None)
        self.set_status(f"showing the blocks of {message.domain} (Esc shows all)")
        # A domain with only IP-pair blocks has nothing in pane 1: land where its blocks are.
        self.query_one(TabbedContent).active = "domains" if message.domain_blocked else "ips"
        self.refresh_data()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide writes in read-only mode; pane actions only on the main screen's block lists."""
        if action in WRITE_ACTIONS and self.core.read_only:
            return False
        if action in ("help", "quit", "command_palette"):
            return True
        if self.screen_stack and self.screen is not self.screen_stack[0]:
            return False
        if action in PANE_ONLY_ACTIONS:
            return self.pane in KIND_OF_PANE
        return True

    def action_show_pane(self, pane: str) -> None:
        """Switch panes."""
        if pane in PANES:
            self.query_one(TabbedContent).active = pane

    def action_pick_stream(self) -> None:
        """Choose the stream, or All."""

        def chosen(result: Stream | None | bool) -> None:
            if result is False:
                return
            self.stream = result if isinstance(result, Stream) else None
            for table in self.query(BlockTable):
                table.clear_marks()
            self.update_header()
            self.refresh_data()

        self.push_screen(StreamPicker(self.streams, self.stream), chosen)

    def action_pick_profile(self) -> None:
        """``P``: show another server of the config file's [profiles.NAME]."""
        profiles = self.core.config.profiles
        if not profiles:
            self.set_status(
                "no server profiles: add [profiles.NAME] tables to the config file "
                "(README: several servers)"
            )
            return

        def chosen(name: str | None) -> None:
            if name:
                self.set_status(f"opening profile {name}…")
                self._open_profile_worker(name)

        self.push_screen(ProfilePicker(profiles, self.core.config.profile), chosen)

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def _open_profile_worker(self, name: str) -> None:
        """Connect to the chosen profile's database (thread); on success the console restarts
        on it, on failure it stays where it is and says why."""
        from tui.ui.run import open_profile_core

        try:
            opener = self.open_profile or (lambda n: open_profile_core(self.core.config, n))
            core = opener(name)
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed(f"opening profile {name}", err))
            return
        self.call_from_thread(self._switch_core, core)

    def _switch_core(self, core: Core) -> None:
        self.next_core = core
        self.exit(0)

    def action_drill(self) -> None:
        """Enter: the replies behind the cursor block."""
        table = self.active_table
        if table is None:
            return
        block = table.current_block
        if block is None:
            self.set_status("nothing under the cursor yet")
            return
        if not self.core.schema.has("attempts"):
            report = self.core.schema.discovery.tables["attempts"]
            self.set_status(
                f"no drill-down: the delivery attempt log is {report.summary()}", "warning"
            )
            return
        self.push_screen(RepliesScreen(block))

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

    def action_scroll_panel(self, direction: int) -> None:
        """J/K: scroll the checks panel when it is shown, else the detail panel, by half its
        height, without moving the focus from the block list."""
        checks = self.query_one(ChecksPanel)
        panel = checks if checks.has_class("-shown") else self.query_one(DetailPanel)
        step = max(1, panel.size.height // 2)
        panel.scroll_relative(y=direction * step, animate=False)

    def action_toggle_details(self) -> None:
        """Show or hide the detail panel."""
        self.details_shown = not self.details_shown
        self.query_one(DetailPanel).display = self.details_shown and self.active_table is not None

    def action_refresh(self) -> None:
        """F5."""
        self.refresh_data()
        if self.pane == "dashboard":
            self.refresh_dashboard(force=True)

    def action_toggle_pause(self) -> None:
        """Pause or resume auto-refresh."""
        self.paused = not self.paused
        if self.paused and self.refresh_timer is not None:
            self.refresh_timer.stop()
            self.refresh_timer = None
        elif not self.paused and not self.refreshing and self.refresh_timer is None:
            delay = self.core.config.refresh_seconds
            if delay > 0:
                self.refresh_timer = self.set_timer(delay, self._timed_refresh)
        self.set_status("auto-refresh paused (p resumes)" if self.paused else "auto-refresh on")
        self.update_header()

    def action_help(self) -> None:
        """Every binding."""
        self.push_screen(HelpScreen(dict(self.core.config.keymap), self.core.read_only))

    # -- diagnosis

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
        from tui.block_advice import advise_block

        number = self.refresh_number
        checks = self._check_results_for(block)
        from tui.block_advice import block_history
        from tui.diagnose.reblock import history_line

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

    # -- fixes: connection limit, allowlist request

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
        self.call_from_thread(self.set_status, text, "warning" if change.audit_error else "information")
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
        from tui.block_advice import allowlist_text

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

    # -- checks

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

        from tui import check_sources
        from tui.checks.runner import iter_jobs, planned_jobs

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

    # -- filter

    def action_filter(self) -> None:
        """Open the filter bar for the active pane."""
        if self.pane not in KIND_OF_PANE:
            return
        bar = self.query_one(FilterBar)
        bar.value = self.filters[self.pane].text or ""
        bar.add_class("-shown")
        bar.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        """Filter as the user types (debounced)."""
        pane = self.pane
        if pane not in KIND_OF_PANE:
            return
        self.filters[pane] = self.filters[pane].with_(text=event.value or None)
        if self.filter_debounce is not None:
            self.filter_debounce.stop()
        self.filter_debounce = self.set_timer(0.3, self.refresh_data)

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        """Enter keeps the filter and returns to the list."""
        self._close_filter_bar()

    def _close_filter_bar(self) -> None:
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

    @on(WorkFailed)
    def work_failed(self, message: WorkFailed) -> None:
        """Any worker's failure: one line, never a traceback."""
        self.set_status(message.text, "error")

    # ------------------------------------------------------------------ palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding is also a palette command."""
        yield from super().get_system_commands(screen)
        for key in KEYS:
            if key.id in ("quit", "help") or (key.writes and self.core.read_only):
                continue
            action = key.action
            yield SystemCommand(
                key.description, f"{key.id} — {key.keys}", lambda a=action: self.run_action(a)
            )

    def action_quit(self) -> None:  # type: ignore[override]
        """Leave."""
        self.exit(0)


def build_app(core: Core, **kwargs: Any) -> LmTriageApp:
    """The app for ``core`` (tests and screenshots use this too)."""
    return LmTriageApp(core, **kwargs)


__all__ = ["LmTriageApp", "build_app", "Binding"]
