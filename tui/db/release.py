"""Release blocks (and undo a release), each in one transaction, each audited.

A release names blocks by primary key *and* the identifying columns the user saw (stream,
domain, stream IP, blocking MX): a row whose key now holds a different block, or that is gone,
is reported as "already gone", never released. The rows are locked while they are read
(``FOR UPDATE`` on PostgreSQL, ``UPDLOCK`` on SQL Server, the write lock on SQLite), so two
consoles releasing the same blocks at once release each block once.

Modes: ``delete`` removes the block rows (ListManager's "Retry" on its pages); ``retry-now``
sets NextRetry to now and leaves the rows for the engine to re-probe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tui.db.audit import COMMITTED, FAILED, AuditContext, AuditRow, AuditStore
from tui.db.discover import BoundSchema
from tui.db.errors import describe_exception
from tui.db.queries import table_key
from tui.db.records import BlockIdentity, BlockKey, BlockKind
from tui.db.sqlfuncs import chunks
from tui.errors import LmError, ReadOnlyError

Progress = Callable[[int, int], None]

# The model columns that identify a block, per kind.
IDENTITY_COLUMNS: dict[BlockKind, tuple[str, ...]] = {
    "domain": ("MailStreamID", "Domain"),
    "ip": ("MailStreamID", "Domain", "IPAddress", "BlockingMX"),
}


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block to release: its key and what the user saw of it."""

    key: BlockKey
    identity: BlockIdentity


