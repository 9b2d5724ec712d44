"""Sorting a pane by what is not a column of the block tables: failed attempts in the window
and the category of the latest reply.

Both come from the attempt log (and the classifier), so the key list is read sorted by domain,
the evidence of every row is read, and the rows are sorted here. That is bounded: a pane of
more than :data:`MAX_COMPUTED` rows stays sorted by domain and says so (filter it first).
The probe that tells a refresh whether to sort again adds the attempt log's newest AttemptID
to the block tables' own fingerprint, since new attempts change the counts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.change_probe import key_probe
from tui.db.queries import BlockFilter
from tui.db.records import Block

COMPUTED_SORTS = ("failed", "category")
MAX_COMPUTED = 20_000


def _by_domain(filt: BlockFilter) -> BlockFilter:
    return filt.with_(sort="domain", descending=False)


def computed_probe(core: Core, conn: Connection, filt: BlockFilter) -> tuple[Any, ...]:
    """The pane's fingerprint plus the newest attempt (counts move with new attempts)."""
    probe = key_probe(core.schema, conn, _by_domain(filt))
    newest = None
    if core.schema.has("attempts"):
        a = core.schema.t("attempts")
        newest = conn.execute(sa.select(sa.func.max(a.c.AttemptID))).scalar()
    return (filt.sort, filt.descending, probe, newest)


def computed_keys(core: Core, conn: Connection, filt: BlockFilter) -> tuple[list[int], str | None]:
    """The pane's keys sorted by failed attempts or category, and a note when they could not
    be (too many rows, or no attempt log)."""
    base = queries.block_keys(core.schema, conn, _by_domain(filt))
    if len(base) > MAX_COMPUTED:
        return base, (
            f"{len(base):,} rows are too many to sort by {filt.sort} (at most "
            f"{MAX_COMPUTED:,}): filter the pane first; sorted by domain"
        )
    if not core.schema.has("attempts"):
        return base, f"cannot sort by {filt.sort}: the delivery attempt log is not readable"
    blocks: list[Block] = queries.fetch_blocks(
        core.schema, conn, filt.kind, base, since=core.since()
    )
    if filt.sort == "failed":
        blocks.sort(key=lambda b: (b.failed or 0, b.domain.lower(), b.block_id))
    else:
        from tui.diagnose.classify import classify

        def category(b: Block) -> str:
            if not b.latest_reply:
                return "~"  # no failed reply: last
            return classify(b.latest_reply, b.latest_code).category

        blocks.sort(key=lambda b: (category(b), b.domain.lower(), b.block_id))
    keys = [b.block_id for b in blocks]
    if filt.descending:
        keys.reverse()
    return keys, None
