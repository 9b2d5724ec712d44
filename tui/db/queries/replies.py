"""The replies behind a block: its failed attempts (:class:`ReplyScope`), their outcome counts,
grouped by reply text and MX host, and raw samples newest first. Also the one definition of a
failed attempt (:func:`failure`) every figure uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.records import Block, Outcomes, ReplyGroup, ReplySample
from tui.db.sqlfuncs import MAX_PARAMS_PER_STATEMENT, chunks, keyset_before, prefix, text_equals
from tui.domains import domain_spellings
from tui.textsafe import coerce_text

# How much of a reply is fetched: enough to read and classify, bounded for megabyte replies.
REPLY_CHARS = 2000
SAMPLE_CHARS = 8000


REPLY_PAGE = 5000


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
        given = scope.domain.strip()
        spellings = tuple(dict.fromkeys((given, *domain_spellings(given))))
        where.append(sa.or_(*(text_equals(a.c.Domain, d) for d in spellings)))
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
