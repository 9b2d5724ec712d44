"""A database password never shows: not on stdout or stderr of any command, not in the audit
file's bytes, not on the console's screen, not in an error about an unreachable server, not in
a driver error that quotes the URL.

The server uses trust auth, so the password is ignored there but goes everywhere lmtriage
carries it: in the URL, or from ``LMTRIAGE_DB_PASSWORD``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.faults.conftest import SIZE, lmtriage_env, run_lmtriage
from tests.ui.conftest import FROZEN, settle
from tui.cli import main
from tui.db import errors as db_errors
from tui.db.errors import describe_exception
from tui.ui.app import build_app
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.help import HelpScreen

SECRET = "S3cr3t-pw"


@pytest.fixture(autouse=True)
def fresh_process_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: no password registered by an earlier test."""
    monkeypatch.setattr(db_errors, "_SECRETS", set())


@pytest.fixture(params=["in-url", "from-env"])
def secret_db(request, pg_db, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN001, ANN201
    """(the URL to pass, the audit file, the process environment): the password in the URL,
    or in ``LMTRIAGE_DB_PASSWORD``."""
    audit = tmp_path / "audit" / "audit.sqlite"
    monkeypatch.setenv("LMTRIAGE_AUDIT", str(audit))
    url = sa.engine.make_url(pg_db.url)
    env = lmtriage_env(LMTRIAGE_AUDIT=str(audit))
    if request.param == "in-url":
        text = url.set(password=SECRET).render_as_string(hide_password=False)
        assert SECRET in text
    else:
        monkeypatch.setenv("LMTRIAGE_DB_PASSWORD", SECRET)
        env["LMTRIAGE_DB_PASSWORD"] = SECRET
        text = url.render_as_string(hide_password=False)
    return text, audit, env


def screen_text(app) -> str:  # noqa: ANN001
    """The text of ``app.export_screenshot()`` (an SVG: one <text> per run of a style)."""
    svg = app.export_screenshot()
    assert SECRET not in svg
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    both = out + err
    assert SECRET not in both, (argv, both)
    return code, both


def test_no_command_prints_the_password(pg_db, secret_db, capsys) -> None:
    url, audit, env = secret_db
    common = ["--db", url, "--config", str(pg_db.config)]
    for argv in (
        ["doctor", *common],
        ["doctor", *common, "--format", "json"],
        ["blocks", *common],
        ["blocks", *common, "--format", "json"],
        ["responses", *common, "--domain", "gmail.com"],
        ["explain", *common, "--domain", "gmail.com", "--format", "json"],
        ["release", *common, "--domain", "gmail.com", "--yes"],
        ["release", *common, "--domain", "yahoo.com", "--yes", "--format", "json"],
        ["audit", *common],
        ["audit", *common, "--format", "json"],
        ["audit", *common, "--event", "1", "--format", "json"],
    ):
        code, _ = cli(capsys, *argv)
        assert code == 0, argv
    code, out = cli(capsys, "doctor", *common, "--format", "json")
    assert json.loads(out)["database_url"].startswith("postgresql+psycopg://postgres:***@")
    code, out = cli(capsys, "audit", *common, "--format", "json")
    events = json.loads(out)
    assert len(events) == 2 and all(":***@" in e["database"] for e in events)
    # The audit store holds full copies of the rows and who did what where: not the password.
    files = [p for p in audit.parent.iterdir() if p.name.startswith("audit.sqlite")]
    assert files and all(SECRET.encode() not in p.read_bytes() for p in files)
    # And real processes, start to finish (a fresh interpreter: nothing registered before).
    for argv in (["doctor", *common], ["release", *common, "--domain", "hotmail.com", "--yes"]):
        proc = run_lmtriage(*argv, env=env)
        assert proc.returncode == 0, proc
        assert SECRET not in proc.stdout + proc.stderr
    assert "postgres:***@" in proc.stdout or "released 3" in proc.stdout


def test_unreachable_server_with_the_password(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = cli(capsys, "blocks", "--db", f"postgresql+psycopg://lm:{SECRET}@127.0.0.1:1/lm")
    assert code == 2 and "cannot be reached" in err and "lm:***@" in err
    monkeypatch.setenv("LMTRIAGE_DB_PASSWORD", SECRET)
    code, err = cli(capsys, "doctor", "--db", "postgresql+psycopg://lm@127.0.0.1:1/lm")
    assert code == 2 and "cannot be reached" in err and "lm:***@" in err
    # A URL too broken to parse (so never registered) is not echoed either.
    code, err = cli(capsys, "blocks", "--db", f"postgresql+psycopg://lm:{SECRET}@[::1/lm")
    assert code != 0 and len(err.strip().splitlines()) == 1


async def test_console_never_draws_the_password(pg_db, secret_db, make_core) -> None:
    url, _, _ = secret_db
    core = make_core(url, pg_db.config)
    assert core.engine.url.password == SECRET  # it is used…
    assert SECRET not in core.display_url and ":***@" in core.display_url  # …and never shown
    app = build_app(core, clock=lambda: FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = "".join(s.text for s in app.query_one("#header").render_line(0))
        assert ":***@" in header or "…" in header
        assert SECRET not in header
        main_screen = screen_text(app)
        assert "lmtriage" in main_screen and "gmail.com" in main_screen
        assert SECRET not in main_screen
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert SECRET not in screen_text(app)
        await pilot.press("escape", "r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # it names the database
        dialog = screen_text(app)
        assert "Database:" in dialog and "postgresql+psycopg://postgres:***@127.0.0.1" in dialog
        assert SECRET not in dialog
        await pilot.press("escape")


def test_driver_errors_that_quote_the_url_are_masked() -> None:
    # A real psycopg error whose message carries the URL, password and all.
    bad = f"postgresql://lm:{SECRET}@[::1/lm"
    with pytest.raises(psycopg.ProgrammingError) as caught:
        psycopg.connect(bad)
    assert SECRET in str(caught.value)
    wrapped = sa.exc.ProgrammingError("connect", {}, caught.value)
    for err in (caught.value, wrapped):
        text = describe_exception(err)
        assert SECRET not in text and "lm:***@" in text
    # The same for an unencoded "@" in the password, and libpq/ODBC keyword strings.
    for message in (
        f"could not connect to postgresql://lm:x@{SECRET}@db.example:5432/lm",
        f"invalid dsn: host=db.example user=lm password={SECRET} dbname=lm",
        f"invalid dsn: host=db.example password='{SECRET} x' dbname=lm",
        f"Server=db.example;UID=lm;PWD={{{SECRET};x}};Database=lm",
    ):
        text = describe_exception(
            sa.exc.OperationalError("connect", {}, psycopg.OperationalError(message))
        )
        assert SECRET not in text, text
        assert "***" in text


def test_a_value_the_database_charset_cannot_hold_is_one_plain_line() -> None:
    """psycopg raises the codec's own error when a LATIN1 server cannot take a filter; the user
    is told what happened, not the codec's internals."""
    try:
        "x€y".encode("latin-1")
    except UnicodeEncodeError as err:
        line = describe_exception(err)
    assert line.startswith("the database's character set (latin-1) cannot hold U+20AC")
    assert "\n" not in line and "codec" not in line and "€" not in line
