"""A one-file block report to mail to a manager: HTML (inline CSS and SVG, no script, nothing
fetched) or Markdown.

It holds the counts (per stream and kind, the oldest block), the top causes (blocks by the
category of their latest reply; failed attempts by category), a diagnosis of each block (the
same advice as the console and ``explain``, with the block's release history) and the
stream's volume over the window. Every text that came from mail or the database is made
printable and then escaped for the format, so a reply holding ``<script>`` or an ANSI escape
is shown as text, never run.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.records import Block, VolumeSeries
from tui.diagnose.reblock import span_text
from tui.ops.inventory import (
    Inventory,
    block_categories,
    failed_by_category,
    iter_blocks_with_evidence,
    read_inventory,
)
from tui.textsafe import printable

MAX_DIAGNOSED = 500
STEPS_SHOWN = 4


@dataclass(slots=True)
class BlockEntry:
    """One diagnosed block."""

    block: Block
    advice: Any
    history: str | None


@dataclass(slots=True)
class ReportData:
    """Everything a report shows, read once."""

    title: str
    database: str
    profile: str | None
    stream: str
    generated: datetime
    window: timedelta
    inventory: Inventory
    by_category: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    entries: list[BlockEntry] = field(default_factory=list)
    not_diagnosed: int = 0
    volume: VolumeSeries | None = None
    volume_note: str = ""


def collect(
    core: Core, conn: Connection, *, stream_id: int | None, stream_name: str, limit: int,
    window: timedelta,
) -> ReportData:
    """Read the figures and diagnose up to ``limit`` blocks (oldest first)."""
    from tui.diagnose.reblock import history_line
    from tui.triage.block_advice import advise_block, block_history

    now = core.now()
    since = now - window
    inv = read_inventory(core, conn, stream_id)
    who = core.config.profile or core.display_url
    data = ReportData(
        title=f"ListManager blocks: {who}",
        database=core.display_url,
        profile=core.config.profile,
        stream=stream_name,
        generated=now,
        window=window,
        inventory=inv,
        by_category=block_categories(core, conn, stream_id, since=since),
        failed=failed_by_category(core, conn, stream_id, window=window),
    )
    blocks: list[Block] = []
    for block in iter_blocks_with_evidence(core, conn, stream_id, since=since):
        if len(blocks) >= limit:
            data.not_diagnosed += 1
            continue
        blocks.append(block)
    blocks.sort(key=lambda b: (b.since is None, b.since or now, b.stream_name, b.domain))
    for block in blocks:
        history = block_history(core, conn, block)
        advice = advise_block(core, conn, block, history=history)[0]
        data.entries.append(BlockEntry(block, advice, history_line(history)))
    data.volume = queries.volume_series(core.schema, conn, stream_id, start=since, end=now)
    if data.volume is None:
        data.volume_note = "the volume chart needs lyrDAOMailStreamTracking, which this database lacks"
    elif not any(data.volume.bins):
        data.volume_note = "no volume in lyrDAOMailStreamTracking for this window"
    return data


def _top_causes(data: ReportData) -> list[tuple[str, int]]:
    per: Counter[str] = Counter()
    for (_stream, _kind, category), n in data.by_category.items():
        per[category] += n
    return per.most_common()


def _what(block: Block) -> str:
    if block.kind == "ip":
        return f"{block.domain}: {block.ip} → {block.mx}"
    return f"{block.domain} (domain row)"


def _safe(value: object, limit: int = 500) -> str:
    return printable(value, max_chars=limit)


# --------------------------------------------------------------------------- HTML


def _h(value: object, limit: int = 500) -> str:
    return html.escape(_safe(value, limit), quote=True)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:70em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}.now{color:#176f2c;font-weight:bold}
.wait{color:#8a6d00;font-weight:bold}.after-fix{color:#a3181a;font-weight:bold}
.block{border:1px solid #ddd;border-radius:4px;padding:.4em .8em;margin:.6em 0}
.reply{font-family:monospace;font-size:.9em;background:#f7f7f7;padding:.2em;white-space:pre-wrap;word-break:break-all}
.dim{color:#666}
"""


