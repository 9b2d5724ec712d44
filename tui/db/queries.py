"""Read queries: streams, blocks, the replies behind a block, the per-stream dashboard.

Every statement is bounded (a row limit or a key list of bounded size) and lists are paged by
key, never by deep OFFSET. The expensive per-block evidence (attempt count and latest reply)
is computed only for the rows of one page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.records import (
    Block,
    BlockKind,
    Dashboard,
    DomainStatus,
    Outcomes,
    ReplyGroup,
    ReplySample,
    Stream,
    VolumeSeries,
)
from tui.db.sqlfuncs import (
    MAX_PARAMS_PER_STATEMENT,
    chunks,
    contains,
    keyset_after,
    keyset_before,
    prefix,
    text_equals,
    unindexed,
)
from tui.errors import NotFoundError
from tui.textsafe import coerce_text

# How much of a reply is fetched: enough to read and classify, bounded for megabyte replies.
REPLY_CHARS = 2000
SAMPLE_CHARS = 8000
MAX_STREAMS = 10_000
KEY_PAGE = 100_000
REPLY_PAGE = 5000
DEFAULT_KEY_LIMIT = 500_000

SORT_COLUMNS: dict[BlockKind, tuple[str, ...]] = {
    "domain": ("stream", "domain", "since", "next_retry", "description"),
    "ip": ("stream", "ip", "domain", "mx", "description", "since", "next_retry"),
}

_EARLIEST = datetime(1900, 1, 1)
_LATEST = datetime(9999, 12, 31)


def table_key(kind: BlockKind) -> str:
    """The model table holding blocks of ``kind``."""
    return "blocked_domains" if kind == "domain" else "blocked_ips"


# --------------------------------------------------------------------------- clock, streams


def db_now(conn: Connection) -> datetime:
    """The database server's local time (ListManager stores server-local times)."""
    dialect = conn.dialect.name
    if dialect == "mssql":
        value = conn.exec_driver_sql("SELECT GETDATE()").scalar()
    elif dialect == "postgresql":
        value = conn.exec_driver_sql("SELECT LOCALTIMESTAMP").scalar()
    else:
        value = conn.exec_driver_sql("SELECT datetime('now', 'localtime')").scalar()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=None)


def list_streams(schema: BoundSchema, conn: Connection) -> list[Stream]:
    """Every MailStream, by name."""
    t = schema.t("mailstreams")
    stmt = (
        sa.select(t.c.MailStreamID, t.c.Name, schema.col("mailstreams", "Description"))
        .order_by(t.c.Name, t.c.MailStreamID)
        .limit(MAX_STREAMS)
    )
    return [
        Stream(int(r[0]), str(r[1] if r[1] is not None else ""), r[2]) for r in conn.execute(stmt)
    ]


def find_stream(schema: BoundSchema, conn: Connection, name: str) -> Stream:
    """The stream called ``name`` (case-insensitive), or its numeric id."""
    streams = list_streams(schema, conn)
    for stream in streams:
        if stream.name.lower() == name.strip().lower():
            return stream
    if name.strip().isdigit():
        for stream in streams:
            if stream.id == int(name):
                return stream
    known = ", ".join(s.name for s in streams[:20]) or "none"
    raise NotFoundError(f"no MailStream named {name!r} (streams: {known})")


def stream_ips(schema: BoundSchema, conn: Connection, stream_id: int | None) -> list[str]:
    """The sending IPs of a stream (or of every stream), sorted, without duplicates."""
    if not schema.feature("stream_ips"):
        return []
    na, sha = schema.t("node_addresses"), schema.t("stream_addresses")
    stmt = (
        sa.select(na.c.IPAddress)
        .select_from(sha.join(na, na.c.NodeAddressID == sha.c.NodeAddressID))
        .distinct()
        .order_by(na.c.IPAddress)
        .limit(10_000)
    )
    if stream_id is not None:
        stmt = stmt.where(sha.c.MailStreamID == stream_id)
    return [str(r[0]).strip() for r in conn.execute(stmt) if r[0]]


