"""SQL Server's case-insensitive text, as far as this machine allows: PostgreSQL with a
nondeterministic ICU collation on every text column (the mirror of
SQL_Latin1_General_CP1_CI_AS), where ``'Yahoo.com' = 'yahoo.com'``.

A block row spells its domain in another case than the attempt log (ListManager takes the
domain from the recipient address as typed); blocks, evidence, drill-down, the text filter,
release, undo's "came back" check and the Domain Connection Limits must all behave as they
would on SQL Server. PostgreSQL 15 refuses LIKE on such columns, so the filter must cope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import _reset_pg
from tui.cli import main
from tui.db.connect import parse_url
from tui.demo.server import load_demo

NOW = datetime(2026, 11, 20, 12, 0, 0)
CI = "lmtriage_ci"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ci_db(pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A small demo whose text columns all use a case-insensitive collation; the yahoo.com
    domain block respelt ``YAHOO.Com`` in the block table only."""
    _reset_pg(pg_database)
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE COLLATION IF NOT EXISTS {CI} "
            "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
        )
    load_demo(
        parse_url(pg_database),
        attempts=20_000,
        blocks=200,
        domains=60,
        streams=2,
        seed=4,
        now=NOW,
        collation=CI,
    )
    with engine.begin() as conn:
        stream = conn.exec_driver_sql(
            """SELECT "MailStreamID" FROM "lyrMailStreamBlockedIPs" WHERE "Domain" = 'yahoo.com'
               GROUP BY "MailStreamID" ORDER BY count(*) DESC LIMIT 1"""
        ).scalar()
        conn.exec_driver_sql(
            """INSERT INTO "lyrMailStreamBlockedDomains"
               ("BlockID", "MailStreamID", "Domain", "Description", "BlockedSince", "NextRetry")
               VALUES (9001, %s, 'YAHOO.Com', 'all pairs blocked', %s, %s)""",
            (stream, datetime(2026, 11, 20, 9, 0), datetime(2026, 11, 20, 13, 0)),
        )
    engine.dispose()
    monkeypatch.setenv("LMTRIAGE_AUDIT", str(tmp_path / "audit.sqlite"))
    yield pg_database


@pytest.mark.pg
def test_the_collation_really_is_case_insensitive_and_refuses_like(ci_db: str) -> None:
    engine = sa.create_engine(ci_db)
    with engine.connect() as conn:
        n = conn.exec_driver_sql(
            """SELECT count(*) FROM "lyrDeliveryAttemptLog" WHERE "Domain" = 'YaHoO.CoM'"""
        ).scalar()
        assert n and n > 0
        with pytest.raises(sa.exc.DBAPIError, match="nondeterministic collations"):
            conn.exec_driver_sql(
                """SELECT count(*) FROM "lyrMailStreamBlockedIPs" WHERE "Domain" LIKE %s""",
                ("%yahoo%",),
            )
    engine.dispose()


@pytest.mark.pg
def test_blocks_evidence_and_drill_down_match_across_case(ci_db: str, capsys) -> None:
    code, out, err = run(capsys, "blocks", "--db", ci_db, "--kind", "domain", "--domain",
                         "yahoo.COM", "--format", "json")  # fmt: skip
    assert code == 0, err
    (block,) = [b for b in json.loads(out) if b["block_id"] == 9001]
    assert block["domain"] == "YAHOO.Com"
    assert block["attempts"] > 0 and block["latest_reply"]  # the attempts say yahoo.com
    code, out, err = run(capsys, "responses", "--db", ci_db, "--domain", "YAHOO.Com",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert sum(g["count"] for g in json.loads(out)) > 0


@pytest.mark.pg
def test_text_filter_works_on_case_insensitive_columns(ci_db: str, capsys) -> None:
    for needle in ("YAHOO", "ahoo.c", "all pairs"):
        code, out, err = run(capsys, "blocks", "--db", ci_db, "--kind", "domain", "--filter",
                             needle, "--format", "json")  # fmt: skip
        assert code == 0, err
        assert 9001 in {b["block_id"] for b in json.loads(out)}, needle
    code, out, err = run(capsys, "blocks", "--db", ci_db, "--filter", "100%_no", "--format", "json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.pg
def test_release_and_undo_refused_when_the_block_came_back_in_another_case(
    ci_db: str, capsys
) -> None:
    code, out, err = run(capsys, "release", "--db", ci_db, "--domain", "yahoo.com", "--yes",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    released = json.loads(out)
    assert "domain:9001" in released["released"]
    event = released["audit_event"]
    rows = json.loads(run_audit_event(capsys, ci_db, event))["rows"]
    stream = next(r["row"]["MailStreamID"] for r in rows if r["key"] == "domain:9001")
    engine = sa.create_engine(ci_db)
    with engine.begin() as conn:
        left = conn.exec_driver_sql(
            """SELECT count(*) FROM "lyrMailStreamBlockedDomains" WHERE "Domain" = 'yahoo.com'"""
        ).scalar()
        assert left == 0  # every spelling of it went
        conn.exec_driver_sql(
            """INSERT INTO "lyrMailStreamBlockedDomains" ("BlockID", "MailStreamID", "Domain")
               VALUES (9500, %s, 'Yahoo.Com')""",
            (stream,),
        )
    engine.dispose()
    code, out, err = run(capsys, "audit", "--db", ci_db, "--undo", str(event), "--yes")
    assert code != 0
    assert "came back" in (out + err) and "domain:9001" in (out + err)


def run_audit_event(capsys: pytest.CaptureFixture[str], db: str, event: int) -> str:
    code, out, err = run(capsys, "audit", "--db", db, "--event", str(event), "--format", "json")
    assert code == 0, err
    return out


@pytest.mark.pg
def test_connection_limit_updates_the_row_whatever_the_case(ci_db: str, capsys) -> None:
    engine = sa.create_engine(ci_db)
    count = 'SELECT count(*) FROM "domainconnectionlimits_"'
    with engine.connect() as conn:
        before = conn.exec_driver_sql(count).scalar()
    code, out, err = run(capsys, "dcl", "--db", ci_db, "--domain", "YAHOO.COM", "--limit", "3",
                         "--yes", "--format", "json")  # fmt: skip
    assert code == 0, err
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            """SELECT "Domain_", "ConnectionLimit_" FROM "domainconnectionlimits_"
               WHERE "Domain_" = 'yahoo.com'"""
        ).fetchall()
        after = conn.exec_driver_sql(count).scalar()
    engine.dispose()
    assert after == before  # updated, not a second row (the key is case-insensitive too)
    assert [(d.lower(), n) for d, n in rows] == [("yahoo.com", 3)]