@dataclass(slots=True)
class ReleaseResult:
    """What a release did."""

    mode: str
    requested: int
    released: list[BlockKey] = field(default_factory=list)
    gone: list[BlockKey] = field(default_factory=list)
    failed: list[BlockKey] = field(default_factory=list)
    error: str | None = None
    event_id: int | None = None
    dry_run: bool = False
    rows: dict[BlockKey, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: released / already gone / failed."""
        verb = "would release" if self.dry_run else "released"
        text = (
            f"{verb} {len(self.released)}, already gone {len(self.gone)}, failed {len(self.failed)}"
        )
        if self.error:
            text += f" ({self.error})"
        return text

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields of ``lmtriage release``."""
        return {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "requested": self.requested,
            "released": [str(k) for k in self.released],
            "already_gone": [str(k) for k in self.gone],
            "failed": [str(k) for k in self.failed],
            "error": self.error,
            "audit_event": self.event_id,
        }


@dataclass(slots=True)
class UndoResult:
    """What an undo did."""

    event_id: int
    restored: list[str] = field(default_factory=list)
    came_back: list[str] = field(default_factory=list)
    error: str | None = None
    undo_event_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when every row was restored."""
        return self.error is None and not self.came_back

    def summary(self) -> str:
        """One line."""
        if self.came_back:
            return (
                f"undo refused: {len(self.came_back)} of the released blocks came back meanwhile "
                f"({', '.join(self.came_back[:5])})"
            )
        if self.error:
            return f"undo failed: {self.error}"
        return f"restored {len(self.restored)} block(s) from audit event {self.event_id}"


class _Physical:
    """Physical names of one block table (the full reflected table has every column)."""

    def __init__(self, schema: BoundSchema, kind: BlockKind) -> None:
        key = table_key(kind)
        self.kind = kind
        self.report = schema.discovery.tables[key]
        self.table: sa.Table = schema.full_tables[key]
        self.names = self.report.column_names
        self.pk = self.table.c[self.names["BlockID"]]

    def col(self, model_name: str) -> sa.Column[Any]:
        return self.table.c[self.names[model_name]]

    def value(self, row: dict[str, Any], model_name: str) -> Any:
        return row.get(self.names.get(model_name, model_name))

    def identity_of(self, row: dict[str, Any]) -> BlockIdentity:
        ip = self.value(row, "IPAddress") if self.kind == "ip" else None
        mx = self.value(row, "BlockingMX") if self.kind == "ip" else None
        return BlockIdentity(
            int(self.value(row, "MailStreamID")),
            str(self.value(row, "Domain") or ""),
            None if ip is None else str(ip).strip(),
            None if mx is None else str(mx).strip(),
        )


def _same(a: BlockIdentity, b: BlockIdentity) -> bool:
    return _identity_key(a) == _identity_key(b)


def _take_write_lock(conn: Connection, phys: _Physical) -> None:
    # SQLite: a write statement opens the write transaction, so a concurrent release waits
    # here until ours commits and then sees the rows gone.
    if conn.dialect.name == "sqlite":
        conn.execute(sa.delete(phys.table).where(sa.false()))


def _locked_select(conn: Connection, phys: _Physical, ids: Sequence[int]) -> list[dict[str, Any]]:
    # FOR UPDATE renders on PostgreSQL only; the hint on SQL Server only; SQLite holds the
    # write lock already (see _take_write_lock).
    stmt = (
        sa.select(phys.table)
        .where(phys.pk.in_(list(ids)))
        .with_for_update()
        .with_hint(phys.table, "WITH (UPDLOCK, ROWLOCK)", "mssql")
    )
    result = conn.execute(stmt)
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def _read_rows(
    conn: Connection, phys: _Physical, refs: Sequence[BlockRef]
) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for part in chunks([r.key.block_id for r in refs]):
        for row in _locked_select(conn, phys, part):
            found[int(row[phys.pk.name])] = row
    return found


def release_blocks(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    context: AuditContext,
    refs: Sequence[BlockRef],
    *,
    mode: str,
    now: datetime,
    stream_label: str | None = None,
    action: str = "release",
    dry_run: bool = False,
    read_only: bool = False,
    progress: Progress | None = None,
) -> ReleaseResult:
    """Release ``refs`` in one transaction and audit it; see the module docstring."""
    result = ReleaseResult(mode=mode, requested=len(refs), dry_run=dry_run)
    if read_only and not dry_run:
        raise ReadOnlyError("writes are off (read-only mode or the database user may not write)")
    by_kind: dict[BlockKind, list[BlockRef]] = {"domain": [], "ip": []}
    for ref in refs:
        by_kind[ref.key.kind].append(ref)
    total = len(refs)
    done = 0
    event_id: int | None = None
    try:
        with engine.connect() as conn:
            if mode == "delete" and not dry_run and _can_delete_returning(conn):
                event_id = _release_by_delete_returning(
                    conn,
                    schema,
                    audit,
                    context,
                    by_kind,
                    result,
                    action=action,
                    stream_label=stream_label,
                    requested=len(refs),
                    progress=progress,
                )
                raise _Done
            tx = conn.begin()
            try:
                to_release: dict[BlockKind, list[int]] = {"domain": [], "ip": []}
                audit_rows: list[AuditRow] = []
                for kind, kind_refs in by_kind.items():
                    if not kind_refs:
                        continue
                    phys = _Physical(schema, kind)
                    if not dry_run:
                        _take_write_lock(conn, phys)
                    rows = _read_rows(conn, phys, kind_refs)
                    for ref in kind_refs:
                        row = rows.get(ref.key.block_id)
                        if row is None or not _same(phys.identity_of(row), ref.identity):
                            result.gone.append(ref.key)
                            continue
                        to_release[kind].append(ref.key.block_id)
                        result.rows[ref.key] = row
                        audit_rows.append(
                            AuditRow(kind=kind, key=str(ref.key), row=row, outcome="released")
                        )
                if dry_run:
                    result.released = [BlockKey(k, i) for k, ids in to_release.items() for i in ids]
                    tx.rollback()
                    return result
                summary = (
                    json.dumps({"next_retry": now.isoformat()}) if mode == "retry-now" else None
                )
                event_id = audit.begin(
                    action,
                    context,
                    stream=stream_label,
                    mode=mode,
                    rows=audit_rows,
                    requested=len(refs),
                    summary=summary,
                )
                result.event_id = event_id
                for kind, ids in to_release.items():
                    if not ids:
                        continue
                    phys = _Physical(schema, kind)
                    for part in chunks(ids):
                        if mode == "retry-now":
                            stmt = (
                                sa.update(phys.table)
                                .where(phys.pk.in_(list(part)))
                                .values({phys.col("NextRetry"): now})
                            )
                        else:
                            stmt = sa.delete(phys.table).where(phys.pk.in_(list(part)))
                        changed = conn.execute(stmt).rowcount
                        if changed is not None and changed >= 0 and changed != len(part):
                            raise LmError(
                                f"{len(part) - changed} locked block row(s) changed during the "
                                "release; nothing was released"
                            )
                        result.released.extend(BlockKey(kind, i) for i in part)
                        done += len(part)
                        if progress:
                            progress(done + len(result.gone), total)
                tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
    except _Done:
        pass
    except Exception as err:  # noqa: BLE001 - recorded, then reported as one line
        message = str(err) if isinstance(err, LmError) else describe_exception(err)
        gone = set(result.gone)
        result.failed = [r.key for r in refs if r.key not in gone]
        result.released = []
        result.error = message
        if event_id is not None:
            try:
                audit.finish(
                    event_id,
                    FAILED,
                    failed=len(result.failed),
                    already_gone=len(result.gone),
                    error=message,
                )
            except Exception as audit_err:  # noqa: BLE001
                result.error = f"{message}; the audit could not record the failure: {describe_exception(audit_err)}"
        return result
    if event_id is not None:
        gone_rows = [AuditRow(kind=k.kind, key=str(k), row={}, outcome="gone") for k in result.gone]
        audit.finish(
            event_id,
            COMMITTED,
            released=len(result.released),
            already_gone=len(result.gone),
            extra_rows=gone_rows,
        )
    return result


class _Done(Exception):  # noqa: N818 - control flow, never escapes
    """The fast path finished: skip the locked-read path."""


class _ReusedIds(Exception):  # noqa: N818 - control flow, never escapes
    """Some block ids now hold other blocks: roll back and release without them."""

    def __init__(self, keys: list[BlockKey]) -> None:
        super().__init__(f"{len(keys)} reused block id(s)")
        self.keys = keys


def _can_delete_returning(conn: Connection) -> bool:
    # SQL Server's OUTPUT clause fails on tables with triggers, which ListManager's may have:
    # it keeps the locked read then delete.
    return conn.dialect.name in ("sqlite", "postgresql") and bool(
        getattr(conn.dialect, "delete_returning", False)
    )


def _release_by_delete_returning(
    conn: Connection,
    schema: BoundSchema,
    audit: AuditStore,
    context: AuditContext,
    by_kind: dict[BlockKind, list[BlockRef]],
    result: ReleaseResult,
    *,
    action: str,
    stream_label: str | None,
    requested: int,
    progress: Progress | None,
) -> int | None:
    """Delete by key with RETURNING: one pass reads and deletes each row.

    The returned rows are checked against what the user saw before anything commits; a
    reused id rolls the whole transaction back and the release runs again without it. The
    audit event (pending, with every deleted row) is written before the commit. Rows not
    returned were already gone (or deleted by a concurrent release that held their lock).
    """
    excluded: set[BlockKey] = set()
    for _attempt in range(3):
        tx = conn.begin()
        try:
            released: list[BlockKey] = []
            gone: list[BlockKey] = list(excluded)
            rows_by_key: dict[BlockKey, dict[str, Any]] = {}
            audit_rows: list[AuditRow] = []
            reused: list[BlockKey] = []
            done = 0
            for kind, kind_refs in by_kind.items():
                refs = [r for r in kind_refs if r.key not in excluded]
                if not refs:
                    continue
                phys = _Physical(schema, kind)
                wanted = {r.key.block_id: r for r in refs}
                seen: set[int] = set()
                for part in chunks(list(wanted)):
                    stmt = (
                        sa.delete(phys.table)
                        .where(phys.pk.in_(list(part)))
                        .returning(*phys.table.c)
                    )
                    returned = conn.execute(stmt)
                    names = list(returned.keys())
                    for values in returned:
                        row = dict(zip(names, values, strict=True))
                        block_id = int(row[phys.pk.name])
                        seen.add(block_id)
                        ref = wanted[block_id]
                        if not _same(phys.identity_of(row), ref.identity):
                            reused.append(ref.key)
                            continue
                        released.append(ref.key)
                        rows_by_key[ref.key] = row
                        audit_rows.append(
                            AuditRow(kind=kind, key=str(ref.key), row=row, outcome="released")
                        )
                    done += len(part)
                    if progress:
                        progress(done, requested)
                gone += [r.key for r in refs if r.key.block_id not in seen]
            if reused:
                raise _ReusedIds(reused)
            event_id = audit.begin(
                action,
                context,
                stream=stream_label,
                mode="delete",
                rows=audit_rows,
                requested=requested,
            )
            result.event_id = event_id
            try:
                tx.commit()
            except Exception as err:
                audit.finish(
                    event_id,
                    FAILED,
                    failed=len(released),
                    already_gone=len(gone),
                    error=describe_exception(err),
                )
                result.failed = released
                result.gone = gone
                result.error = describe_exception(err)
                return None
        except _ReusedIds as err:
            tx.rollback()
            excluded.update(err.keys)
            continue
        except BaseException as err:
            if tx.is_active:
                tx.rollback()
            if isinstance(err, Exception):
                result.event_id = _audit_failure(
                    audit, context, by_kind, action, stream_label, requested, err
                )
            raise
        result.released, result.gone, result.rows = released, gone, rows_by_key
        return event_id
    raise LmError("block ids kept changing during the release; nothing was released")


def _audit_failure(
    audit: AuditStore,
    context: AuditContext,
    by_kind: dict[BlockKind, list[BlockRef]],
    action: str,
    stream_label: str | None,
    requested: int,
    err: Exception,
) -> int | None:
    """Record a release that failed before its audit event was written (nothing changed)."""
    rows = [
        AuditRow(
            kind=ref.key.kind,
            key=str(ref.key),
            row={
                "stream_id": ref.identity.stream_id,
                "domain": ref.identity.domain,
                "ip": ref.identity.ip,
                "mx": ref.identity.mx,
            },
            outcome="released",
        )
        for refs in by_kind.values()
        for ref in refs
    ]
    message = str(err) if isinstance(err, LmError) else describe_exception(err)
    try:
        event_id = audit.begin(
            action, context, stream=stream_label, mode="delete", rows=rows, requested=requested
        )
        audit.finish(event_id, FAILED, failed=len(rows), error=message)
    except Exception:  # noqa: BLE001 - the release error is the one to report
        return None
    return event_id


def refs_for_stream(
    schema: BoundSchema, conn: Connection, stream_id: int | None, *, limit: int = 1_000_000
) -> list[BlockRef]:
    """Every block of a stream (or of every stream): the dashboard's release-all."""
    out: list[BlockRef] = []
    for kind in ("domain", "ip"):
        t = schema.t(table_key(kind))
        cols = [t.c.BlockID, t.c.MailStreamID, t.c.Domain]
        if kind == "ip":
            cols += [t.c.IPAddress, t.c.BlockingMX]
        stmt = sa.select(*cols).order_by(t.c.BlockID).limit(limit)
        if stream_id is not None:
            stmt = stmt.where(t.c.MailStreamID == stream_id)
        for r in conn.execute(stmt):
            identity = BlockIdentity(
                int(r[1]),
                str(r[2] or ""),
                str(r[3]).strip() if kind == "ip" and r[3] is not None else None,
                str(r[4]).strip() if kind == "ip" and r[4] is not None else None,
            )
            out.append(BlockRef(BlockKey(kind, int(r[0])), identity))
    return out


def undo_release(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    context: AuditContext,
    event_id: int,
    *,
    read_only: bool = False,
) -> UndoResult:
    """Put back the rows a release removed (or reset NextRetry), unless any came back."""
    if read_only:
        raise ReadOnlyError("writes are off (read-only mode or the database user may not write)")
    event = audit.event(event_id)
    if event is None:
        raise LmError(f"audit event {event_id} does not exist")
    result = UndoResult(event_id=event_id)
    if event.undone_by is not None:
        result.error = f"audit event {event_id} was already undone by event {event.undone_by}"
        return result
    if event.status != COMMITTED:
        result.error = (
            f"audit event {event_id} is {event.status}; only committed releases can be undone"
        )
        return result
    released = [r for r in event.rows if r.outcome == "released"]
    if not released:
        result.error = f"audit event {event_id} released nothing"
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
                    phys = _Physical(schema, kind)  # type: ignore[arg-type]
                    _take_write_lock(conn, phys)
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
                    undo_of=event_id,
                )
                for kind in ("domain", "ip"):
                    rows = [r for r in released if r.kind == kind]
                    if not rows:
                        continue
                    phys = _Physical(schema, kind)  # type: ignore[arg-type]
                    if event.mode == "retry-now":
                        for r in rows:
                            conn.execute(
                                sa.update(phys.table)
                                .where(phys.pk == int(phys.value(r.row, "BlockID")))
                                .values({phys.col("NextRetry"): phys.value(r.row, "NextRetry")})
                            )
                    else:
                        _insert_rows(conn, phys, [r.row for r in rows])
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
            audit.finish(undo_id, FAILED, failed=len(released), error=result.error)
        return result
    if undo_id is not None:
        audit.finish(
            undo_id,
            COMMITTED,
            released=len(result.restored),
        )
        audit.mark_undone(event_id, undo_id)
        result.undo_event_id = undo_id
    return result


