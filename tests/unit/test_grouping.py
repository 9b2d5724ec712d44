"""Reply groups that differ only in variable parts merge under one signature."""

from __future__ import annotations

from datetime import datetime

from tui.db.records import ReplyGroup
from tui.diagnose.grouping import group_by_signature

T = datetime(2026, 11, 29, 12, 0)


def gmail(ip: str, msgid: str) -> str:
    return (
        f"421-4.7.28 [{ip}] Our system has detected an unusual rate of unsolicited mail "
        f"originating from your IP address. {msgid} - gsmtp"
    )


def test_variants_merge_with_counts_dates_and_hosts() -> None:
    groups = [
        ReplyGroup(
            gmail("192.0.2.10", "a1b2c3si1234567qkd.12"),
            421,
            5,
            T.replace(hour=8),
            T.replace(hour=9),
            [("mx1", 5)],
        ),
        ReplyGroup(
            gmail("192.0.2.11", "z9y8x7si7654321abc.34"),
            421,
            3,
            T.replace(hour=7),
            T.replace(hour=11),
            [("mx1", 1), ("mx2", 2)],
        ),
        ReplyGroup("550 5.1.1 <bob@example.com>: user unknown", 550, 2, T, T, [("mx1", 2)]),
    ]
    merged = group_by_signature(groups)
    assert [g.count for g in merged] == [8, 2]
    top = merged[0]
    assert top.classification.category == "rate_limit" and top.classification.provider == "gmail"
    assert (
        len(top.texts) == 2
        and top.first_seen == T.replace(hour=7)
        and top.last_seen == T.replace(hour=11)
    )
    assert top.top_hosts() == [("mx1", 6), ("mx2", 2)]
    assert merged[1].classification.category == "user_unknown"


def test_empty() -> None:
    assert group_by_signature([]) == []
