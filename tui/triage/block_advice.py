"""Gather what the advice layer needs about a block from the database, and ask it.

``tui.diagnose`` reasons over plain facts; this module reads them from an open
:class:`~tui.core.Core`: the failed replies behind the block (grouped), the stream's sending
IPs and how many of them are blocked for the domain, and the domain's Domain Connection
Limit. The console and the CLI both call it. No Textual here.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.connection_limits import get_limit
from tui.db.queries import BlockFilter, ReplyScope
from tui.db.records import Block, Stream
from tui.errors import NotFoundError

if TYPE_CHECKING:
    from tui.checks import CheckResult
    from tui.db.history import BlockHistory
    from tui.diagnose.advice import Advice, BlockFacts
    from tui.diagnose.grouping import SignatureGroup


def blocked_ip_count(core: Core, conn: Connection, stream_id: int, domain: str) -> int:
    """How many of the stream's IPs have a block for ``domain``."""
    t = core.schema.t("blocked_ips")
    stmt = sa.select(sa.func.count(sa.distinct(t.c.IPAddress))).where(
        t.c.MailStreamID == stream_id, sa.func.lower(t.c.Domain) == domain.lower()
    )
    return int(conn.execute(stmt).scalar() or 0)


BIG_BLOCK_TEXTS = 20_000
"""Blocks with at least this many distinct failed replies keep their groups in memory
(:data:`_BIG_GROUPS`) until their failed attempts change: grouping them takes seconds."""
_BIG_GROUPS: OrderedDict[tuple[object, ...], tuple[tuple[int, int, int], list[SignatureGroup]]] = (
    OrderedDict()
)
_BIG_KEPT = 4
_big_lock = threading.Lock()


def _fingerprint(
    core: Core, conn: Connection, scope: ReplyScope, since: datetime
) -> tuple[int, int, int]:
    """(count, max, sum) of the AttemptIDs of the failed attempts in scope: any attempt
    added to, removed from or aged out of the window changes it."""
    a = core.schema.t("attempts")
    ident = a.c.AttemptID
    stmt = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.max(ident), 0),
        sa.func.coalesce(sa.func.sum(ident), 0),
    ).where(*queries.scope_where(core.schema, scope, since))
    n, top, total = conn.execute(stmt).one()
    return int(n), int(top), int(total)


def signature_groups(
    core: Core,
    conn: Connection,
    scope: ReplyScope,
    *,
    since: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    stream_ips: Sequence[str] | None = None,
) -> list[SignatureGroup]:
    """Every failed attempt in ``scope`` since ``since`` (default: the evidence window),
    grouped by reply signature with exact counts: what the drill-down, ``responses``,
    ``explain`` and the advice show. Each group also counts the attempts whose replies name
    each of the scope's stream IPs (``named_ips``: which IPs a blocklist refusal is about);
    ``stream_ips`` saves reading them again when the caller has them.

    A block with very many different replies (:data:`BIG_BLOCK_TEXTS`) is grouped once and
    reused while a cheap fingerprint of its failed attempts stays the same: the drill-down
    and the advice of one block share the one grouping.
    """
    from tui.diagnose.grouping import group_rows

    if not core.schema.has("attempts"):
        return []
    since = since or core.since()
    key = (str(core.engine.url), scope)
    with _big_lock:
        known = _BIG_GROUPS.get(key)
    if known is not None:
        mark = _fingerprint(core, conn, scope, since)
        if mark == known[0]:
            return list(known[1])
    if stream_ips is None:
        stream_ips = queries.stream_ips(core.schema, conn, scope.stream_id)
    rows = queries.iter_reply_rows(core.schema, conn, scope, since=since)
    groups = group_rows(rows, progress=progress, watch_ips=stream_ips)
    if sum(g.variants for g in groups) >= BIG_BLOCK_TEXTS:
        mark = _fingerprint(core, conn, scope, since)
        with _big_lock:
            _BIG_GROUPS[key] = (mark, groups)
            _BIG_GROUPS.move_to_end(key)
            while len(_BIG_GROUPS) > _BIG_KEPT:
                _BIG_GROUPS.popitem(last=False)
    return groups


def gather_facts(
    core: Core,
    conn: Connection,
    block: Block,
    check_results: Sequence[CheckResult] = (),
    *,
    scope: ReplyScope | None = None,
) -> BlockFacts:
    """The facts :func:`tui.diagnose.advice.advise` reasons over, read for ``block``; with
    ``scope`` (a stream and domain), the replies and outcomes of that scope instead of the
    block's, as a domain block (the allowlist letter's advice)."""
    from tui.diagnose.advice import BlockFacts

    since = core.since()
    own_scope = scope is None
    scope = scope or ReplyScope.for_block(block)
    ips = queries.stream_ips(core.schema, conn, block.stream_id)
    groups = signature_groups(core, conn, scope, since=since, stream_ips=ips)
    outcomes = block.outcomes if own_scope else None
    if outcomes is None and core.schema.has("attempts"):
        outcomes = queries.reply_outcomes(core.schema, conn, scope, since=since)
    limit = (
        get_limit(core.schema, conn, block.domain) if core.schema.has("connection_limits") else None
    )
    return BlockFacts(
        kind=block.kind if own_scope else "domain",
        domain=block.domain,
        stream_name=block.stream_name,
        ip=block.ip if own_scope else None,
        mx=block.mx if own_scope else None,
        description=block.description,
        since=block.since,
        next_retry=block.next_retry,
        outcomes=outcomes,
        groups=tuple(groups),
        now=core.now(),
        stream_ips=tuple(ips),
        blocked_ips=blocked_ip_count(core, conn, block.stream_id, block.domain),
        connection_limit=limit,
        check_results=tuple(check_results),
        latest_reply=block.latest_reply,
        latest_code=block.latest_code,
        dkim_selectors=queries.dkim_selectors(core.schema, conn),
        block_id=block.block_id,
    )


