"""What is blocked right now, in numbers: the facts status, metrics, watch and the report share.

Every figure here is one bounded SQL statement (or a bounded page walk) over ListManager's
block tables and attempt log, so each can be reproduced by hand:

* blocks per stream and kind: ``SELECT MailStreamID, COUNT(*) FROM <block table> GROUP BY
  MailStreamID``;
* the oldest block: the row with the smallest ``BlockedSince`` (rows without one have no age);
* failed attempts by category: failed attempts in the window (code >= 400 or NULL) grouped by
  reply text, each text classified (texts beyond :data:`MAX_TEXTS` are counted as
  ``unclassified``; failures without a text as ``no_reply``);
* blocks by category: the category of each block's latest failed reply in the window, for at
  most :data:`MAX_CATEGORIZED` blocks (the rest count as ``unjudged``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.queries import REPLY_CHARS, BlockFilter, table_key
from tui.db.records import KINDS, Block, BlockKind
from tui.db.sqlfuncs import prefix
from tui.textsafe import coerce_text

MAX_TEXTS = 20_000  # distinct failed reply texts classified per run
MAX_CATEGORIZED = 20_000  # blocks whose latest reply is read for "blocks by category"
MAX_TRACKED = 200_000  # blocks a watch keeps in its state
NO_REPLY = "no_reply"  # a block (or failure) with no failed reply text in the window
UNJUDGED = "unjudged"  # a block beyond MAX_CATEGORIZED
UNCLASSIFIED = "unclassified"  # failures whose text was beyond MAX_TEXTS


@dataclass(frozen=True, slots=True)
class OldestBlock:
    """The block with the smallest BlockedSince."""

    kind: BlockKind
    block_id: int
    stream: str
    domain: str
    ip: str | None
    mx: str | None
    since: datetime

    def age(self, now: datetime) -> timedelta:
        """How long it has been blocked (never negative: clocks differ)."""
        return max(now - self.since, timedelta(0))

    def describe(self) -> str:
        """``gmail.com (ip 192.0.2.10 → 198.18.0.5), stream default`` (not made safe)."""
        what = f"ip {self.ip} -> {self.mx}" if self.kind == "ip" else "domain row"
        return f"{self.domain} ({what}), stream {self.stream}"


@dataclass(slots=True)
class Inventory:
    """Block counts per (stream, kind) and the oldest block, read at ``now``."""

    now: datetime
    counts: dict[tuple[str, BlockKind], int] = field(default_factory=dict)
    oldest: OldestBlock | None = None

    def total(self, kind: BlockKind | None = None) -> int:
        """Blocks of one kind (or of both)."""
        return sum(n for (_s, k), n in self.counts.items() if kind is None or k == kind)

    def by_stream(self) -> dict[str, int]:
        """Blocks per stream name (both kinds)."""
        out: Counter[str] = Counter()
        for (stream, _kind), n in self.counts.items():
            out[stream] += n
        return dict(sorted(out.items()))

    def oldest_age(self) -> timedelta | None:
        """Age of the oldest block with a BlockedSince (None when there is none)."""
        return self.oldest.age(self.now) if self.oldest else None


def read_inventory(core: Core, conn: Connection, stream_id: int | None = None) -> Inventory:
    """Counts per stream and kind, and the oldest block (two statements per block table)."""
    names = queries.stream_names(core.schema, conn)
    inv = Inventory(now=core.now())
    for kind in KINDS:
        key = table_key(kind)
        t = core.schema.t(key)
        stmt = sa.select(t.c.MailStreamID, sa.func.count()).group_by(t.c.MailStreamID)
        if stream_id is not None:
            stmt = stmt.where(t.c.MailStreamID == stream_id)
        for sid, n in conn.execute(stmt.limit(queries.MAX_STREAMS)):
            name = names.get(int(sid), str(sid))
            inv.counts[(name, kind)] = inv.counts.get((name, kind), 0) + int(n)
        oldest = _oldest(core, conn, kind, stream_id, names)
        if oldest is not None and (inv.oldest is None or oldest.since < inv.oldest.since):
            inv.oldest = oldest
    return inv


def _oldest(
    core: Core, conn: Connection, kind: BlockKind, stream_id: int | None, names: dict[int, str]
) -> OldestBlock | None:
    key = table_key(kind)
    if not core.schema.has_col(key, "BlockedSince"):
        return None
    t = core.schema.t(key)
    since = core.schema.col(key, "BlockedSince")
    stmt = sa.select(t.c.BlockID).where(since.is_not(None)).order_by(since, t.c.BlockID).limit(1)
    if stream_id is not None:
        stmt = stmt.where(t.c.MailStreamID == stream_id)
    block_id = conn.execute(stmt).scalar()
    if block_id is None:
        return None
    rows = queries.fetch_blocks(core.schema, conn, kind, [int(block_id)], since=None, names=names)
    if not rows or rows[0].since is None:
        return None
    b = rows[0]
    return OldestBlock(b.kind, b.block_id, b.stream_name, b.domain, b.ip, b.mx, b.since)


def current_blocks(
    core: Core, conn: Connection, stream_id: int | None = None, *, limit: int = MAX_TRACKED
) -> tuple[list[Block], bool]:
    """Every block row now (without evidence), at most ``limit``; True when cut short."""
    names = queries.stream_names(core.schema, conn)
    out: list[Block] = []
    truncated = False
    for kind in KINDS:
        left = limit - len(out)
        if left <= 0:
            truncated = True
            break
        filt = BlockFilter(kind, stream_id=stream_id)
        ids = queries.block_keys(core.schema, conn, filt, limit=left + 1)
        if len(ids) > left:
            ids, truncated = ids[:left], True
        out += queries.fetch_blocks(core.schema, conn, kind, ids, since=None, names=names)
    return out, truncated


def iter_blocks_with_evidence(
    core: Core, conn: Connection, stream_id: int | None = None, *, since: datetime
) -> Iterator[Block]:
    """Every block with its attempts and latest failed reply in the window, page by page."""
    for kind in KINDS:
        filt = BlockFilter(kind, stream_id=stream_id)
        yield from queries.iter_blocks(core.schema, conn, filt, since=since)


def block_categories(
    core: Core,
    conn: Connection,
    stream_id: int | None = None,
    *,
    since: datetime | None = None,
    limit: int = MAX_CATEGORIZED,
) -> Counter[tuple[str, BlockKind, str]]:
    """Blocks per (stream, kind, category of the latest failed reply since ``since``)."""
    from tui.diagnose.classify import classify

    out: Counter[tuple[str, BlockKind, str]] = Counter()
    seen = 0
    if core.schema.has("attempts"):
        start = since or core.since()
        for block in iter_blocks_with_evidence(core, conn, stream_id, since=start):
            if seen >= limit:
                break
            seen += 1
            category = (
                classify(block.latest_reply, block.latest_code).category
                if block.latest_reply
                else NO_REPLY
            )
            out[(block.stream_name, block.kind, category)] += 1
    # Whatever was not read (over the limit, or no attempt log) is counted, never dropped.
    inv = read_inventory(core, conn, stream_id)
    for (stream, kind), n in inv.counts.items():
        judged = sum(v for (s, k, _c), v in out.items() if s == stream and k == kind)
        if n > judged:
            out[(stream, kind, UNJUDGED if core.schema.has("attempts") else NO_REPLY)] += n - judged
    return out


def failed_by_category(
    core: Core, conn: Connection, stream_id: int | None = None, *, window: timedelta | None = None
) -> Counter[str]:
    """Failed attempts in the window, by the category of their reply text."""
    from tui.diagnose.classify import classify

    out: Counter[str] = Counter()
    if not core.schema.has("attempts"):
        return out
    a = core.schema.t("attempts")
    code = core.schema.col("attempts", "SMTPResponseCode")
    now = core.now()
    where = [
        a.c.AttemptTime >= now - (window or core.config.window),
        a.c.AttemptTime <= now,
        sa.or_(code >= 400, code.is_(None)),
    ]
    if stream_id is not None:
        where.append(a.c.MailStreamID == stream_id)
    total = int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar() or 0)
    text = prefix(a.c.SMTPResponseText, REPLY_CHARS)
    stmt = (
        sa.select(text, sa.func.max(code), sa.func.count())
        .where(*where, a.c.SMTPResponseText.is_not(None))
        .group_by(text)
        .order_by(sa.func.count().desc())
        .limit(MAX_TEXTS)
    )
    counted = 0
    for reply, reply_code, n in conn.execute(stmt):
        category = classify(coerce_text(reply), reply_code).category if reply else NO_REPLY
        out[category] += int(n)
        counted += int(n)
    with_text = int(
        conn.execute(
            sa.select(sa.func.count()).where(*where, a.c.SMTPResponseText.is_not(None))
        ).scalar()
        or 0
    )
    if with_text > counted:
        out[UNCLASSIFIED] += with_text - counted
    if total > with_text:
        out[NO_REPLY] += total - with_text
    return out
