"""Databases that are not UTF-8: PostgreSQL in SQL_ASCII and in LATIN1, with bytes that are not
UTF-8 in the text columns (stream names, a domain, descriptions, replies, MX host names, status
labels). Real databases created for the test; the console and the CLI must connect, show the
bytes escaped (or as the Latin-1 letters they are) and never fail with a TypeError or stop on
a page.

psycopg hands back ``bytes`` for every text value of a SQL_ASCII database, so without
lmtriage's own text loader even SQLAlchemy's version check fails on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import LmDb
from tests.support import handmade
from tests.support.pgdb import temp_pg_database
from tests.ui.conftest import settle
from tui.cli import main
from tui.db.connect import create_engine, parse_url
from tui.ui.screens.replies import RepliesScreen, SamplesScreen
from tui.ui.widgets.block_table import BlockTable

BAD_REPLY = r"E'550 5.7.1 r\xe9ponse \xff\x80 invalide'"
# Raw bytes written with the server's escape strings: 0xE9 (é in Latin-1), 0xFF, 0x80 (a
# C1 control in Latin-1) and 0xE4; none of them is UTF-8 on its own.
DAMAGE = [
    r"UPDATE lyrmailstreams SET name = E'mark\xe9ting \x80' WHERE mailstreamid = 2",
    r"UPDATE lyrmailstreamblockeddomains SET description = E'blocked \xff\x80' WHERE blockid = 101",
    r"UPDATE lyrmailstreamblockeddomains SET domain = E'b\xe4d.example' WHERE blockid = 103",
    r"UPDATE lyrdeliverattemptlog SET domain = E'b\xe4d.example' WHERE domain = 'hotmail.com'",
    f"""UPDATE lyrdeliverattemptlog SET smtpresponsetext = {BAD_REPLY}, mxhost = E'mx\\x80.example'
        WHERE attemptid IN (SELECT attemptid FROM lyrdeliverattemptlog WHERE domain = 'gmail.com'
        AND smtpresponsecode >= 400 ORDER BY attemptid DESC LIMIT 3)""",
    r"UPDATE lyrlookupcompletionstatus SET description = E'Succ\xe8s' WHERE completionstatusid = 300",
]
# How each encoding shows the 0xE9 byte: escaped (SQL_ASCII), or the letter it is (LATIN1).
E9 = {"SQL_ASCII": "\\xe9", "LATIN1": "é"}


@pytest.fixture(params=["SQL_ASCII", "LATIN1"])
def bad_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LmDb]:
    """The hand-built database in a non-UTF-8 database, then damaged with raw bytes."""
    with temp_pg_database(encoding=request.param) as url:
        engine = create_engine(parse_url(url))
        now = datetime.now().replace(microsecond=0)
        handmade.build(engine, now)
        with engine.begin() as conn:
            for statement in DAMAGE:
                conn.exec_driver_sql(statement.replace("%", "%%"))
        db = LmDb(request.param, url, handmade.write_config(tmp_path), now, engine)
        try:
            yield db
        finally:
            engine.dispose()


def cli(capsys: pytest.CaptureFixture[str], db: LmDb, *argv: str) -> str:
    code = main([*argv, "--db", db.url, "--config", str(db.config)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err and "TypeError" not in out + err
    return out


@pytest.mark.pg
def test_cli_shows_the_bytes(bad_db: LmDb, capsys) -> None:
    e9 = E9[bad_db.backend]
    table = cli(capsys, bad_db, "blocks")
    assert f"mark{e9}ting" in table  # the stream name (cut to its column)
    assert "\\x80 invalide" in table  # gmail.com's latest reply
    csv = cli(capsys, bad_db, "blocks", "--format", "csv")
    assert f"mark{e9}ting \\x80" in csv and f"r{e9}ponse \\xff\\x80" in csv.replace("ÿ", "\\xff")
    blocks = json.loads(cli(capsys, bad_db, "blocks", "--format", "json"))
    by_id = {(b["kind"], b["block_id"]): b for b in blocks}
    assert by_id[("domain", 103)]["attempts"] == 4  # its attempts carry the same bytes
    responses = cli(capsys, bad_db, "responses", "--domain", "gmail.com")
    assert f"r{e9}ponse" in responses and "mx\\x80.example" in responses
    explain = cli(capsys, bad_db, "explain", "--domain", "gmail.com")
    assert "gmail" in explain
    doctor = cli(capsys, bad_db, "doctor")
    assert "lyrdeliverattemptlog" in doctor.lower()
    # A filter with text the database cannot hold finds nothing or says so in one line.
    code = main(["blocks", "--filter", "€", "--db", bad_db.url, "--config", str(bad_db.config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1
    assert code == 0 or err.startswith("lmtriage: error:")
    if bad_db.backend == "LATIN1":  # psycopg cannot encode "€" for the server: said plainly
        assert code == 2 and "cannot hold U+20AC" in err and "Unicode" not in err


@pytest.mark.pg
async def test_console_pages_and_drill_down(bad_db: LmDb, make_app) -> None:
    e9 = E9[bad_db.backend]
    app = make_app(bad_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.table_of("domains")
        assert sorted(table.keys) == [101, 102, 103, 104]
        lines = "".join(
            "".join(seg.text for seg in table.render_line(y)) for y in range(1, len(table.keys) + 1)
        )
        e4 = "\\xe4" if bad_db.backend == "SQL_ASCII" else "ä"
        assert f"mark{e9}tin" in lines and f"b{e4}d.example" in lines
        table.move_cursor(table.keys.index(101))
        await settle(pilot)
        detail = str(app.query_one("#detail-text").render())
        assert "blocked \\xff\\x80" in detail or "blocked ÿ\\x80" in detail
        await pilot.press("enter")
        await settle(pilot)
        replies = app.screen
        assert isinstance(replies, RepliesScreen)
        bad = next(i for i, g in enumerate(replies.groups) if "invalide" in g.sample_text)
        count = replies.groups[bad].count
        assert count >= 1
        replies.query_one("DataTable").move_cursor(row=bad)
        await pilot.press("enter")
        await settle(pilot)
        samples = app.screen
        assert isinstance(samples, SamplesScreen) and len(samples.samples) == count
        await pilot.press("escape", "escape")
        await settle(pilot)
        for pane in ("2", "3"):
            await pilot.press(pane)
            await settle(pilot)
        assert [d.domain for d in app.query_one("DashboardView").rows][:1] == ["gmail.com"]
        status = str(app.query_one("#status").render())
        assert "error" not in status.lower() and "TypeError" not in status
        assert all(not t.errors for t in app.query(BlockTable))
