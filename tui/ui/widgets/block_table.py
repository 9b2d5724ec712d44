"""A virtual table of blocks: any number of rows, only the visible ones fetched and drawn.

The table holds the ordered list of BlockIDs the filter shows (small even at 100,000 rows)
and a bounded cache of full rows. ``render_line`` draws only visible lines; a page of rows
that is not cached yet is fetched by key in a thread worker and drawn when it arrives. A
refresh swaps the key list and keeps the cursor on the same block, the marks on blocks that
still exist, and the old rows on screen until their fresh copies arrive.

Why one module of some 600 lines: the key list, the row cache, the page workers, the marks,
the column layout and the drawing all read and write the same per-table state on every
key press and repaint; split apart they would pass that state around on the hot path.

Every cell is plain text made printable (``tui.textsafe``) and drawn as a ``Segment``: text
from the database is never parsed as markup.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.db.records import Block, BlockKey, BlockKind
from tui.textsafe import printable
from tui.ui.bindings import TABLE_KEYS

PAGE_ROWS = 50
CACHE_ROWS = 4000
MAX_INFLIGHT = 4

Getter = Callable[[Block], str]


def _copy_evidence(source: Block, target: Block) -> None:
    """Evidence fields from ``source`` onto ``target`` (same block, another read)."""
    target.outcomes = source.outcomes
    target.latest_reply = source.latest_reply
    target.latest_code = source.latest_code
    target.latest_time = source.latest_time
    target.latest_mx_host = source.latest_mx_host


def _evidence(block: Block) -> tuple[object, ...]:
    return (
        block.outcomes,
        block.latest_reply,
        block.latest_code,
        block.latest_time,
        block.latest_mx_host,
    )


@dataclass(frozen=True, slots=True)
class Column:
    """A column: id, title, preferred width, and which columns go first when space is short."""

    id: str
    title: str
    width: int
    get: Getter
    priority: int = 5  # higher stays longer when the terminal is narrow
    flex: bool = False  # takes the width left over (``width`` is then its least width)
    right: bool = False
    sort: str | None = None  # the sort id ``s`` gives this column, if it sorts
    want: int | None = None  # flex: the width it should get before lower columns stay


class BlockTable(ScrollView, can_focus=True):
    """The virtual block list of one pane."""

    BINDINGS = [k.binding() for k in TABLE_KEYS]

    COMPONENT_CLASSES = {
        "blocktable--header",
        "blocktable--cursor",
        "blocktable--marked",
        "blocktable--placeholder",
        "blocktable--permanent",
    }

    DEFAULT_CSS = """
    BlockTable {
        background: $surface;
        scrollbar-gutter: stable;
        overflow-x: hidden;
    }
    BlockTable > .blocktable--header { text-style: bold; background: $panel; color: $text; }
    BlockTable > .blocktable--cursor { background: $accent 40%; }
    BlockTable:focus > .blocktable--cursor { background: $accent 70%; text-style: bold; }
    BlockTable > .blocktable--marked { color: $warning; text-style: bold; }
    BlockTable > .blocktable--placeholder { color: $text-muted; }
    BlockTable > .blocktable--permanent { color: $error; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        """The cursor is on ``block`` (None when the table is empty or the row is loading)."""

        def __init__(self, table: BlockTable, block: Block | None) -> None:
            super().__init__()
            self.table = table
            self.block = block

    class FirstRowsDrawn(Message):
        """The first data row is on screen (the app then loads what can wait)."""

        def __init__(self, table: BlockTable) -> None:
            super().__init__()
            self.table = table

    class LoadFailed(Message):
        """Rows or evidence of a page could not be read (they are read again next refresh)."""

        def __init__(self, table: BlockTable, error: str) -> None:
            super().__init__()
            self.table = table
            self.error = error

    class MarkRefused(Message):
        """A row could not be marked (and why)."""

        def __init__(self, table: BlockTable, reason: str) -> None:
            super().__init__()
            self.table = table
            self.reason = reason

    class MarksChanged(Message):
        """The set of marked rows changed."""

        def __init__(self, table: BlockTable) -> None:
            super().__init__()
            self.table = table

    class PageLoaded(Message):
        """Rows (``evidence`` False) or their evidence (True) fetched by a worker thread."""

        def __init__(
            self,
            generation: int,
            page: int,
            blocks: list[Block],
            error: str | None,
            evidence: bool = False,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.blocks = blocks
            self.error = error
            self.evidence = evidence

    def __init__(
        self,
        kind: BlockKind,
        columns: Sequence[Column],
        *,
        loader: Callable[[list[int]], list[Block]] | None = None,
        evidence_loader: Callable[[list[Block]], list[Block]] | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's argument name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.kind = kind
        self.columns = list(columns)
        self.loader = loader
        self.evidence_loader = evidence_loader
        self.keys: list[int] = []
        self.positions: dict[int, int] = {}
        # Marked block id -> the row as it was when marked: a release re-checks against what
        # the user saw, not against what is read when it is confirmed.
        self.marks: dict[int, Block] = {}
        self.cache: OrderedDict[int, Block] = OrderedDict()
        self.fresh: dict[int, int] = {}  # block id -> generation its cached row was loaded in
        self.evidence_fresh: dict[int, int] = {}  # block id -> generation its evidence is from
        self.generation = 0
        self.inflight: set[int] = set()
        self.evidence_inflight: set[int] = set()
        self.loaded_once = False
        self.sort_id: str | None = None
        self.descending = False
        self.hidden: frozenset[str] = frozenset()  # column ids left out whatever the width
        self.empty_text = "no blocks"
        self.errors: deque[str] = deque(maxlen=20)  # the latest page-load failures
        self.rows_drawn = 0  # data rows drawn so far (benchmarks wait for the first)
        self.first_drawn_at: float | None = None  # time.time() of the first (benchmarks)
        self._layout: list[tuple[Column, int]] = []

    # ------------------------------------------------------------------ data

    def hide_columns(self, ids: set[str]) -> None:
        """Leave these columns out (e.g. Stream when one stream is shown)."""
        if frozenset(ids) != self.hidden:
            self.hidden = frozenset(ids)
            self._layout = []
            self.refresh()

    def visible_sorts(self) -> list[str]:
        """The sort ids of the columns on screen, left to right."""
        return [c.sort for c, _w in self.column_layout() if c.sort is not None]

    def set_keys(self, keys: list[int], rows: list[Block] | None = None) -> None:
        """Show a new key list; keep cursor block, marks and stale rows where possible.

        ``rows`` are rows already read for this key list (the start-up prefetch).
        """
        if keys == self.keys and not rows and self.loaded_once:
            # The same list (most refreshes): cursor, marks and positions stand; the rows on
            # screen are read again (after any read still running) and repainted only where
            # they changed. Nothing here grows with the number of blocks.
            self.keys = keys
            self.generation += 1
            self._request_visible_pages()
            return
        current = self.current_key
        old_row = self.cursor_row
        self.generation += 1
        for block in rows or ():
            self.cache[block.block_id] = block
            self.fresh[block.block_id] = self.generation
        self.keys = keys
        self.positions = {k: i for i, k in enumerate(keys)}
        if len(self.fresh) > 2 * CACHE_ROWS:
            # Ids of rows that went away pile up here over a long session: keep the cached.
            self.fresh = {i: g for i, g in self.fresh.items() if i in self.cache}
            self.evidence_fresh = {i: g for i, g in self.evidence_fresh.items() if i in self.cache}
        before = len(self.marks)
        self.marks = {k: b for k, b in self.marks.items() if k in self.positions}
        self.inflight.clear()
        self.evidence_inflight.clear()
        self.loaded_once = True
        self.virtual_size = Size(1, len(keys) + 1)
        if current is not None and current.block_id in self.positions:
            row = self.positions[current.block_id]
        else:
            row = min(old_row, max(len(keys) - 1, 0))
        if row != old_row:
            self.cursor_row = row  # always_update: the watcher repaints and re-announces
        self._scroll_cursor_into_view()
        if len(self.marks) != before:
            self.post_message(self.MarksChanged(self))
        self.refresh()
        self._request_visible_pages()
        self.post_message(self.Highlighted(self, self.current_block))

    def forget_rows(self) -> None:
        """Drop the cached rows (the evidence window or classifier changed)."""
        self.cache.clear()
        self.fresh.clear()
        self.evidence_fresh.clear()

    def on_block_table_page_loaded(self, message: PageLoaded) -> None:
        """Store rows (or their evidence) fetched by a worker and repaint."""
        message.stop()
        (self.evidence_inflight if message.evidence else self.inflight).discard(message.page)
        if message.error:
            self.errors.append(message.error)
            self.post_message(self.LoadFailed(self, message.error))
            return
        store = self._store_evidence if message.evidence else self._store_rows
        changed = store(message)
        # A refresh re-reads the rows on screen: most come back the same; repainting (and
        # re-announcing the cursor row) for nothing would be most of an idle console's work.
        if changed:
            self.refresh()
            current = self.current_key
            if current is not None and current.block_id in changed:
                self.post_message(self.Highlighted(self, self.current_block))
        self._request_visible_pages()

    def _store_rows(self, message: PageLoaded) -> set[int]:
        """Cache the rows; the ids whose row is new or differs from the cached one."""
        changed: set[int] = set()
        for block in message.blocks:
            old = self.cache.get(block.block_id)
            if old is not None and old.attempts is not None and block.attempts is None:
                # Keep showing the last evidence until the fresh evidence arrives.
                _copy_evidence(old, block)
            if old != block:
                self.cache[block.block_id] = block
                changed.add(block.block_id)
            self.cache.move_to_end(block.block_id)
            self.fresh[block.block_id] = message.generation
        while len(self.cache) > CACHE_ROWS:
            old_id, _ = self.cache.popitem(last=False)
            self.fresh.pop(old_id, None)
            self.evidence_fresh.pop(old_id, None)
        if message.generation == self.generation:
            page_ids = self.keys[message.page * PAGE_ROWS : (message.page + 1) * PAGE_ROWS]
            got = {b.block_id for b in message.blocks}
            for missing in page_ids:
                if missing not in got:
                    # Gone since the keys were read: remember, so we do not fetch it forever.
                    self.fresh[missing] = self.generation
                    self.evidence_fresh[missing] = self.generation
        return changed

    def _store_evidence(self, message: PageLoaded) -> set[int]:
        """Copy the evidence onto the cached rows; the ids whose evidence changed."""
        changed: set[int] = set()
        for block in message.blocks:
            cached = self.cache.get(block.block_id)
            if cached is not None and _evidence(cached) != _evidence(block):
                _copy_evidence(block, cached)
                changed.add(block.block_id)
            self.evidence_fresh[block.block_id] = message.generation
        return changed

    def _page_ids(self, page: int) -> list[int]:
        return self.keys[page * PAGE_ROWS : (page + 1) * PAGE_ROWS]

    def _page_needed(self, page: int) -> bool:
        return any(self.fresh.get(i) != self.generation for i in self._page_ids(page))

    def _evidence_needed(self, page: int) -> bool:
        return any(
            self.evidence_fresh.get(i) != self.generation and i in self.cache
            for i in self._page_ids(page)
        )

    def _request_visible_pages(self) -> None:
        if self.loader is None or not self.keys:
            return
        if not self.is_on_screen:
            # The pane behind the other tab: its rows are read when it is shown (on_show),
            # not on every refresh.
            return
        top = max(self.scroll_offset.y, 0)
        bottom = top + max(self.size.height, 1)
        first, last = top // PAGE_ROWS, min(bottom, len(self.keys) - 1) // PAGE_ROWS
        for page in range(first, last + 1):
            if page in self.inflight:
                continue
            if self._page_needed(page):
                if len(self.inflight) < MAX_INFLIGHT:
                    self.inflight.add(page)
                    self._start_page(self.generation, page, self._page_ids(page))
            elif (
                self.evidence_loader is not None
                and page not in self.evidence_inflight
                and len(self.evidence_inflight) < MAX_INFLIGHT
                and self._evidence_needed(page)
            ):
                self.evidence_inflight.add(page)
                blocks = [replace(self.cache[i]) for i in self._page_ids(page) if i in self.cache]
                self._start_evidence(self.generation, page, blocks)

    def _start_evidence(self, generation: int, page: int, blocks: list[Block]) -> None:
        loader = self.evidence_loader
        assert loader is not None

        def work() -> None:
            try:
                done = loader(blocks)
                self.post_message(self.PageLoaded(generation, page, done, None, evidence=True))
            except Exception as err:  # noqa: BLE001 - shown in the status line
                from tui.db.errors import describe_exception

                self.post_message(
                    self.PageLoaded(generation, page, [], describe_exception(err), evidence=True)
                )

        self.run_worker(work, thread=True, group=f"evidence-{self.id}", exit_on_error=False)

    def _start_page(self, generation: int, page: int, ids: list[int]) -> None:
        loader = self.loader
        assert loader is not None

        def work() -> None:
            try:
                blocks = loader(ids)
                self.post_message(self.PageLoaded(generation, page, blocks, None))
            except Exception as err:  # noqa: BLE001 - shown in the status line
                from tui.db.errors import describe_exception

                self.post_message(self.PageLoaded(generation, page, [], describe_exception(err)))

        self.run_worker(work, thread=True, group=f"page-{self.id}", exit_on_error=False)

    # ------------------------------------------------------------------ cursor and marks

    @property
    def current_key(self) -> BlockKey | None:
        """Key of the cursor row."""
        if 0 <= self.cursor_row < len(self.keys):
            return BlockKey(self.kind, self.keys[self.cursor_row])
        return None

    @property
    def current_block(self) -> Block | None:
        """The cursor row's block, when its row is loaded."""
        key = self.current_key
        return self.cache.get(key.block_id) if key else None

    def marked_keys(self) -> list[BlockKey]:
        """Marked rows in display order."""
        return [BlockKey(self.kind, k) for k in self.keys if k in self.marks]

    def cached_block(self, block_id: int) -> Block | None:
        """A row from the cache, if loaded."""
        return self.cache.get(block_id)

    def watch_cursor_row(self, old: int, new: int) -> None:
        """Repaint the two rows that changed and tell the pane."""
        self.refresh_lines_for_rows(old, new)
        self.post_message(self.Highlighted(self, self.current_block))

    def refresh_lines_for_rows(self, *rows: int) -> None:
        """Repaint the given data rows."""
        top = self.scroll_offset.y
        for row in rows:
            y = row - top + 1
            if 0 < y < self.size.height:
                self.refresh(Region(0, y, self.size.width, 1))

    def _visible_rows(self) -> int:
        return max(self.size.height - 1, 1)

    def _scroll_cursor_into_view(self) -> None:
        top = self.scroll_offset.y
        rows = self._visible_rows()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def move_cursor(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        if not self.keys:
            return
        row = max(0, min(row, len(self.keys) - 1))
        if row != self.cursor_row:
            self.cursor_row = row
        self._scroll_cursor_into_view()
        self._request_visible_pages()

    def action_cursor_up(self) -> None:
        """Up one row."""
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        """Down one row."""
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        """Up one screen."""
        self.move_cursor(self.cursor_row - self._visible_rows())
        self.scroll_to(
            y=max(self.scroll_offset.y - self._visible_rows(), 0), animate=False, immediate=True
        )

    def action_page_down(self) -> None:
        """Down one screen."""
        self.move_cursor(self.cursor_row + self._visible_rows())

    def action_top(self) -> None:
        """First row."""
        self.move_cursor(0)

    def action_bottom(self) -> None:
        """Last row."""
        self.move_cursor(len(self.keys) - 1)

    def toggle_mark(self) -> None:
        """Mark or unmark the cursor row and move down."""
        key = self.current_key
        if key is None:
            return
        if key.block_id in self.marks:
            del self.marks[key.block_id]
        else:
            block = self.cache.get(key.block_id)
            if block is None:
                # Not read yet: nothing to remember of it, so it cannot be marked yet.
                self.post_message(self.MarkRefused(self, "that row is still loading"))
                return
            self.marks[key.block_id] = block
        self.refresh_lines_for_rows(self.cursor_row)
        self.post_message(self.MarksChanged(self))
        self.move_cursor(self.cursor_row + 1)

    def set_marks(self, rows: dict[int, Block]) -> None:
        """Mark these rows (as read when the user asked), keeping only ids still listed."""
        self.marks = {k: b for k, b in rows.items() if k in self.positions}
        self.refresh()
        self.post_message(self.MarksChanged(self))

    def marked_blocks(self) -> list[Block]:
        """The marked rows as they were when marked, in display order."""
        return [self.marks[k] for k in self.keys if k in self.marks]

    def unmark(self, ids: set[int]) -> None:
        """Drop these ids from the marks."""
        if ids & set(self.marks):
            self.marks = {k: b for k, b in self.marks.items() if k not in ids}
            self.refresh()
            self.post_message(self.MarksChanged(self))

    def clear_marks(self) -> None:
        """Unmark everything."""
        if self.marks:
            self.marks.clear()
            self.refresh()
            self.post_message(self.MarksChanged(self))

    def on_click(self, event: events.Click) -> None:
        """Click a row to put the cursor there."""
        if event.y >= 1:
            self.move_cursor(self.scroll_offset.y + event.y - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Fetch rows scrolled into view."""
        super().watch_scroll_y(old, new)
        self._request_visible_pages()

    def on_show(self, event: events.Show) -> None:
        """Read the rows of a pane that was hidden while its keys changed."""
        self._request_visible_pages()

    def on_resize(self, event: events.Resize) -> None:
        """Re-fit the columns."""
        self._layout = []
        self.virtual_size = Size(1, len(self.keys) + 1)
        self._request_visible_pages()

    # ------------------------------------------------------------------ drawing

    def column_layout(self) -> list[tuple[Column, int]]:
        """Columns that fit the width, each with its width; the flex column takes the rest."""
        if self._layout:
            return self._layout
        width = max(self.scrollable_content_region.width, 10) - 2  # the mark column
        cols = [c for c in self.columns if c.id not in self.hidden]
        flex = next((c for c in cols if c.flex), None)
        if flex is not None and flex.want:
            # First the flex column (the reply text) gets the width it wants from the columns
            # that matter less than it; then everything must fit at its least width.
            extra = flex.want - flex.width
            while sum(c.width + 1 for c in cols) + extra > width:
                lower = [c for c in cols if not c.flex and c.priority < flex.priority]
                if not lower:
                    break
                cols.remove(min(lower, key=lambda c: c.priority))
        while cols and sum(c.width + 1 for c in cols) > width:
            victims = [c for c in cols if not c.flex] or cols
            drop = min(victims, key=lambda c: c.priority)
            if drop.priority >= 10:
                break
            cols.remove(drop)
        spare = width - sum(c.width + 1 for c in cols)
        layout = []
        for c in cols:
            w = c.width + (spare if c.flex and spare > 0 else 0)
            layout.append((c, max(w, 1)))
        self._layout = layout
        return layout

    def _cells(self, texts: list[tuple[str, int, bool]], style: Style) -> list[Segment]:
        segments = []
        for text, width, right in texts:
            text = text if cell_len(text) <= width else set_cell_size(text, max(width - 1, 0)) + "…"
            cell = set_cell_size(text, width) if not right else text.rjust(width)[-width:]
            segments.append(Segment(cell + " ", style))
        return segments

    def render_line(self, y: int) -> Strip:
        """Draw line ``y`` of the viewport: the header or one data row."""
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self.column_layout()
        if y == 0:
            style = base + self.get_component_rich_style("blocktable--header")
            titles = []
            for col, w in layout:
                title = col.title
                if col.sort is not None and col.sort == self.sort_id:
                    # The arrow must show: the title gives way ("Next ret… ▲"), not the arrow.
                    arrow = " ▼" if self.descending else " ▲"
                    room = max(w - len(arrow), 1)
                    if len(title) > room:
                        title = title[: max(room - 1, 1)] + "…"
                    title += arrow
                titles.append((title, w, col.right))
            segs = [Segment("  ", style), *self._cells(titles, style)]
            return Strip(segs).adjust_cell_length(width, style)
        row = self.scroll_offset.y + y - 1
        if row >= len(self.keys):
            if row == 0 and self.loaded_once:
                muted = base + self.get_component_rich_style("blocktable--placeholder")
                return Strip([Segment("  " + self.empty_text, muted)]).adjust_cell_length(
                    width, base
                )
            return Strip.blank(width, base)
        block_id = self.keys[row]
        block = self.cache.get(block_id)
        style = base
        if row == self.cursor_row:
            style = style + self.get_component_rich_style("blocktable--cursor")
        marked = block_id in self.marks
        mark_style = (
            style + self.get_component_rich_style("blocktable--marked") if marked else style
        )
        if block is None:
            muted = style + self.get_component_rich_style("blocktable--placeholder")
            segs = [
                Segment("● " if marked else "  ", mark_style),
                Segment(f"… loading block {block_id}", muted),
            ]
            return Strip(segs).adjust_cell_length(width, style)
        self.rows_drawn += 1
        if self.rows_drawn == 1:
            self.first_drawn_at = time.time()
            self.app.post_message(self.FirstRowsDrawn(self))  # the app loop is surely running
        texts = [
            (printable(col.get(block), max_chars=w * 2 + 8), w, col.right) for col, w in layout
        ]
        row_style = mark_style if marked else style
        if block.next_retry is None and not marked:
            row_style = style + self.get_component_rich_style("blocktable--permanent")
        segs = [Segment("● " if marked else "  ", mark_style), *self._cells(texts, row_style)]
        return Strip(segs).adjust_cell_length(width, style)

    def get_state(self) -> dict[str, Any]:
        """What a test or a screenshot wants to know about the table."""
        return {
            "rows": len(self.keys),
            "cursor": self.cursor_row,
            "marks": sorted(self.marks),
            "cached": len(self.cache),
        }
