"""Every count lmtriage shows equals a SQL statement over the same data.

The statements of README "Where the numbers come from" are read from README.md and run
against the demo database; the reply groups are checked against a ``GROUP BY`` on SQLite and
PostgreSQL, also for a block whose every reply is different (the 1M-reply block is in the
benchmark: ``python -m tests.benchmarks.bench_drilldown``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.config import load_config
from tui.core import open_core
from tui.db.queries import (
    BlockFilter,
    ReplyScope,
    block_keys,
    count_blocks,
    fetch_blocks,
    reply_samples,
)
from tui.db.records import Block
from tui.diagnose.classify import signature
from tui.triage.block_advice import signature_groups

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_sql() -> list[str]:
    """The SQL blocks of README's "Where the numbers come from", in order."""
    text = README.read_text()
    section = text.split("## Where the numbers come from", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, re.S)


def bind_since(sql: str) -> sa.TextClause:
    """The statement with ``:since`` bound as a DateTime (stored the way lmtriage stores it)."""
    return sa.text(sql).bindparams(sa.bindparam("since", type_=sa.DateTime()))


def ip_scoped(sql: str) -> str:
    """README's rule for IP-pair blocks."""
    assert "Domain = :domain" in sql
    return sql.replace("Domain = :domain", "SourceIP = :ip AND MXIP = :mx")


def params_of(block: Block, since: datetime) -> dict[str, object]:
    if block.kind == "domain":
        return {"since": since, "stream": block.stream_id, "domain": block.domain}
    return {"since": since, "stream": block.stream_id, "ip": block.ip, "mx": block.mx}


@pytest.fixture
def demo_core(demo_db: Path):
    core = open_core(load_config(db=f"sqlite:///{demo_db}", env={}))
    yield core
    core.close()


def _blocks(core, conn, since: datetime) -> list[Block]:  # noqa: ANN001
    out: list[Block] = []
    for kind in ("domain", "ip"):
        keys = block_keys(core.schema, conn, BlockFilter(kind))[:25]  # type: ignore[arg-type]
        out += fetch_blocks(core.schema, conn, kind, keys, since=since)  # type: ignore[arg-type]
    return out


def test_readme_sql_gives_every_block_count(demo_core) -> None:
    outcomes_sql, groups_sql, counts_sql, _dashboard_sql = readme_sql()
    since = demo_core.since()
    with demo_core.connect() as conn:
        blocks = _blocks(demo_core, conn, since)
        assert len(blocks) == 50
        busy = 0
        for block in blocks:
            sql = outcomes_sql if block.kind == "domain" else ip_scoped(outcomes_sql)
            row = conn.execute(bind_since(sql), params_of(block, since)).one()
            attempts, delivered, deferred, rejected, no_code = (int(v or 0) for v in row)
            o = block.outcomes
            assert o is not None
            assert (o.attempts, o.delivered, o.deferred, o.rejected, o.no_code) == (
                attempts,
                delivered,
                deferred,
                rejected,
                no_code,
            ), block.key
            assert o.failed == deferred + rejected + no_code
            busy += o.failed > 0 and o.delivered > 0
        assert busy >= 10  # the split is tested on blocks that have both
        # The pane titles: how many blocks, per stream and for all.
        domains_sql, ips_sql = (s.strip() for s in counts_sql.strip().split("\n"))
        for stream in (1, 2, None):
            for sql, kind in ((domains_sql, "domain"), (ips_sql, "ip")):
                if stream is None:
                    sql = sql.split(" WHERE ")[0]
                expected = conn.execute(sa.text(sql), {"stream": stream}).scalar()
                filt = BlockFilter(kind, stream_id=stream)  # type: ignore[arg-type]
                assert count_blocks(demo_core.schema, conn, filt) == expected
                assert len(block_keys(demo_core.schema, conn, filt)) == expected


