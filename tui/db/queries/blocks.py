"""Block lists: which blocks a pane or command shows (:class:`BlockFilter`), their keys in
display order, keyset pages of full rows, and the evidence of one page (outcome counts and the
latest failed reply)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.queries.replies import REPLY_CHARS, failure, outcome_columns
from tui.db.queries.streams import stream_names
from tui.db.records import Block, BlockKind, Outcomes
from tui.db.sqlfuncs import chunks, contains, keyset_after, keyset_before, prefix, text_equals
from tui.domains import domain_spellings
from tui.textsafe import coerce_text

KEY_PAGE = 100_000


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
        spellings = domain_spellings(filt.domain)
        where.append(sa.or_(*(text_equals(sa.func.lower(t.c.Domain), d) for d in spellings)))
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
