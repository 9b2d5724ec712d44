"""Gather what the advice layer needs about a block from the database, and ask it.

``tui.diagnose`` reasons over plain facts; this module reads them from an open
:class:`~tui.core.Core`: the failed replies behind the block (grouped), the stream's sending
IPs and how many of them are blocked for the domain, and the domain's Domain Connection
Limit. The console and the CLI both call it. No Textual here.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.connection_limits import get_limit
from tui.db.queries import BlockFilter, ReplyScope
from tui.db.records import Block, Stream

if TYPE_CHECKING:
    from tui.checks import CheckResult
    from tui.db.history import BlockHistory
    from tui.diagnose.advice import Advice, BlockFacts


def blocked_ip_count(core: Core, conn: Connection, stream_id: int, domain: str) -> int:
    """How many of the stream's IPs have a block for ``domain``."""
    t = core.schema.t("blocked_ips")
    stmt = sa.select(sa.func.count(sa.distinct(t.c.IPAddress))).where(
        t.c.MailStreamID == stream_id, sa.func.lower(t.c.Domain) == domain.lower()
    )
    return int(conn.execute(stmt).scalar() or 0)


def gather_facts(
    core: Core, conn: Connection, block: Block, check_results: Sequence[CheckResult] = ()
) -> BlockFacts:
    """The facts :func:`tui.diagnose.advice.advise` reasons over, read for ``block``."""
    from tui.diagnose.advice import BlockFacts

    groups: list = []
    if core.schema.has("attempts"):
        groups = queries.reply_groups(
            core.schema, conn, ReplyScope.for_block(block), since=core.since()
        )
    ips = queries.stream_ips(core.schema, conn, block.stream_id)
    limit = (
        get_limit(core.schema, conn, block.domain) if core.schema.has("connection_limits") else None
    )
    return BlockFacts(
        kind=block.kind,
        domain=block.domain,
        stream_name=block.stream_name,
        ip=block.ip,
        mx=block.mx,
        description=block.description,
        since=block.since,
        next_retry=block.next_retry,
        attempts=block.attempts,
        groups=tuple(groups),
        now=core.now(),
        stream_ips=tuple(ips),
        blocked_ips=blocked_ip_count(core, conn, block.stream_id, block.domain),
        connection_limit=limit,
        check_results=tuple(check_results),
        latest_reply=block.latest_reply,
        latest_code=block.latest_code,
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


def allowlist_text(core: Core, conn: Connection, domain: str, stream: Stream | None) -> str:
    """A ready-to-send allowlist request to ``domain``'s postmaster for the stream's IPs."""
    from tui.diagnose.allowlist import allowlist_request

    domain = domain.strip().lower()
    block = representative_block(core, conn, domain, stream)
    advice = advise_block(core, conn, block)[0] if block is not None else None
    groups: list = []
    if core.schema.has("attempts"):
        scope = ReplyScope(stream_id=stream.id if stream else None, domain=domain)
        groups = queries.reply_groups(core.schema, conn, scope, since=core.since())
    ips = queries.stream_ips(core.schema, conn, stream.id if stream else None)
    return allowlist_request(
        domain=domain,
        stream_name=stream.name if stream else (block.stream_name if block else "all streams"),
        ips=ips,
        groups=groups,
        contact=core.config.sender,
        now=core.now(),
        advice=advice,
        helo=helo_names(core),
    )
