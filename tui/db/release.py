"""Carry out a release: exactly the rows of a plan, in one transaction, audited.

Each block is named by primary key *and* the identity the user saw (stream, domain, stream IP,
blocking MX, BlockedSince). A row that is gone is reported "already gone"; a row whose key now
holds a different block, or the same pair blocked again since it was marked, is reported
"changed" and left alone. The rows are locked while they are read (``FOR UPDATE`` on
PostgreSQL, ``UPDLOCK`` on SQL Server, the write lock on SQLite; a dry run reads without
locks), so two consoles releasing the same blocks at once release each block once.

The audit brackets the transaction: a *pending* event with a full copy of every row is written
before the commit, then marked *committed* or *failed*. If the commit happened but marking it
failed (audit file locked, disk full, process killed), the release is still reported as
released, with "audit incomplete"; :mod:`tui.db.reconcile` settles such pending events later by
looking at the rows. A commit whose outcome is unknown (the connection broke during COMMIT) is
settled the same way at once. A release that fails before its event was written still gets a
*failed* event.

Modes: ``delete`` removes the block rows (ListManager's "Retry" on its pages); ``retry-now``
sets NextRetry to now and leaves the rows for the engine to re-probe. What a release of a
*domain* takes (its domain row and IP pairs) is decided in :mod:`tui.db.release_plan`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tui.db.audit import COMMITTED, FAILED, AuditContext, AuditRow, AuditStore
from tui.db.block_rows import PhysicalBlocks
from tui.db.discover import BoundSchema
from tui.db.errors import describe_exception
from tui.db.records import BlockKey, BlockKind
from tui.db.release_plan import BlockRef
from tui.db.sqlfuncs import chunks
from tui.db.undo import UndoResult, undo_release
from tui.errors import LmError, ReadOnlyError

Progress = Callable[[int, int], None]

__all__ = [
    "BlockRef",
    "ReleaseResult",
    "UndoResult",
    "release_blocks",
    "touched_text",
    "undo_release",
]


@dataclass(slots=True)
class ReleaseResult:
    """What a release did."""

    mode: str
    requested: int
    released: list[BlockKey] = field(default_factory=list)
    gone: list[BlockKey] = field(default_factory=list)
    changed: list[BlockKey] = field(default_factory=list)
    failed: list[BlockKey] = field(default_factory=list)
    error: str | None = None
    event_id: int | None = None
    dry_run: bool = False
    rows: dict[BlockKey, dict[str, Any]] = field(default_factory=dict)
    # Set when the rows were released (committed) but the audit could not be completed.
    audit_error: str | None = None

    @property
    def audit_complete(self) -> bool:
        """False when the release committed but its audit event stayed pending."""
        return self.audit_error is None

    def summary(self) -> str:
        """One line: released / already gone / changed / failed (and an incomplete audit)."""
        verb = "would release" if self.dry_run else "released"
        text = f"{verb} {len(self.released)}, already gone {len(self.gone)}"
        if self.changed:
            text += f", changed since chosen {len(self.changed)} (left alone)"
        text += f", failed {len(self.failed)}"
        if self.error:
            text += f" ({self.error})"
        if self.audit_error:
            text += f"; audit incomplete: {self.audit_error}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields of ``lmtriage release``."""
        return {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "requested": self.requested,
            # A dry run released nothing: its rows are "would_release", so a script that reads
            # "released" never takes a dry run for the real thing.
            "released": [] if self.dry_run else [str(k) for k in self.released],
            "would_release": [str(k) for k in self.released] if self.dry_run else [],
            "already_gone": [str(k) for k in self.gone],
            "changed": [str(k) for k in self.changed],
            "failed": [str(k) for k in self.failed],
            "error": self.error,
            "audit_event": self.event_id,
            "audit_complete": self.audit_complete,
            "audit_error": self.audit_error,
        }


