"""``lmtriage dcl``: show or set a receiving domain's Domain Connection Limit (audited).

Without ``--limit`` it shows the current limit (ListManager's default is 10 connections per
MX when the domain has no row). With ``--limit`` it asks on the terminal unless ``--yes``.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import add_common_options, add_format_option, confirm, open_core
from tui.commands.output import dumps
from tui.db.connection_limits import get_limit, set_limit
from tui.errors import ReadOnlyError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``dcl`` parser."""
    p = sub.add_parser(
        "dcl", help="show or set a Domain Connection Limit (audited)", description=__doc__
    )
    add_common_options(p)
    p.add_argument("--domain", required=True, help="receiving domain, e.g. yahoo.com")
    p.add_argument("--limit", type=int, metavar="N", help="connections per MX (1-1000)")
    p.add_argument("--per-hour", type=int, metavar="N", help="connections an hour (ConnPerHour_)")
    p.add_argument(
        "--per-connection", type=int, metavar="N", help="messages per connection (MaxMsgPerConn_)"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_format_option(p, ("table", "json"), why_not="no CSV: one record; JSON has every field")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Show, or confirm and set."""
    from tui.domains import domain_name

    domain = domain_name(args.domain, "--domain")
    core = open_core(args)
    with core.connect() as conn:
        current = get_limit(core.schema, conn, domain)
    if args.limit is None:
        if args.per_hour is not None or args.per_connection is not None:
            from tui.errors import LmError

            raise LmError("--per-hour and --per-connection need --limit", exit_code=2)
        if args.format == "json":
            sys.stdout.write(dumps(current.to_json(), indent=2) + "\n")
        else:
            print(f"{domain}: {current.describe()}")
        return 0
    if core.read_only:
        raise ReadOnlyError(f"dcl refused: writes are off ({core.read_only_reason})")
    gap = core.schema.discovery.privilege_gaps("dcl")
    if gap:
        raise ReadOnlyError(f"dcl refused: {gap}")
    question = (
        f"Set the connection limit of {domain} on {core.display_url} to {args.limit} per MX"
        + (f", {args.per_hour} connections an hour" if args.per_hour else "")
        + (f", {args.per_connection} per connection" if args.per_connection else "")
        + f" (now {current.describe()})?"
    )
    if not args.yes and not confirm(question):
        print("nothing changed", file=sys.stderr)
        return 1
    change = set_limit(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        domain,
        limit=args.limit,
        per_hour=args.per_hour,
        per_connection=args.per_connection,
        read_only=core.read_only,
    )
    if args.format == "json":
        payload = {
            "before": change.before.to_json(),
            "after": change.after.to_json(),
            "audit_event": change.event_id,
        }
        sys.stdout.write(dumps(payload, indent=2) + "\n")
    else:
        print(
            f"{domain}: {change.before.describe()} -> {change.after.describe()} (audit event {change.event_id})"
        )
    if change.audit_error:
        print(f"lmtriage: warning: audit incomplete: {change.audit_error}", file=sys.stderr)
    return 0
