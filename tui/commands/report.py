"""``lmtriage report``: a one-file block report (HTML or Markdown) to mail to a manager.

Counts per stream and kind and the oldest block, the top causes (blocks by the category of
their latest reply, failed attempts by category), each block's diagnosis and release advice
with its history, and the stream's volume over the window. The HTML file has its styles and
chart inline and loads nothing; text from mail and the database is escaped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.commands.common import (
    add_common_options,
    add_stream_option,
    add_window_option,
    open_core,
    window_of,
)
from tui.ops.metrics import write_atomically
from tui.ops.report import MAX_DIAGNOSED, collect, render_html, render_markdown


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` parser."""
    p = sub.add_parser(
        "report",
        help="a one-file block report (HTML or Markdown)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(p)
    add_stream_option(p, "only the blocks of this MailStream")
    p.add_argument(
        "--format", choices=("html", "md"), default="html", help="output format (default html)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    p.add_argument(
        "--limit",
        type=int,
        default=100,
        metavar="N",
        help=f"diagnose at most N blocks, oldest first (default 100, at most {MAX_DIAGNOSED})",
    )
    add_window_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Collect, render, write."""
    from tui.db.queries import find_stream

    core = open_core(args)
    try:
        window = window_of(args, core)
        with core.connect() as conn:
            stream = find_stream(core.schema, conn, args.stream) if args.stream else None
            data = collect(
                core,
                conn,
                stream_id=stream.id if stream else None,
                stream_name=stream.name if stream else "all",
                limit=args.limit,
                window=window,
            )
    finally:
        core.close()
    text = render_html(data) if args.format == "html" else render_markdown(data)
    if args.output:
        write_atomically(Path(args.output).expanduser(), text)
        print(f"wrote {args.output}: {len(data.entries):,} block(s) diagnosed", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
