"""``lmtriage audit``: the write history, one event in full, undo, and reconciliation.

The history lists every event (release, undo, connection-limit change) with what it touched,
on which database, and whether it was undone; ``--db`` shows only the events of that database.
``--reconcile`` settles events left *pending* (a process killed during its write, an audit
file that could not be written after the database committed) by looking at the rows; it also
runs by itself before every release and when the console starts.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import (
    add_common_options,
    add_format_option,
    config_from_args,
    confirm,
    open_core,
)
from tui.commands.output import dumps, emit
from tui.errors import LmError, NotFoundError, ReadOnlyError

COLUMNS = [
    "id",
    "started_at",
    "action",
    "status",
    "database",
    "stream",
    "touched",
    "released",
    "already_gone",
    "failed",
    "undo_of",
    "undone_by",
    "os_user",
    "note",
]
HEADERS = [
    "ID",
    "WHEN (UTC)",
    "ACTION",
    "STATUS",
    "DATABASE",
    "STREAM",
    "TOUCHED",
    "DONE",
    "GONE",
    "FAILED",
    "UNDO OF",
    "UNDONE BY",
    "OS USER",
    "NOTE / ERROR",
]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` parser."""
    p = sub.add_parser(
        "audit",
        help="write history, undo, reconciliation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(p)
    p.add_argument("--limit", type=int, default=50, metavar="N", help="newest N events (default 50)")
    p.add_argument("--before", type=int, metavar="ID", help="events older than this id (paging)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--event", type=int, metavar="ID", help="one event with every row it touched")
    what.add_argument(
        "--undo", type=int, metavar="ID", help="undo event ID (a release or a DCL change)"
    )
    what.add_argument(
        "--reconcile",
        action="store_true",
        help="settle pending events of the database by looking at the rows",
    )
    p.add_argument("--yes", action="store_true", help="do not ask before an undo")
    add_format_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Show, undo or reconcile."""
    if args.undo is not None:
        return _undo(args)
    if args.reconcile:
        return _reconcile(args)
    from tui.core import display_url_of, open_audit_store

    config = config_from_args(args)
    store = (
        open_core(args, config=config).audit
        if config.audit_in_database
        else open_audit_store(config)
    )
    if args.event is not None:
        return _one_event(store, args)
    databases = None
    if getattr(args, "db", None) or config.profile:
        shown = display_url_of(config)
        databases = [shown, f"DEMO {shown}"] if shown else None
    events = store.events_list(limit=args.limit, before_id=args.before, databases=databases)
    records = []
    for e in events:
        record = e.to_json()
        record.pop("rows")
        record["note"] = " ".join(x for x in (e.note, e.error) if x) or None
        records.append(record)
    where = f" for {databases[0]}" if databases else ""
    emit(
        records,
        args.format,
        COLUMNS,
        headers=HEADERS,
        max_width={"database": 36, "touched": 60, "stream": 20, "note": 60},
        empty_message=f"no audit events{where} in {store.location}",
    )
    return 0


def _one_event(store, args: argparse.Namespace) -> int:  # noqa: ANN001 - AuditStore
    event = store.event(args.event)
    if event is None:
        raise NotFoundError(
            f"audit event {args.event} does not exist in {store.location}", exit_code=1
        )
    if args.format == "json":
        sys.stdout.write(dumps(event.to_json(), indent=2) + "\n")
        return 0
    rows = [
        {"kind": r.kind, "key": r.key, "outcome": r.outcome, "row": dumps(r.row)}
        for r in event.rows
    ]
    if args.format == "table":
        head = event.to_json()
        head.pop("rows")
        from tui.textsafe import printable

        for key, value in head.items():
            print(printable(f"{key:14} {'' if value is None else value}", max_chars=400))
    emit(rows, args.format, ["kind", "key", "outcome", "row"], max_width={"row": 120})
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from tui.db.reconcile import reconcile_pending

    core = open_core(args)
    outcomes = reconcile_pending(core.schema, core.engine, core.audit, core.display_url)
    if args.format == "json":
        payload = [{"event": o.event_id, "status": o.status, "note": o.note} for o in outcomes]
        sys.stdout.write(dumps(payload, indent=2) + "\n")
        return 0
    if not outcomes:
        print(f"no pending audit events for {core.display_url}")
    from tui.textsafe import printable

    for outcome in outcomes:
        print(printable(outcome.line(), max_chars=400))
    return 0


def _undo(args: argparse.Namespace) -> int:
    from tui.db.undo import undo_event, undoable_reason

    core = open_core(args)
    if core.read_only:
        raise ReadOnlyError(f"undo refused: writes are off ({core.read_only_reason})")
    event = core.audit.event(args.undo)
    if event is None:
        raise NotFoundError(f"audit event {args.undo} does not exist", exit_code=1)
    if event.database != core.display_url:
        raise LmError(
            f"audit event {args.undo} was made on {event.database}, not on {core.display_url}",
            exit_code=1,
        )
    reason = undoable_reason(event)
    if reason:
        raise LmError(f"undo refused: {reason}", exit_code=1)
    operation = "dcl" if event.action == "dcl" else f"undo_{event.mode or 'delete'}"
    gap = core.schema.discovery.privilege_gaps(operation)
    if gap:
        raise ReadOnlyError(f"undo refused: {gap}")
    from tui.textsafe import printable

    what = printable(event.touched or f"{event.released} row(s)", max_chars=200)
    if not args.yes and not confirm(f"Undo audit event {args.undo} ({event.action}: {what})?"):
        return 1
    result = undo_event(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        args.undo,
        read_only=core.read_only,
    )
    if args.format == "json":
        sys.stdout.write(
            dumps(
                {
                    "event": args.undo,
                    "restored": result.restored,
                    "came_back": result.came_back,
                    "error": result.error,
                    "undo_event": result.undo_event_id,
                },
                indent=2,
            )
            + "\n"
        )
    else:
        print(result.summary())
    return 0 if result.ok else 1
