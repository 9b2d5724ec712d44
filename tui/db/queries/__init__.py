"""Read queries: streams, blocks, the replies behind a block, the per-stream dashboard.

Every statement is bounded (a row limit or a key list of bounded size) and lists are paged by
key, never by deep OFFSET. The expensive per-block evidence (attempt count and latest reply)
is computed only for the rows of one page.

The modules: ``streams`` (the server clock, MailStreams, their IPs and DKIM domains),
``blocks`` (block lists and their evidence), ``replies`` (the failed attempts behind a block),
``stream_dashboard`` (the per-stream dashboard), ``lookups`` (ListManager's status labels and DAO
definitions). Import from here (``from tui.db.queries import fetch_blocks``).
"""

from __future__ import annotations

from tui.db.queries.blocks import (
    DEFAULT_KEY_LIMIT,
    KEY_PAGE,
    SORT_COLUMNS,
    BlockFilter,
    block_keys,
    blocks_by_keys,
    count_blocks,
    fetch_blocks,
    fetch_evidence,
    iter_blocks,
    table_key,
)
from tui.db.queries.blocks import _block_where as _block_where  # tui.db.change_probe
from tui.db.queries.lookups import dao_definitions, status_labels
from tui.db.queries.replies import (
    REPLY_CHARS,
    REPLY_PAGE,
    SAMPLE_CHARS,
    ReplyScope,
    failure,
    iter_reply_rows,
    outcome_columns,
    reply_groups,
    reply_outcomes,
    reply_samples,
    scope_where,
)
from tui.db.queries.stream_dashboard import dashboard, dashboard_inputs, volume_series
from tui.db.queries.streams import (
    MAX_STREAMS,
    db_now,
    dkim_selectors,
    find_stream,
    list_streams,
    stream_ips,
    stream_names,
)

__all__ = [
    "DEFAULT_KEY_LIMIT",
    "KEY_PAGE",
    "MAX_STREAMS",
    "REPLY_CHARS",
    "REPLY_PAGE",
    "SAMPLE_CHARS",
    "SORT_COLUMNS",
    "BlockFilter",
    "ReplyScope",
    "block_keys",
    "blocks_by_keys",
    "count_blocks",
    "dao_definitions",
    "dashboard",
    "dashboard_inputs",
    "db_now",
    "dkim_selectors",
    "failure",
    "fetch_blocks",
    "fetch_evidence",
    "find_stream",
    "iter_blocks",
    "iter_reply_rows",
    "list_streams",
    "outcome_columns",
    "reply_groups",
    "reply_outcomes",
    "reply_samples",
    "scope_where",
    "status_labels",
    "stream_ips",
    "stream_names",
    "table_key",
    "volume_series",
]
