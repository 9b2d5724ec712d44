"""Reply groups that differ only in variable parts merge under one signature."""

from __future__ import annotations

from datetime import datetime

from tui.db.records import ReplyGroup
from tui.diagnose.grouping import group_by_signature, group_replies

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


def test_counts_stay_exact_past_the_group_and_host_caps(monkeypatch) -> None:
    import tui.diagnose.grouping as grouping

    monkeypatch.setattr(grouping, "MAX_GROUPS", 3)
    monkeypatch.setattr(grouping, "MAX_HOSTS", 2)
    texts = [f"550 5.7.1 rule number {word} refused" for word in ("alpha", "beta", "gamma")]
    texts += [f"550 5.7.1 other rule {w} refused" for w in ("delta", "epsilon")]
    groups = [
        ReplyGroup(t, 550, 10 + i, T, T, [(f"mx{i}", 4), (f"mx{i + 1}", 3), ("mxz", 3 + i)])
        for i, t in enumerate(texts)
    ]
    merged = group_replies(groups)
    assert sum(g.count for g in merged) == sum(g.count for g in groups)
    overflow = [g for g in merged if g.overflow]
    assert len(overflow) == 1 and overflow[0].count == 13 + 14 and overflow[0].variants == 2
    for g in merged:
        assert sum(g.mx_hosts.values()) == g.count  # hosts past the cap go to "(other hosts)"
        assert len(g.mx_hosts) <= 3


def test_top_texts_are_the_most_frequent_and_bounded(monkeypatch) -> None:
    import tui.diagnose.grouping as grouping

    monkeypatch.setattr(grouping, "SAMPLE_TEXTS", 3)
    groups = [gmail_group(f"192.0.2.{i}", f"a{i}b{i}c{i}si{i}1234567qkd.{i}", n) for i, n in
              enumerate([1, 9, 4, 7, 2, 8])]  # fmt: skip
    (merged,) = group_replies(groups)
    assert [n for n, _ in merged.top] == [9, 8, 7]
    assert merged.variants == 6 and not merged.all_texts_known
    assert merged.sample_text == groups[1].text and merged.count == 31


def test_progress_is_reported_and_can_stop_the_work(monkeypatch) -> None:
    import pytest

    import tui.diagnose.grouping as grouping

    monkeypatch.setattr(grouping, "PROGRESS_EVERY", 10)
    seen = []

    class Stop(Exception):
        pass

    def progress(texts: int, attempts: int) -> None:
        seen.append((texts, attempts))
        if texts >= 30:
            raise Stop

    stream = (gmail_group("192.0.2.1", f"x{i}y{i}z{i}si{i}765432abc.{i}", 2) for i in range(100))
    with pytest.raises(Stop):
        group_replies(stream, progress=progress)
    assert seen == [(10, 20), (20, 40), (30, 60)]


def test_hostile_counts_and_times_do_not_break_the_sums() -> None:
    aware = T.astimezone()
    groups = [
        ReplyGroup("550 blocked", 550, -5, None, T, [("mx", "x")]),  # type: ignore[list-item]
        ReplyGroup("550 blocked", 550, "7", aware, aware, [("mx", 2), "junk"]),  # type: ignore[arg-type,list-item]
        ReplyGroup(b"550 blocked", None, 10**20, T, None, None),  # type: ignore[arg-type]
    ]
    (merged,) = group_replies(groups)
    assert merged.count == 7 + grouping_max() and merged.variants == 3


def grouping_max() -> int:
    from tui.diagnose.grouping import MAX_COUNT

    return MAX_COUNT


def gmail_group(ip: str, msgid: str, n: int) -> ReplyGroup:
    return ReplyGroup(gmail(ip, msgid), 421, n, T, T, [("mx1", n)])


def test_named_ips_count_every_text_not_only_the_kept_ones(monkeypatch) -> None:
    """A Spamhaus refusal names the connecting IP; with one text per attempt the kept texts
    (the first 20 in text order) named only one of three listed IPs, so the advice did too."""
    import tui.diagnose.grouping as grouping
    from tui.diagnose.advice import BlockFacts, advise

    monkeypatch.setattr(grouping, "SAMPLE_TEXTS", 2)
    when = datetime(2026, 12, 4, 10, 0)
    rows = []
    for ip, n in (("192.0.2.1", 3), ("192.0.2.10", 5), ("192.0.2.2", 4)):
        for i in range(n):
            text = (
                f"550 5.7.1 Service unavailable, Client host [{ip}] blocked using Spamhaus. "
                f"https://www.spamhaus.org/query/ip/{ip} [AM{i}NAM{i}FT{i:03}.eop.prod.protection.outlook.com]"
            )
            rows.append((text, "mx.example.net", 550, 1, when, when))
    rows.sort()  # the database hands texts over in text order
    groups = grouping.group_rows(rows, watch_ips=("192.0.2.1", "192.0.2.2", "192.0.2.9"))
    assert len(groups) == 1 and groups[0].count == 12 and len(groups[0].top) == 2
    assert groups[0].named_ips == {"192.0.2.1": 3, "192.0.2.2": 4}  # not 192.0.2.10's
    facts = BlockFacts(
        kind="domain", domain="example.com", stream_name="s", ip=None, mx=None,
        description=None, since=when, next_retry=None, outcomes=None, groups=tuple(groups),
        now=when, stream_ips=("192.0.2.1", "192.0.2.2", "192.0.2.9"), blocked_ips=1,
    )  # fmt: skip
    headline = advise(facts).headline
    assert headline.startswith("192.0.2.2 and 192.0.2.1 are listed on Spamhaus")
