"""Block history: how often a domain or IP pair was blocked and released, and how soon it came
back after the last release.

Sources, both read-only:

* the audit store: every committed release (``release``, ``release-all``, ``autorelease``) of
  this database keeps a full copy of each released row, so its stream, domain, stream IP, MX
  and BlockedSince say which *pair* it was and which block occurrence it ended. A release that
  was undone put the block back: it is listed, but not counted;
* the attempt log: failed and delivered attempts of the pair since the last release, and the
  first failure after it whose reply is a reason to block (the caller says which replies are,
  so this module stays below the diagnosis layer).

The time to re-block is the current block's BlockedSince minus the last release, or, when the
block row does not tell (no BlockedSince, or the same row kept by a ``retry-now`` release),
the first blocking reply after the release. Audit times are UTC; they are moved onto the
database's clock (ListManager stores server-local times) with the core's clock offset.

The audit index is read in bounded pages (:data:`MAX_EVENTS` newest release events,
:data:`MAX_ROWS` rows) and cached per audit store and database until a newer event appears.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.audit import COMMITTED, AuditStore, decode_pairs
from tui.db.block_rows import PhysicalBlocks
from tui.db.records import Block, BlockKind
from tui.db.sqlfuncs import chunks, text_equals
from tui.db.undo import RELEASE_ACTIONS

if TYPE_CHECKING:
    from tui.core import Core

MAX_EVENTS = 2_000
MAX_ROWS = 500_000
CACHE_SECONDS = 60.0
REBLOCK_SOON = timedelta(hours=24)
# BlockedSince written by the engine and a release time from this host's clock may disagree by
# a little; a "re-block" this much before the release is still taken as after it.
CLOCK_SLOP = timedelta(minutes=2)
FAILURES_CLASSIFIED = 50  # failed attempts after a release read to find the blocking one

Pair = tuple[BlockKind, int, str, str, str]
IsBlockReply = Callable[[str, "int | None"], bool]


def pair_of(kind: BlockKind, stream_id: int, domain: str, ip: str | None, mx: str | None) -> Pair:
    """The pair a block is, whenever it was created (domains case-folded)."""
    return (kind, int(stream_id), domain.strip().lower(), (ip or "").strip(), (mx or "").strip())


def utc_to_database(value: datetime, clock_offset: timedelta) -> datetime:
    """An audit time (naive UTC) on the database's clock (naive server-local)."""
    local = value.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
    return local + clock_offset


@dataclass(frozen=True, slots=True)
class PastRelease:
    """One release of the pair, from the audit store."""

    event_id: int
    action: str
    released_at: datetime  # on the database's clock
    blocked_since: datetime | None  # of the released row: the occurrence it ended
    mode: str | None
    undone: bool

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "event": self.event_id,
            "action": self.action,
            "released_at": self.released_at,
            "blocked_since": self.blocked_since,
            "mode": self.mode,
            "undone": self.undone,
        }


@dataclass(slots=True)
class BlockHistory:
    """The history of one pair, as of one block row."""

    pair: Pair
    releases: tuple[PastRelease, ...] = ()  # oldest first, undone ones included
    current_since: datetime | None = None
    reblocked_after: timedelta | None = None
    reblock_evidence: str | None = None  # "BlockedSince" or "attempt log"
    failed_since_release: int | None = None
    delivered_since_release: int | None = None
    first_block_reply_after_release: datetime | None = None
    complete: bool = True  # False: the audit index was cut at its bound
    note: str | None = None  # why the audit could not be read

    @property
    def counted(self) -> list[PastRelease]:
        """Releases that stood (not undone)."""
        return [r for r in self.releases if not r.undone]

    @property
    def times_released(self) -> int:
        """How often lmtriage released the pair (undone releases not counted)."""
        return len(self.counted)

    @property
    def times_blocked(self) -> int:
        """Block occurrences: each one a release ended, and the current one."""
        seen: set[Any] = set()
        n = 0
        for r in self.counted:
            if r.blocked_since is None or r.blocked_since not in seen:
                n += 1
                if r.blocked_since is not None:
                    seen.add(r.blocked_since)
        if self.current_since is None or self.current_since not in seen:
            n += 1
        return n

    @property
    def last_release(self) -> PastRelease | None:
        """The newest release that stood."""
        counted = self.counted
        return counted[-1] if counted else None

    @property
    def has_history(self) -> bool:
        """True when the audit knows any release of the pair."""
        return bool(self.releases)

    def reblocked_soon(self, within: timedelta = REBLOCK_SOON) -> bool:
        """Blocked again less than ``within`` after the last release."""
        return self.reblocked_after is not None and self.reblocked_after <= within

    def to_json(self) -> dict[str, Any]:
        """The documented ``history`` fields."""
        return {
            "times_blocked": self.times_blocked,
            "times_released": self.times_released,
            "releases": [r.to_json() for r in self.releases],
            "last_release": self.last_release.released_at if self.last_release else None,
            "reblocked_after_seconds": None
            if self.reblocked_after is None
            else int(self.reblocked_after.total_seconds()),
            "reblock_evidence": self.reblock_evidence,
            "failed_since_release": self.failed_since_release,
            "delivered_since_release": self.delivered_since_release,
            "complete": self.complete,
            "note": self.note,
        }


