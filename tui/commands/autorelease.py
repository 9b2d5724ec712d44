"""``lmtriage autorelease --policy FILE``: release the blocks a policy allows, by their advice.

A dry run unless ``--apply``: it lists what a run would release and why every other candidate
is skipped. A block is released only when a rule matches it and its advice says *release now*
(a block whose advice says wait, or fix first, is never released), within the policy's caps.
Every run is audited (action ``autorelease-run``); an applied release is an ``autorelease``
event that ``lmtriage audit --undo`` undoes. ``--apply`` is refused on a read-only database.
Exit status: 0; 1 when the release failed or the run could not be audited; 2 for a bad policy
or option, or when ``--apply`` is refused (a read-only database or profile, a missing privilege).
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import add_common_options, add_format_option, open_core
from tui.commands.output import dumps, emit
from tui.errors import LmError
from tui.ops.autorelease import run_autorelease
from tui.ops.policy import load_policy

COLUMNS = ["outcome", "rule", "block", "stream", "domain", "ip", "blocking_mx", "advice", "reason"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``autorelease`` parser."""
    p = sub.add_parser(
        "autorelease",
        help="release blocks by a TOML policy (dry run unless --apply; audited)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(p)
    p.add_argument("--policy", required=True, metavar="FILE", help="the policy (TOML)")
    p.add_argument("--apply", action="store_true", help="release (default: a dry run)")
    add_format_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the policy, open the database, run."""
    policy = load_policy(args.policy)
    core = open_core(args)
    try:
        result = run_autorelease(core, policy, apply=args.apply)
    finally:
        core.close()
    if args.format == "json":
        sys.stdout.write(dumps(result.to_json(), indent=2) + "\n")
    else:
        emit(
            [d.to_json() for d in result.decisions],
            args.format,
            COLUMNS,
            headers=["OUTCOME", "RULE", "BLOCK", "STREAM", "DOMAIN", "IP", "MX", "ADVICE", "WHY"],
            max_width={"stream": 16, "domain": 32, "reason": 90, "rule": 16},
            empty_message="no block matches a rule of the policy",
        )
        if args.format == "table":
            event = f" (audit event {result.run_event})" if result.run_event else ""
            print(("dry run: " if result.dry_run else "") + result.summary() + event)
    if result.audit_error:
        print(f"lmtriage: warning: {result.audit_error}", file=sys.stderr)
    if result.result is not None and result.result.audit_error:
        print(f"lmtriage: warning: audit incomplete: {result.result.audit_error}", file=sys.stderr)
    if result.result is not None and result.result.error:
        raise LmError(f"autorelease failed, nothing was released: {result.result.error}", exit_code=1)
    return 1 if result.audit_error else 0