def volume_svg(series: VolumeSeries, *, width: int = 720, height: int = 160) -> str:
    """The volume as an inline SVG bar chart: delivered and failed stacked per bin."""
    bins = series.bins
    n = max(len(bins), 1)
    top = max(bins) if bins and max(bins) > 0 else 1
    bar = width / n
    chart_h = height - 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="message volume">'
    ]
    for i, total in enumerate(bins):
        failed = series.failed_bins[i] if i < len(series.failed_bins) else 0
        ok = max(total - failed, 0)
        x = i * bar
        h_ok = chart_h * ok / top
        h_fail = chart_h * failed / top
        y_ok = chart_h - h_ok
        parts.append(
            f'<rect x="{x:.1f}" y="{y_ok:.1f}" width="{max(bar - 1, 1):.1f}" height="{h_ok:.1f}" '
            f'fill="#4a90c2"><title>{total:,} sent, {failed:,} failed</title></rect>'
        )
        if failed:
            parts.append(
                f'<rect x="{x:.1f}" y="{y_ok - h_fail:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{h_fail:.1f}" fill="#d0473d"/>'
            )
    parts.append(
        f'<text x="0" y="{height - 10}" font-size="11">{html.escape(f"{series.start:%Y-%m-%d %H:%M}")}</text>'
    )
    parts.append(
        f'<text x="{width}" y="{height - 10}" font-size="11" text-anchor="end">'
        f"{html.escape(f'{series.end:%Y-%m-%d %H:%M}')}</text>"
    )
    parts.append(
        f'<text x="{width / 2:.0f}" y="{height - 10}" font-size="11" text-anchor="middle">'
        f"peak {top:,} per bin · blue delivered · red failed</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def render_html(data: ReportData) -> str:
    """The report as one HTML file."""
    inv = data.inventory
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
        f"<title>{_h(data.title, 200)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_h(data.title, 200)}</h1>",
        f'<p class="dim">Database {_h(data.database, 300)} · streams: {_h(data.stream, 100)} · '
        f"generated {data.generated:%Y-%m-%d %H:%M} (database clock) · evidence window "
        f"{_h(span_text(data.window))} · by lmtriage</p>",
        "<h2>Counts</h2>",
        f"<p><b>{inv.total():,}</b> blocks: {inv.total('domain'):,} blocked domains, "
        f"{inv.total('ip'):,} blocked IP pairs.",
    ]
    if inv.oldest is not None:
        out.append(
            f" Oldest: {_h(inv.oldest.describe(), 300)}, blocked "
            f"{_h(span_text(inv.oldest.age(inv.now)))} ago ({inv.oldest.since:%Y-%m-%d %H:%M})."
        )
    out.append("</p>")
    out.append("<table><tr><th>Stream</th><th>Domain rows</th><th>IP pairs</th></tr>")
    streams = sorted({s for s, _k in inv.counts})
    for stream in streams:
        out.append(
            f"<tr><td>{_h(stream, 100)}</td><td class=num>{inv.counts.get((stream, 'domain'), 0):,}</td>"
            f"<td class=num>{inv.counts.get((stream, 'ip'), 0):,}</td></tr>"
        )
    out.append("</table>")
    out.append("<h2>Top causes</h2><table><tr><th>Category of the latest reply</th><th>Blocks</th></tr>")
    for category, n in _top_causes(data):
        out.append(f"<tr><td>{_h(category)}</td><td class=num>{n:,}</td></tr>")
    out.append("</table>")
    if data.failed:
        out.append("<table><tr><th>Failed attempts in the window, by category</th><th>Attempts</th></tr>")
        for category, n in data.failed.most_common():
            out.append(f"<tr><td>{_h(category)}</td><td class=num>{n:,}</td></tr>")
        out.append("</table>")
    out.append("<h2>Volume</h2>")
    if data.volume is not None and any(data.volume.bins):
        out.append(volume_svg(data.volume))
    else:
        out.append(f"<p class=dim>{_h(data.volume_note)}</p>")
    out.append(f"<h2>Blocks ({len(data.entries):,} diagnosed, oldest first)</h2>")
    if data.not_diagnosed:
        out.append(f"<p class=dim>{data.not_diagnosed:,} more not diagnosed (raise --limit).</p>")
    for e in data.entries:
        b, a = e.block, e.advice
        out.append('<div class="block">')
        out.append(
            f"<p><b>{_h(_what(b), 400)}</b> · stream {_h(b.stream_name, 100)} · since "
            f"{_h(f'{b.since:%Y-%m-%d %H:%M}' if b.since else '?')} · "
            f"{_h(f'next retry {b.next_retry:%Y-%m-%d %H:%M}' if b.next_retry else 'Permanent')} · "
            f"{b.attempts or 0:,} attempt(s)</p>"
        )
        out.append(
            f"<p><b>{_h(a.category)}</b> · {_h(a.provider, 60)}"
            + (f" · {_h(a.provider_code, 60)}" if a.provider_code else "")
            + f" — {_h(a.headline, 400)}</p>"
        )
        if b.latest_reply:
            out.append(f'<div class="reply">{_h(b.latest_reply, 1000)}</div>')
        out.append(f"<p>{_h(a.explanation, 2000)}</p><ol>")
        for step in a.steps[:STEPS_SHOWN]:
            out.append(f"<li>{_h(step, 1000)}</li>")
        out.append("</ol>")
        when = a.release.when
        not_before = a.release.not_before_text()
        out.append(
            f'<p>Release: <span class="{_h(when)}">{_h(when)}</span>{_h(not_before)} — '
            f"{_h(a.release.reason, 800)}</p>"
        )
        if e.history:
            out.append(f"<p class=dim>History: {_h(e.history, 800)}</p>")
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")