def advise_block(
    core: Core,
    conn: Connection,
    block: Block,
    check_results: Sequence[CheckResult] = (),
    history: BlockHistory | None = None,
) -> tuple[Advice, BlockFacts]:
    """Advice for ``block`` and the facts it was drawn from; the block's release history
    (read when not given) is the last step (:mod:`tui.diagnose.reblock`)."""
    from tui.diagnose.advice import advise
    from tui.diagnose.reblock import note_reblock

    facts = gather_facts(core, conn, block, check_results)
    if history is None:
        history = block_history(core, conn, block)
    return note_reblock(advise(facts), history), facts


def block_history(core: Core, conn: Connection, block: Block) -> BlockHistory:
    """How often ``block``'s pair was blocked and released, and how soon it came back."""
    from tui.db.history import history_of
    from tui.diagnose.classify import BLOCK_REASONS, classify

    return history_of(
        core,
        conn,
        block,
        is_block_reply=lambda text, code: classify(text, code).category in BLOCK_REASONS,
    )


def representative_block(
    core: Core, conn: Connection, domain: str, stream: Stream | None
) -> Block | None:
    """The block an allowlist request for ``domain`` is about: the domain block of the
    stream, else its busiest IP-pair block (by attempts in the window)."""
    since = core.since()
    sid = stream.id if stream else None
    for kind in ("domain", "ip"):
        filt = BlockFilter(kind, stream_id=sid, domain=domain)  # type: ignore[arg-type]
        ids = queries.block_keys(core.schema, conn, filt, limit=50)
        if ids:
            blocks = queries.fetch_blocks(core.schema, conn, kind, ids, since=since)  # type: ignore[arg-type]
            if blocks:
                return max(blocks, key=lambda b: b.attempts or 0)
    return None


def helo_names(core: Core) -> dict[str, str]:
    """Sending IP → PTR/HELO name, from ``[checks] helo`` (or the demo's manifest)."""
    names: dict[str, str] = {}
    checks = core.config.checks.get("helo") if isinstance(core.config.checks, dict) else None
    if isinstance(checks, dict):
        names.update({str(k): str(v) for k, v in checks.items()})
    manifest = core.schema.discovery.demo_info.get("manifest")
    if manifest:
        with contextlib.suppress(ValueError):
            names.update({k: v for k, v in (json.loads(manifest).get("helo") or {}).items() if v})
    return names


def earliest_block_start(
    core: Core, conn: Connection, stream_id: int, domain: str
) -> datetime | None:
    """When ListManager first recorded a block of ``domain`` for the stream that still stands
    (the earliest BlockedSince of its domain and IP-pair blocks)."""
    found: list[datetime] = []
    for key in ("blocked_domains", "blocked_ips"):
        if not core.schema.has_col(key, "BlockedSince"):
            continue
        t = core.schema.t(key)
        since = core.schema.col(key, "BlockedSince")
        stmt = sa.select(sa.func.min(since)).where(
            t.c.MailStreamID == stream_id, sa.func.lower(t.c.Domain) == domain.lower()
        )
        value = conn.execute(stmt).scalar()
        if isinstance(value, datetime):
            found.append(value)
    return min(found) if found else None


def allowlist_text(
    core: Core,
    conn: Connection,
    domain: str,
    stream: Stream | None,
    check_results: Sequence[CheckResult] = (),
) -> str:
    """A ready-to-send allowlist request to ``domain``'s postmaster, about one stream: the
    given one, else the stream of the domain's busiest block."""
    from tui.diagnose.allowlist import allowlist_request

    domain = domain.strip().lower()
    block = representative_block(core, conn, domain, stream)
    if stream is None:
        if block is None:
            raise NotFoundError(
                f"no block for {domain} in any stream: name the stream with --stream",
                exit_code=1,
            )
        stream = Stream(block.stream_id, block.stream_name)
    since = core.since()
    scope = ReplyScope(stream_id=stream.id, domain=domain)
    if block is not None:
        # The letter is about the stream and the domain, so its advice weighs the same
        # replies it quotes (every IP's), not only those of its representative block: a PTR
        # refusal of one IP outranks another IP's throttle here as it would in one block.
        from tui.diagnose.advice import advise

        facts = gather_facts(core, conn, block, check_results, scope=scope)
        groups, ips = list(facts.groups), list(facts.stream_ips)
        advice, limit = advise(facts), facts.connection_limit
    else:
        groups = signature_groups(core, conn, scope, since=since)
        ips = queries.stream_ips(core.schema, conn, stream.id)
        advice = None
        limit = (
            get_limit(core.schema, conn, domain) if core.schema.has("connection_limits") else None
        )
    return allowlist_request(
        domain=domain,
        stream_name=stream.name,
        ips=ips,
        groups=groups,
        contact=core.config.sender,
        now=core.now(),
        advice=advice,
        helo=helo_names(core),
        blocked_since=earliest_block_start(core, conn, stream.id, domain),
        connection_limit=limit,
        window_start=since,
        check_results=check_results,
    )
