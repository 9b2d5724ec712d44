"""Drill-down benchmark: exact reply groups of a typical block and of a block with a million
different replies, beside the hand-written SQL that reads the same rows.

    python -m tests.benchmarks.bench_drilldown [--cache DIR] [--rows N] [--runs N] [--postgresql]

The big database is the S demo plus one domain block (stream 1, ``million.example``) whose
``--rows`` failed attempts (default 1,000,000) each got a different reply, as when a provider
puts a message id into every reply: four kinds of reply (a Gmail rate limit, an Outlook
blocklist refusal, a Yahoo deferral and a connection timeout), each text made unique by its
id. It is built in SQLite with one recursive ``INSERT … SELECT`` and kept in the cache.

Reported per block: lmtriage's drill-down (``signature_groups``: the streamed ``GROUP BY`` and
the signature of every distinct text), on a first visit (nothing cached) and again (signatures
cached; a big block's groups kept while the fingerprint of its failures holds); the hand-written
``GROUP BY reply, mx_host`` of README "Where the numbers come from" read to the end; and the
peak resident set of the process. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.benchmarks.run import HAND_GROUPS as HAND  # noqa: E402
from tests.benchmarks.run import NOW, build_or_reuse, busiest_domain_block, fmt_s  # noqa: E402
from tui.config import load_config  # noqa: E402
from tui.core import open_core  # noqa: E402
from tui.db.queries import ReplyScope  # noqa: E402
from tui.diagnose.classify import clear_cache  # noqa: E402
from tui.triage.block_advice import signature_groups  # noqa: E402

BIG_DOMAIN = "million.example"

# One recursive INSERT: row i gets one of four reply kinds, made unique by a hash of i.
FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
INSERT INTO lyrDeliveryAttemptLog (AttemptTime, MailStreamID, SourceIP, Domain, MXHost, MXIP,
                                   SMTPResponseCode, SMTPResponseText)
SELECT datetime(:start, '+' || ((i * 7919) % 518400) || ' seconds'), 1,
       '192.0.2.' || (19 + i % 3), :domain, 'mx' || (i % 4) || '.million.example',
       '198.18.50.' || (i % 4),
       CASE i % 4 WHEN 0 THEN 421 WHEN 1 THEN 550 WHEN 2 THEN 421 ELSE NULL END,
       CASE i % 4
         WHEN 0 THEN printf('421-4.7.28 [192.0.2.%d 15] Our system has detected an unusual '
           || 'rate of unsolicited mail originating from your IP address. To protect our users '
           || 'from spam, mail sent from your IP address has been temporarily rate limited. '
           || 'Please visit https://support.google.com/mail/?p=UnsolicitedRateLimitError to '
           || 'review our Bulk Email Senders Guidelines. %08xsi%dqkd.%d - gsmtp',
           19 + i % 3, (i * 2654435761) % 4294967296, i, i % 97)
         WHEN 1 THEN printf('550 5.7.1 Service unavailable, Client host [192.0.2.%d] blocked '
           || 'using Spamhaus. To request removal from this list see '
           || 'https://www.spamhaus.org/query/ip/192.0.2.%d (AS3130) '
           || '[BN8NAM%02dFT%03d.eop-nam%02d.prod.protection.outlook.com %08X%08X]',
           19 + i % 3, 19 + i % 3, i % 90, i % 997, i % 90, (i * 40503) % 4294967296, i)
         WHEN 2 THEN printf('421 4.7.0 [TSS04] Messages from 192.0.2.%d temporarily deferred '
           || 'due to unexpected volume or user complaints - 4.16.55.1; see '
           || 'https://postmaster.yahooinc.com/error-codes %d', 19 + i % 3, i)
         ELSE printf('Connection to mx%d.million.example [198.18.50.%d] timed out after %d '
           || 'seconds', i % 4, i % 4, 60 + i)
       END
FROM n
"""


