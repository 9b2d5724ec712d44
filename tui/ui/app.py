"""The lmtriage console: blocked domains, blocked IPs and the dashboard in one screen.

State lives here and changes only in message handlers on the UI thread; every database read
or write runs in a thread worker that posts a message back. A refresh never overlaps another:
it is one exclusive worker, re-armed by a timer when it finishes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TabbedContent, TabPane

from tui.core import Core
from tui.db import queries
from tui.db.queries import BlockFilter
from tui.db.records import Block, BlockKey, BlockKind, Stream
from tui.db.release import ReleaseResult
from tui.textsafe import printable
from tui.ui.bindings import KEYS, KEYS_BY_ID, WRITE_ACTIONS
from tui.ui.checks_flow import ChecksFlow
from tui.ui.diagnosis_flow import DiagnosisFlow
from tui.ui.fixes_flow import FixesFlow
from tui.ui.list_flow import ListFlow
from tui.ui.messages import WorkFailed
from tui.ui.panes import KIND_OF_PANE, PANES, domain_columns, ip_columns
from tui.ui.refresh_flow import Prefetch, RefreshFlow, _prefetch
from tui.ui.release_flow import ReleaseFlow, ReleaseProgressScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.profile_picker import ProfilePicker
from tui.ui.screens.replies import RepliesScreen
from tui.ui.screens.stream_picker import StreamPicker
from tui.ui.widgets.block_table import BlockTable
from tui.ui.widgets.checks_panel import CheckRun, ChecksPanel
from tui.ui.widgets.dashboard import DashboardView
from tui.ui.widgets.detail_panel import DetailPanel
from tui.ui.widgets.filter_bar import FilterBar
from tui.ui.widgets.header_bar import HeaderBar

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


class LmTriageApp(
    RefreshFlow, DiagnosisFlow, ChecksFlow, FixesFlow, ReleaseFlow, ListFlow, App[int]
):
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
        self.filter_opening = False  # "/" pressed, the filter bar not focused yet
        # The header's time is the database's (the demo's ticking anchor, a server's clock):
        # the one Since, Next retry and the advice are in, so they compare at a glance.
        self.clock = core.now if clock is datetime.now else clock
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

    async def on_event(self, event: events.Event) -> None:
        """Keys typed between "/" and the filter bar taking focus go to the bar, not to the
        bindings of the table that still has focus (see ListFlow.action_filter)."""
        if self.filter_opening and isinstance(event, events.Key):
            bar = self.query_one(FilterBar)
            if self.focused is bar or not bar.has_class("-shown"):
                self.filter_opening = False
            elif event.key == "enter":
                self._close_filter_bar()  # what Enter in the bar does
                return
            elif event.key == "escape":
                self.action_back()
                return
            else:
                bar._forward_event(event)  # noqa: SLF001 - as App does for the focused widget
                return
        await super().on_event(event)

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
            select_on_focus=False,  # focus may arrive after the first keys: keep them
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
