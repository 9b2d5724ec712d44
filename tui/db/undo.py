"""Undo an audited write: put released block rows back (or NextRetry as it was), or put a
Domain Connection Limit back as it was; in one transaction, itself audited.

An undo is refused when what it would restore is no longer as the write left it: a released
block that came back meanwhile (same stream, domain, stream IP and MX; domains compared
case-insensitively, as SQL Server's collation does), a NextRetry someone changed, a
connection limit someone set again.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tui.db.audit import COMMITTED, FAILED, AuditContext, AuditEvent, AuditRow, AuditStore
from tui.db.block_rows import PhysicalBlocks
from tui.db.discover import BoundSchema
from tui.db.errors import describe_exception
from tui.db.records import BlockIdentity
from tui.db.sqlfuncs import chunks
from tui.errors import LmError, ReadOnlyError

RELEASE_ACTIONS = ("release", "release-all", "autorelease")


@dataclass(slots=True)
class UndoResult:
    """What an undo did."""

    event_id: int
    restored: list[str] = field(default_factory=list)
    came_back: list[str] = field(default_factory=list)
    error: str | None = None
    undo_event_id: int | None = None
    what: str = "block(s)"

    @property
    def ok(self) -> bool:
        """True when everything was restored."""
        return self.error is None and not self.came_back

    def summary(self) -> str:
        """One line."""
        if self.came_back:
            if self.what == "block(s)":
                return (
                    f"undo refused: {len(self.came_back)} of the released blocks came back "
                    f"meanwhile ({', '.join(self.came_back[:5])})"
                )
            return (
                f"undo refused: the {self.what} changed again meanwhile "
                f"({', '.join(self.came_back[:5])})"
            )
        if self.error:
            return f"undo failed: {self.error}"
        return f"restored {len(self.restored)} {self.what} from audit event {self.event_id}"


def undoable_reason(event: AuditEvent) -> str | None:
    """Why ``event`` cannot be undone, or None when it can."""
    if event.undone_by is not None:
        return f"audit event {event.id} was already undone by event {event.undone_by}"
    if event.action not in (*RELEASE_ACTIONS, "dcl"):
        return f"audit event {event.id} is an {event.action}; only releases and DCL changes undo"
    if event.status != COMMITTED:
        return f"audit event {event.id} is {event.status}; only committed changes can be undone"
    return None


def undo_event(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    context: AuditContext,
    event_id: int,
    *,
    read_only: bool = False,
) -> UndoResult:
    """Undo a release or a DCL change (see the module docstring)."""
    if read_only:
        raise ReadOnlyError("writes are off (read-only mode or the database user may not write)")
    event = audit.event(event_id)
    if event is None:
        raise LmError(f"audit event {event_id} does not exist")
    result = UndoResult(event_id=event_id)
    reason = undoable_reason(event)
    if reason:
        result.error = reason
        return result
    if event.action == "dcl":
        result.what = "connection limit(s)"
        return _undo_dcl(schema, engine, audit, context, event, result)
    if event.mode == "retry-now":
        # The rows never left: the undo puts their NextRetry back ("blocks came back" would
        # be wrong).
        result.what = "retry time(s)"
    return _undo_release(schema, engine, audit, context, event, result)


# Kept for callers of the first version.
undo_release = undo_event


def _undo_release(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    context: AuditContext,
    event: AuditEvent,
    result: UndoResult,
) -> UndoResult:
    released = [r for r in event.rows if r.recorded == "released"]
    if not released:
        result.error = f"audit event {event.id} released nothing"
        return result
    undo_id: int | None = None
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                for kind in ("domain", "ip"):
                    rows = [r for r in released if r.kind == kind]
                    if not rows:
                        continue
                    phys = PhysicalBlocks(schema, kind)  # type: ignore[arg-type]
                    phys.take_write_lock(conn)
                    if event.mode == "retry-now":
                        result.came_back += _changed_since(conn, phys, rows, event.summary)
                    else:
                        result.came_back += _came_back(conn, phys, rows)
                if result.came_back:
                    tx.rollback()
                    return result
                undo_id = audit.begin(
                    "undo",
                    context,
                    stream=event.stream,
                    mode=event.mode,
                    rows=[
                        AuditRow(kind=r.kind, key=r.key, row=r.row, outcome="restored")
                        for r in released
                    ],
                    requested=len(released),
                    undo_of=event.id,
                    touched=f"undo of event {event.id}: {event.touched or ''}".strip(),
                )
                for kind in ("domain", "ip"):
                    rows = [r for r in released if r.kind == kind]
                    if not rows:
                        continue
                    phys = PhysicalBlocks(schema, kind)  # type: ignore[arg-type]
                    if event.mode == "retry-now":
                        for r in rows:
                            conn.execute(
                                sa.update(phys.table)
                                .where(phys.pk == phys.block_id(r.row))
                                .values({phys.col("NextRetry"): phys.value(r.row, "NextRetry")})
                            )
                    else:
                        insert_rows(conn, phys, [r.row for r in rows])
                    result.restored += [r.key for r in rows]
                tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
    except Exception as err:  # noqa: BLE001
        result.error = str(err) if isinstance(err, LmError) else describe_exception(err)
        result.restored = []
        if undo_id is not None:
            _finish_quietly(audit, undo_id, FAILED, failed=len(released), error=result.error)
        return result
    if undo_id is not None:
        _finish_quietly(audit, undo_id, COMMITTED, released=len(result.restored))
        audit.mark_undone(event.id, undo_id)
        result.undo_event_id = undo_id
    return result


def _finish_quietly(audit: AuditStore, event_id: int, status: str, **counts: Any) -> None:
    # A pending undo is settled by reconciliation later.
    with contextlib.suppress(Exception):
        audit.finish(event_id, status, **counts)


def _came_back(conn: Connection, phys: PhysicalBlocks, rows: list[AuditRow]) -> list[str]:
    """Keys of released rows whose block (same pair, any BlockedSince) or key exists again.

    Domains are compared in lower case on both sides, in SQL too: on a case-sensitive
    database a block that came back as ``Yahoo.com`` must still count as ``yahoo.com``.
    """
    wanted: dict[tuple[int, str, str, str], str] = {
        phys.identity_of(r.row).pair_key(): r.key for r in rows
    }
    ids = [phys.block_id(r.row) for r in rows]
    back: set[str] = set()
    for part in chunks(ids):
        for (block_id,) in conn.execute(sa.select(phys.pk).where(phys.pk.in_(list(part)))):
            back.add(f"{phys.kind}:{int(block_id)}")
    domains = sorted({str(phys.value(r.row, "Domain") or "").strip().lower() for r in rows})
    cols = [phys.pk, phys.col("MailStreamID"), phys.col("Domain")]
    if phys.kind == "ip":
        cols += [phys.col("IPAddress"), phys.col("BlockingMX")]
    for part in chunks(domains):
        stmt = sa.select(*cols).where(sa.func.lower(phys.col("Domain")).in_(list(part)))
        for r in conn.execute(stmt):
            current = BlockIdentity(
                int(r[1]),
                str(r[2] or ""),
                str(r[3]).strip() if phys.kind == "ip" and r[3] is not None else None,
                str(r[4]).strip() if phys.kind == "ip" and r[4] is not None else None,
            )
            key = wanted.get(current.pair_key())
            if key is not None:
                back.add(key)
    return sorted(back)


def _changed_since(
    conn: Connection, phys: PhysicalBlocks, rows: list[AuditRow], summary: str | None
) -> list[str]:
    """retry-now undo: keys whose row is gone or whose NextRetry is no longer the value set."""
    try:
        set_value = datetime.fromisoformat(json.loads(summary or "{}")["next_retry"])
    except (KeyError, ValueError, TypeError):
        return [r.key for r in rows]
    by_id = {phys.block_id(r.row): r.key for r in rows}
    seen: dict[int, Any] = {}
    for part in chunks(list(by_id)):
        for block_id, next_retry in conn.execute(
            sa.select(phys.pk, phys.col("NextRetry")).where(phys.pk.in_(list(part)))
        ):
            seen[int(block_id)] = next_retry
    changed = []
    for block_id, key in by_id.items():
        value = seen.get(block_id, "missing")
        if (
            value == "missing"
            or not isinstance(value, datetime)
            or abs((value - set_value).total_seconds()) > 1
        ):
            changed.append(key)
    return changed


def insert_rows(conn: Connection, phys: PhysicalBlocks, rows: list[dict[str, Any]]) -> None:
    """Re-insert rows exactly as audited, with their original keys.

    An identity key needs leave to take a given value: ``SET IDENTITY_INSERT`` on SQL Server,
    ``OVERRIDING SYSTEM VALUE`` on PostgreSQL (a ``GENERATED ALWAYS`` column refuses it
    otherwise).
    """
    valid = {c.name for c in phys.table.c}
    payload = [{k: v for k, v in row.items() if k in valid} for row in rows]
    if not payload:
        return
    dialect = conn.dialect.name
    identity = phys.report.pk_is_identity
    name = conn.dialect.identifier_preparer.format_table(phys.table)
    if dialect == "postgresql" and identity:
        columns = list(payload[0])
        compiled = sa.insert(phys.table).compile(dialect=conn.dialect, column_keys=columns)
        sql = str(compiled)
        marker = ") VALUES ("
        if marker not in sql:  # pragma: no cover - the insert always has a column list
            raise LmError("cannot build the undo statement for an identity column")
        sql = sql.replace(marker, ") OVERRIDING SYSTEM VALUE VALUES (", 1)
        params = [compiled.construct_params(row) for row in payload]
        for i in range(0, len(params), 100):
            conn.exec_driver_sql(sql, params[i : i + 100])  # type: ignore[arg-type]
        return
    mssql_identity = dialect == "mssql" and identity
    if mssql_identity:
        conn.exec_driver_sql(f"SET IDENTITY_INSERT {name} ON")
    try:
        # ~10 columns a row: 100 rows a statement stays far below MSSQL's 2,100 parameters.
        for i in range(0, len(payload), 100):
            conn.execute(sa.insert(phys.table), payload[i : i + 100])
    finally:
        if mssql_identity:
            conn.exec_driver_sql(f"SET IDENTITY_INSERT {name} OFF")


# --------------------------------------------------------------------------- DCL


def _undo_dcl(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    context: AuditContext,
    event: AuditEvent,
    result: UndoResult,
) -> UndoResult:
    from tui.db.connection_limits import dcl_table, limit_values, row_for_domain

    before = next((r for r in event.rows if r.kind == "dcl" and r.recorded == "set"), None)
    after = next((r for r in event.rows if r.kind == "dcl" and r.recorded == "after"), None)
    if before is None or after is None:
        result.error = (
            f"audit event {event.id} was recorded without the limit it set (an older version); "
            "set the old limit by hand with lmtriage dcl"
        )
        return result
    domain = before.key
    undo_id: int | None = None
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                table, names = dcl_table(schema)
                current = row_for_domain(conn, table, names, domain, lock=True)
                if current is None or limit_values(current, names) != limit_values(
                    after.row, names
                ):
                    result.came_back = [domain]
                    tx.rollback()
                    return result
                undo_id = audit.begin(
                    "undo",
                    context,
                    stream=None,
                    mode=event.mode,
                    rows=[AuditRow(kind="dcl", key=domain, row=current, outcome="set")]
                    + [AuditRow(kind="dcl", key=domain, row=before.row, outcome="after")],
                    requested=1,
                    undo_of=event.id,
                    touched=f"undo of event {event.id}: connection limit of {domain}",
                )
                where = sa.func.lower(table.c[names["Domain_"]]) == domain
                if not before.row:  # the domain had no row: the change inserted one
                    conn.execute(sa.delete(table).where(where))
                else:
                    values = {
                        names[m]: before.row.get(names[m])
                        for m in ("ConnectionLimit_", "ConnPerHour_", "MaxMsgPerConn_")
                        if m in names
                    }
                    conn.execute(sa.update(table).where(where).values(**values))
                tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
    except Exception as err:  # noqa: BLE001
        result.error = str(err) if isinstance(err, LmError) else describe_exception(err)
        if undo_id is not None:
            _finish_quietly(audit, undo_id, FAILED, failed=1, error=result.error)
        return result
    if undo_id is not None:
        _finish_quietly(audit, undo_id, COMMITTED, released=1)
        audit.mark_undone(event.id, undo_id)
        result.undo_event_id = undo_id
        result.restored = [domain]
    return result