def _m(value: object, limit: int = 500) -> str:
    """Printable text with every Markdown and HTML special character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", _safe(value, limit))


def volume_text(series: VolumeSeries, width: int = 56, height: int = 8) -> list[str]:
    """The volume as rows of ``#`` (delivered) and ``x`` (failed) columns."""
    bins = series.bins[:width]
    top = max(bins) if bins and max(bins) > 0 else 1
    lines = []
    for level in range(height, 0, -1):
        row = ""
        for i, total in enumerate(bins):
            failed = series.failed_bins[i] if i < len(series.failed_bins) else 0
            filled = total * height / top
            failed_part = failed * height / top
            if filled >= level - 0.5:
                row += "x" if filled - failed_part < level - 0.5 else "#"
            else:
                row += " "
        lines.append(row.rstrip() or "")
    lines.append("-" * len(bins))
    lines.append(f"{series.start:%Y-%m-%d %H:%M} … {series.end:%Y-%m-%d %H:%M}, peak {top:,} a bin")
    return lines


def render_markdown(data: ReportData) -> str:
    """The report as one Markdown file."""
    inv = data.inventory
    out = [
        f"# {_m(data.title, 200)}",
        "",
        f"Database {_m(data.database, 300)} · streams: {_m(data.stream, 100)} · generated "
        f"{data.generated:%Y-%m-%d %H:%M} (database clock) · evidence window "
        f"{span_text(data.window)} · by lmtriage",
        "",
        "## Counts",
        "",
        f"**{inv.total():,}** blocks: {inv.total('domain'):,} blocked domains, "
        f"{inv.total('ip'):,} blocked IP pairs."
        + (
            f" Oldest: {_m(inv.oldest.describe(), 300)}, blocked "
            f"{span_text(inv.oldest.age(inv.now))} ago."
            if inv.oldest
            else ""
        ),
        "",
        "| Stream | Domain rows | IP pairs |",
        "|---|---:|---:|",
    ]
    for stream in sorted({s for s, _k in inv.counts}):
        out.append(
            f"| {_m(stream, 100)} | {inv.counts.get((stream, 'domain'), 0):,} | "
            f"{inv.counts.get((stream, 'ip'), 0):,} |"
        )
    out += ["", "## Top causes", "", "| Category of the latest reply | Blocks |", "|---|---:|"]
    out += [f"| {_m(c)} | {n:,} |" for c, n in _top_causes(data)]
    if data.failed:
        out += ["", "| Failed attempts in the window, by category | Attempts |", "|---|---:|"]
        out += [f"| {_m(c)} | {n:,} |" for c, n in data.failed.most_common()]
    out += ["", "## Volume", ""]
    if data.volume is not None and any(data.volume.bins):
        out += ["```", *volume_text(data.volume), "```"]
    else:
        out.append(_m(data.volume_note))
    out += ["", f"## Blocks ({len(data.entries):,} diagnosed, oldest first)", ""]
    if data.not_diagnosed:
        out += [f"{data.not_diagnosed:,} more not diagnosed (raise \\-\\-limit).", ""]
    for e in data.entries:
        b, a = e.block, e.advice
        since = f"{b.since:%Y-%m-%d %H:%M}" if b.since else "?"
        retry = f"next retry {b.next_retry:%Y-%m-%d %H:%M}" if b.next_retry else "Permanent"
        out += [
            f"### {_m(_what(b), 400)}",
            "",
            f"Stream {_m(b.stream_name, 100)} · since {since} · {retry} · "
            f"{b.attempts or 0:,} attempt(s)",
            "",
            f"**{_m(a.category)}** · {_m(a.provider, 60)}"
            + (f" · {_m(a.provider_code, 60)}" if a.provider_code else "")
            + f" — {_m(a.headline, 400)}",
            "",
        ]
        if b.latest_reply:
            out += [f"> {_m(b.latest_reply, 1000)}", ""]
        out += [_m(a.explanation, 2000), ""]
        out += [f"{i}. {_m(step, 1000)}" for i, step in enumerate(a.steps[:STEPS_SHOWN], 1)]
        not_before = a.release.not_before_text()
        out += ["", f"Release: **{_m(a.release.when)}**{not_before} — {_m(a.release.reason, 800)}"]
        if e.history:
            out += ["", f"History: {_m(e.history, 800)}"]
        out.append("")
    return "\n".join(out) + "\n"
