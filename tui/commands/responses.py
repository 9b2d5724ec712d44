"""``lmtriage responses``: the SMTP replies behind a block, grouped by text."""

from __future__ import annotations

import argparse

from tui.commands.common import (
    add_common_options,
    add_format_option,
    add_stream_option,
    open_core,
    window_of,
)
from tui.commands.output import emit
from tui.db.queries import ReplyScope, find_stream, reply_groups
from tui.errors import FeatureUnavailable


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``responses`` parser."""
    p = sub.add_parser(
        "responses", help="the SMTP replies behind a block, grouped", description=__doc__
    )
    add_common_options(p)
    p.add_argument("--domain", required=True, help="receiving domain")
    p.add_argument("--ip", help="only attempts from this sending (stream) IP")
    p.add_argument("--mx", metavar="MXIP", help="only attempts to this receiving MX IP")
    add_stream_option(p)
    p.add_argument(
        "--since",
        dest="window",
        metavar="DURATION",
        help="how far back, e.g. 7d, 12h (default: config, 7d)",
    )
    p.add_argument("--limit", type=int, default=50, help="at most N reply groups (default 50)")
    add_format_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the reply groups."""
    core = open_core(args)
    if not core.schema.feature("drill_down"):
        report = core.schema.discovery.tables["attempts"]
        raise FeatureUnavailable(
            f"the delivery attempt log is {report.summary()}; no replies to show"
        )
    since = core.now() - window_of(args, core)
    with core.connect() as conn:
        stream_id = find_stream(core.schema, conn, args.stream).id if args.stream else None
        scope = ReplyScope(
            stream_id=stream_id,
            domain=args.domain.strip().lower(),
            source_ip=args.ip,
            mx_ip=args.mx,
        )
        groups = reply_groups(core.schema, conn, scope, since=since, limit=max(1, args.limit))
    records = []
    for g in groups:
        record = g.to_json()
        record["mx_hosts_text"] = ", ".join(f"{h} ({n})" for h, n in g.mx_hosts)
        records.append(record)
    emit(
        records,
        args.format,
        ["count", "first_seen", "last_seen", "code", "mx_hosts_text", "text"],
        headers=["COUNT", "FIRST SEEN", "LAST SEEN", "CODE", "MX HOSTS", "REPLY"],
        max_width={"mx_hosts_text": 40, "text": 100},
        json_value=[g.to_json() for g in groups],
        empty_message=f"no failed attempts to {args.domain} since {since:%Y-%m-%d %H:%M}",
    )
    return 0
