"""``lmtriage responses``: the SMTP replies behind a block, grouped by signature.

Every failed attempt in the window (a 4xx or 5xx reply, or none) is counted: replies that differ
only in ids, IPs, times and host names share a signature and one line, with the exact count of
all their variants, the category, provider and codes, and the most frequent text as a sample.
``--raw`` lists the exact texts instead (the most frequent ``--limit``), counted by text.
"""

from __future__ import annotations

import argparse

from tui.commands.common import (
    add_common_options,
    add_format_option,
    add_stream_option,
    add_window_option,
    block_key,
    open_core,
    window_of,
)
from tui.commands.output import emit
from tui.db.queries import ReplyScope, fetch_blocks, find_stream, reply_groups
from tui.errors import FeatureUnavailable, LmError, NotFoundError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``responses`` parser."""
    p = sub.add_parser(
        "responses", help="the SMTP replies behind a block, grouped", description=__doc__
    )
    add_common_options(p)
    p.add_argument("--domain", help="receiving domain (or --block)")
    p.add_argument(
        "--block",
        metavar="KIND:ID",
        help="exactly the scope of this block, as the console's drill-down: a domain block's "
        "stream and domain, an IP pair's stream, IP and MX over every domain (e.g. ip:204)",
    )
    p.add_argument("--ip", help="only attempts from this sending (stream) IP")
    p.add_argument("--mx", metavar="MXIP", help="only attempts to this receiving MX IP")
    add_stream_option(p)
    add_window_option(p)
    p.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N groups (or texts with --raw; default 50)"
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="one line per exact reply text (the most frequent --limit), not per signature",
    )
    add_format_option(p)
    p.set_defaults(run=run)


def _hosts(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{h} ({n:,})" for h, n in pairs)


def run(args: argparse.Namespace) -> int:
    """Print the reply groups."""
    from tui.triage.block_advice import signature_groups

    core = open_core(args)
    if not core.schema.feature("drill_down"):
        report = core.schema.discovery.tables["attempts"]
        raise FeatureUnavailable(
            f"the delivery attempt log is {report.summary()}; no replies to show"
        )
    if (args.block is None) == (args.domain is None):
        raise LmError("give --domain (with --ip, --mx, --stream) or --block KIND:ID", exit_code=2)
    if args.block is not None and (args.ip or args.mx or args.stream):
        raise LmError("--block is the whole scope: leave out --ip, --mx and --stream", exit_code=2)
    key = block_key(args.block) if args.block is not None else None
    since = core.now() - window_of(args, core)
    limit = max(1, args.limit)
    with core.connect() as conn:
        if key is not None:
            found = fetch_blocks(core.schema, conn, key.kind, [key.block_id], since=None)
            if not found:
                raise NotFoundError(f"no {key.kind} block {key}", exit_code=1)
            scope = ReplyScope.for_block(found[0])
            target = f"{key} ({found[0].domain})"
        else:
            stream_id = find_stream(core.schema, conn, args.stream).id if args.stream else None
            scope = ReplyScope(
                stream_id=stream_id,
                domain=args.domain.strip().lower(),
                source_ip=args.ip,
                mx_ip=args.mx,
            )
            target = args.domain
        if args.raw:
            raw = reply_groups(core.schema, conn, scope, since=since, limit=limit)
        else:
            groups = signature_groups(core, conn, scope, since=since)
    empty = f"no failed attempts for {target} since {since:%Y-%m-%d %H:%M}"
    if args.raw:
        records = [dict(g.to_json(), mx_hosts_text=_hosts(g.mx_hosts)) for g in raw]
        emit(
            records,
            args.format,
            ["count", "first_seen", "last_seen", "code", "mx_hosts_text", "text"],
            headers=["COUNT", "FIRST SEEN", "LAST SEEN", "CODE", "MX HOSTS", "REPLY"],
            max_width={"mx_hosts_text": 40, "text": 100},
            json_value=[g.to_json() for g in raw],
            empty_message=empty,
        )
        return 0
    shown = groups[:limit]
    records = []
    for g in shown:
        c = g.classification
        record = g.to_json()
        record["codes"] = " ".join(x for x in (c.enhanced_code, c.provider_code) if x)
        record["mx_hosts_text"] = _hosts(g.top_hosts(3))
        records.append(record)
    emit(
        records,
        args.format,
        [
            "count",
            "variants",
            "first_seen",
            "last_seen",
            "category",
            "provider",
            "codes",
            "mx_hosts_text",
            "sample_text",
        ],
        headers=[
            "COUNT",
            "VARIANTS",
            "FIRST SEEN",
            "LAST SEEN",
            "CATEGORY",
            "PROVIDER",
            "CODES",
            "MX HOSTS",
            "SAMPLE REPLY",
        ],
        max_width={"mx_hosts_text": 40, "sample_text": 90, "category": 22},
        json_value=[g.to_json() for g in shown],
        empty_message=empty,
    )
    return 0
