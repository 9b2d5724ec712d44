"""The per-stream dashboard: block counts, the week's volume as a chart, Top Domain Status."""

from __future__ import annotations

from datetime import timedelta

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.db.records import Dashboard, DomainStatus, VolumeSeries
from tui.textsafe import printable

BARS = " ▁▂▃▄▅▆▇█"


def resample(values: list[int], width: int) -> list[int]:
    """Sum ``values`` into ``width`` buckets (or stretch them when there are fewer)."""
    if width <= 0 or not values:
        return []
    out = [0] * width
    for i, v in enumerate(values):
        out[min(i * width // len(values), width - 1)] += v
    if len(values) < width:
        # Stretch: each bucket repeats its source value instead of leaving gaps.
        out = [values[min(j * len(values) // width, len(values) - 1)] for j in range(width)]
    return out


def render_chart(series: VolumeSeries, width: int, height: int) -> Text:
    """A stacked bar chart: failed/deferred at the bottom in red, the rest green; day ticks."""
    label_w = 8
    plot_w = max(width - label_w, 8)
    totals = resample(series.bins, plot_w)
    failed = resample(series.failed_bins, plot_w)
    rows = max(height - 2, 2)
    peak = max(totals) if totals and max(totals) > 0 else 1
    text = Text()
    for r in range(rows, 0, -1):
        label = f"{peak:>7,} " if r == rows else ("" if r != 1 else f"{0:>7} ")
        text.append(label.rjust(label_w)[:label_w], style="dim")
        for total, bad in zip(totals, failed, strict=True):
            level = total / peak * rows
            bad_level = bad / peak * rows
            fill = max(0.0, min(1.0, level - (r - 1)))
            bad_fill = max(0.0, min(1.0, bad_level - (r - 1)))
            ch = BARS[round(fill * 8)]
            style = "red" if bad_fill >= fill * 0.5 and fill > 0 else "green"
            text.append(ch, style=style)
        text.append("\n")
    # Day ticks under the plot.
    axis = [" "] * plot_w
    span = (series.end - series.start).total_seconds() or 1
    day = series.start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day < series.end:
        x = int((day - series.start).total_seconds() / span * plot_w)
        label = day.strftime("%a%d")
        if 0 <= x < plot_w - len(label):
            for i, ch in enumerate("|" + label):
                if x + i < plot_w:
                    axis[x + i] = ch
        day += timedelta(days=1)
    text.append(" " * label_w)
    text.append("".join(axis), style="dim")
    return text


class VolumeChart(Widget):
    """The stream's message volume over the window."""

    DEFAULT_CSS = """
    VolumeChart { height: 7; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.series: VolumeSeries | None = None
        self.note = "loading…"

    def set_series(self, series: VolumeSeries | None, note: str) -> None:
        """New data."""
        self.series = series
        self.note = note
        self.refresh()

    def render(self) -> RenderableType:
        """The chart, or why there is none."""
        if self.series is None or not any(self.series.bins):
            return Text(self.note, style="dim")
        return render_chart(self.series, self.size.width - 2, self.size.height)


class DashboardView(Vertical):
    """Pane 3."""

    DEFAULT_CSS = """
    DashboardView #dash-summary { height: auto; padding: 0 1; }
    DashboardView #dash-domains { height: 1fr; }
    """

    class ViewBlocks(Message):
        """Enter on a domain: show its blocks in panes 1 and 2."""

        def __init__(self, domain: str, *, domain_blocked: bool = True) -> None:
            super().__init__()
            self.domain = domain
            self.domain_blocked = domain_blocked  # False: only IP pairs are blocked

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.rows: list[DomainStatus] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…"), id="dash-summary")
        yield VolumeChart(id="dash-chart")
        yield DataTable(id="dash-domains", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """Columns of Top Domain Status."""
        table = self.query_one(DataTable)
        for label in (
            "Domain",
            "Attempts",
            "Delivered",
            "Deferred 4xx",
            "Rejected 5xx",
            "Blocked IPs",
            "Domain blocked",
        ):
            table.add_column(label, key=label)

    def show(self, dash: Dashboard) -> None:
        """Fill in place: rows are updated, not rebuilt, so the cursor stays put."""
        name = dash.stream.name if dash.stream else "All streams"
        summary = Text()
        summary.append(printable(name, max_chars=60), style="bold")
        summary.append(
            f"   {dash.domain_blocks:,} blocked domain(s), {dash.ip_blocks:,} blocked IP pair(s)"
            f"   {len(dash.stream_ips)} sending IP(s)"
        )
        summary.append(
            f"\nlast {(dash.now - dash.window_start).days or 1} day(s) to {dash.now:%Y-%m-%d %H:%M}",
            style="dim",
        )
        if dash.stream_ips:
            summary.append(
                "   IPs: " + printable(", ".join(dash.stream_ips[:8]), max_chars=120), style="dim"
            )
        for note in dash.notes:
            if "volume chart" not in note:  # the chart says that itself
                summary.append(f"\n{printable(note)}", style="yellow")
        self.query_one("#dash-summary", Static).update(summary)
        note = "no volume data in lyrDAOMailStreamTracking for this window"
        if dash.volume is None:
            note = "the volume chart needs lyrDAOMailStreamTracking"
        chart = self.query_one(VolumeChart)
        chart.set_series(dash.volume, note)
        chart.styles.height = 7 if dash.volume is not None and any(dash.volume.bins) else 1
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        self.rows = dash.domains
        for d in dash.domains:
            blocked = Text(
                f"{d.blocked_ips}/{d.stream_ips}", style="bold red" if d.blocked_ips else ""
            )
            table.add_row(
                Text(printable(d.domain, max_chars=80)),
                Text(f"{d.attempts:,}", justify="right"),
                Text(f"{d.delivered:,}", justify="right", style="green"),
                Text(f"{d.deferred:,}", justify="right", style="yellow"),
                Text(f"{d.failed:,}", justify="right", style="red" if d.failed else ""),
                blocked,
                Text("BLOCKED", style="bold red") if d.domain_blocked else Text(""),
            )
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))

    @property
    def current_domain(self) -> str | None:
        """The domain under the cursor."""
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.rows):
            return self.rows[table.cursor_row].domain
        return None

    @on(DataTable.RowSelected, "#dash-domains")
    def selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a domain row."""
        event.stop()
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.rows):
            row = self.rows[table.cursor_row]
            self.post_message(self.ViewBlocks(row.domain, domain_blocked=row.domain_blocked))
