"""Block lists, evidence, reply groups and the dashboard on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import handmade
from tui.config import load_config
from tui.core import open_core
from tui.db.queries import (
    BlockFilter,
    ReplyScope,
    block_keys,
    count_blocks,
    dashboard,
    fetch_blocks,
    find_stream,
    iter_blocks,
    list_streams,
    reply_groups,
    reply_samples,
    stream_ips,
)
from tui.errors import NotFoundError


@pytest.fixture
def core(lm_db):
    c = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    yield c
    c.close()


def test_streams_and_ips(core) -> None:
    with core.connect() as conn:
        streams = list_streams(core.schema, conn)
        assert [s.name for s in streams] == ["default", "marketing", "transactional"]
        assert find_stream(core.schema, conn, "MARKETING").id == 2
        assert find_stream(core.schema, conn, "3").name == "transactional"
        with pytest.raises(NotFoundError) as err:
            find_stream(core.schema, conn, "nope")
        assert "default" in str(err.value)
        assert stream_ips(core.schema, conn, 2) == sorted(handmade.STREAM_IPS[2])
        assert len(stream_ips(core.schema, conn, None)) == 6


def test_block_lists_counts_and_order(core) -> None:
    with core.connect() as conn:
        assert count_blocks(core.schema, conn, BlockFilter("domain")) == len(handmade.DOMAIN_BLOCKS)
        assert count_blocks(core.schema, conn, BlockFilter("ip")) == len(handmade.IP_BLOCKS)
        assert count_blocks(core.schema, conn, BlockFilter("ip", stream_id=2)) == 3
        keys = block_keys(core.schema, conn, BlockFilter("domain", sort="domain"))
        domains = {b[0]: b[2] for b in handmade.DOMAIN_BLOCKS}
        assert [domains[k] for k in keys] == sorted(domains.values())
        # Keyset pages of one row give the same order as one page.
        assert block_keys(
            core.schema, conn, BlockFilter("ip", sort="mx", descending=True), page=1
        ) == block_keys(core.schema, conn, BlockFilter("ip", sort="mx", descending=True))
        # Permanent (NULL NextRetry) sorts last ascending.
        by_retry = block_keys(core.schema, conn, BlockFilter("domain", sort="next_retry"), page=2)
        assert by_retry[-1] == 102
        assert (
            block_keys(core.schema, conn, BlockFilter("ip"), limit=2)
            == block_keys(core.schema, conn, BlockFilter("ip"))[:2]
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gmail", {201, 202}),
        ("198.18.2", {204, 205}),
        ("S3140", {204, 205}),
        ("%", set()),
        ("_", set()),
        ("'; drop table x;--", set()),
        ("[bold]", {206}),
    ],
)
def test_ip_filter_is_literal(core, text: str, expected: set[int]) -> None:
    with core.connect() as conn:
        assert set(block_keys(core.schema, conn, BlockFilter("ip", text=text))) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("%", {104}), ("_domain", {104}), ("[mx]", {104}), ("drop table", {104}), ("GMAIL", {101})],
)
def test_domain_filter_wildcards_match_themselves(core, text: str, expected: set[int]) -> None:
    with core.connect() as conn:
        assert set(block_keys(core.schema, conn, BlockFilter("domain", text=text))) == expected


def test_evidence_for_a_page_of_blocks(core, lm_db) -> None:
    since = lm_db.now - timedelta(days=7)
    with core.connect() as conn:
        blocks = {
            b.block_id: b
            for b in fetch_blocks(
                core.schema, conn, "domain", [101, 102, 103, 104, 999], since=since
            )
        }
        assert set(blocks) == {101, 102, 103, 104}
        gmail = blocks[101]
        assert gmail.stream_name == "default"
        assert (
            gmail.attempts == 9
        )  # 6 failures + 3 successes in 7 days; the 2 older ones do not count
        assert gmail.latest_code == 421 and "4.7.28" in gmail.latest_reply
        assert blocks[102].permanent and blocks[102].attempts == 5
        assert blocks[102].latest_reply == handmade.YAHOO_REPLY
        ips = {
            b.block_id: b
            for b in fetch_blocks(core.schema, conn, "ip", [201, 202, 206], since=since)
        }
        assert (
            ips[201].attempts == 7 and ips[201].mx == "198.18.0.5" and ips[201].ip == "192.0.2.10"
        )
        assert ips[202].attempts == 2
        assert ips[206].latest_reply == handmade.HOSTILE_REPLY
        wide = fetch_blocks(
            core.schema, conn, "domain", [101], since=lm_db.now - timedelta(days=30)
        )
        assert wide[0].attempts == 11


def test_iter_blocks_pages_by_key(core, lm_db) -> None:
    with core.connect() as conn:
        one = [
            b.block_id
            for b in iter_blocks(
                core.schema, conn, BlockFilter("ip", sort="domain"), since=None, page=1
            )
        ]
        many = [
            b.block_id
            for b in iter_blocks(core.schema, conn, BlockFilter("ip", sort="domain"), since=None)
        ]
        assert one == many and len(many) == len(handmade.IP_BLOCKS)
        assert [
            b.block_id
            for b in iter_blocks(core.schema, conn, BlockFilter("ip"), since=None, limit=3)
        ] == many[:3]


def test_reply_groups_and_samples(core, lm_db) -> None:
    since = lm_db.now - timedelta(days=7)
    with core.connect() as conn:
        groups = reply_groups(
            core.schema, conn, ReplyScope(stream_id=1, domain="gmail.com"), since=since
        )
        assert [(g.count, g.code) for g in groups] == [(4, 550), (2, 421)]
        top = groups[0]
        assert top.text == handmade.GMAIL_REPLY
        assert top.mx_hosts == [("gmail-smtp-in.l.google.com", 4)]
        assert top.first_seen == lm_db.now - timedelta(hours=6)
        assert top.last_seen == lm_db.now - timedelta(hours=5.1)
        samples = reply_samples(
            core.schema,
            conn,
            ReplyScope(stream_id=1, domain="gmail.com"),
            top.text,
            since=since,
            limit=3,
        )
        assert len(samples) == 3 and samples[0].time > samples[1].time > samples[2].time
        rest = reply_samples(
            core.schema,
            conn,
            ReplyScope(stream_id=1, domain="gmail.com"),
            top.text,
            since=since,
            before=(samples[-1].time, samples[-1].attempt_id),
        )
        assert len(rest) == 1 and rest[0].attempt_id not in {s.attempt_id for s in samples}
        ip_scope = ReplyScope(stream_id=2, source_ip="198.51.100.21", mx_ip="198.18.2.2")
        assert [g.count for g in reply_groups(core.schema, conn, ip_scope, since=since)] == [3]


def test_dashboard(core, lm_db) -> None:
    with core.connect() as conn:
        marketing = find_stream(core.schema, conn, "marketing")
        dash = dashboard(core.schema, conn, marketing, now=lm_db.now, window=timedelta(days=7))
        rows = {d.domain: d for d in dash.domains}
        assert rows["yahoo.com"].attempts == 5 and rows["yahoo.com"].deferred == 5
        assert rows["hotmail.com"].failed == 4
        assert rows["hotmail.com"].blocked_ips == 2 and rows["hotmail.com"].stream_ips == 3
        assert rows["yahoo.com"].domain_blocked
        assert dash.domain_blocks == 2 and dash.ip_blocks == 3
        assert dash.volume is None and any("lyrDAOMailStreamTracking" in n for n in dash.notes)
        everything = dashboard(core.schema, conn, None, now=lm_db.now, window=timedelta(days=7))
        assert everything.domains[0].domain == "gmail.com" and everything.domains[0].delivered == 3
