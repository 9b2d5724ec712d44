"""``lmtriage audit``: the release history, one event in full, or undo of a release."""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import add_common_options, add_format_option, confirm, open_core
from tui.commands.output import dumps, emit
from tui.db.release import undo_release
from tui.errors import LmError, NotFoundError, ReadOnlyError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` parser."""
    p = sub.add_parser("audit", help="release history (and undo)", description=__doc__)
    add_common_options(p)
    p.add_argument("--limit", type=int, default=50, help="newest N events (default 50)")
    p.add_argument("--before", type=int, metavar="ID", help="events older than this id (paging)")
    p.add_argument("--event", type=int, metavar="ID", help="one event with every row it touched")
    p.add_argument(
        "--undo", type=int, metavar="ID", help="undo release event ID (re-insert its rows)"
    )
    p.add_argument("--yes", action="store_true", help="do not ask before an undo")
    add_format_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Show or undo."""
    if args.undo is not None:
        return _undo(args)
    from tui.commands.common import open_core as _open

    core = _open(args)
    store = core.audit
    if args.event is not None:
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
        head = event.to_json()
        head.pop("rows")
        for key, value in head.items():
            print(f"{key:14} {'' if value is None else value}")
        emit(rows, args.format, ["kind", "key", "outcome", "row"], max_width={"row": 120})
        return 0
    events = store.events_list(limit=max(1, args.limit), before_id=args.before)
    emit(
        [e.to_json() for e in events],
        args.format,
        [
            "id",
            "started_at",
            "action",
            "status",
            "os_user",
            "db_user",
            "client_host",
            "stream",
            "mode",
            "requested",
            "released",
            "already_gone",
            "failed",
            "undone_by",
            "error",
        ],
        headers=[
            "ID",
            "WHEN (UTC)",
            "ACTION",
            "STATUS",
            "OS USER",
            "DB USER",
            "HOST",
            "STREAM",
            "MODE",
            "ASKED",
            "RELEASED",
            "GONE",
            "FAILED",
            "UNDONE BY",
            "ERROR",
        ],
        max_width={"client_host": 30, "error": 50, "stream": 20},
        json_value=[{k: v for k, v in e.to_json().items() if k != "rows"} for e in events],
        empty_message=f"no audit events in {store.location}",
    )
    return 0


def _undo(args: argparse.Namespace) -> int:
    core = open_core(args)
    if core.read_only:
        raise ReadOnlyError(f"undo refused: writes are off ({core.read_only_reason})")
    event = core.audit.event(args.undo, with_rows=False)
    if event is None:
        raise NotFoundError(f"audit event {args.undo} does not exist", exit_code=1)
    if event.database != core.display_url:
        raise LmError(
            f"audit event {args.undo} was made on {event.database}, not on {core.display_url}",
            exit_code=1,
        )
    if not args.yes and not confirm(
        f"Undo audit event {args.undo} ({event.released} block(s) released)?"
    ):
        return 1
    result = undo_release(
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
