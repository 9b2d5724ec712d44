"""A query slower than ``[database] statement_timeout``: another session holds an ACCESS
EXCLUSIVE lock on the blocked-domains table, so lmtriage's SELECT waits until PostgreSQL
cancels it (``-c statement_timeout`` on the connection) after 1 second."""

from __future__ import annotations

from tests.faults.conftest import (
    DOMAIN_TABLE,
    SIZE,
    lmtriage_env,
    pilot_wait,
    run_lmtriage,
    status_text,
    table_locked,
    write_config,
)
from tests.support import handmade
from tests.ui.conftest import settle
from tui.ui.screens.help import HelpScreen

TIMEOUT_TOML = "[database]\nstatement_timeout = 1\n"


async def test_console_stays_live_through_a_timed_out_refresh(
    pg_db, admin, make_app, tmp_path
) -> None:
    pg_db.config = write_config(pg_db, tmp_path, TIMEOUT_TOML)
    app = make_app(pg_db)
    assert app.core.config.statement_timeout == 1
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.table_of("domains").keys) == len(handmade.DOMAIN_BLOCKS)
        with table_locked(admin, DOMAIN_TABLE):
            await pilot.press("f5")
            # While the query waits (a thread), the keys still work.
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.pause()
            await pilot_wait(pilot, lambda: app.failures == 1, what="the statement timeout")
            status = status_text(app)
            assert "refresh failed: the query took longer than the statement timeout" in status
            assert "retrying in 2s" in status
            await pilot.press("2")
            await pilot.pause()
            assert app.pane == "ips"
            await pilot.press("1", "down")
            await pilot.pause()
            assert app.table_of("domains").cursor_row == 1
        # The lock is gone: F5 loads the blocks (unless the 2 s retry got there first).
        await pilot.press("f5")
        await pilot_wait(
            pilot, lambda: app.failures == 0 and not app.refreshing, what="a refresh to succeed"
        )
        await settle(pilot)
        assert sorted(app.table_of("domains").keys) == sorted(b[0] for b in handmade.DOMAIN_BLOCKS)
        assert app.table_of("domains").current_block is not None
        assert "the database answers again" in status_text(app)
        assert app.is_running


def test_cli_blocks_under_the_lock_is_one_line(pg_db, admin, tmp_path) -> None:
    config = write_config(pg_db, tmp_path, TIMEOUT_TOML)
    with table_locked(admin, DOMAIN_TABLE):
        out = run_lmtriage("blocks", "--db", pg_db.url, "--config", str(config), env=lmtriage_env())
    assert out.returncode != 0 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "the query took longer than the statement timeout" in lines[0]
    assert "Traceback" not in out.stderr
    # Without the lock the same command answers.
    out = run_lmtriage("blocks", "--db", pg_db.url, "--config", str(config), "--format", "json")
    assert out.returncode == 0 and "gmail.com" in out.stdout
