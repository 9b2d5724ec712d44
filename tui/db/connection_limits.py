"""Domain Connection Limits (``domainconnectionlimits_``): read one, set one, audited.

No row means ListManager's default: 10 connections per MX, no hourly or per-connection cap.
Setting a limit inserts or updates the domain's row in one transaction; the audit records the
row before (or its absence) and after, which is enough to put it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tui.db.audit import COMMITTED, FAILED, AuditContext, AuditRow, AuditStore
from tui.db.discover import BoundSchema
from tui.db.errors import describe_exception
from tui.db.records import DEFAULT_CONNECTIONS, ConnectionLimit  # noqa: F401 - re-exported
from tui.domains import domain_name
from tui.errors import FeatureUnavailable, LmError, ReadOnlyError


def _table(schema: BoundSchema) -> sa.Table:
    if not schema.has("connection_limits"):
        report = schema.discovery.tables["connection_limits"]
        raise FeatureUnavailable(
            f"Domain Connection Limits are unavailable: {report.expected_name} is {report.summary()}"
        )
    return schema.t("connection_limits")


def get_limit(schema: BoundSchema, conn: Connection, domain: str) -> ConnectionLimit:
    """The domain's row, or ListManager's default when there is none."""
    domain = domain.strip().lower()
    if not schema.has("connection_limits"):
        return ConnectionLimit(domain, None, None, None, True)
    t = schema.t("connection_limits")
    row = conn.execute(
        sa.select(
            t.c.Domain_,
            schema.col("connection_limits", "ConnectionLimit_"),
            schema.col("connection_limits", "ConnPerHour_"),
            schema.col("connection_limits", "MaxMsgPerConn_"),
        )
        .where(sa.func.lower(t.c.Domain_) == domain)
        .limit(1)
    ).first()
    if row is None:
        return ConnectionLimit(domain, None, None, None, True)
    return ConnectionLimit(str(row[0]), row[1], row[2], row[3], False)


def limits_for(
    schema: BoundSchema, conn: Connection, domains: list[str]
) -> dict[str, ConnectionLimit]:
    """Limits of several domains at once (the console's pages)."""
    out = {d.lower(): ConnectionLimit(d.lower(), None, None, None, True) for d in domains}
    if not schema.has("connection_limits") or not domains:
        return out
    t = schema.t("connection_limits")
    from tui.db.sqlfuncs import chunks

    for part in chunks(sorted(out)):
        stmt = sa.select(
            sa.func.lower(t.c.Domain_),
            schema.col("connection_limits", "ConnectionLimit_"),
            schema.col("connection_limits", "ConnPerHour_"),
            schema.col("connection_limits", "MaxMsgPerConn_"),
        ).where(sa.func.lower(t.c.Domain_).in_(list(part)))
        for d, limit, hour, per_conn in conn.execute(stmt):
            out[d] = ConnectionLimit(d, limit, hour, per_conn, False)
    return out


def dcl_table(schema: BoundSchema) -> tuple[sa.Table, dict[str, str]]:
    """The full reflected DCL table and model → live column names."""
    table = _table(schema)
    full = schema.full_tables.get("connection_limits", table)
    return full, schema.discovery.tables["connection_limits"].column_names


def row_for_domain(
    conn: Connection, table: sa.Table, names: dict[str, str], domain: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The domain's whole row (domains compared case-insensitively), or None."""
    stmt = sa.select(table).where(sa.func.lower(table.c[names["Domain_"]]) == domain.lower())
    if lock:
        stmt = stmt.with_for_update().with_hint(table, "WITH (UPDLOCK, ROWLOCK)", "mssql")
    found = conn.execute(stmt).first()
    return dict(found._mapping) if found else None


def limit_values(row: dict[str, Any], names: dict[str, str]) -> tuple[Any, ...]:
    """The three limits of a row, for comparing "as we left it" with "as it is"."""
    return tuple(
        row.get(names[m]) if m in names else None
        for m in ("ConnectionLimit_", "ConnPerHour_", "MaxMsgPerConn_")
    )


def _validate(value: int | None, what: str, low: int, high: int) -> None:
    if value is not None and not (low <= value <= high):
        raise LmError(f"{what} must be between {low} and {high}", exit_code=2)


def _after_row(
    before_row: dict[str, Any], names: dict[str, str], domain: str, values: dict[str, Any]
) -> dict[str, Any]:
    """The row as the change leaves it (live column names), for undo and reconciliation."""
    row = dict(before_row) if before_row else {names["Domain_"]: domain}
    for model, value in values.items():
        if model in names:
            row[names[model]] = value
    return row


@dataclass(slots=True)
class LimitChange:
    """What a DCL write did."""

    before: ConnectionLimit
    after: ConnectionLimit
    event_id: int | None
    audit_error: str | None = None  # the change committed but its audit event stayed pending


def set_limit(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    context: AuditContext,
    domain: str,
    *,
    limit: int,
    per_hour: int | None = None,
    per_connection: int | None = None,
    read_only: bool = False,
) -> LimitChange:
    """Insert or update the domain's limits in one transaction, audited before it commits.

    ``per_hour``/``per_connection`` left as None keep the row's current values.
    """
    if read_only:
        raise ReadOnlyError("writes are off (read-only mode or the database user may not write)")
    _validate(limit, "the connection limit", 1, 1000)
    _validate(per_hour, "the hourly limit", 1, 10_000_000)
    _validate(per_connection, "the messages per connection", 1, 100_000)
    domain = domain_name(domain, "the domain")
    table = _table(schema)
    full, names = dcl_table(schema)
    missing = schema.discovery.privilege_gaps("dcl")
    if missing:
        raise ReadOnlyError(f"cannot set connection limits: {missing}")
    event_id: int | None = None
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                before = get_limit(schema, conn, domain)
                before_row = row_for_domain(conn, full, names, domain, lock=True) or {}
                values: dict[str, Any] = {"ConnectionLimit_": limit}
                if per_hour is not None and schema.has_col("connection_limits", "ConnPerHour_"):
                    values["ConnPerHour_"] = per_hour
                if per_connection is not None and schema.has_col(
                    "connection_limits", "MaxMsgPerConn_"
                ):
                    values["MaxMsgPerConn_"] = per_connection
                after = ConnectionLimit(
                    before.domain if not before.is_default else domain,
                    limit,
                    per_hour if per_hour is not None else before.per_hour,
                    per_connection if per_connection is not None else before.per_connection,
                    False,
                )
                event_id = audit.begin(
                    "dcl",
                    context,
                    stream=None,
                    mode="update" if before_row else "insert",
                    rows=[
                        AuditRow(kind="dcl", key=domain, row=before_row, outcome="set"),
                        AuditRow(
                            kind="dcl",
                            key=domain,
                            row=_after_row(before_row, names, domain, values),
                            outcome="after",
                        ),
                    ],
                    requested=1,
                    summary=f"{domain}: {before.describe()} -> {after.describe()}",
                    touched=f"connection limit of {domain}",
                )
                if before_row:
                    conn.execute(
                        sa.update(table)
                        .where(sa.func.lower(table.c.Domain_) == domain)
                        .values(**values)
                    )
                else:
                    conn.execute(sa.insert(table).values(Domain_=domain, **values))
                try:
                    tx.commit()
                except Exception as err:
                    raise _CommitUnknown(err) from err
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
    except _CommitUnknown as unknown:
        return _settle_unknown_commit(schema, engine, audit, event_id, before, after, unknown)
    except Exception as err:  # noqa: BLE001
        message = str(err) if isinstance(err, LmError) else describe_exception(err)
        _record_failure(audit, context, event_id, domain, message)
        raise LmError(
            f"setting the connection limit of {domain} failed, nothing changed: {message}",
            exit_code=1,
        ) from None
    change = LimitChange(before, after, event_id)
    try:
        audit.finish(event_id, COMMITTED, released=1)
    except Exception as err:  # noqa: BLE001 - the change stands; say the audit lags
        change.audit_error = (
            f"event {event_id} stays pending ({describe_exception(err)}); "
            "`lmtriage audit --reconcile` completes it"
        )
    return change


class _CommitUnknown(Exception):  # noqa: N818 - control flow, never escapes
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _record_failure(
    audit: AuditStore, context: AuditContext, event_id: int | None, domain: str, message: str
) -> None:
    """Every failed write leaves a failed event, even one that failed before it began."""
    try:
        if event_id is None:
            event_id = audit.begin(
                "dcl",
                context,
                stream=None,
                mode=None,
                rows=[],
                requested=1,
                touched=f"connection limit of {domain}",
            )
        audit.finish(event_id, FAILED, failed=1, error=message)
    except Exception:  # noqa: BLE001 - the write's own error is the one to report
        pass


def _settle_unknown_commit(
    schema: BoundSchema,
    engine: Engine,
    audit: AuditStore,
    event_id: int | None,
    before: ConnectionLimit,
    after: ConnectionLimit,
    unknown: _CommitUnknown,
) -> LimitChange:
    from tui.db.reconcile import reconcile_event

    message = describe_exception(unknown.error)
    if event_id is None:  # pragma: no cover - the event is written before COMMIT
        raise LmError(f"setting the connection limit failed: {message}", exit_code=1)
    outcome = reconcile_event(schema, engine, audit, event_id, force=True)
    if outcome.status == COMMITTED:
        change = LimitChange(before, after, event_id)
        change.audit_error = (
            f"the commit reported {message}, but the limit is set; audit event {event_id} was "
            "completed by reconciliation"
        )
        return change
    if outcome.status == FAILED:
        raise LmError(
            f"setting the connection limit of {after.domain} failed, nothing changed: {message}",
            exit_code=1,
        )
    raise LmError(
        f"the commit reported {message} and whether the limit changed is unknown: {outcome.note}",
        exit_code=1,
    )