@dataclass(slots=True)
class HistoryIndex:
    """Every release of the database the audit store knows, by pair."""

    by_pair: dict[Pair, list[PastRelease]] = field(default_factory=lambda: defaultdict(list))
    complete: bool = True
    newest_event: int | None = None
    note: str | None = None
    read_at: float = 0.0


def build_index(
    audit: AuditStore,
    database: str,
    physical: dict[BlockKind, PhysicalBlocks],
    clock_offset: timedelta,
    *,
    max_events: int = MAX_EVENTS,
    max_rows: int = MAX_ROWS,
) -> HistoryIndex:
    """Read the committed releases of ``database`` (newest first, bounded) into an index."""
    index = HistoryIndex(read_at=time.monotonic())
    ev, rows_t = audit.events, audit.rows
    stmt = (
        sa.select(
            ev.c.id, ev.c.action, ev.c.started_at, ev.c.finished_at, ev.c.mode, ev.c.undone_by
        )
        .where(
            ev.c.database == database,
            ev.c.status == COMMITTED,
            ev.c.action.in_(RELEASE_ACTIONS),
            ev.c.released > 0,
        )
        .order_by(ev.c.id.desc())
        .limit(max_events + 1)
    )
    newest = sa.select(sa.func.max(ev.c.id)).where(ev.c.database == database)
    with audit.engine.connect() as conn:
        index.newest_event = conn.execute(newest).scalar()
        events = conn.execute(stmt).fetchall()
        if len(events) > max_events:
            events, index.complete = events[:max_events], False
        by_id = {int(e.id): e for e in events}
        seen_rows = 0
        for part in chunks(sorted(by_id)):
            rstmt = sa.select(rows_t.c.event_id, rows_t.c.kind, rows_t.c.rows_json).where(
                rows_t.c.event_id.in_(list(part)), rows_t.c.outcome == "released"
            )
            for event_id, kind, rows_json in conn.execute(rstmt):
                phys = physical.get(kind)
                if phys is None:
                    continue
                e = by_id[int(event_id)]
                when = utc_to_database(e.finished_at or e.started_at, clock_offset)
                for _key, row in decode_pairs(rows_json):
                    seen_rows += 1
                    if seen_rows > max_rows:
                        index.complete = False
                        break
                    try:
                        ident = phys.identity_of(row)
                    except (KeyError, TypeError, ValueError):
                        continue  # a row written under another schema mapping
                    index.by_pair[pair_of(kind, ident.stream_id, ident.domain, ident.ip, ident.mx)].append(
                        PastRelease(
                            event_id=int(event_id),
                            action=e.action,
                            released_at=when,
                            blocked_since=ident.since,
                            mode=e.mode,
                            undone=e.undone_by is not None,
                        )
                    )
    for releases in index.by_pair.values():
        releases.sort(key=lambda r: (r.released_at, r.event_id))
    return index


# (audit location, database) -> index; checked against the newest event id and an age.
_CACHE: dict[tuple[str, str], HistoryIndex] = {}
_CACHE_LOCK = threading.Lock()


def readable_audit(core: Core) -> AuditStore | None:
    """The core's audit store if it exists, without creating a file or a table for it:
    a read-only command on a server where nothing was ever released leaves no trace."""
    if "audit" in core.__dict__:
        return core.audit
    cfg = core.config
    if cfg.audit_in_database:
        if not sa.inspect(core.engine).has_table("lmtriage_audit_event"):
            return None
        return core.audit
    if cfg.audit_url:
        return core.audit
    return core.audit if cfg.resolved_audit_path().exists() else None


