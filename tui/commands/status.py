"""``lmtriage status``: a monitoring check of the blocks, for Nagios/Icinga or Prometheus.

``--format nagios`` (the default) prints one status line with perfdata and exits 0 OK,
1 WARNING, 2 CRITICAL or 3 UNKNOWN (the database could not be read, a bad option).
``--warn``/``--crit`` take ``blocks=N``, ``domain_blocks=N``, ``ip_blocks=N`` (alert when
there are more than N) and ``age=DURATION`` (alert when the oldest block is older), comma
separated or repeated. Without them the check warns when there is any block.

``--format prometheus`` prints (or, with ``-o FILE``, writes atomically for node_exporter's
textfile collector) blocks by stream/kind/category, the oldest block's age and failed attempts
by category. ``--format json`` gives the same figures as one object.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tui.commands.common import (
    add_common_options,
    add_stream_option,
    add_window_option,
    open_core,
    window_of,
)
from tui.commands.output import dumps
from tui.errors import LmError
from tui.ops import status as st
from tui.ops.metrics import render, write_atomically


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``status`` parser."""
    p = sub.add_parser(
        "status",
        help="monitoring check: Nagios/Icinga line and exit code, or Prometheus metrics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(p)
    add_stream_option(p, "only the blocks of this MailStream")
    p.add_argument(
        "--warn",
        action="append",
        metavar="SPEC",
        help="warning thresholds, e.g. blocks=10,age=6h (default: blocks=0)",
    )
    p.add_argument(
        "--crit", action="append", metavar="SPEC", help="critical thresholds, e.g. blocks=50,age=1d"
    )
    p.add_argument(
        "--format",
        choices=("nagios", "prometheus", "json"),
        default="nagios",
        help="output format (default nagios)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the output to FILE atomically (for the textfile collector)",
    )
    add_window_option(p)
    p.set_defaults(run=run, on_error=_unknown)

    # A plugin's usage errors are UNKNOWN (3), not argparse's 2.
    def error(message: str) -> None:
        p.print_usage(sys.stderr)
        print(st.unknown_line(f"usage: {message}"))
        p.exit(st.UNKNOWN, f"lmtriage status: error: {message}\n")

    p.error = error  # type: ignore[method-assign]


def _unknown(message: str) -> int:
    print(st.unknown_line(message))
    return st.UNKNOWN


def _emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(Path(output), text)
    else:
        sys.stdout.write(text)


def run(args: argparse.Namespace) -> int:
    """Read the figures, judge them, print."""
    warn = st.parse_thresholds(args.warn, "--warn")
    crit = st.parse_thresholds(args.crit, "--crit")
    started = time.monotonic()
    profile = getattr(args, "profile", None) or ""
    try:
        payload = _read(args, detailed=args.format != "nagios")
    except LmError as err:
        if args.format == "prometheus":
            text = render(
                profile=profile or "default",
                inventory=None,
                by_category=None,
                failed=None,
                window_seconds=0,
                duration_seconds=time.monotonic() - started,
                error=str(err),
            )
            _emit(text, args.output)
        print(f"lmtriage: error: {err}", file=sys.stderr)
        if args.format != "prometheus":
            return _unknown(str(err))
        return st.UNKNOWN
    inv = payload["inventory"]
    verdict = st.evaluate(inv, warn, crit)
    who = payload["profile"] or payload["database"]
    if args.format == "nagios":
        _emit(st.status_line(inv, verdict, warn, crit, who=who) + "\n", args.output)
    elif args.format == "prometheus":
        text = render(
            profile=payload["profile"] or "default",
            inventory=inv,
            by_category=payload["by_category"],
            failed=payload["failed"],
            window_seconds=payload["window"].total_seconds(),
            duration_seconds=time.monotonic() - started,
        )
        _emit(text, args.output)
    else:
        oldest = inv.oldest
        record: dict[str, Any] = {
            "state": st.STATE_NAMES[verdict.state],
            "exit_code": verdict.state,
            "reasons": verdict.reasons,
            "profile": payload["profile"] or None,
            "database": payload["database"],
            "now": inv.now,
            "blocks": inv.total(),
            "domain_blocks": inv.total("domain"),
            "ip_blocks": inv.total("ip"),
            "by_stream": inv.by_stream(),
            "oldest_block": None
            if oldest is None
            else {
                "kind": oldest.kind,
                "block_id": oldest.block_id,
                "stream": oldest.stream,
                "domain": oldest.domain,
                "ip": oldest.ip,
                "blocking_mx": oldest.mx,
                "blocked_since": oldest.since,
                "age_seconds": int(oldest.age(inv.now).total_seconds()),
            },
            "blocks_by_category": [
                {"stream": s, "kind": k, "category": c, "blocks": n}
                for (s, k, c), n in sorted(payload["by_category"].items())
            ],
            "attempts_failed": dict(sorted(payload["failed"].items())),
            "window_seconds": int(payload["window"].total_seconds()),
        }
        _emit(dumps(record, indent=2) + "\n", args.output)
    return verdict.state


def _read(args: argparse.Namespace, *, detailed: bool) -> dict[str, Any]:
    """Everything the formats need, from one open core."""
    from tui.db.queries import find_stream
    from tui.ops.inventory import block_categories, failed_by_category, read_inventory

    core = open_core(args)
    try:
        window = window_of(args, core)
        with core.connect() as conn:
            stream = find_stream(core.schema, conn, args.stream) if args.stream else None
            sid = stream.id if stream else None
            inv = read_inventory(core, conn, sid)
            by_category: Counter = Counter()
            failed: Counter = Counter()
            if detailed:
                by_category = block_categories(core, conn, sid, since=core.now() - window)
                failed = failed_by_category(core, conn, sid, window=window)
        return {
            "inventory": inv,
            "by_category": by_category,
            "failed": failed,
            "window": window,
            "profile": core.config.profile,
            "database": core.display_url,
        }
    finally:
        core.close()
