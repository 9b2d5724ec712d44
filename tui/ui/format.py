"""How values look in the console: times, retries, counts. Plain strings, never markup."""

from __future__ import annotations

from datetime import datetime

from tui.db.records import Block


def short_time(value: datetime | None) -> str:
    """``11-29 14:05`` (the year is noise in a week of blocks)."""
    return value.strftime("%m-%d %H:%M") if value else ""


def long_time(value: datetime | None) -> str:
    """``2026-11-29 14:05:09``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def next_retry(block: Block) -> str:
    """A time, or ListManager's word for no more retries."""
    return "Permanent" if block.next_retry is None else short_time(block.next_retry)


def count(value: int | None) -> str:
    """Thousands separated; blank when unknown."""
    return "" if value is None else f"{value:,}"


def one_line(text: str | None) -> str:
    """Collapse whitespace so a reply fits a table cell."""
    return " ".join((text or "").split())


CATEGORY_LABELS = {
    "ip_reputation_block": "IP reputation",
    "dnsbl_listing": "blocklist",
    "rate_limit": "rate limit",
    "authentication_failure": "auth failure",
    "policy_block": "policy",
    "content_spam": "content/spam",
    "user_unknown": "user unknown",
    "mailbox_full": "mailbox full",
    "greylisting": "greylisting",
    "tls_required": "TLS required",
    "other": "other",
}


def category_label(category: str) -> str:
    """A category as a table cell: ``IP reputation`` for ``ip_reputation_block`` (the
    detail panel, JSON and ``classify`` keep the names)."""
    return CATEGORY_LABELS.get(category, category)