def history_index(core: Core) -> HistoryIndex:
    """The cached index of the core's database (an empty one with a note when the audit
    store cannot be read: history is a help, never a reason to fail)."""
    try:
        audit = readable_audit(core)
    except Exception as err:  # noqa: BLE001
        return HistoryIndex(note=f"the audit store could not be opened ({type(err).__name__})")
    if audit is None:
        return HistoryIndex()
    key = (audit.location, core.display_url)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    try:
        if cached is not None and time.monotonic() - cached.read_at < CACHE_SECONDS:
            with audit.engine.connect() as conn:
                newest = conn.execute(
                    sa.select(sa.func.max(audit.events.c.id)).where(
                        audit.events.c.database == core.display_url
                    )
                ).scalar()
            if newest == cached.newest_event:
                return cached
        physical = {kind: PhysicalBlocks(core.schema, kind) for kind in ("domain", "ip")}
        index = build_index(audit, core.display_url, physical, core.clock_offset)  # type: ignore[arg-type]
    except Exception as err:  # noqa: BLE001
        return HistoryIndex(note=f"the audit store could not be read ({type(err).__name__})")
    with _CACHE_LOCK:
        _CACHE[key] = index
    return index


def _attempts_after(
    core: Core,
    conn: Connection,
    block: Block,
    after: datetime,
    is_block_reply: IsBlockReply | None,
) -> tuple[int, int, datetime | None]:
    """Failed and delivered attempts of the pair since ``after``, and the first failure whose
    reply is a reason to block (read among the first :data:`FAILURES_CLASSIFIED`)."""
    schema = core.schema
    a = schema.t("attempts")
    code = schema.col("attempts", "SMTPResponseCode")
    where: list[Any] = [a.c.MailStreamID == block.stream_id, a.c.AttemptTime >= after]
    if block.kind == "domain":
        where.append(text_equals(a.c.Domain, block.domain.strip()))
    else:
        where.append(text_equals(schema.col("attempts", "SourceIP"), (block.ip or "").strip()))
        where.append(text_equals(schema.col("attempts", "MXIP"), (block.mx or "").strip()))
    failed = sa.or_(code >= 400, code.is_(None))
    stmt = sa.select(
        sa.func.sum(sa.case((failed, 1), else_=0)),
        sa.func.sum(sa.case((code.between(200, 299), 1), else_=0)),
    ).where(*where)
    n_failed, n_ok = conn.execute(stmt).one()
    first: datetime | None = None
    if n_failed and is_block_reply is not None:
        from tui.db.queries import REPLY_CHARS
        from tui.db.sqlfuncs import prefix
        from tui.textsafe import coerce_text

        rows = conn.execute(
            sa.select(a.c.AttemptTime, code, prefix(a.c.SMTPResponseText, REPLY_CHARS))
            .where(*where, failed, a.c.SMTPResponseText.is_not(None))
            .order_by(a.c.AttemptTime, a.c.AttemptID)
            .limit(FAILURES_CLASSIFIED)
        )
        for when, reply_code, text in rows:
            if is_block_reply(coerce_text(text), reply_code):
                first = when
                break
    return int(n_failed or 0), int(n_ok or 0), first


def history_of(
    core: Core,
    conn: Connection,
    block: Block,
    *,
    is_block_reply: IsBlockReply | None = None,
    index: HistoryIndex | None = None,
) -> BlockHistory:
    """The history of ``block``'s pair, up to this block row."""
    index = index if index is not None else history_index(core)
    pair = pair_of(block.kind, block.stream_id, block.domain, block.ip, block.mx)
    releases = tuple(index.by_pair.get(pair, ()))
    history = BlockHistory(
        pair=pair,
        releases=releases,
        current_since=block.since,
        complete=index.complete,
        note=index.note,
    )
    last = history.last_release
    if last is None:
        return history
    same_row = (
        block.since is not None
        and last.blocked_since is not None
        and abs((block.since - last.blocked_since).total_seconds()) < 0.004
    )
    if block.since is not None and not same_row and block.since >= last.released_at - CLOCK_SLOP:
        history.reblocked_after = max(block.since - last.released_at, timedelta(0))
        history.reblock_evidence = "BlockedSince"
    if core.schema.has("attempts"):
        failed, ok, first = _attempts_after(core, conn, block, last.released_at, is_block_reply)
        history.failed_since_release, history.delivered_since_release = failed, ok
        history.first_block_reply_after_release = first
        if history.reblocked_after is None and first is not None:
            history.reblocked_after = max(first - last.released_at, timedelta(0))
            history.reblock_evidence = "attempt log"
    return history


def clear_cache() -> None:
    """Forget cached indexes (tests, and after a write that should show at once)."""
    with _CACHE_LOCK:
        _CACHE.clear()
