"""``lmtriage blocks``: blocked domains and blocked IP pairs, with their latest evidence.

FAILED counts the attempts in the window that got a 4xx reply (4XX, deferred), a 5xx reply
(5XX, rejected) or no reply code at all (NO CODE); DELIVERED those that got a 2xx.
"""

from __future__ import annotations

import argparse

from tui.commands.common import (
    add_common_options,
    add_format_option,
    add_stream_option,
    add_window_option,
    open_core,
    window_of,
)
from tui.commands.output import emit
from tui.db.queries import SORT_COLUMNS, BlockFilter, find_stream, iter_blocks
from tui.db.records import KINDS

COLUMNS = [
    "kind",
    "stream",
    "domain",
    "ip",
    "blocking_mx",
    "blocked_since",
    "next_retry",
    "failed",
    "deferred",
    "rejected",
    "no_code",
    "delivered",
    "category",
    "latest_reply",
]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``blocks`` parser."""
    p = sub.add_parser(
        "blocks", help="list blocked domains and blocked IP pairs", description=__doc__
    )
    add_common_options(p)
    p.add_argument(
        "--kind", choices=("domain", "ip", "all"), default="all", help="which blocks (default all)"
    )
    add_stream_option(p)
    p.add_argument("--domain", help="only blocks of this receiving domain")
    p.add_argument("--filter", metavar="TEXT", help="substring of domain, IP, MX or description")
    sorts = sorted({s for cols in SORT_COLUMNS.values() for s in cols})
    p.add_argument("--sort", choices=sorts, default="domain", help="sort column (default domain)")
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N blocks in all")
    add_window_option(p)
    add_format_option(p)
    p.add_argument(
        "--all-profiles",
        action="store_true",
        help="the blocks of every [profiles.NAME] server, with a PROFILE column",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List the blocks (of one database, or of every profile)."""
    if args.all_profiles:
        from tui.commands.fleet import blocks_of_all_profiles

        return blocks_of_all_profiles(args, _records, COLUMNS, HEADERS, MAX_WIDTH)
    core = open_core(args)
    try:
        records = _records(core, args)
    finally:
        core.close()
    emit(
        records,
        args.format,
        COLUMNS,
        headers=HEADERS,
        max_width=MAX_WIDTH,
        empty_message="no blocks",
        csv_columns=CSV_COLUMNS,
    )
    return 0


HEADERS = [
    "KIND",
    "STREAM",
    "DOMAIN",
    "IP",
    "BLOCKING MX",
    "SINCE",
    "NEXT RETRY",
    "FAILED",
    "4XX",
    "5XX",
    "NO CODE",
    "DELIVERED",
    "CATEGORY",
    "LATEST REPLY",
]
# CSV has room for every field a spreadsheet wants, the key and description included.
CSV_COLUMNS = ["block_id", *COLUMNS[:7], "description", *COLUMNS[7:], "latest_reply_code"]
MAX_WIDTH = {"latest_reply": 60, "domain": 40, "stream": 16, "category": 22}


def _records(core, args: argparse.Namespace) -> list[dict]:  # noqa: ANN001 - Core
    """The blocks of one database as the documented records."""
    window = window_of(args, core)
    since = core.now() - window
    blocks = []
    with core.connect() as conn:
        stream_id = find_stream(core.schema, conn, args.stream).id if args.stream else None
        kinds = KINDS if args.kind == "all" else (args.kind,)
        for kind in kinds:
            sort = args.sort if args.sort in SORT_COLUMNS[kind] else "domain"
            filt = BlockFilter(
                kind,
                stream_id=stream_id,
                domain=args.domain,
                text=args.filter,
                sort=sort,
                descending=args.desc,
            )
            left = None if args.limit is None else args.limit - len(blocks)
            if left is not None and left <= 0:
                break
            blocks += list(iter_blocks(core.schema, conn, filt, since=since, limit=left))
    from tui.diagnose.classify import classify

    records = [b.to_json() for b in blocks]
    for record, block in zip(records, blocks, strict=True):
        record["category"] = (
            classify(block.latest_reply, block.latest_code).category if block.latest_reply else None
        )
        record["next_retry"] = (
            block.next_retry
            if block.next_retry
            else ("Permanent" if args.format != "json" else None)
        )
    return records