def _identity_key(identity: BlockIdentity) -> tuple[int, str, str, str]:
    return (
        identity.stream_id,
        identity.domain.strip().lower(),
        identity.ip or "",
        identity.mx or "",
    )


def _came_back(conn: Connection, phys: _Physical, rows: list[AuditRow]) -> list[str]:
    """Keys of released rows whose block (same identity) or primary key exists again."""
    wanted = {_identity_key(phys.identity_of(r.row)): r.key for r in rows}
    ids = [int(phys.value(r.row, "BlockID")) for r in rows]
    back: set[str] = set()
    for part in chunks(ids):
        for (block_id,) in conn.execute(sa.select(phys.pk).where(phys.pk.in_(list(part)))):
            back.add(f"{phys.kind}:{int(block_id)}")
    domains = sorted({str(phys.value(r.row, "Domain") or "") for r in rows})
    cols = [phys.pk, phys.col("MailStreamID"), phys.col("Domain")]
    if phys.kind == "ip":
        cols += [phys.col("IPAddress"), phys.col("BlockingMX")]
    for part in chunks(domains):
        for r in conn.execute(sa.select(*cols).where(phys.col("Domain").in_(list(part)))):
            current = BlockIdentity(
                int(r[1]),
                str(r[2] or ""),
                str(r[3]).strip() if phys.kind == "ip" and r[3] is not None else None,
                str(r[4]).strip() if phys.kind == "ip" and r[4] is not None else None,
            )
            key = wanted.get(_identity_key(current))
            if key is not None:
                back.add(key)
    return sorted(back)


