"""Hostile filter text reaches SQL only as bound parameters, on SQLite and PostgreSQL, from
the console's filter bar and from the CLI's ``--filter``, ``--domain`` and ``--stream``.

A stream, a domain block and an IP block are added whose names hold every character that
means something to SQL or to LIKE, plus non-ASCII; each needle must match exactly the rows
that contain it literally (case-insensitively), and nothing may error. NUL and a lone
surrogate (undecodable command-line bytes) can be in no stored value: they match nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.faults.conftest import SIZE, pilot_wait, run_lmtriage, status_text
from tests.support import handmade
from tests.ui.conftest import settle
from tui.cli import main

HOSTILE_STREAM = "str'e%a_m;\\[x] ünï 日本"
HOSTILE_DOMAIN = "o'brien;x\\y[z]_w%v.example"
HOSTILE_DESCRIPTION = "bücher 日本 ünïcödé"
HOSTILE_IP_DESCRIPTION = "quote ' percent % under _ back \\ semi ; bracket [ end"

NEEDLES = [
    "'",
    "%",
    "_",
    ";",
    "\\",
    "[",
    "]",
    "[mx]",
    "%.example",
    "_w%",
    "\\y[",
    HOSTILE_DOMAIN,
    "O'BRIEN",
    "; drop table x;--",
    "' or '1'='1",
    "ü",
    "Ü",
    "日本",
    "bücher 日本",
    "\x00",
    "o'brien\x00",
]


def add_hostile_rows(db) -> None:  # noqa: ANN001
    """Stream 4 with one domain block (150) and one IP block (250), all hostile text.
    (Lower-case names work on both: SQLite ignores identifier case.)"""
    since, retry = db.now - timedelta(hours=2), db.now + timedelta(minutes=20)
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("insert into lyrmailstreams (mailstreamid, name) values (4, :n)"),
            {"n": HOSTILE_STREAM},
        )
        conn.execute(
            sa.text(
                "insert into lyrmailstreamblockeddomains (blockid, mailstreamid, domain, description,"
                " blockedsince, nextretry) values (150, 4, :d, :desc, :s, :r)"
            ),
            {"d": HOSTILE_DOMAIN, "desc": HOSTILE_DESCRIPTION, "s": since, "r": retry},
        )
        conn.execute(
            sa.text(
                "insert into lyrmailstreamblockedips (blockid, mailstreamid, ipaddress, domain,"
                " blockingmxip, description, blockedsince, nextretry)"
                " values (250, 4, '192.0.2.99', :d, '198.18.7.7', :desc, :s, :r)"
            ),
            {"d": HOSTILE_DOMAIN, "desc": HOSTILE_IP_DESCRIPTION, "s": since, "r": retry},
        )


DOMAIN_ROWS = {b[0]: (b[2], b[3]) for b in handmade.DOMAIN_BLOCKS} | {
    150: (HOSTILE_DOMAIN, HOSTILE_DESCRIPTION)
}
IP_ROWS = {b[0]: (b[3], b[5], b[2], b[4]) for b in handmade.IP_BLOCKS} | {
    250: (HOSTILE_DOMAIN, HOSTILE_IP_DESCRIPTION, "192.0.2.99", "198.18.7.7")
}


def literal(rows: dict[int, tuple[str, ...]], needle: str) -> set[int]:
    """The rows whose fields contain ``needle`` as plain text (what the filter promises)."""
    needle = needle.strip().lower()
    if not needle:
        return set(rows)
    if "\x00" in needle:
        return set()
    return {k for k, fields in rows.items() if any(needle in f.lower() for f in fields)}


@pytest.fixture
def hostile_db(lm_db):  # noqa: ANN001, ANN201
    add_hostile_rows(lm_db)
    return lm_db


MATCH_NOTHING = {"' or '1'='1", "\x00", "o'brien\x00"}


def test_expectations_are_not_trivial() -> None:
    # Every needle matches something (but those that must not), and none matches everything.
    for needle in NEEDLES:
        found = literal(DOMAIN_ROWS, needle) | {-i for i in literal(IP_ROWS, needle)}
        assert bool(found) == (needle not in MATCH_NOTHING), needle
        assert len(found) < len(DOMAIN_ROWS) + len(IP_ROWS), needle


CONSOLE_NEEDLES = ["'", "%", "_", ";", "\\", "[", "Ü", "日本", "\x00", HOSTILE_DOMAIN]


async def test_console_filter_is_literal(hostile_db, make_app) -> None:
    app = make_app(hostile_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert set(app.table_of("domains").keys) == set(DOMAIN_ROWS)
        for pane, rows, needles in (
            ("domains", DOMAIN_ROWS, CONSOLE_NEEDLES),
            ("ips", IP_ROWS, ["%", "\\", "[", "\x00"]),
        ):
            await pilot.press("1" if pane == "domains" else "2", "slash")
            await settle(pilot)
            bar = app.query_one("#filter")
            assert app.focused is bar
            for needle in needles:
                before = app.refresh_number
                bar.value = needle  # as typed or pasted into the filter bar
                await pilot_wait(
                    pilot,
                    lambda b=before: app.refresh_number > b and not app.refreshing,
                    what=f"the filter {needle!r}",
                )
                assert app.filters[pane].text == needle
                assert set(app.table_of(pane).keys) == literal(rows, needle), needle
                assert app.failures == 0 and "failed" not in status_text(app), needle
            await pilot.press("escape")  # closes the bar and clears the filter
            await settle(pilot)
            assert set(app.table_of(pane).keys) == set(rows)
        assert app.is_running


def cli_blocks(capsys, db, *extra: str) -> tuple[int, set[str], str]:  # noqa: ANN001
    code = main(["blocks", *db.args("--format", "json"), *extra])
    out, err = capsys.readouterr()
    found = {f"{b['kind']}:{b['block_id']}" for b in json.loads(out)} if code == 0 else set()
    return code, found, err


def keys(domain_ids: set[int], ip_ids: set[int]) -> set[str]:
    return {f"domain:{i}" for i in domain_ids} | {f"ip:{i}" for i in ip_ids}


def test_cli_filter_domain_and_stream_are_literal(hostile_db, capsys) -> None:
    for needle in [*NEEDLES, "\udcff"]:  # \udcff: the byte 0xff on a UTF-8 command line
        code, found, err = cli_blocks(capsys, hostile_db, "--filter", needle)
        assert code == 0 and err == "", (needle, err)
        assert found == keys(literal(DOMAIN_ROWS, needle), literal(IP_ROWS, needle)), needle
    for domain in (HOSTILE_DOMAIN, HOSTILE_DOMAIN.upper()):
        code, found, err = cli_blocks(capsys, hostile_db, "--domain", domain)
        assert code == 0 and found == {"domain:150", "ip:250"}, (domain, err)
    for domain in ("%", "_mail.com", "o'brien%", "gmail.com\x00", "\udcff"):
        code, found, err = cli_blocks(capsys, hostile_db, "--domain", domain)
        assert code == 0 and found == set() and err == "", (domain, err)
    code, found, _ = cli_blocks(capsys, hostile_db, "--stream", HOSTILE_STREAM)
    assert code == 0 and found == {"domain:150", "ip:250"}
    code, found, _ = cli_blocks(capsys, hostile_db, "--stream", HOSTILE_STREAM, "--filter", "%")
    assert found == {"domain:150", "ip:250"}
    for stream in ("str'e%", "%", "str'e%a_m;\\[y] ünï 日本", "default\x00"):
        code, found, err = cli_blocks(capsys, hostile_db, "--stream", stream)
        assert code != 0 and len(err.strip().splitlines()) == 1, (stream, err)
        assert "no MailStream named" in err
    # Untouched by any of it.
    with hostile_db.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from lyrmailstreams").scalar() == 4


def test_undecodable_command_line_bytes(hostile_db) -> None:
    """A real process given the byte 0xff (Python decodes it to a lone surrogate)."""
    out = run_lmtriage("blocks", *hostile_db.args("--format", "json"), "--filter", "\udcff")
    assert out.returncode == 0 and json.loads(out.stdout) == [], out.stderr