def touched_text(refs: Sequence[BlockRef], *, max_domains: int = 5) -> str:
    """``yahoo.com (domain row, 3 IP pairs); gmail.com (2 IP pairs)`` for the audit history."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    ips: set[str] = set()
    for ref in refs:
        counts = per[ref.identity.domain.strip().lower()]
        counts[0 if ref.key.kind == "domain" else 1] += 1
        if ref.identity.ip:
            ips.add(ref.identity.ip)
    parts = []
    for domain, (d, i) in sorted(per.items(), key=lambda kv: (-sum(kv[1]), kv[0])):
        what = []
        if d:
            what.append("domain row" if d == 1 else f"{d} domain rows")
        if i:
            what.append(f"{i} IP pair{'s' if i != 1 else ''}")
        parts.append(f"{domain} ({', '.join(what)})")
    text = "; ".join(parts[:max_domains])
    if len(parts) > max_domains:
        text += f"; and {len(parts) - max_domains} more domain(s)"
    if ips:
        shown = sorted(ips)[:4]
        text += f" — stream IPs {', '.join(shown)}" + (
            f" and {len(ips) - 4} more" if len(ips) > 4 else ""
        )
    return text


def release_blocks(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore | None,
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
    refs = list(dict.fromkeys(refs))
    result = ReleaseResult(mode=mode, requested=len(refs), dry_run=dry_run)
    if dry_run:
        _dry_run(schema, engine, refs, result)
        return result
    if read_only:
        raise ReadOnlyError("writes are off (read-only mode or the database user may not write)")
    if audit is None:
        raise LmError("a release needs the audit store")
    job = _Release(schema, audit, context, refs, result, mode, now, stream_label, action, progress)
    try:
        with engine.connect() as conn:
            if mode == "delete" and _can_delete_returning(conn):
                job.by_delete_returning(conn)
            else:
                job.locked(conn)
    except _CommitUnknown as unknown:
        job.settle_unknown_commit(engine, unknown.error)
        return result
    except Exception as err:  # noqa: BLE001 - recorded, then reported as one line
        job.record_failure(err)
        return result
    job.finish_committed()
    return result


# --------------------------------------------------------------------------- internals


class _ReusedIds(Exception):  # noqa: N818 - control flow, never escapes
    """Some block ids now hold other blocks: roll back and release without them."""

    def __init__(self, keys: list[BlockKey]) -> None:
        super().__init__(f"{len(keys)} changed block(s)")
        self.keys = keys


class _CommitUnknown(Exception):  # noqa: N818 - control flow, never escapes
    """COMMIT raised: the transaction may or may not have committed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _can_delete_returning(conn: Connection) -> bool:
    # SQL Server's OUTPUT clause fails on tables with triggers, which ListManager's may have:
    # it keeps the locked read then delete.
    return conn.dialect.name in ("sqlite", "postgresql") and bool(
        getattr(conn.dialect, "delete_returning", False)
    )


def _by_kind(refs: Sequence[BlockRef]) -> dict[BlockKind, list[BlockRef]]:
    out: dict[BlockKind, list[BlockRef]] = {"domain": [], "ip": []}
    for ref in refs:
        out[ref.key.kind].append(ref)
    return out


def _sorted_out(
    conn: Connection,
    phys: PhysicalBlocks,
    refs: Sequence[BlockRef],
    result: ReleaseResult,
    *,
    lock: bool,
) -> list[tuple[BlockRef, dict[str, Any]]]:
    """Read the rows of ``refs``; record the gone and the changed in ``result``; return the
    rows that are still what the user saw."""
    rows = phys.read(conn, [r.key.block_id for r in refs], lock=lock)
    same: list[tuple[BlockRef, dict[str, Any]]] = []
    for ref in refs:
        row = rows.get(ref.key.block_id)
        if row is None:
            result.gone.append(ref.key)
        elif not phys.identity_of(row).same_block(ref.identity):
            result.changed.append(ref.key)
        else:
            same.append((ref, row))
    return same


def _dry_run(
    schema: BoundSchema, engine: Engine, refs: Sequence[BlockRef], result: ReleaseResult
) -> None:
    """Which rows a release would take, read without locks (a SELECT-only role may do it)."""
    with engine.connect() as conn:
        for kind, kind_refs in _by_kind(refs).items():
            if not kind_refs:
                continue
            phys = PhysicalBlocks(schema, kind)
            for ref, row in _sorted_out(conn, phys, kind_refs, result, lock=False):
                result.released.append(ref.key)
                result.rows[ref.key] = row
        conn.rollback()


