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


def _validate(value: int | None, what: str, low: int, high: int) -> None:
    if value is not None and not (low <= value <= high):
        raise LmError(f"{what} must be between {low} and {high}", exit_code=2)


@dataclass(slots=True)
class LimitChange:
    """What a DCL write did."""

    before: ConnectionLimit
    after: ConnectionLimit
    event_id: int | None


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
    domain = domain.strip().lower()
    if not domain or " " in domain:
        raise LmError(f"{domain!r} is not a domain name", exit_code=2)
    table = _table(schema)
    full = schema.full_tables.get("connection_limits", table)
    names = schema.discovery.tables["connection_limits"].column_names
    event_id: int | None = None
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            try:
                before = get_limit(schema, conn, domain)
                before_row: dict[str, Any] = {}
                if not before.is_default:
                    stmt = sa.select(full).where(sa.func.lower(full.c[names["Domain_"]]) == domain)
                    found = conn.execute(stmt).first()
                    before_row = dict(found._mapping) if found else {}
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
                    rows=[AuditRow(kind="dcl", key=domain, row=before_row, outcome="set")],
                    requested=1,
                    summary=f"{domain}: {before.describe()} -> {after.describe()}",
                )
                if before_row:
                    conn.execute(
                        sa.update(table)
                        .where(sa.func.lower(table.c.Domain_) == domain)
                        .values(**values)
                    )
                else:
                    conn.execute(sa.insert(table).values(Domain_=domain, **values))
                tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
    except Exception as err:  # noqa: BLE001
        message = str(err) if isinstance(err, LmError) else describe_exception(err)
        if event_id is not None:
            audit.finish(event_id, FAILED, failed=1, error=message)
        raise LmError(
            f"setting the connection limit of {domain} failed, nothing changed: {message}",
            exit_code=1,
        ) from None
    audit.finish(event_id, COMMITTED, released=1)
    return LimitChange(before, after, event_id)