def build_big(cache: Path, rows: int) -> Path:
    """The S demo plus the million-reply block (built once, then reused)."""
    path = cache / f"S-unique-{rows}.sqlite"
    if path.exists():
        return path
    base, _, _ = build_or_reuse("S", cache)
    tmp = path.with_suffix(".tmp")
    shutil.copyfile(base, tmp)
    print(f"adding {rows:,} unique replies to {tmp} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    db = sqlite3.connect(tmp)
    start = (NOW - timedelta(days=6)).isoformat(sep=" ")
    db.execute(FILL.replace(":rows", str(int(rows))), {"start": start, "domain": BIG_DOMAIN})
    db.execute(
        "INSERT INTO lyrMailStreamBlockedDomains (MailStreamID, Domain, Description, "
        "BlockedSince, NextRetry) VALUES (1, ?, 'benchmark block', ?, NULL)",
        (BIG_DOMAIN, start),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    tmp.rename(path)
    print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


PG_FILL = """
INSERT INTO "lyrDeliveryAttemptLog" ("AttemptTime", "MailStreamID", "SourceIP", "Domain",
    "MXHost", "MXIP", "SMTPResponseCode", "SMTPResponseText")
SELECT CAST(:start AS timestamp) + ((i * 7919) % 518400) * interval '1 second', 1,
       '192.0.2.' || (19 + i % 3), :domain, 'mx' || (i % 4) || '.million.example',
       '198.18.50.' || (i % 4),
       CASE i % 4 WHEN 0 THEN 421 WHEN 1 THEN 550 WHEN 2 THEN 421 ELSE NULL END,
       CASE i % 4
         WHEN 0 THEN format('421-4.7.28 [192.0.2.%s 15] Our system has detected an unusual '
           || 'rate of unsolicited mail originating from your IP address. To protect our users '
           || 'from spam, mail sent from your IP address has been temporarily rate limited. '
           || 'Please visit https://support.google.com/mail/?p=UnsolicitedRateLimitError to '
           || 'review our Bulk Email Senders Guidelines. %ssi%sqkd.%s - gsmtp',
           19 + i % 3, lpad(to_hex((i * 2654435761) % 4294967296), 8, '0'), i, i % 97)
         WHEN 1 THEN format('550 5.7.1 Service unavailable, Client host [192.0.2.%s] blocked '
           || 'using Spamhaus. To request removal from this list see '
           || 'https://www.spamhaus.org/query/ip/192.0.2.%s (AS3130) '
           || '[BN8NAM%sFT%s.eop-nam%s.prod.protection.outlook.com %s%s]',
           19 + i % 3, 19 + i % 3, lpad((i % 90)::text, 2, '0'), lpad((i % 997)::text, 3, '0'),
           lpad((i % 90)::text, 2, '0'), upper(lpad(to_hex((i * 40503) % 4294967296), 8, '0')),
           upper(lpad(to_hex(i), 8, '0')))
         WHEN 2 THEN format('421 4.7.0 [TSS04] Messages from 192.0.2.%s temporarily deferred '
           || 'due to unexpected volume or user complaints - 4.16.55.1; see '
           || 'https://postmaster.yahooinc.com/error-codes %s', 19 + i % 3, i)
         ELSE format('Connection to mx%s.million.example [198.18.50.%s] timed out after %s '
           || 'seconds', i % 4, i % 4, 60 + i)
       END
FROM generate_series(CAST(1 AS bigint), :rows) AS i
"""


def build_pg(rows: int) -> tuple[str, object]:
    """A throwaway PostgreSQL database with the model tables, one stream and the
    million-reply block; (its URL, a function that drops it)."""
    import os
    import uuid

    from tui.db.model import create_model_metadata

    admin_url = os.environ.get(
        "LMTRIAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"lmtriage_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    started = time.perf_counter()
    create_model_metadata().create_all(engine)
    start = datetime.now().replace(microsecond=0) - timedelta(days=6)  # no demo clock here
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO "lyrMailStreams" ("MailStreamID", "Name") VALUES (1, \'default\')'
        )
        conn.execute(
            sa.text(PG_FILL),
            {"start": start, "domain": BIG_DOMAIN, "rows": int(rows)},
        )
        conn.execute(
            sa.text(
                'INSERT INTO "lyrMailStreamBlockedDomains" ("BlockID", "MailStreamID", "Domain", '
                '"BlockedSince") VALUES (1, 1, :d, :s)'
            ),
            {"d": BIG_DOMAIN, "s": start},
        )
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"PostgreSQL {name}: built in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def rss_mb() -> float:
    """Peak resident set of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(db: Path | str, stream: int | None, domain: str | None, runs: int) -> dict[str, object]:
    """Cold and warm drill-down vs the hand-written statement on one block."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    core = open_core(load_config(db=url, env={}))
    try:
        with core.engine.connect() as conn:
            if domain is None:
                stream, domain = busiest_domain_block(core, conn)
            since = core.since()
            scope = ReplyScope(stream_id=stream, domain=domain)
            params = {"since": since, "stream": stream, "domain": domain}
            hand_text = HAND
            if core.engine.dialect.name == "postgresql":  # mixed-case names need quotes there
                for word in ("lyrDeliveryAttemptLog", "SMTPResponseText", "SMTPResponseCode",
                             "MXHost", "MXIP", "AttemptTime", "MailStreamID", "Domain"):  # fmt: skip
                    hand_text = hand_text.replace(word, f'"{word}"')
            hand_sql = sa.text(hand_text).bindparams(sa.bindparam("since", type_=sa.DateTime()))

            def hand() -> int:
                rows = 0
                opts = {"stream_results": True}  # read like ours, not buffered whole
                for _ in conn.execute(hand_sql, params, execution_options=opts):
                    rows += 1
                return rows

            hand()  # the OS file cache, both sides
            clear_cache()
            before = rss_mb()
            started = time.perf_counter()
            groups = signature_groups(core, conn, scope, since=since)
            cold = time.perf_counter() - started
            peak = rss_mb()
            warm = []
            for _ in range(runs):
                started = time.perf_counter()
                signature_groups(core, conn, scope, since=since)
                warm.append(time.perf_counter() - started)
            hand_times = []
            rows = 0
            for _ in range(runs):
                started = time.perf_counter()
                rows = hand()
                hand_times.append(time.perf_counter() - started)
    finally:
        core.close()
    return {
        "domain": domain,
        "failed": sum(g.count for g in groups),
        "texts": sum(g.variants for g in groups),
        "groups": len(groups),
        "rows": rows,
        "cold": cold,
        "warm": min(warm),
        "hand": min(hand_times),
        "rss_before": before,
        "rss_peak": peak,
        "top": [(g.count, g.classification.category) for g in groups[:4]],
    }


def report(label: str, m: dict[str, object]) -> None:
    hand = float(m["hand"])  # type: ignore[arg-type]
    print(
        f"{label}: {m['domain']}, {m['failed']:,} failed attempts, {m['texts']:,} distinct "
        f"replies in {m['groups']} signature groups (top: {m['top']})"
    )
    labels = {
        "cold": "first visit (nothing cached)",
        "warm": "again (signatures cached; a block of 20,000+ replies keeps its groups while "
        "their fingerprint holds)",
    }
    for what in ("cold", "warm"):
        t = float(m[what])  # type: ignore[arg-type]
        print(
            f"  drill-down {labels[what]}: {fmt_s(t)}  hand-written SQL {fmt_s(hand)}  "
            f"ratio {t / hand:.2f}×"
        )
    print(f"  peak RSS {m['rss_before']:.0f} → {m['rss_peak']:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lmtriage-bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="the million-reply block on PostgreSQL instead (a throwaway database at "
        "$LMTRIAGE_TEST_PG_URL, default postgres@127.0.0.1:5432)",
    )
    args = parser.parse_args(argv)
    if args.postgresql:
        url, drop = build_pg(args.rows)
        try:
            report(
                "PostgreSQL, one block, every reply different",
                measure(url, 1, BIG_DOMAIN, args.runs),
            )
        finally:
            drop()  # type: ignore[operator]
        return 0
    base, _, _ = build_or_reuse("S", args.cache)
    report("typical block (S demo, busiest domain block)", measure(base, None, None, 5))
    big = build_big(args.cache, args.rows)
    report("one block, every reply different", measure(big, 1, BIG_DOMAIN, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
