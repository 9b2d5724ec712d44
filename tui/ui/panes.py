"""What the two block panes show: their names, and their columns in the order a narrow
terminal gives them up (the reply text takes the width left).
"""

from __future__ import annotations

from collections.abc import Callable

from tui.db.records import Block, BlockKind
from tui.ui import format as fmt
from tui.ui.widgets.block_table import Column

PANES = ("domains", "ips", "dashboard")
KIND_OF_PANE: dict[str, BlockKind] = {"domains": "domain", "ips": "ip"}


def _split(block: Block) -> str:
    """``430/44``: deferred (4xx) / rejected (5xx) attempts in the window."""
    o = block.outcomes
    return "" if o is None else f"{o.deferred:,}/{o.rejected:,}"


def _delivered(block: Block) -> str:
    return "" if block.outcomes is None else f"{block.outcomes.delivered:,}"


def outcome_columns(priority: int) -> list[Column]:
    """Failed attempts in the window (at ``priority``), deferred/rejected and delivered (the
    first to go when the terminal is narrow); README: where the numbers come from."""
    return [
        Column(
            "failed",
            "Failed",
            6,
            lambda b: fmt.count(b.failed),
            priority=priority,
            right=True,
            sort="failed",
        ),
        Column("split", "4xx/5xx", 9, _split, priority=1, right=True),
        Column("delivered", "Dlvd", 6, _delivered, priority=1, right=True),
    ]


# Column priorities decide what an 80-column terminal keeps: the block (domain, or IP → MX),
# when ListManager retries, the failed attempts, the category and the reply text, which takes
# the width left. Stream goes when one stream is picked (the header names it); for All streams
# it stays in pane 1 (one domain is often blocked in several streams: without it two rows look
# the same), and Category gives way first. Since is in the detail panel when there is no room.


def diagnosis_columns(
    category: Callable[[Block], str], *, category_priority: int, reply: tuple[int, int, int]
) -> list[Column]:
    """The category of the latest reply and the reply itself (least width, wanted width and
    priority), which takes the width left."""
    least, want, priority = reply
    return [
        Column(
            "category",
            "Category",
            13,
            lambda b: fmt.category_label(category(b)),
            priority=category_priority,
            sort="category",
        ),
        Column(
            "latest",
            "Latest reply",
            least,
            lambda b: fmt.one_line(b.latest_reply),
            priority=priority,
            flex=True,
            want=want,
        ),
    ]


def domain_columns(category: Callable[[Block], str]) -> list[Column]:
    """Pane 1: stream, domain, since, next retry or Permanent, failed / 4xx-5xx / delivered
    attempts, category, latest reply."""
    return [
        Column("stream", "Stream", 12, lambda b: b.stream_name, priority=8, sort="stream"),
        Column("domain", "Domain", 20, lambda b: b.domain, priority=10, sort="domain"),
        Column("since", "Since", 11, lambda b: fmt.short_time(b.since), priority=5, sort="since"),
        Column("next_retry", "Next retry", 11, fmt.next_retry, priority=7, sort="next_retry"),
        *outcome_columns(8),
        *diagnosis_columns(category, category_priority=6, reply=(20, 21, 9)),
    ]


def ip_columns(category: Callable[[Block], str]) -> list[Column]:
    """Pane 2: ListManager's columns, then since, failed / 4xx-5xx / delivered attempts,
    category, latest reply (the pair and the reply first at 80 columns)."""
    return [
        Column("stream", "Stream", 11, lambda b: b.stream_name, priority=4, sort="stream"),
        Column("ip", "IP", 15, lambda b: b.ip or "", priority=10, sort="ip"),
        Column("domain", "Domain", 16, lambda b: b.domain, priority=10, sort="domain"),
        Column("mx", "Blocking MX", 15, lambda b: b.mx or "", priority=9, sort="mx"),
        Column(
            "description",
            "Description",
            18,
            lambda b: fmt.one_line(b.description),
            priority=2,
            sort="description",
        ),
        Column("next_retry", "Next retry", 11, fmt.next_retry, priority=7, sort="next_retry"),
        Column("since", "Since", 11, lambda b: fmt.short_time(b.since), priority=1, sort="since"),
        *outcome_columns(6),
        *diagnosis_columns(category, category_priority=3, reply=(14, 30, 8)),
    ]