def _changed_since(
    conn: Connection, phys: _Physical, rows: list[AuditRow], summary: str | None
) -> list[str]:
    """retry-now undo: keys whose row is gone or whose NextRetry is no longer the value we set."""
    try:
        set_value = datetime.fromisoformat(json.loads(summary or "{}")["next_retry"])
    except (KeyError, ValueError, TypeError):
        return [r.key for r in rows]
    changed = []
    by_id = {int(phys.value(r.row, "BlockID")): r.key for r in rows}
    seen: dict[int, Any] = {}
    for part in chunks(list(by_id)):
        for block_id, next_retry in conn.execute(
            sa.select(phys.pk, phys.col("NextRetry")).where(phys.pk.in_(list(part)))
        ):
            seen[int(block_id)] = next_retry
    for block_id, key in by_id.items():
        value = seen.get(block_id, "missing")
        if value == "missing" or value is None or abs((value - set_value).total_seconds()) > 1:
            changed.append(key)
    return changed


def _insert_rows(conn: Connection, phys: _Physical, rows: list[dict[str, Any]]) -> None:
    """Re-insert rows exactly as audited (identity insert on SQL Server)."""
    valid = {c.name for c in phys.table.c}
    payload = [{k: v for k, v in row.items() if k in valid} for row in rows]
    identity = conn.dialect.name == "mssql" and phys.report.pk_is_identity
    name = conn.dialect.identifier_preparer.format_table(phys.table)
    if identity:
        conn.exec_driver_sql(f"SET IDENTITY_INSERT {name} ON")
    try:
        # ~10 columns a row: 100 rows a statement stays far below MSSQL's 2,100 parameters.
        for i in range(0, len(payload), 100):
            conn.execute(sa.insert(phys.table), payload[i : i + 100])
    finally:
        if identity:
            conn.exec_driver_sql(f"SET IDENTITY_INSERT {name} OFF")