def dkim_selectors(schema: BoundSchema, conn: Connection) -> dict[str, tuple[str, ...]]:
    """ListManager's DKIM signing domains (lower case) and their selectors, without the keys."""
    if not schema.feature("dkim"):
        return {}
    sel, dom = schema.t("dk_selectors"), schema.t("dk_domains")
    stmt = (
        sa.select(dom.c.Domain, sel.c.Selector)
        .select_from(dom.join(sel, sel.c.SelectorID == dom.c.SelectorID))
        .order_by(dom.c.Domain, sel.c.Selector)
        .limit(1000)
    )
    out: dict[str, list[str]] = {}
    for domain, selector in conn.execute(stmt):
        if domain and selector:
            out.setdefault(coerce_text(domain).strip().lower(), []).append(
                coerce_text(selector).strip()
            )
    return {d: tuple(dict.fromkeys(s)) for d, s in out.items()}


def stream_names(schema: BoundSchema, conn: Connection) -> dict[int, str]:
    """MailStreamID → name."""
    return {s.id: s.name for s in list_streams(schema, conn)}


# --------------------------------------------------------------------------- block lists


@dataclass(frozen=True, slots=True)
class BlockFilter:
    """Which blocks a pane or command shows, and in which order."""

    kind: BlockKind
    stream_id: int | None = None
    # Exact matches; None is "any". An empty string matches only an empty value: it never
    # means "every block" (that once selected a whole server for release).
    domain: str | None = None  # exact domain ("view blocks" from the dashboard)
    ip: str | None = None  # exact stream IP (ip blocks)
    text: str | None = None  # substring of domain, IP, MX or description
    sort: str = "domain"
    descending: bool = False

    def with_(self, **changes: Any) -> BlockFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)


def _sort_expr(schema: BoundSchema, kind: BlockKind, sort: str) -> sa.ColumnElement[Any]:
    key = table_key(kind)
    t = schema.t(key)
    if sort not in SORT_COLUMNS[kind]:
        sort = "domain"
    if sort == "stream":
        return t.c.MailStreamID
    if sort == "domain":
        return t.c.Domain
    if sort == "ip":
        return t.c.IPAddress
    if sort == "mx":
        return t.c.BlockingMX
    if sort == "description":
        return sa.func.coalesce(schema.col(key, "Description"), "")
    if sort == "since":
        return sa.func.coalesce(
            schema.col(key, "BlockedSince"), sa.literal(_EARLIEST, sa.DateTime())
        )
    return sa.func.coalesce(schema.col(key, "NextRetry"), sa.literal(_LATEST, sa.DateTime()))


def _block_where(schema: BoundSchema, filt: BlockFilter) -> list[sa.ColumnElement[bool]]:
    key = table_key(filt.kind)
    t = schema.t(key)
    where: list[sa.ColumnElement[bool]] = []
    if filt.stream_id is not None:
        where.append(t.c.MailStreamID == filt.stream_id)
    if filt.domain is not None:
        where.append(text_equals(sa.func.lower(t.c.Domain), filt.domain.strip().lower()))
    if filt.ip is not None and filt.kind == "ip":
        where.append(text_equals(t.c.IPAddress, filt.ip.strip()))
    if filt.text and filt.text.strip():
        needle = filt.text.strip()
        fields = [t.c.Domain]
        if schema.has_col(key, "Description"):
            fields.append(t.c.Description)
        if filt.kind == "ip":
            fields += [t.c.IPAddress, t.c.BlockingMX]
        where.append(sa.or_(*(contains(f, needle) for f in fields)))
    return where


def count_blocks(schema: BoundSchema, conn: Connection, filt: BlockFilter) -> int:
    """How many blocks the filter shows."""
    t = schema.t(table_key(filt.kind))
    stmt = sa.select(sa.func.count()).select_from(t).where(*_block_where(schema, filt))
    return int(conn.execute(stmt).scalar() or 0)