def test_readme_sql_gives_the_dashboard_columns(demo_core) -> None:
    """Top Domain Status: Attempts, Delivered, Deferred 4xx, Rejected 5xx per domain."""
    from tui.db.queries import dashboard, find_stream

    *_, dashboard_sql = readme_sql()
    now = demo_core.now()
    window = demo_core.config.window
    with demo_core.connect() as conn:
        for stream_name in (None, "marketing"):
            stream = find_stream(demo_core.schema, conn, stream_name) if stream_name else None
            sql = dashboard_sql
            params: dict[str, object] = {"since": now - window, "now": now}
            if stream is None:
                sql = sql.replace(" AND MailStreamID = :stream", "")
            else:
                params["stream"] = stream.id
            stmt = bind_since(sql).bindparams(sa.bindparam("now", type_=sa.DateTime()))
            expected = [tuple(r) for r in conn.execute(stmt, params)]
            dash = dashboard(demo_core.schema, conn, stream, now=now, window=window)
            shown = [(d.domain, d.attempts, d.delivered, d.deferred, d.failed) for d in dash.domains]
            assert len(expected) == 30 and shown == expected


def expected_groups(rows) -> dict[str, dict[str, object]]:  # noqa: ANN001
    """README's recipe: per-(text, host) rows folded by the text's signature."""
    out: dict[str, dict[str, object]] = {}
    texts: dict[str, set[str]] = defaultdict(set)
    for reply, host, n, first, last in rows:
        sig = signature(reply or "")
        g = out.setdefault(sig, {"count": 0, "first": first, "last": last, "hosts": Counter()})
        g["count"] += n  # type: ignore[operator]
        g["first"] = min(g["first"], first)  # type: ignore[type-var]
        g["last"] = max(g["last"], last)  # type: ignore[type-var]
        g["hosts"][host] += n  # type: ignore[index]
        texts[sig].add(reply or "")
    for sig, g in out.items():
        g["variants"] = len(texts[sig])
    return out


