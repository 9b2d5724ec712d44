"""``lmtriage allowlist-request``: a ready-to-send request to a blocking domain's postmaster.

The text lists the stream's sending IPs, the receiver's replies as evidence (merged by
signature, with counts and dates), what has been done about the diagnosed cause, and the
sender's contact from the config file's ``[sender]`` table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.commands.common import add_common_options, add_stream_option, open_core
from tui.errors import LmError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``allowlist-request`` parser."""
    p = sub.add_parser(
        "allowlist-request",
        help="write an allowlist request for a blocking domain",
        description=__doc__,
        epilog="There is no --format: the request is a letter, printed as plain text.",
    )
    add_common_options(p)
    p.add_argument("--domain", required=True, help="the blocking receiving domain")
    add_stream_option(p, "the stream whose IPs to list (default: all streams)")
    p.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE instead of standard output"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the request."""
    from tui.db.queries import find_stream
    from tui.triage.block_advice import allowlist_text

    core = open_core(args)
    domain = args.domain.strip().lower()
    with core.connect() as conn:
        stream = find_stream(core.schema, conn, args.stream) if args.stream else None
        text = allowlist_text(core, conn, domain, stream)
    if args.output:
        try:
            Path(args.output).expanduser().write_text(text + "\n", encoding="utf-8")
        except OSError as err:
            raise LmError(f"cannot write {args.output}: {err.strerror or err}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text + "\n")
    return 0