def block_keys(
    schema: BoundSchema,
    conn: Connection,
    filt: BlockFilter,
    *,
    limit: int = DEFAULT_KEY_LIMIT,
    page: int = KEY_PAGE,
) -> list[int]:
    """The BlockIDs the filter shows, in display order, fetched in keyset pages.

    A list of ints is small even at 100,000 blocks; it lets a virtual pane map any row
    position to a key and fetch just the visible page of full rows by key.
    """
    t = schema.t(table_key(filt.kind))
    sort = _sort_expr(schema, filt.kind, filt.sort)
    where = _block_where(schema, filt)
    out: list[int] = []
    last: tuple[Any, int] | None = None
    order = (sort.desc(), t.c.BlockID.desc()) if filt.descending else (sort, t.c.BlockID)
    while len(out) < limit:
        # Only the ids travel; the sort value of the last one is read when a next page is due.
        stmt = sa.select(t.c.BlockID).where(*where)
        if last is not None:
            after = keyset_before if filt.descending else keyset_after
            stmt = stmt.where(after([sort, t.c.BlockID], list(last)))
        size = min(page, limit - len(out))
        ids = conn.execute(stmt.order_by(*order).limit(size)).scalars().all()
        out.extend(ids)
        if len(ids) < size or len(out) >= limit:
            break
        value = conn.execute(sa.select(sort).where(t.c.BlockID == ids[-1])).scalar()
        last = (value, ids[-1])
    return out


def _evidence_scope(
    schema: BoundSchema, kind: BlockKind, b: sa.Table, since: datetime
) -> list[Any]:
    """Correlated conditions tying attempts to a block row ``b``."""
    a = schema.t("attempts")
    cond: list[Any] = [a.c.AttemptTime >= since, a.c.MailStreamID == b.c.MailStreamID]
    if kind == "domain":
        cond.append(a.c.Domain == b.c.Domain)
    else:
        cond.append(schema.col("attempts", "MXIP") == b.c.BlockingMX)
        cond.append(schema.col("attempts", "SourceIP") == b.c.IPAddress)
    return cond


def failure(schema: BoundSchema) -> sa.ColumnElement[bool]:
    """A failed attempt: ``SMTPResponseCode >= 400 OR SMTPResponseCode IS NULL``.

    The one definition every figure uses (README "Where the numbers come from"): a 4xx reply
    is *deferred*, a 5xx *rejected*, no code at all (a connection that timed out or broke
    before any reply) a failure *without a code*. 2xx is *delivered*; other codes (1xx, 3xx)
    count as attempts but neither failed nor delivered.
    """
    code = schema.col("attempts", "SMTPResponseCode")
    return sa.or_(code >= 400, code.is_(None))


