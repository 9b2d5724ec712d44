"""``lmtriage release``: release blocks by domain, by stream IP, or every block of a stream.

A domain is released with its domain row and every IP pair of that domain in the stream (the
domain stays blocked in practice while any pair stays); ``--domain-row-only`` releases the
domain row alone. ``--dry-run`` lists exactly the rows that would go, with their stream. Without
``--yes`` it asks on the terminal, and refuses when there is none. Each release is one
transaction and one audit event; blocks already gone, or changed since they were read, are
reported and left alone.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import (
    add_common_options,
    add_format_option,
    add_stream_option,
    block_key,
    confirm,
    open_core,
)
from tui.commands.output import dumps, emit
from tui.config import RELEASE_MODES
from tui.db.queries import find_stream
from tui.db.release import release_blocks
from tui.db.release_plan import WITH_DOMAIN, plan_for_cli
from tui.errors import LmError, NotFoundError, ReadOnlyError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``release`` parser."""
    p = sub.add_parser(
        "release",
        help="release blocks (audited)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--domain",
        action="append",
        metavar="D",
        help="this receiving domain: its domain row and its IP pairs (repeatable)",
    )
    what.add_argument(
        "--ip",
        action="append",
        metavar="IP",
        help="every IP-pair block of this sending IP (repeatable)",
    )
    what.add_argument(
        "--block",
        action="append",
        metavar="KIND:ID",
        help="exactly this block row, e.g. ip:204 or domain:101 (repeatable; a domain row "
        "goes with its IP pairs unless --domain-row-only)",
    )
    what.add_argument(
        "--all", action="store_true", help="every block of the stream (or of all streams)"
    )
    p.add_argument(
        "--domain-row-only",
        action="store_true",
        help="with --domain: release the domain row alone; its IP pairs stay blocked",
    )
    add_stream_option(p)
    p.add_argument(
        "--mode",
        choices=RELEASE_MODES,
        help="delete the block rows or set NextRetry to now (default: config, delete)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="list the rows that would go; change nothing"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_format_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Select, confirm, release, report."""
    if args.domain_row_only and not (args.domain or args.block):
        raise LmError("--domain-row-only goes with --domain or --block", exit_code=2)
    keys = [block_key(text) for text in args.block or ()]
    core = open_core(args)
    mode = args.mode or core.config.release_mode
    if not args.dry_run:
        if core.read_only:
            raise ReadOnlyError(f"release refused: writes are off ({core.read_only_reason})")
        gap = core.schema.discovery.privilege_gaps(f"release_{mode}")
        if gap:
            raise ReadOnlyError(f"release refused in mode {mode}: {gap}")
    with core.connect() as conn:
        stream = find_stream(core.schema, conn, args.stream) if args.stream else None
        label = stream.name if stream else "all streams"
        plan = plan_for_cli(
            core.schema,
            conn,
            domains=args.domain or (),
            ips=args.ip or (),
            keys=keys,
            everything=args.all,
            stream_id=stream.id if stream else None,
            stream_label=label,
            domain_rows_only=args.domain_row_only,
        )
    if not plan.rows:
        raise NotFoundError(f"no blocks to release in {label}", exit_code=1)
    label = plan.stream_label(stream.name if stream else None)
    if not args.dry_run and not args.yes:
        lines = [f"Release {plan.headline()}", f"  in {plan.scope} on {core.display_url}"]
        lines += [f"  {line}" for line in plan.domain_lines()]
        print("\n".join(lines), file=sys.stderr)
        if not confirm(f"Release these {len(plan.rows):,} block row(s), mode {mode}?"):
            print("nothing released", file=sys.stderr)
            return 1
    if core.audit is not None and not args.dry_run:
        _settle_pending(core)
    result = release_blocks(
        core.schema,
        core.engine,
        core.audit if not args.dry_run else None,
        core.audit_context(),
        plan.refs,
        mode=mode,
        now=core.now(),
        stream_label=label,
        action="release-all" if args.all else "release",
        dry_run=args.dry_run,
        read_only=core.read_only,
    )
    planned = {row.ref.key: row for row in plan.rows}
    rows = []
    for outcome, keys in (
        ("would release" if args.dry_run else "released", result.released),
        ("already gone", result.gone),
        ("changed (left alone)", result.changed),
        ("failed", result.failed),
    ):
        for key in keys:
            row = planned[key]
            ident = row.ref.identity
            rows.append(
                {
                    "outcome": outcome,
                    "block": str(key),
                    "stream": row.stream_name,
                    "domain": ident.domain,
                    "ip": ident.ip,
                    "mx": ident.mx,
                    "blocked_since": ident.since,
                    "why": "with its domain row" if row.why == WITH_DOMAIN else "chosen",
                }
            )
    if args.format == "json":
        payload = result.to_json()
        payload["plan"] = {
            "scope": plan.scope,
            "domain_rows_only": plan.domain_rows_only,
            "domain_rows": plan.count("domain"),
            "ip_pairs": plan.count("ip"),
            "ip_pairs_with_domain_row": len(plan.attached),
        }
        payload["rows"] = rows
        sys.stdout.write(dumps(payload, indent=2) + "\n")
    else:
        emit(
            rows,
            args.format,
            ["outcome", "block", "stream", "domain", "ip", "mx", "blocked_since", "why"],
            headers=["OUTCOME", "BLOCK", "STREAM", "DOMAIN", "IP", "MX", "SINCE", "WHY"],
            max_width={"stream": 20, "domain": 40},
        )
        if args.format == "table":
            audit = f" (audit event {result.event_id})" if result.event_id else ""
            print(result.summary() + audit)
            if args.dry_run:
                print(f"plan: {plan.headline()}")
    if result.audit_error:
        print(f"lmtriage: warning: audit incomplete: {result.audit_error}", file=sys.stderr)
    if result.error:
        raise LmError(f"release failed, nothing was released: {result.error}", exit_code=1)
    return 0


def _settle_pending(core) -> None:  # noqa: ANN001 - Core
    """Before writing, settle what an earlier run left pending (it may be undone later)."""
    from tui.db.reconcile import reconcile_pending

    for outcome in reconcile_pending(core.schema, core.engine, core.audit, core.display_url):
        if outcome.status != "pending":
            print(f"lmtriage: note: audit {outcome.line()}", file=sys.stderr)