def _as_datetime(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def test_readme_sql_gives_every_reply_group(demo_core) -> None:
    _, groups_sql, _, _ = readme_sql()
    since = demo_core.since()
    with demo_core.connect() as conn:
        blocks = _blocks(demo_core, conn, since)
        checked = 0
        for block in blocks:
            sql = groups_sql if block.kind == "domain" else ip_scoped(groups_sql)
            rows = [
                (r[0], r[1], int(r[2]), _as_datetime(r[3]), _as_datetime(r[4]))
                for r in conn.execute(bind_since(sql), params_of(block, since))
            ]
            want = expected_groups(rows)
            got = signature_groups(demo_core, conn, ReplyScope.for_block(block), since=since)
            assert {g.signature: g.count for g in got} == {
                s: g["count"] for s, g in want.items()
            }, block.key
            for g in got:
                w = want[g.signature]
                assert (g.first_seen, g.last_seen, g.variants) == (
                    w["first"],
                    w["last"],
                    w["variants"],
                )
                assert g.mx_hosts == dict(w["hosts"])  # type: ignore[arg-type]
            assert sum(g.count for g in got) == block.failed  # every failure is in a group
            assert [g.count for g in got] == sorted((g.count for g in got), reverse=True)
            checked += bool(got)
        assert checked >= 30


# --------------------------------------------------------------------------- many replies

UNIQUE_DOMAIN = "unique.example"
HOSTS = ["mx1.unique.example", "mx2.unique.example", None]
TEMPLATES = [
    (421, "421-4.7.28 [192.0.2.{a}] Our system has detected an unusual rate of unsolicited "
     "mail originating from your IP address. {h}si{i}qkd.{b} - gsmtp"),
    (550, "550 5.7.1 Service unavailable, Client host [192.0.2.{a}] blocked using Spamhaus "
     "[BN8NAM{b}FT0{a}.eop-nam{b}.prod.protection.outlook.com 2026-11-27T11:{b:02d}:{a:02d}.441Z "
     "{h}]"),
    (550, "550 5.1.1 <user{i}@unique.example>: Recipient address rejected: User unknown"),
    (451, "451 4.7.1 Sorry, the service is currently unavailable. {h}-{i}"),
    (None, "Connection to mx{a}.unique.example [198.18.{a}.{b}] timed out after 60 seconds"),
]  # fmt: skip


def unique_rows(schema, now: datetime, n: int) -> list[dict[str, object]]:  # noqa: ANN001
    """``n`` failed attempts of stream 1 to :data:`UNIQUE_DOMAIN`, nearly every reply text
    different, some without a text, a few delivered."""
    col = {k: schema.col("attempts", k).key for k in (
        "AttemptTime", "MailStreamID", "SourceIP", "Domain", "MXHost", "MXIP",
        "SMTPResponseCode", "SMTPResponseText",
    )}  # fmt: skip
    rows = []
    for i in range(n):
        code, template = TEMPLATES[(i * 7) % 5 if i % 11 else 0]
        a, b = i % 250, (i // 250) % 60
        text = template.format(a=a, b=b, i=i, h=f"{(i * 2654435761) % 2**32:08x}")
        if i % 97 == 0:
            text, code = None, 550  # a failure with no reply text recorded
        if i % 101 == 0:
            text, code = "250 2.0.0 OK", 250  # delivered: never in a group
        rows.append(
            {
                schema.col("attempts", "AttemptID").key: 1_000_000 + i,  # past the hand-made ids
                col["AttemptTime"]: now - timedelta(seconds=(i * 37) % (6 * 86400)),
                col["MailStreamID"]: 1,
                col["SourceIP"]: f"192.0.2.{10 + i % 2}",
                col["Domain"]: UNIQUE_DOMAIN,
                col["MXHost"]: HOSTS[i % 3],
                col["MXIP"]: f"198.18.7.{i % 3}",
                col["SMTPResponseCode"]: code,
                col["SMTPResponseText"]: text,
            }
        )
    return rows


def test_groups_of_a_block_with_thousands_of_different_replies(lm_db) -> None:
    core = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    try:
        schema = core.schema
        a = schema.t("attempts")
        with core.engine.begin() as conn:
            conn.execute(a.insert(), unique_rows(schema, lm_db.now, 12_000))
        since = lm_db.now - timedelta(days=7)
        scope = ReplyScope(stream_id=1, domain=UNIQUE_DOMAIN)
        # The independent statement: plain SQL on the real table and column names.
        c = {k: schema.col("attempts", k).name for k in (
            "AttemptTime", "MailStreamID", "Domain", "MXHost", "MXIP", "SMTPResponseCode",
            "SMTPResponseText",
        )}  # fmt: skip
        q = core.engine.dialect.identifier_preparer.quote
        sql = (
            f"SELECT {q(c['SMTPResponseText'])}, coalesce({q(c['MXHost'])}, {q(c['MXIP'])}, '?'),"
            f" count(*), min({q(c['AttemptTime'])}), max({q(c['AttemptTime'])})"
            f" FROM {q(a.name)} WHERE {q(c['AttemptTime'])} >= :since"
            f" AND {q(c['MailStreamID'])} = 1 AND {q(c['Domain'])} = :domain"
            f" AND ({q(c['SMTPResponseCode'])} >= 400 OR {q(c['SMTPResponseCode'])} IS NULL)"
            f" GROUP BY {q(c['SMTPResponseText'])}, coalesce({q(c['MXHost'])}, {q(c['MXIP'])}, '?')"
        )
        with core.connect() as conn:
            rows = [
                (r[0], r[1], int(r[2]), _as_datetime(r[3]), _as_datetime(r[4]))
                for r in conn.execute(bind_since(sql), {"since": since, "domain": UNIQUE_DOMAIN})
            ]
            assert len({r[0] for r in rows}) > 8000  # nearly every reply is different
            want = expected_groups(rows)
            seen: list[tuple[int, int]] = []
            got = signature_groups(
                core, conn, scope, since=since, progress=lambda t, n: seen.append((t, n))
            )
            block = fetch_blocks(schema, conn, "domain", [101], since=since)[0]
            samples = reply_samples(
                schema,
                conn,
                scope,
                since=since,
                limit=300,
                match=lambda text: signature(text) == got[0].signature,
                scan_page=500,
            )
        assert {g.signature: g.count for g in got} == {s: g["count"] for s, g in want.items()}
        assert {g.signature: g.variants for g in got} == {s: g["variants"] for s, g in want.items()}
        assert all(g.mx_hosts == dict(want[g.signature]["hosts"]) for g in got)  # type: ignore[arg-type]
        top = got[0]
        assert top.count > 2000 and top.variants > 2000  # far past the old 200-text cut
        assert top.first_seen == want[top.signature]["first"]
        assert sum(g.count for g in got) == sum(r[2] for r in rows)
        assert seen and seen[-1][0] % 5000 == 0  # progress was reported while reading
        # The raw attempts of a group with too many texts to name: matched by signature.
        assert len(samples) == 300 and all(signature(s.text) == top.signature for s in samples)
        assert [s.time for s in samples] == sorted((s.time for s in samples), reverse=True)
        assert block.outcomes is not None  # the hand-built gmail.com block is untouched
    finally:
        core.close()


def test_failures_without_a_reply_text_have_a_group(lm_db) -> None:
    core = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    try:
        a = core.schema.t("attempts")
        with core.engine.begin() as conn:
            conn.execute(a.insert(), unique_rows(core.schema, lm_db.now, 400))
        since = lm_db.now - timedelta(days=7)
        scope = ReplyScope(stream_id=1, domain=UNIQUE_DOMAIN)
        with core.connect() as conn:
            got = signature_groups(core, conn, scope, since=since)
            empty = next(g for g in got if g.sample_text == "")
            rows = reply_samples(core.schema, conn, scope, [""], since=since, limit=50)
        assert empty.count == len(range(0, 400, 97)) - 1  # i = 0 is delivered (i % 101)
        assert len(rows) == empty.count and all(r.text == "" for r in rows)
    finally:
        core.close()


def test_a_big_block_is_grouped_again_only_when_its_failures_change(lm_db, monkeypatch) -> None:
    import tui.diagnose.grouping as grouping
    import tui.triage.block_advice as ba

    monkeypatch.setattr(ba, "BIG_BLOCK_TEXTS", 100)
    monkeypatch.setattr(ba, "_BIG_GROUPS", ba.OrderedDict())
    calls = []
    real = grouping.group_rows
    monkeypatch.setattr(grouping, "group_rows", lambda *a, **k: calls.append(1) or real(*a, **k))
    core = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    try:
        a = core.schema.t("attempts")
        rows = unique_rows(core.schema, lm_db.now, 600)
        with core.engine.begin() as conn:
            conn.execute(a.insert(), rows[:500])
        since = lm_db.now - timedelta(days=7)
        scope = ReplyScope(stream_id=1, domain=UNIQUE_DOMAIN)
        with core.connect() as conn:
            first = signature_groups(core, conn, scope, since=since)
            again = signature_groups(core, conn, scope, since=since)
        assert len(calls) == 1 and [g.count for g in again] == [g.count for g in first]
        with core.engine.begin() as conn:
            conn.execute(a.insert(), rows[500:])
        with core.connect() as conn:
            fresh = signature_groups(core, conn, scope, since=since)
            later = signature_groups(core, conn, scope, since=lm_db.now - timedelta(hours=3))
        assert len(calls) == 3  # new failures, then a window that drops old ones
        assert sum(g.count for g in fresh) > sum(g.count for g in first)
        assert sum(g.count for g in later) < sum(g.count for g in fresh)
    finally:
        core.close()