def outcome_columns(schema: BoundSchema) -> list[sa.ColumnElement[Any]]:
    """``count(*)`` and the outcome sums (delivered, deferred, rejected, no code) of attempts,
    in the order :class:`~tui.db.records.Outcomes` takes them."""
    code = schema.col("attempts", "SMTPResponseCode")

    def n_if(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    return [
        sa.func.count(),
        n_if(code.between(200, 299)),
        n_if(code.between(400, 499)),
        n_if(code >= 500),
        n_if(code.is_(None)),
    ]


def fetch_blocks(
    schema: BoundSchema,
    conn: Connection,
    kind: BlockKind,
    ids: Sequence[int],
    *,
    since: datetime | None,
    names: dict[int, str] | None = None,
) -> list[Block]:
    """Full rows for ``ids`` (in that order); with ``since``, their evidence too.

    Rows that no longer exist are left out. The console fetches rows without evidence first
    (a few milliseconds a page) and the evidence in a second pass (:func:`fetch_evidence`).
    """
    if not ids:
        return []
    key = table_key(kind)
    b = schema.t(key)
    names = names if names is not None else stream_names(schema, conn)
    cols: list[Any] = [
        b.c.BlockID,
        b.c.MailStreamID,
        b.c.Domain,
        b.c.IPAddress if kind == "ip" else sa.null(),
        b.c.BlockingMX if kind == "ip" else sa.null(),
        schema.col(key, "Description"),
        schema.col(key, "BlockedSince"),
        schema.col(key, "NextRetry"),
    ]
    rows: dict[int, Any] = {}
    for part in chunks(list(ids)):
        for row in conn.execute(sa.select(*cols).where(b.c.BlockID.in_(part))):
            rows[int(row[0])] = row
    out = []
    for block_id in ids:
        row = rows.get(int(block_id))
        if row is None:
            continue
        out.append(
            Block(
                kind=kind,
                block_id=int(row[0]),
                stream_id=int(row[1]),
                stream_name=names.get(int(row[1]), str(row[1])),
                domain=coerce_text(row[2]),
                ip=None if row[3] is None else coerce_text(row[3]).strip(),
                mx=None if row[4] is None else coerce_text(row[4]).strip(),
                description=None if row[5] is None else coerce_text(row[5]),
                since=row[6],
                next_retry=row[7],
            )
        )
    if since is not None:
        fetch_evidence(schema, conn, kind, out, since=since)
    return out


def fetch_evidence(
    schema: BoundSchema,
    conn: Connection,
    kind: BlockKind,
    blocks: Sequence[Block],
    *,
    since: datetime,
) -> None:
    """Fill in the outcome counts and the latest failed reply of ``blocks`` (in place).

    One statement per page counts the attempts in the window by outcome (the attempt log
    joined to the page's block rows, grouped by block: index range scans), one finds each
    block's latest failure with a correlated subquery, a third reads those replies by key.
    """
    if not blocks or not schema.has("attempts"):
        return
    key = table_key(kind)
    b = schema.t(key)
    a = schema.t("attempts")
    scope = _evidence_scope(schema, kind, b, since)
    latest = (
        sa.select(a.c.AttemptID)
        .where(*scope, failure(schema), a.c.SMTPResponseText.is_not(None))
        .order_by(a.c.AttemptTime.desc(), a.c.AttemptID.desc())
        .limit(1)
        .scalar_subquery()
    )
    by_id = {blk.block_id: blk for blk in blocks}
    outcomes: dict[int, Outcomes] = {}
    found: dict[int, int | None] = {}
    for part in chunks(list(by_id)):
        counts = (
            sa.select(b.c.BlockID, *outcome_columns(schema))
            .select_from(b.join(a, sa.and_(*scope)))
            .where(b.c.BlockID.in_(part))
            .group_by(b.c.BlockID)
        )
        for r in conn.execute(counts):
            outcomes[int(r[0])] = Outcomes(*(int(v or 0) for v in r[1:]))
        stmt = sa.select(b.c.BlockID, latest).where(b.c.BlockID.in_(part))
        for block_id, latest_id in conn.execute(stmt):
            found[int(block_id)] = None if latest_id is None else int(latest_id)
    replies: dict[int, Any] = {}
    for part in chunks([lid for lid in found.values() if lid is not None]):
        stmt = sa.select(
            a.c.AttemptID,
            prefix(a.c.SMTPResponseText, REPLY_CHARS),
            schema.col("attempts", "SMTPResponseCode"),
            a.c.AttemptTime,
            schema.col("attempts", "MXHost"),
        ).where(a.c.AttemptID.in_(part))
        for r in conn.execute(stmt):
            replies[int(r[0])] = r
    for block_id, latest_id in found.items():
        blk = by_id[block_id]
        blk.outcomes = outcomes.get(block_id, Outcomes())
        reply = replies.get(latest_id) if latest_id is not None else None
        blk.latest_reply = None if reply is None else coerce_text(reply[1])
        blk.latest_code = None if reply is None else reply[2]
        blk.latest_time = None if reply is None else reply[3]
        blk.latest_mx_host = None if reply is None or reply[4] is None else coerce_text(reply[4])


def iter_blocks(
    schema: BoundSchema,
    conn: Connection,
    filt: BlockFilter,
    *,
    since: datetime | None,
    page: int = 500,
    limit: int | None = None,
) -> Iterator[Block]:
    """Every block the filter shows, a keyset page at a time (for the CLI)."""
    t = schema.t(table_key(filt.kind))
    sort = _sort_expr(schema, filt.kind, filt.sort)
    where = _block_where(schema, filt)
    names = stream_names(schema, conn)
    last: tuple[Any, int] | None = None
    seen = 0
    while limit is None or seen < limit:
        size = page if limit is None else min(page, limit - seen)
        stmt = sa.select(sort.label("k"), t.c.BlockID).where(*where)
        if last is not None:
            after = keyset_before if filt.descending else keyset_after
            stmt = stmt.where(after([sort, t.c.BlockID], list(last)))
        order = (sort.desc(), t.c.BlockID.desc()) if filt.descending else (sort, t.c.BlockID)
        rows = conn.execute(stmt.order_by(*order).limit(size)).fetchall()
        if not rows:
            return
        ids = [int(r[1]) for r in rows]
        yield from fetch_blocks(schema, conn, filt.kind, ids, since=since, names=names)
        seen += len(rows)
        if len(rows) < size:
            return
        last = (rows[-1][0], int(rows[-1][1]))


def blocks_by_keys(
    schema: BoundSchema, conn: Connection, kind: BlockKind, ids: Sequence[int]
) -> list[Block]:
    """The block rows for ``ids`` without evidence (release dialogs, audits)."""
    return fetch_blocks(schema, conn, kind, ids, since=None)


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class ReplyScope:
    """Which attempts are "behind" a block: the columns the attempt log is filtered on."""

    stream_id: int | None = None
    domain: str | None = None
    source_ip: str | None = None
    mx_ip: str | None = None

    @classmethod
    def for_block(cls, block: Block) -> ReplyScope:
        """Domain blocks: stream + domain. IP blocks: stream + stream IP + blocking MX IP."""
        if block.kind == "domain":
            return cls(stream_id=block.stream_id, domain=block.domain)
        return cls(stream_id=block.stream_id, source_ip=block.ip, mx_ip=block.mx)


def _scope_filters(schema: BoundSchema, scope: ReplyScope) -> list[Any]:
    """The scope's column conditions on the attempt log (no time, no outcome)."""
    a = schema.t("attempts")
    where: list[Any] = []
    if scope.stream_id is not None:
        where.append(a.c.MailStreamID == scope.stream_id)
    if scope.domain is not None:
        where.append(text_equals(a.c.Domain, scope.domain.strip()))
    if scope.source_ip is not None:
        where.append(text_equals(schema.col("attempts", "SourceIP"), scope.source_ip.strip()))
    if scope.mx_ip is not None:
        where.append(text_equals(schema.col("attempts", "MXIP"), scope.mx_ip.strip()))
    return where


def scope_where(schema: BoundSchema, scope: ReplyScope, since: datetime) -> list[Any]:
    """The failed attempts in scope since ``since`` (with or without a reply text)."""
    a = schema.t("attempts")
    return [a.c.AttemptTime >= since, failure(schema), *_scope_filters(schema, scope)]


def _reply_key(schema: BoundSchema) -> sa.ColumnElement[Any]:
    """What replies are grouped by: the first :data:`REPLY_CHARS` characters of the text."""
    return prefix(schema.t("attempts").c.SMTPResponseText, REPLY_CHARS)


def _mx_host(schema: BoundSchema) -> sa.ColumnElement[Any]:
    """MX host, else MX IP, else ``?``: the constant is written into the SQL, not bound, so the
    grouped expression is the selected one on every server."""
    unknown = sa.literal_column("'?'", sa.String())
    return sa.func.coalesce(
        schema.col("attempts", "MXHost"), schema.col("attempts", "MXIP"), unknown
    )


def reply_outcomes(
    schema: BoundSchema, conn: Connection, scope: ReplyScope, *, since: datetime
) -> Outcomes:
    """The outcome counts of every attempt in scope since ``since`` (delivered included)."""
    a = schema.t("attempts")
    stmt = sa.select(*outcome_columns(schema)).where(
        a.c.AttemptTime >= since, *_scope_filters(schema, scope)
    )
    row = conn.execute(stmt).one()
    return Outcomes(*(int(v or 0) for v in row))


def iter_reply_rows(
    schema: BoundSchema,
    conn: Connection,
    scope: ReplyScope,
    *,
    since: datetime,
    page: int = REPLY_PAGE,
) -> Iterator[tuple[Any, ...]]:
    """Every failed attempt in scope by reply text and MX host: rows ``(text, host, highest
    code, count, first seen, last seen)`` in text order (the rows of one text follow each
    other); a failure without a reply text has the text None.

    One aggregate statement (``GROUP BY text, MX host ORDER BY text, MX host``, the statement
    README "Where the numbers come from" shows) over the whole window, read ``page`` rows at
    a time through a server-side cursor, so memory stays bounded however many different
    replies there are (a provider that puts a message id into every reply makes each one
    distinct). :func:`tui.diagnose.grouping.group_rows` folds them into signature groups.
    Times may come as ISO strings (SQLite keeps them so; they order the same).
    """
    a = schema.t("attempts")
    text = _reply_key(schema)
    host = _mx_host(schema)
    code = schema.col("attempts", "SMTPResponseCode")
    when = a.c.AttemptTime
    stmt = (
        sa.select(
            text,
            host,
            sa.func.max(code),
            sa.func.count(),
            sa.type_coerce(sa.func.min(when), sa.String()),
            sa.type_coerce(sa.func.max(when), sa.String()),
        )
        .where(*scope_where(schema, scope, since))
        .group_by(text, host)
        .order_by(text, host)
    )
    result = conn.execute(stmt, execution_options={"stream_results": True, "max_row_buffer": page})
    try:
        for rows in result.partitions(page):
            yield from rows
    finally:
        result.close()


def _hosts_desc(hosts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(hosts.items(), key=lambda hn: (-hn[1], hn[0]))


def reply_groups(
    schema: BoundSchema,
    conn: Connection,
    scope: ReplyScope,
    *,
    since: datetime,
    limit: int = 200,
) -> list[ReplyGroup]:
    """The ``limit`` most frequent failed reply texts in scope (exact counts per text), each
    with all its MX hosts: ``lmtriage responses --raw``. The console and the advice group
    every text by signature instead (:func:`iter_reply_rows`)."""
    a = schema.t("attempts")
    text = _reply_key(schema)
    code = schema.col("attempts", "SMTPResponseCode")
    where = scope_where(schema, scope, since)
    stmt = (
        sa.select(
            text.label("text"),
            sa.func.max(code).label("code"),
            sa.func.count().label("n"),
            sa.func.min(a.c.AttemptTime),
            sa.func.max(a.c.AttemptTime),
        )
        .where(*where)
        .group_by(text)
        .order_by(sa.func.count().desc(), sa.func.max(a.c.AttemptTime).desc(), text)
        .limit(max(1, limit))
    )
    groups = [
        ReplyGroup(
            text="" if r[0] is None else coerce_text(r[0]),
            code=r[1],
            count=int(r[2]),
            first_seen=r[3],
            last_seen=r[4],
        )
        for r in conn.execute(stmt)
    ]
    if not groups:
        return groups
    by_text = {g.text: g for g in groups}
    hosts: dict[str, dict[str, int]] = {g.text: {} for g in groups}
    host = _mx_host(schema)
    texts = [g.text for g in groups if g.text]
    parts: list[Any] = [text.in_(part) for part in chunks(texts)]
    if "" in by_text:
        parts.append(sa.or_(text.is_(None), text == ""))
    for match in parts:
        stmt = sa.select(text, host, sa.func.count()).where(*where, match).group_by(text, host)
        for r in conn.execute(stmt):
            name = "" if r[0] is None else coerce_text(r[0])
            if name in hosts:
                bucket = hosts[name]
                bucket[coerce_text(r[1])] = bucket.get(coerce_text(r[1]), 0) + int(r[2])
    for name, bucket in hosts.items():
        by_text[name].mx_hosts = _hosts_desc(bucket)
    return groups


def _text_match(schema: BoundSchema, texts: Sequence[str]) -> sa.ColumnElement[bool]:
    key = _reply_key(schema)
    known = [t for t in texts if t]
    clauses: list[Any] = []
    if known:
        clauses.append(key == known[0] if len(known) == 1 else key.in_(known))
    if len(known) < len(texts):  # "" stands for the failures without a reply text
        clauses.append(sa.or_(key.is_(None), key == ""))
    return sa.or_(*clauses) if clauses else sa.false()


def reply_samples(
    schema: BoundSchema,
    conn: Connection,
    scope: ReplyScope,
    text: str | Sequence[str] | None = None,
    *,
    since: datetime,
    limit: int = 100,
    before: tuple[datetime, int] | None = None,
    match: Callable[[str], bool] | None = None,
    scan_page: int = 2000,
) -> list[ReplySample]:
    """Raw attempts of one reply group, newest first, a keyset page at a time.

    ``text``: the exact texts of the group (at most :data:`MAX_PARAMS_PER_STATEMENT` are
    matched in SQL). ``match``: a test on the reply text (its first :data:`REPLY_CHARS`
    characters) for groups whose texts are too many to name, e.g. "has this signature": the
    attempts in scope are then read newest first in keyset pages of ``scan_page`` and kept
    when they match, until ``limit`` are found.
    """
    a = schema.t("attempts")
    where = list(scope_where(schema, scope, since))
    if text is not None:
        texts = [text] if isinstance(text, str) else list(text)[:MAX_PARAMS_PER_STATEMENT]
        where.append(_text_match(schema, texts))
    cols = [
        a.c.AttemptID,
        a.c.AttemptTime,
        schema.col("attempts", "SourceIP"),
        schema.col("attempts", "MXHost"),
        schema.col("attempts", "MXIP"),
        schema.col("attempts", "SMTPResponseCode"),
        prefix(a.c.SMTPResponseText, SAMPLE_CHARS),
    ]
    order = (a.c.AttemptTime.desc(), a.c.AttemptID.desc())
    out: list[ReplySample] = []
    cursor = before
    while len(out) < limit:
        stmt = sa.select(*cols, _reply_key(schema)).where(*where)
        if cursor is not None:
            stmt = stmt.where(keyset_before([a.c.AttemptTime, a.c.AttemptID], list(cursor)))
        size = limit - len(out) if match is None else scan_page
        rows = conn.execute(stmt.order_by(*order).limit(size)).fetchall()
        for r in rows:
            key = "" if r[7] is None else coerce_text(r[7])
            if match is None or match(key):
                out.append(
                    ReplySample(int(r[0]), r[1], r[2], r[3], r[4], r[5], coerce_text(r[6] or ""))
                )
                if len(out) >= limit:
                    break
        if len(rows) < size or match is None:
            break
        cursor = (rows[-1][1], int(rows[-1][0]))
    return out


# --------------------------------------------------------------------------- dashboard


def _status_labels(schema: BoundSchema, conn: Connection) -> dict[int, str]:
    if not schema.has("completion_status"):
        return {}
    t = schema.t("completion_status")
    stmt = sa.select(t.c.CompletionStatusID, schema.col("completion_status", "Description")).limit(
        10_000
    )
    return {int(r[0]): str(r[1] or "") for r in conn.execute(stmt)}


def status_labels(schema: BoundSchema, conn: Connection) -> dict[int, str]:
    """CompletionStatusID → label, read from the database (never hard-coded)."""
    return _status_labels(schema, conn)


def dao_definitions(
    schema: BoundSchema, conn: Connection, limit: int = 10_000
) -> list[dict[str, Any]]:
    """ListManager's reply patterns (``lyrDAODefinitions``), keyed by model column names."""
    if not schema.has("dao_definitions"):
        return []
    t = schema.t("dao_definitions")
    stmt = sa.select(
        t.c.Area,
        t.c.PatternType,
        schema.col("dao_definitions", "SMTPResponseCode").label("SMTPResponseCode"),
        t.c.ClassificationCode,
        t.c.Pattern,
    ).limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


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
