"""The per-stream dashboard: top receiving domains with their outcomes and blocks, block
counts, the message volume, and a cheap fingerprint of its inputs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.queries.blocks import BlockFilter, count_blocks
from tui.db.queries.lookups import _status_labels
from tui.db.queries.streams import stream_ips
from tui.db.records import Dashboard, DomainStatus, Stream, VolumeSeries
from tui.db.sqlfuncs import chunks, unindexed


def _is_success(status_id: int, labels: dict[int, str]) -> bool:
    label = labels.get(status_id, "").lower()
    if label:
        return any(w in label for w in ("success", "delivered", "sent ok"))
    return status_id == 300


def volume_series(
    schema: BoundSchema,
    conn: Connection,
    stream_id: int | None,
    *,
    start: datetime,
    end: datetime,
    bins: int = 56,
) -> VolumeSeries | None:
    """The stream's message volume from ``lyrDAOMailStreamTracking`` in ``bins`` equal bins."""
    if not schema.has("stream_tracking") or end <= start or bins <= 0:
        return None
    t = schema.t("stream_tracking")
    stmt = (
        sa.select(t.c.IntervalStart, t.c.CompletionStatusID, sa.func.sum(t.c.Count))
        .where(t.c.IntervalStart >= start, t.c.IntervalStart < end)
        .group_by(t.c.IntervalStart, t.c.CompletionStatusID)
        .limit(200_000)
    )
    if stream_id is not None:
        stmt = stmt.where(t.c.MailStreamID == stream_id)
    labels = _status_labels(schema, conn)
    total = [0] * bins
    failed = [0] * bins
    span = (end - start).total_seconds()
    for when, status, count in conn.execute(stmt):
        if when is None:
            continue
        index = int((when - start).total_seconds() / span * bins)
        if 0 <= index < bins:
            total[index] += int(count or 0)
            if not _is_success(int(status), labels):
                failed[index] += int(count or 0)
    return VolumeSeries(start=start, end=end, bins=total, failed_bins=failed, source="tracking")


