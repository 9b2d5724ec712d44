"""``lmtriage release``: release blocks by domain, by stream IP, or every block of a stream.

Without ``--yes`` it asks on the terminal, and refuses when there is none. Each release is one
transaction and one audit event; blocks that are already gone are reported, not errors.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import (
    add_common_options,
    add_format_option,
    add_stream_option,
    confirm,
    open_core,
)
from tui.commands.output import dumps, emit
from tui.config import RELEASE_MODES
from tui.db.queries import BlockFilter, find_stream, iter_blocks
from tui.db.release import BlockRef, refs_for_stream, release_blocks
from tui.errors import LmError, NotFoundError, ReadOnlyError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``release`` parser."""
    p = sub.add_parser("release", help="release blocks (audited)", description=__doc__)
    add_common_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--domain",
        action="append",
        metavar="D",
        help="every block of this receiving domain (repeatable)",
    )
    what.add_argument(
        "--ip",
        action="append",
        metavar="IP",
        help="every IP-pair block of this sending IP (repeatable)",
    )
    what.add_argument(
        "--all", action="store_true", help="every block of the stream (or of all streams)"
    )
    add_stream_option(p)
    p.add_argument(
        "--mode",
        choices=RELEASE_MODES,
        help="delete the block rows or set NextRetry to now (default: config, delete)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be released; change nothing"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_format_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Select, confirm, release, report."""
    core = open_core(args)
    if core.read_only and not args.dry_run:
        raise ReadOnlyError(f"release refused: writes are off ({core.read_only_reason})")
    mode = args.mode or core.config.release_mode
    refs: list[BlockRef] = []
    with core.connect() as conn:
        stream = find_stream(core.schema, conn, args.stream) if args.stream else None
        stream_id = stream.id if stream else None
        if args.all:
            refs = refs_for_stream(core.schema, conn, stream_id)
        else:
            wanted = [("domain", d.strip().lower()) for d in args.domain or []]
            wanted += [("ip", ip.strip()) for ip in args.ip or []]
            for what, value in wanted:
                found = []
                kinds = ("domain", "ip") if what == "domain" else ("ip",)
                for kind in kinds:
                    filt = BlockFilter(
                        kind,  # type: ignore[arg-type]
                        stream_id=stream_id,
                        domain=value if what == "domain" else None,
                        ip=value if what == "ip" else None,
                    )
                    found += [
                        BlockRef(b.key, b.identity)
                        for b in iter_blocks(core.schema, conn, filt, since=None)
                    ]
                if not found:
                    where = f" in stream {stream.name}" if stream else ""
                    raise NotFoundError(
                        f"no blocks for {'domain' if what == 'domain' else 'IP'} {value}{where}",
                        exit_code=1,
                    )
                refs += found
    refs = list(dict.fromkeys(refs))
    label = stream.name if stream else "all streams"
    if not refs:
        raise NotFoundError(f"no blocks to release in {label}", exit_code=1)
    n_domain = sum(1 for r in refs if r.key.kind == "domain")
    question = (
        f"Release {len(refs)} block(s) ({n_domain} domain, {len(refs) - n_domain} IP pair) "
        f"in {label} on {core.display_url}, mode {mode}?"
    )
    if not args.dry_run and not args.yes and not confirm(question):
        print("nothing released", file=sys.stderr)
        return 1
    result = release_blocks(
        core.schema,
        core.engine,
        core.audit if not args.dry_run else None,  # type: ignore[arg-type]
        core.audit_context(),
        refs,
        mode=mode,
        now=core.now(),
        stream_label=label,
        action="release-all" if args.all else "release",
        dry_run=args.dry_run,
        read_only=core.read_only,
    )
    by_key = {r.key: r for r in refs}
    rows = []
    for outcome, keys in (
        ("released" if not args.dry_run else "would release", result.released),
        ("already gone", result.gone),
        ("failed", result.failed),
    ):
        for key in keys:
            ident = by_key[key].identity
            rows.append(
                {
                    "outcome": outcome,
                    "block": str(key),
                    "stream_id": ident.stream_id,
                    "domain": ident.domain,
                    "ip": ident.ip,
                    "mx": ident.mx,
                }
            )
    if args.format == "json":
        sys.stdout.write(dumps(result.to_json(), indent=2) + "\n")
    else:
        emit(
            rows,
            args.format,
            ["outcome", "block", "stream_id", "domain", "ip", "mx"],
            headers=["OUTCOME", "BLOCK", "STREAM", "DOMAIN", "IP", "MX"],
        )
        if args.format == "table":
            audit = f" (audit event {result.event_id})" if result.event_id else ""
            print(result.summary() + audit)
    if result.error:
        raise LmError(f"release failed, nothing was released: {result.error}", exit_code=1)
    return 0
