"""Cheap fingerprints that say whether a block pane's key list can have changed.

A refresh reads :func:`key_probe` first, one aggregate row per pane, and reads the key list
again only when the fingerprint differs from the one its current keys were read with. The
fingerprint covers which rows the filter shows (count, highest id, sum of ids: a release, a
new block or an undo's re-inserted ids all move one of them), the latest NextRetry, and the
column the pane is sorted by when a row's value can change and move it in the list
(NextRetry after ListManager's hourly re-probe or a retry-now release, BlockedSince,
Description). The rows on screen are read again on every refresh regardless.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.queries import BlockFilter, _block_where, table_key
from tui.db.sqlfuncs import epoch_seconds


def key_probe(schema: BoundSchema, conn: Connection, filt: BlockFilter) -> tuple[Any, ...]:
    """The fingerprint of the rows ``filt`` shows (one statement, no rows fetched)."""
    key = table_key(filt.kind)
    t = schema.t(key)
    block_id = sa.cast(t.c.BlockID, sa.BigInteger)  # SQL Server: SUM(int) overflows int
    cols: list[Any] = [sa.func.count(), sa.func.max(t.c.BlockID), sa.func.sum(block_id)]
    if schema.has_col(key, "NextRetry"):
        cols += [sa.func.count(t.c.NextRetry), sa.func.max(t.c.NextRetry)]
    # The rows on screen are read again every refresh anyway; a changed time or text elsewhere
    # matters only where the list is sorted by it.
    sorted_by = {"next_retry": "NextRetry", "since": "BlockedSince"}.get(filt.sort)
    if sorted_by and schema.has_col(key, sorted_by):
        col = t.c[sorted_by]
        cols += [sa.func.count(col), sa.func.min(col), sa.func.sum(epoch_seconds(col))]
    if filt.sort == "description" and schema.has_col(key, "Description"):
        text = sa.func.coalesce(t.c.Description, "")
        cols += [sa.func.sum(sa.func.length(text)), sa.func.max(text), sa.func.min(text)]
    row = conn.execute(sa.select(*cols).where(*_block_where(schema, filt))).one()
    return (filt, *row)
