"""``lmtriage explain``: what happened to a domain's blocks and what to do, from the replies.

For each block of the domain (in one stream, or all): the category of the receiver's replies,
the provider and its code, a plain-words explanation, the steps, and whether to release now.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import (
    add_common_options,
    add_format_option,
    add_stream_option,
    add_window_option,
    open_core,
    window_of,
)
from tui.commands.output import dumps
from tui.errors import NotFoundError
from tui.textsafe import printable


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explain`` parser."""
    p = sub.add_parser(
        "explain", help="diagnosis and advice for a domain's blocks", description=__doc__
    )
    add_common_options(p)
    p.add_argument("--domain", required=True, help="the blocking receiving domain")
    p.add_argument("--ip", help="only the IP-pair blocks of this sending IP")
    add_stream_option(p)
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N blocks (default 20)")
    add_window_option(p)
    add_format_option(p, ("table", "json"), why_not="no CSV: each block's advice is nested")
    p.set_defaults(run=run)


REPLY_GROUPS = 10
"""Signature groups listed per block in the JSON (all of them: ``lmtriage responses``)."""


def _reply_json(group: object) -> dict[str, object]:
    """A signature group without its list of texts (``responses`` has them)."""
    data = group.to_json()  # type: ignore[attr-defined]
    data.pop("texts", None)
    return data


def run(args: argparse.Namespace) -> int:
    """Advise every matching block."""
    from tui.db.queries import BlockFilter, find_stream, iter_blocks
    from tui.diagnose.reblock import history_line
    from tui.triage.block_advice import advise_block, block_history

    core = open_core(args)
    core.config.window = window_of(args, core)  # advice reads the window from the config
    domain = args.domain.strip().lower()
    out = []
    with core.connect() as conn:
        stream = find_stream(core.schema, conn, args.stream) if args.stream else None
        kinds = ("ip",) if args.ip else ("domain", "ip")
        blocks = []
        for kind in kinds:
            filt = BlockFilter(
                kind, stream_id=stream.id if stream else None, domain=domain, ip=args.ip
            )  # type: ignore[arg-type]
            blocks += list(
                iter_blocks(core.schema, conn, filt, since=core.since(), limit=max(1, args.limit))
            )
        if not blocks:
            raise NotFoundError(
                f"no blocks for {domain}" + (f" in stream {stream.name}" if stream else ""),
                exit_code=1,
            )
        for block in blocks[: max(1, args.limit)]:
            history = block_history(core, conn, block)
            advice, facts = advise_block(core, conn, block, history=history)
            out.append((block, advice, facts, history))
    if args.format == "json":
        payload = [
            {
                "block": b.to_json(),
                "advice": a.to_json(),
                "replies": [_reply_json(g) for g in f.groups[:REPLY_GROUPS]],
                "history": h.to_json(),
            }
            for b, a, f, h in out
        ]
        sys.stdout.write(dumps(payload, indent=2) + "\n")
        return 0
    for block, advice, _facts, history in out:
        who = f"{block.ip} → {block.mx}" if block.kind == "ip" else "all IPs"
        print(
            printable(
                f"== {block.kind} block {block.block_id}: {block.domain} ({who}), stream {block.stream_name}"
            )
        )
        print(
            printable(
                f"   {advice.category} · {advice.provider}{' · ' + advice.provider_code if advice.provider_code else ''}"
            )
        )
        if block.outcomes is not None:
            print(printable(f"   in the window: {block.outcomes.describe()}"))
        print(printable(f"   {advice.headline}"))
        print(printable(f"   {advice.explanation}", max_chars=2000))
        for i, step in enumerate(advice.steps, 1):
            print(printable(f"   {i}. {step}", max_chars=2000))
        when = advice.release.not_before_text()
        print(
            printable(
                f"   release: {advice.release.when}{when}: {advice.release.reason}", max_chars=1000
            )
        )
        if advice.evidence:
            print("   replies (failed attempts per signature, first and last seen):")
            for line in advice.evidence:
                print(printable(f"   - {line}", max_chars=400))
        if (line := history_line(history)) is not None:
            print(printable(f"   history: {line}", max_chars=1000))
        print()
    return 0
