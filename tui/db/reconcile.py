"""Settle audit events left *pending*: a write whose process died, or whose audit could not be
completed after the database committed (audit file locked, disk full, kill -9 during COMMIT).

The rows tell what happened. A pending release whose rows are all gone committed; one whose
rows are all still there (the very rows: same key, same identity) did not; anything between is
*unknown* and never undoable, with a note that says what was found. Retry-now releases are
judged by NextRetry, connection-limit changes by the limits, undos by the rows they restored.
A settled event keeps its rows, so a committed one stays undoable.

An event still being written is left alone: its process is alive on this host, or (made on
another host) it is younger than :data:`IN_PROGRESS_GRACE`.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from tui.db.audit import (
    COMMITTED,
    FAILED,
    PENDING,
    UNKNOWN,
    AuditEvent,
    AuditRow,
    AuditStore,
    _utcnow,
    is_open_here,
)
from tui.db.block_rows import PhysicalBlocks
from tui.db.discover import BoundSchema
from tui.db.errors import describe_exception
from tui.db.undo import RELEASE_ACTIONS

IN_PROGRESS_GRACE = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    """What reconciliation found for one pending event."""

    event_id: int
    status: str  # committed, failed, unknown, or pending (left alone: still in progress)
    note: str

    def line(self) -> str:
        """``event 12: committed (none of the 3 rows exist …)``."""
        return f"event {self.event_id}: {self.status} ({self.note})"


def _process_alive(pid: int | None) -> bool:
    """True when ``pid`` is a live lmtriage process on this host."""
    if not pid or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's: assume it may be ours
    except OSError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return True  # no /proc: alive is all we know
    return "lmtriage" in text or "tui" in text


def in_progress(event: AuditEvent, location: str, *, now: datetime | None = None) -> bool:
    """Whether a pending event may still be being written by its process."""
    if event.host_name == socket.gethostname():
        if event.pid == os.getpid():
            return is_open_here(location, event.id)
        return _process_alive(event.pid)
    now = now or _utcnow()
    return now - event.started_at < IN_PROGRESS_GRACE


def pending_events(audit: AuditStore, database: str, *, limit: int = 1000) -> list[AuditEvent]:
    """Pending events made on ``database`` (its display URL), oldest first."""
    events = audit.events_list(limit=limit, databases=[database], status=PENDING)
    return sorted(events, key=lambda e: e.id)


def reconcile_pending(
    schema: BoundSchema, engine: Engine, audit: AuditStore, database: str
) -> list[ReconcileOutcome]:
    """Settle every pending event made on ``database`` that is not still in progress."""
    out = []
    for event in pending_events(audit, database):
        out.append(reconcile_event(schema, engine, audit, event.id))
    return out


def reconcile_event(
    schema: BoundSchema, engine: Engine, audit: AuditStore, event_id: int, *, force: bool = False
) -> ReconcileOutcome:
    """Settle one pending event by looking at the rows (``force``: even if it looks in
    progress, as the process that wrote it does after a failed COMMIT)."""
    event = audit.event(event_id)
    if event is None:
        return ReconcileOutcome(event_id, UNKNOWN, "no such audit event")
    if event.status != PENDING:
        return ReconcileOutcome(event_id, event.status, "already settled")
    if not force and in_progress(event, audit.location):
        return ReconcileOutcome(event_id, PENDING, "still being written by its process")
    try:
        with engine.connect() as conn:
            status, note, counts = _judge(schema, conn, event)
            conn.rollback()
    except Exception as err:  # noqa: BLE001 - reported; the event stays pending
        return ReconcileOutcome(
            event_id, PENDING, f"could not read the rows: {describe_exception(err)}"
        )
    stamp = f"settled by reconciliation at {_utcnow():%Y-%m-%d %H:%M:%S} UTC: {note}"
    audit.finish(
        event.id,
        status,
        released=counts.get("done", 0),
        failed=counts.get("not_done", 0),
        error=None if status == COMMITTED else event.error,
        note=stamp,
    )
    if status == COMMITTED and event.action == "undo" and event.undo_of is not None:
        audit.mark_undone(event.undo_of, event.id)
    return ReconcileOutcome(event.id, status, note)


def _judge(
    schema: BoundSchema, conn: Connection, event: AuditEvent
) -> tuple[str, str, dict[str, int]]:
    """(status, note, counts) from the rows as they are now."""
    if event.action == "dcl" or (
        event.action == "undo" and any(r.kind == "dcl" for r in event.rows)
    ):
        return _judge_dcl(schema, conn, event)
    wanted = "restored" if event.action == "undo" else "released"
    rows = [r for r in event.rows if (r.recorded or r.outcome) == wanted]
    if event.action not in (*RELEASE_ACTIONS, "undo"):
        return UNKNOWN, f"an event of kind {event.action} cannot be reconciled", {}
    if not rows:
        return FAILED, "the event names no rows: nothing was changed", {}
    done = 0
    for kind in ("domain", "ip"):
        kind_rows = [r for r in rows if r.kind == kind]
        if kind_rows:
            done += _rows_done(schema, conn, event, kind, kind_rows)
    total = len(rows)
    verb = {"undo": "restored", "retry-now": "set to retry now"}.get(
        "undo" if event.action == "undo" else (event.mode or "delete"), "released"
    )
    counts = {"done": done, "not_done": total - done}
    if done == total:
        return COMMITTED, f"all {total} row(s) are {verb}: the write committed", counts
    if done == 0:
        return FAILED, f"none of the {total} row(s) is {verb}: the write did not commit", counts
    return (
        UNKNOWN,
        f"{done} of {total} row(s) are {verb} and {total - done} are not; something else "
        "changed them since, so this event is not undoable",
        counts,
    )


def _rows_done(
    schema: BoundSchema, conn: Connection, event: AuditEvent, kind: str, rows: list[AuditRow]
) -> int:
    """How many of ``rows`` are as the write would leave them."""
    phys = PhysicalBlocks(schema, kind)  # type: ignore[arg-type]
    by_id = {phys.block_id(r.row): r for r in rows}
    current = phys.read(conn, list(by_id), lock=False)
    if event.action == "undo" and event.mode == "retry-now":
        # Restored: NextRetry is back to the audited value.
        column = phys.names.get("NextRetry", "NextRetry")
        return sum(
            1
            for block_id, r in by_id.items()
            if block_id in current and current[block_id].get(column) == r.row.get(column)
        )
    if event.action == "undo":
        # Restored: the very row is there again.
        return sum(
            1
            for block_id, r in by_id.items()
            if block_id in current
            and phys.identity_of(current[block_id]).same_block(phys.identity_of(r.row))
        )
    if event.mode == "retry-now":
        try:
            set_value = datetime.fromisoformat(json.loads(event.summary or "{}")["next_retry"])
        except (KeyError, ValueError, TypeError):
            return 0
        done = 0
        for block_id in by_id:
            value = current.get(block_id, {}).get(phys.names.get("NextRetry", "NextRetry"))
            if isinstance(value, datetime) and abs((value - set_value).total_seconds()) <= 1:
                done += 1
        return done
    # Deleted: the very row (same key and identity) is no longer there.
    return sum(
        1
        for block_id, r in by_id.items()
        if block_id not in current
        or not phys.identity_of(current[block_id]).same_block(phys.identity_of(r.row))
    )


def _judge_dcl(
    schema: BoundSchema, conn: Connection, event: AuditEvent
) -> tuple[str, str, dict[str, int]]:
    from tui.db.connection_limits import dcl_table, limit_values, row_for_domain

    before = next((r for r in event.rows if (r.recorded or r.outcome) == "set"), None)
    after = next((r for r in event.rows if (r.recorded or r.outcome) == "after"), None)
    if before is None or after is None:
        return FAILED, "the event names no limit: nothing was changed", {}
    table, names = dcl_table(schema)
    current: dict[str, Any] | None = row_for_domain(conn, table, names, before.key)

    def values(row: dict[str, Any] | None) -> tuple[Any, ...] | None:
        return None if not row else limit_values(row, names)

    now, was, goal = values(current), values(before.row), values(after.row)
    if now == goal:
        return COMMITTED, f"the connection limit of {before.key} is as the change set it", {
            "done": 1
        }
    if now == was:
        return FAILED, f"the connection limit of {before.key} is as it was before", {
            "not_done": 1
        }
    return (
        UNKNOWN,
        f"the connection limit of {before.key} is neither as before nor as set: changed since",
        {},
    )
