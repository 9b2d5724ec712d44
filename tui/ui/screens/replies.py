"""The drill-down: the SMTP replies behind a block, then the raw attempts of one reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, LoadingIndicator, Static
from textual.worker import get_current_worker

from tui.db.queries import ReplyScope, reply_samples
from tui.db.records import Block, ReplySample

if TYPE_CHECKING:  # the classifier loads with the first drill-down, not at start-up
    from tui.diagnose.grouping import SignatureGroup
from tui.textsafe import cut_to_width, printable
from tui.ui import format as fmt
from tui.ui.messages import WorkFailed

SAMPLE_PAGE = 200


def block_title(block: Block) -> str:
    """``domain block gmail.com, stream default`` / ``IP pair 192.0.2.10 → 198.18.0.5 (gmail.com)``."""
    if block.kind == "domain":
        return f"domain block {block.domain}, stream {block.stream_name}"
    return f"IP pair {block.ip} → MX {block.mx} ({block.domain}), stream {block.stream_name}"


# Reply text comes fourth and takes the width left: at 80 columns it is what must be read.
GROUP_COLUMNS = (
    "Count",
    "Category",
    "Code",
    "Reply",
    "Last seen",
    "First seen",
    "Variants",
    "MX hosts",
)
FIXED_WIDTHS = {"Count": 6, "Category": 13, "Code": 11}  # Reply: the rest (at least 20)


NO_TEXT = "(no reply text recorded)"


class Closed(Exception):
    """The screen went away while its replies were being read."""


def _sample(group: SignatureGroup) -> str:
    return group.sample_text or NO_TEXT


def group_cells(group: SignatureGroup, reply_width: int = 300) -> list[Text]:
    """One row of the drill-down, every cell plain text."""
    c = group.classification
    codes = " ".join(x for x in (c.enhanced_code, c.provider_code) if x)
    hosts = ", ".join(f"{h} ({n})" for h, n in group.top_hosts(3))
    style = "bold red" if c.is_block_reason else ""
    reply = cut_to_width(printable(fmt.one_line(_sample(group)), max_chars=300), reply_width)
    return [
        Text(f"{group.count:,}", justify="right"),
        Text(fmt.category_label(c.category), style=style),
        Text(printable(codes, max_chars=40)),
        Text(reply),
        Text(fmt.short_time(group.last_seen)),
        Text(fmt.short_time(group.first_seen)),
        Text(f"{group.variants:,}", justify="right"),
        Text(printable(hosts, max_chars=60)),
    ]


def group_detail(group: SignatureGroup) -> Text:
    """Everything about a signature group, for the lower panel."""
    c = group.classification
    text = Text()
    text.append(f"{c.category}", style="bold red" if c.is_block_reason else "bold")
    text.append(f"  provider {c.provider}")
    for label, value in (
        ("code", c.enhanced_code),
        ("ref", c.provider_code),
        ("list", c.blocklist),
    ):
        if value:
            text.append(f"  {label} {printable(value, max_chars=80)}")
    text.append(
        f"\n{group.count:,} failed attempt(s) in {group.variants:,} variant(s), "
        f"{fmt.long_time(group.first_seen)} … {fmt.long_time(group.last_seen)}\n",
        style="dim",
    )
    if group.mx_hosts:
        hosts = ", ".join(f"{h} ({n})" for h, n in group.top_hosts(10))
        text.append("MX: " + printable(hosts, max_chars=600) + "\n", style="dim")
    if c.urls:
        text.append("Links: " + printable(" ".join(c.urls), max_chars=600) + "\n")
    text.append("Signature: ", style="dim")
    text.append(printable(group.signature, max_chars=1000) + "\n")
    text.append(printable(_sample(group), one_line=False))
    return text


class RepliesScreen(Screen[None]):
    """Reply groups behind one block, merged by signature: count, dates, category, MX hosts."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="replies_back"),
        Binding("enter", "samples", "Samples", id="replies_samples"),
    ]

    DEFAULT_CSS = """
    RepliesScreen > Vertical { height: 1fr; }
    RepliesScreen #title { background: $panel; text-style: bold; padding: 0 1; }
    RepliesScreen DataTable { height: 1fr; }
    RepliesScreen #reply-detail { height: 9; border-top: solid $accent; padding: 0 1; }
    """

    def __init__(self, block: Block) -> None:
        super().__init__()
        self.block = block
        self.groups: list[SignatureGroup] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            title = f"Replies behind the {block_title(self.block)}"
            if self.block.outcomes is not None:
                title += f" — in the window: {self.block.outcomes.describe()}"
            yield Static(Text(printable(title)), id="title")
            yield LoadingIndicator()
            yield DataTable(id="groups", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="reply-detail"):
                yield Static(Text(""), id="reply-text")
        yield Footer()

    def on_mount(self) -> None:
        """Columns, then the query in a worker."""
        table = self.query_one(DataTable)
        for label in GROUP_COLUMNS:
            if label == "Reply":
                table.add_column(label, key=label, width=self.reply_width())
            else:
                table.add_column(label, key=label, width=FIXED_WIDTHS.get(label))
        table.display = False
        self.load()

    def reply_width(self) -> int:
        """The reply column: the screen's width less the columns before it."""
        fixed = sum(FIXED_WIDTHS.values()) + 2 * (len(FIXED_WIDTHS) + 1) + 2
        return max(20, self.app.size.width - fixed)

    @work(thread=True, exclusive=True, group="replies", exit_on_error=False)
    def load(self) -> None:
        """Read every failed attempt of the block, grouped by signature (thread)."""
        from tui.triage.block_advice import signature_groups

        core = self.app.core  # type: ignore[attr-defined]
        worker = get_current_worker()

        def progress(texts: int, attempts: int) -> None:
            if worker.is_cancelled:
                raise Closed
            self.app.call_from_thread(self._progress, texts, attempts)

        try:
            with core.connect() as conn:
                groups = signature_groups(
                    core, conn, ReplyScope.for_block(self.block), progress=progress
                )
        except Closed:
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("reading the replies", err))
            return
        self.app.call_from_thread(self.show, groups)

    def _progress(self, texts: int, attempts: int) -> None:
        """How far the reading is (a block with very many different replies takes a while)."""
        self.query_one("#reply-text", Static).update(
            Text(f"reading… {attempts:,} failed attempts in {texts:,} different replies so far")
        )

    def show(self, groups: list[SignatureGroup]) -> None:
        """Fill the table."""
        self.groups = groups
        self.query_one(LoadingIndicator).display = False
        table = self.query_one(DataTable)
        table.display = True
        table.clear()
        for i, group in enumerate(groups):
            table.add_row(*group_cells(group, self.reply_width()), key=str(i))
        if not groups:
            since = self.app.core.since()  # type: ignore[attr-defined]
            self.query_one("#reply-text", Static).update(
                Text(
                    f"No failed attempts in the attempt log since {fmt.long_time(since)} for this block."
                )
            )
        table.focus()

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        """Say what went wrong, in one line."""
        self.query_one(LoadingIndicator).display = False
        self.query_one("#reply-text", Static).update(Text(message.text))
        self.app.notify(message.text, severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#groups")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Show the whole reply text and its diagnosis below the table."""
        if event.cursor_row < 0 or event.cursor_row >= len(self.groups):
            return
        group = self.groups[event.cursor_row]
        self.query_one("#reply-text", Static).update(group_detail(group))

    @on(DataTable.RowSelected, "#groups")
    def selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a group: its raw attempts."""
        event.stop()
        self.action_samples()

    def action_samples(self) -> None:
        """Raw attempts of the highlighted group."""
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.groups):
            self.app.push_screen(SamplesScreen(self.block, self.groups[table.cursor_row]))

    def action_back(self) -> None:
        """Back to the block list (a reading still running stops)."""
        self.workers.cancel_group(self, "replies")
        self.dismiss(None)


class SamplesScreen(Screen[None]):
    """The attempts that got one reply: time, IPs, MX host, code, the raw text."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="samples_back"),
        Binding("n", "more", "More", id="samples_more"),
    ]

    DEFAULT_CSS = """
    SamplesScreen #title { background: $panel; text-style: bold; padding: 0 1; }
    SamplesScreen DataTable { height: 1fr; }
    SamplesScreen #sample-detail { height: 8; border-top: solid $accent; padding: 0 1; }
    """

    def __init__(self, block: Block, group: SignatureGroup) -> None:
        super().__init__()
        self.block = block
        self.group = group
        self.samples: list[ReplySample] = []
        self.exhausted = False

    def compose(self) -> ComposeResult:
        title = f"{self.group.count:,} attempt(s) with this reply — {block_title(self.block)}"
        yield Static(Text(printable(title)), id="title")
        yield DataTable(id="samples", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="sample-detail"):
            yield Static(Text(printable(_sample(self.group), one_line=False)), id="sample-text")
        yield Footer()

    def on_mount(self) -> None:
        """Columns, then the first page."""
        table = self.query_one(DataTable)
        table.add_columns("Time", "From IP", "MX host", "MX IP", "Code", "Reply")
        table.loading = True
        self.load(None)

    @work(thread=True, exclusive=True, group="samples", exit_on_error=False)
    def load(self, before: tuple | None) -> None:
        """One keyset page of attempts (thread): by text when the group's texts are all
        known, else every attempt whose reply has the group's signature."""
        from tui.diagnose.classify import signature

        core = self.app.core  # type: ignore[attr-defined]
        group = self.group
        by_text = group.all_texts_known
        try:
            with core.connect() as conn:
                page = reply_samples(
                    core.schema,
                    conn,
                    ReplyScope.for_block(self.block),
                    group.texts if by_text else None,
                    since=core.since(),
                    limit=SAMPLE_PAGE,
                    before=before,
                    match=None if by_text else (lambda text: signature(text) == group.signature),
                )
        except Exception as err:  # noqa: BLE001
            self.post_message(WorkFailed("reading the attempts", err))
            return
        self.app.call_from_thread(self.show, page)

    def show(self, page: list[ReplySample]) -> None:
        """Append a page."""
        table = self.query_one(DataTable)
        table.loading = False
        self.exhausted = len(page) < SAMPLE_PAGE
        for sample in page:
            self.samples.append(sample)
            table.add_row(
                Text(fmt.long_time(sample.time)),
                Text(printable(sample.source_ip or "", max_chars=45)),
                Text(printable(sample.mx_host or "", max_chars=80)),
                Text(printable(sample.mx_ip or "", max_chars=45)),
                Text("" if sample.code is None else str(sample.code)),
                Text(printable(fmt.one_line(sample.text), max_chars=300)),
            )
        if len(self.samples) == len(page):
            table.focus()

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        """One line, in place and as a notification."""
        self.query_one(DataTable).loading = False
        self.app.notify(message.text, severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#samples")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The raw text of the highlighted attempt, wrapped."""
        if 0 <= event.cursor_row < len(self.samples):
            s = self.samples[event.cursor_row]
            self.query_one("#sample-text", Static).update(
                Text(
                    f"attempt {s.attempt_id} at {fmt.long_time(s.time)}\n"
                    + printable(s.text, one_line=False)
                )
            )

    def action_more(self) -> None:
        """The next page of older attempts."""
        if self.samples and not self.exhausted:
            last = self.samples[-1]
            self.load((last.time, last.attempt_id))

    def action_back(self) -> None:
        """Back to the reply groups."""
        self.dismiss(None)