def _large_aggregate_settings(conn: Connection) -> None:
    """PostgreSQL, for this transaction: no JIT (its compile time is a fixed cost of about
    0.2 s) and memory enough that grouping 50,000 domains does not spill to disk."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def dashboard_inputs(schema: BoundSchema, conn: Connection) -> tuple[Any, ...]:
    """A fingerprint of every table the dashboard reads, cheap at any size (index ends and
    small-table counts): equal fingerprints, equal window and stream give the same dashboard.

    The attempt log is append-only with growing ids (ListManager purges its oldest rows), so
    its lowest and highest AttemptID say whether rows came or went.
    """
    out: list[Any] = []
    if schema.has("attempts"):
        a = schema.t("attempts")
        # Two statements: SQLite reads one end of an index only for a lone min() or max().
        out.append(conn.execute(sa.select(sa.func.min(a.c.AttemptID))).scalar())
        out.append(conn.execute(sa.select(sa.func.max(a.c.AttemptID))).scalar())
    for key in ("blocked_ips", "blocked_domains"):
        t = schema.t(key)
        ids = sa.cast(t.c.BlockID, sa.BigInteger)  # SQL Server: SUM(int) overflows int
        out += list(
            conn.execute(
                sa.select(sa.func.count(), sa.func.max(t.c.BlockID), sa.func.sum(ids))
            ).one()
        )
    if schema.has("stream_tracking"):
        t = schema.t("stream_tracking")
        out += list(conn.execute(sa.select(sa.func.count(), sa.func.max(t.c.IntervalStart))).one())
    if schema.has("node_addresses") and schema.has("stream_addresses"):
        for key in ("node_addresses", "stream_addresses"):
            out.append(conn.execute(sa.select(sa.func.count()).select_from(schema.t(key))).scalar())
    return tuple(out)


def dashboard(
    schema: BoundSchema,
    conn: Connection,
    stream: Stream | None,
    *,
    now: datetime,
    window: timedelta,
    top: int = 30,
) -> Dashboard:
    """Top receiving domains by volume with their outcomes and blocks, block counts, volume."""
    since = now - window
    stream_id = stream.id if stream else None
    notes: list[str] = []
    ips = stream_ips(schema, conn, stream_id)
    if not schema.feature("stream_ips"):
        notes.append("stream IPs unknown: lyrNodeAddresses/lyrStreamHasAddress missing")
    domains: list[DomainStatus] = []
    if schema.has("attempts"):
        a = schema.t("attempts")
        code = schema.col("attempts", "SMTPResponseCode")

        def count_if(cond: Any) -> Any:
            return sa.func.sum(sa.case((cond, 1), else_=0))

        stmt = (
            sa.select(
                a.c.Domain,
                sa.func.count().label("n"),
                count_if(code.between(200, 299)),
                count_if(code.between(400, 499)),
                count_if(code >= 500),
            )
            .group_by(a.c.Domain)
            .order_by(sa.func.count().desc(), a.c.Domain)
            .limit(top)
        )
        if stream_id is not None:
            # One stream: a range of the (MailStreamID, AttemptTime, Domain, code) index.
            stmt = stmt.where(
                a.c.MailStreamID == stream_id, a.c.AttemptTime >= since, a.c.AttemptTime <= now
            )
        else:
            # All streams: no stream condition, and the time range kept away from SQLite's
            # index choice. Otherwise it range-scans the stream index (a skip-scan over every
            # stream) and sorts every attempt of the week by domain in a temporary B-tree (8 s
            # at 10 million attempts); instead the (Domain, MailStreamID, AttemptTime, code)
            # index is read in domain order and grouped as it streams by (under 3 s).
            when = unindexed(a.c.AttemptTime)
            when.type = a.c.AttemptTime.type
            stmt = stmt.where(when >= since, when <= now)
        _large_aggregate_settings(conn)
        for r in conn.execute(stmt):
            domains.append(
                DomainStatus(
                    domain=str(r[0] or ""),
                    attempts=int(r[1]),
                    delivered=int(r[2] or 0),
                    deferred=int(r[3] or 0),
                    failed=int(r[4] or 0),
                    blocked_ips=0,
                    stream_ips=len(ips),
                    domain_blocked=False,
                )
            )
    else:
        notes.append("per-domain figures need the delivery attempt log")
    bi, bd = schema.t("blocked_ips"), schema.t("blocked_domains")
    if domains:
        names = [d.domain for d in domains]
        by_domain = {d.domain.lower(): d for d in domains}
        for part in chunks(names):
            stmt = (
                sa.select(sa.func.lower(bi.c.Domain), sa.func.count(sa.distinct(bi.c.IPAddress)))
                .where(sa.func.lower(bi.c.Domain).in_([n.lower() for n in part]))
                .group_by(sa.func.lower(bi.c.Domain))
            )
            if stream_id is not None:
                stmt = stmt.where(bi.c.MailStreamID == stream_id)
            for domain, n in conn.execute(stmt):
                by_domain[domain].blocked_ips = int(n)
            stmt = sa.select(sa.func.lower(bd.c.Domain)).where(
                sa.func.lower(bd.c.Domain).in_([n.lower() for n in part])
            )
            if stream_id is not None:
                stmt = stmt.where(bd.c.MailStreamID == stream_id)
            for (domain,) in conn.execute(stmt):
                by_domain[domain].domain_blocked = True
    domain_blocks = count_blocks(schema, conn, BlockFilter("domain", stream_id=stream_id))
    ip_blocks = count_blocks(schema, conn, BlockFilter("ip", stream_id=stream_id))
    volume = volume_series(schema, conn, stream_id, start=since, end=now)
    if volume is None:
        notes.append("the volume chart needs lyrDAOMailStreamTracking")
    return Dashboard(
        stream=stream,
        window_start=since,
        now=now,
        domains=domains,
        domain_blocks=domain_blocks,
        ip_blocks=ip_blocks,
        stream_ips=ips,
        volume=volume,
        notes=notes,
    )