class _Release:
    """One release's state while it runs (kept together so every exit path audits)."""

    def __init__(
        self,
        schema: BoundSchema,
        audit: AuditStore,
        context: AuditContext,
        refs: list[BlockRef],
        result: ReleaseResult,
        mode: str,
        now: datetime,
        stream_label: str | None,
        action: str,
        progress: Progress | None,
    ) -> None:
        self.schema = schema
        self.audit = audit
        self.context = context
        self.refs = refs
        self.by_kind = _by_kind(refs)
        self.result = result
        self.mode = mode
        self.now = now
        self.stream_label = stream_label
        self.action = action
        self.progress = progress
        self.event_id: int | None = None

    # -- the two ways to release

    def by_delete_returning(self, conn: Connection) -> None:
        """Delete by key with RETURNING: one pass reads and deletes each row.

        The returned rows are checked against what the user saw before anything commits; a
        changed row rolls the whole transaction back and the release runs again without it.
        Rows not returned were already gone (or taken by a concurrent release that held
        their lock).
        """
        excluded: set[BlockKey] = set()
        for _attempt in range(3):
            tx = conn.begin()
            try:
                released, gone, rows, audit_rows, reused = self._delete_returning(conn, excluded)
                if reused:
                    raise _ReusedIds(reused)
                self._begin_event(audit_rows, released)
                self.result.released, self.result.gone, self.result.rows = released, gone, rows
                self.result.changed = sorted(excluded)
                self._commit(tx)
            except _ReusedIds as err:
                tx.rollback()
                excluded.update(err.keys)
                continue
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
            return
        raise LmError("block ids kept changing during the release; nothing was released")

    def _delete_returning(
        self, conn: Connection, excluded: set[BlockKey]
    ) -> tuple[
        list[BlockKey], list[BlockKey], dict[BlockKey, dict[str, Any]], list[AuditRow], list[BlockKey]
    ]:
        released: list[BlockKey] = []
        gone: list[BlockKey] = []
        rows_by_key: dict[BlockKey, dict[str, Any]] = {}
        audit_rows: list[AuditRow] = []
        reused: list[BlockKey] = []
        done = len(excluded)
        for kind, kind_refs in self.by_kind.items():
            refs = [r for r in kind_refs if r.key not in excluded]
            if not refs:
                continue
            phys = PhysicalBlocks(self.schema, kind)
            wanted = {r.key.block_id: r for r in refs}
            seen: set[int] = set()
            for part in chunks(list(wanted)):
                stmt = (
                    sa.delete(phys.table).where(phys.pk.in_(list(part))).returning(*phys.table.c)
                )
                returned = conn.execute(stmt)
                names = list(returned.keys())
                for values in returned:
                    row = dict(zip(names, values, strict=True))
                    block_id = int(row[phys.pk.name])
                    seen.add(block_id)
                    ref = wanted[block_id]
                    if not phys.identity_of(row).same_block(ref.identity):
                        reused.append(ref.key)
                        continue
                    released.append(ref.key)
                    rows_by_key[ref.key] = row
                    audit_rows.append(
                        AuditRow(kind=kind, key=str(ref.key), row=row, outcome="released")
                    )
                done += len(part)
                if self.progress:
                    self.progress(done, len(self.refs))
            gone += [r.key for r in refs if r.key.block_id not in seen]
        return released, gone, rows_by_key, audit_rows, reused

    def locked(self, conn: Connection) -> None:
        """Lock and read the rows, check them, audit, then delete or update by key."""
        result = self.result
        tx = conn.begin()
        try:
            to_release: dict[BlockKind, list[int]] = {"domain": [], "ip": []}
            audit_rows: list[AuditRow] = []
            for kind, kind_refs in self.by_kind.items():
                if not kind_refs:
                    continue
                phys = PhysicalBlocks(self.schema, kind)
                phys.take_write_lock(conn)
                for ref, row in _sorted_out(conn, phys, kind_refs, result, lock=True):
                    to_release[kind].append(ref.key.block_id)
                    result.rows[ref.key] = row
                    audit_rows.append(
                        AuditRow(kind=kind, key=str(ref.key), row=row, outcome="released")
                    )
            keys = [BlockKey(k, i) for k, ids in to_release.items() for i in ids]
            self._begin_event(audit_rows, keys)
            done = len(result.gone) + len(result.changed)
            released: list[BlockKey] = []
            for kind, ids in to_release.items():
                if not ids:
                    continue
                phys = PhysicalBlocks(self.schema, kind)
                for part in chunks(ids):
                    if self.mode == "retry-now":
                        stmt = (
                            sa.update(phys.table)
                            .where(phys.pk.in_(list(part)))
                            .values({phys.col("NextRetry"): self.now})
                        )
                    else:
                        stmt = sa.delete(phys.table).where(phys.pk.in_(list(part)))
                    changed = conn.execute(stmt).rowcount
                    if changed is not None and changed >= 0 and changed != len(part):
                        raise LmError(
                            f"{len(part) - changed} locked block row(s) changed during the "
                            "release; nothing was released"
                        )
                    released.extend(BlockKey(kind, i) for i in part)
                    done += len(part)
                    if self.progress:
                        self.progress(done, len(self.refs))
            result.released = released
            self._commit(tx)
        except BaseException:
            if tx.is_active:
                tx.rollback()
            raise

    # -- the audit around the transaction

    def _begin_event(self, audit_rows: list[AuditRow], released: list[BlockKey]) -> None:
        by_key = {r.key: r for r in self.refs}
        summary = (
            json.dumps({"next_retry": self.now.isoformat()}) if self.mode == "retry-now" else None
        )
        self.event_id = self.audit.begin(
            self.action,
            self.context,
            stream=self.stream_label,
            mode=self.mode,
            rows=audit_rows,
            requested=len(self.refs),
            summary=summary,
            touched=touched_text([by_key[k] for k in released if k in by_key]),
        )
        self.result.event_id = self.event_id

    def _commit(self, tx: sa.Transaction) -> None:
        try:
            tx.commit()
        except Exception as err:
            raise _CommitUnknown(err) from err

    def finish_committed(self) -> None:
        """The transaction committed: mark the event, or say the audit is incomplete."""
        result = self.result
        if self.event_id is None:
            return
        extra = [AuditRow(kind=k.kind, key=str(k), row={}, outcome="gone") for k in result.gone]
        extra += [
            AuditRow(kind=k.kind, key=str(k), row={}, outcome="changed") for k in result.changed
        ]
        try:
            self.audit.finish(
                self.event_id,
                COMMITTED,
                released=len(result.released),
                already_gone=len(result.gone) + len(result.changed),
                extra_rows=extra,
            )
        except Exception as err:  # noqa: BLE001 - the release stands; say the audit lags
            result.audit_error = (
                f"event {self.event_id} stays pending ({describe_exception(err)}); "
                "`lmtriage audit --reconcile` completes it"
            )

    def settle_unknown_commit(self, engine: Engine, error: Exception) -> None:
        """COMMIT raised: look at the rows to learn whether it happened, and say so."""
        from tui.db.reconcile import reconcile_event

        result = self.result
        message = describe_exception(error)
        if self.event_id is None:  # pragma: no cover - the event is written before COMMIT
            self.record_failure(error)
            return
        try:
            outcome = reconcile_event(self.schema, engine, self.audit, self.event_id, force=True)
        except Exception as err:  # noqa: BLE001
            keys = [r.key for r in self.refs]
            result.released = []
            result.failed = [k for k in keys if k not in set(result.gone) | set(result.changed)]
            result.error = (
                f"the commit failed ({message}) and whether it happened could not be checked "
                f"({describe_exception(err)}); audit event {self.event_id} stays pending: run "
                "`lmtriage audit --reconcile` when the database is back"
            )
            return
        if outcome.status == COMMITTED:
            result.audit_error = (
                f"the commit reported {message}, but the rows are gone: released; "
                f"audit event {self.event_id} was completed by reconciliation"
            )
        elif outcome.status == FAILED:
            result.failed = result.released
            result.released = []
            result.error = f"the commit failed, nothing was released: {message}"
        else:
            result.failed = result.released
            result.released = []
            result.error = (
                f"the commit reported {message} and the rows do not say whether it happened: "
                f"{outcome.note}"
            )

    def record_failure(self, err: Exception) -> None:
        """Nothing was released: mark the event failed, or write one if none was begun."""
        result = self.result
        message = str(err) if isinstance(err, LmError) else describe_exception(err)
        settled = set(result.gone) | set(result.changed)
        result.failed = [r.key for r in self.refs if r.key not in settled]
        result.released = []
        result.error = message
        try:
            if self.event_id is not None:
                self.audit.finish(
                    self.event_id,
                    FAILED,
                    failed=len(result.failed),
                    already_gone=len(settled),
                    error=message,
                )
            else:
                result.event_id = self._failure_event(message)
        except Exception as audit_err:  # noqa: BLE001 - the release error is the one to report
            result.error = (
                f"{message}; the audit could not record the failure: "
                f"{describe_exception(audit_err)}"
            )

    def _failure_event(self, message: str) -> int:
        """An event for a release that failed before its pending event was written."""
        rows = [
            AuditRow(
                kind=ref.key.kind,
                key=str(ref.key),
                row={
                    "stream_id": ref.identity.stream_id,
                    "domain": ref.identity.domain,
                    "ip": ref.identity.ip,
                    "mx": ref.identity.mx,
                    "blocked_since": ref.identity.since,
                },
                outcome="released",
            )
            for ref in self.refs
        ]
        event_id = self.audit.begin(
            self.action,
            self.context,
            stream=self.stream_label,
            mode=self.mode,
            rows=rows,
            requested=len(self.refs),
            touched=touched_text(self.refs),
        )
        self.audit.finish(event_id, FAILED, failed=len(rows), error=message)
        return event_id
