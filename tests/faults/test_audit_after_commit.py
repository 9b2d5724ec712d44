"""A release that committed is never reported as failed; an audit that could not be completed
is said to be incomplete and settled later by looking at the rows.

Faults injected for real:

- another process holds the audit file's write lock (``BEGIN EXCLUSIVE``) from the moment the
  ListManager transaction commits: the pending event cannot be marked committed;
- the lmtriage process is killed (SIGKILL) while PostgreSQL runs its COMMIT (a deferred
  constraint trigger sleeps in it): the server finishes the commit, or, with
  ``client_connection_check_interval`` set, notices the dead client and rolls back;
- a release that fails before its audit event was begun (a lock timeout) still leaves a
  failed event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.conftest import (
    IP_TABLE,
    SIZE,
    lmtriage_env,
    run_lmtriage,
    status_text,
    table_locked,
    wait_until,
    write_config,
)
from tests.ui.conftest import FROZEN, settle
from tui.config import load_config
from tui.core import open_core
from tui.db.audit import PENDING, AuditStore
from tui.db.queries import fetch_blocks
from tui.db.reconcile import reconcile_pending
from tui.db.release import release_blocks
from tui.db.release_plan import BlockRef
from tui.db.undo import undo_event
from tui.ui.app import build_app
from tui.ui.screens.audit_log import AuditLogScreen
from tui.ui.screens.confirm import ConfirmScreen

HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def hold_lock(audit_path: Path) -> subprocess.Popen[str]:
    """Another process holding the audit file's write lock (until its stdin closes)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(audit_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@contextmanager
def audit_lock_after_commit(engine: sa.Engine, audit_path: Path) -> Iterator[list]:
    """From the ListManager transaction's COMMIT on, another process holds the audit file's
    write lock, until the block ends. The list it yields gets the holder once it started."""
    holders: list[subprocess.Popen[str]] = []

    def take_lock(_conn) -> None:  # noqa: ANN001
        if not holders:
            holders.append(hold_lock(audit_path))

    sa.event.listen(engine, "commit", take_lock)
    try:
        yield holders
    finally:
        sa.event.remove(engine, "commit", take_lock)
        for proc in holders:
            if proc.poll() is None:
                proc.communicate("", timeout=10)


def ip_ids(db) -> set[int]:  # noqa: ANN001
    with db.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(f"select BlockID from {_ip(db)}"))}


def _ip(db) -> str:  # noqa: ANN001
    return IP_TABLE if db.backend == "postgresql" else "lyrMailStreamBlockedIPs"


def test_audit_locked_after_commit_is_released_and_settled(lm_db, tmp_path: Path) -> None:
    core = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    audit_path = tmp_path / "audit.sqlite"
    core.__dict__["audit"] = AuditStore.at_path(audit_path, busy_timeout=0.3)
    try:
        with core.connect() as conn:
            refs = [
                BlockRef.of(b)
                for b in fetch_blocks(core.schema, conn, "ip", [201, 203, 205], since=None)
            ]
        with audit_lock_after_commit(core.engine, audit_path) as holders:
            result = release_blocks(
                core.schema,
                core.engine,
                core.audit,
                core.audit_context(),
                refs,
                mode="delete",
                now=core.now(),
            )
            assert holders, "the lock was taken at COMMIT"
            # Committed: released, never "failed"; the audit is said to be incomplete.
            assert sorted(k.block_id for k in result.released) == [201, 203, 205]
            assert result.failed == [] and result.error is None
            assert not result.audit_complete and "stays pending" in result.audit_error
            assert "released 3" in result.summary() and "audit incomplete" in result.summary()
        assert not {201, 203, 205} & ip_ids(lm_db)
        assert core.audit.event(result.event_id).status == PENDING
        # The lock is gone: reconciliation reads the rows and completes the event.
        outcomes = reconcile_pending(core.schema, core.engine, core.audit, core.display_url)
        assert [(o.event_id, o.status) for o in outcomes] == [(result.event_id, "committed")]
        event = core.audit.event(result.event_id)
        assert event.status == "committed" and event.released == 3
        assert "settled by reconciliation" in event.note
        # ... and it stays undoable.
        undo = undo_event(core.schema, core.engine, core.audit, core.audit_context(), event.id)
        assert undo.ok and {201, 203, 205} <= ip_ids(lm_db)
    finally:
        core.close()


def test_cli_says_released_with_audit_incomplete(sqlite_db, tmp_path: Path, capsys) -> None:
    from tui.cli import main

    config = write_config(sqlite_db, tmp_path, "[audit]\nlock_timeout = 0.3")
    audit_path = tmp_path / "home" / "state" / "lmtriage" / "audit.sqlite"
    engines: list[sa.Engine] = []

    def remember(conn, *_args) -> None:  # noqa: ANN001
        if str(conn.engine.url) == sqlite_db.url and conn.engine not in engines:
            engines.append(conn.engine)

    sa.event.listen(sa.engine.Engine, "begin", remember)
    holders: list[subprocess.Popen[str]] = []

    def take_lock(conn) -> None:  # noqa: ANN001
        if conn.engine in engines and not holders:
            holders.append(hold_lock(audit_path))

    sa.event.listen(sa.engine.Engine, "commit", take_lock)
    try:
        code = main(
            [
                "release",
                "--db",
                sqlite_db.url,
                "--config",
                str(config),
                "--ip",
                "192.0.2.11",
                "--yes",
            ]
        )
    finally:
        sa.event.remove(sa.engine.Engine, "commit", take_lock)
        sa.event.remove(sa.engine.Engine, "begin", remember)
        for proc in holders:
            proc.communicate("", timeout=10)
    out, err = capsys.readouterr()
    assert holders and code == 0, err
    assert "released 1," in out and "failed 0" in out
    assert err.startswith("lmtriage: warning: audit incomplete: event 1 stays pending")
    assert 202 not in ip_ids(sqlite_db)
    code = main(["audit", "--db", sqlite_db.url, "--config", str(config), "--reconcile"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("event 1: committed")


async def test_console_reports_incomplete_audit_then_settles_and_undoes(
    sqlite_db, make_core, tmp_path: Path
) -> None:
    core = make_core(sqlite_db.url, sqlite_db.config)
    audit_path = tmp_path / "locked-audit.sqlite"
    core.__dict__["audit"] = AuditStore.at_path(audit_path, busy_timeout=0.3)
    app = build_app(core, clock=lambda: FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        chosen = table.keys[:2]
        await pilot.press("space", "space", "r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        with audit_lock_after_commit(core.engine, audit_path) as holders:
            await pilot.press("y")
            await settle(pilot, rounds=4)
            assert holders
            status = status_text(app)
            assert status.startswith("released 2, already gone 0, failed 0; audit incomplete")
        assert not set(chosen) & ip_ids(sqlite_db)
        await pilot.press("H")
        await settle(pilot)
        assert isinstance(app.screen, AuditLogScreen)
        assert app.screen.events[0].status == "pending"
        await pilot.press("R")
        await settle(pilot)
        assert app.screen.events[0].status == "committed"
        await pilot.press("enter")  # the event's rows, under the cursor's event
        await settle(pilot)
        detail = str(app.screen.query_one("#audit-detail").render())
        assert all(f"ip:{key}" in detail for key in chosen) and "released" in detail
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert set(chosen) <= ip_ids(sqlite_db)
        assert "restored 2 block(s)" in status_text(app)


# --------------------------------------------------------------------------- kill -9


SLOW_COMMIT = """
CREATE FUNCTION slow_commit() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER slow_commit AFTER DELETE ON lyrmailstreamblockedips
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


def _sleeping_in_commit(admin: sa.Engine) -> bool:
    with admin.connect() as conn:
        return bool(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'lmtriage' AND wait_event = 'PgSleep' "
                "AND upper(query) LIKE 'COMMIT%%'"
            ).scalar()
        )


def _lmtriage_backends(admin: sa.Engine) -> int:
    with admin.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'lmtriage'"
            ).scalar()
            or 0
        )


@pytest.mark.parametrize("server_notices", [False, True], ids=["commit-finishes", "rolled-back"])
def test_kill_9_during_commit_is_settled_from_the_rows(
    pg_db, admin, tmp_path: Path, server_notices: bool
) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(SLOW_COMMIT)
        if server_notices:
            database = sa.engine.make_url(pg_db.url).database
            conn.exec_driver_sql(
                f"ALTER DATABASE \"{database}\" SET client_connection_check_interval = '100ms'"
            )
    audit = tmp_path / "audit.sqlite"
    env = lmtriage_env(LMTRIAGE_AUDIT=str(audit))
    args = ["--db", pg_db.url, "--config", str(pg_db.config)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "release", *args, "--ip", "192.0.2.10", "--yes"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _sleeping_in_commit(admin), what="the release sleeping in COMMIT")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        # The server either finishes the commit (the trigger sleeps 2 s) or rolls it back.
        wait_until(lambda: _lmtriage_backends(admin) == 0, what="the backend to finish")
    finally:
        if proc.poll() is None:
            proc.kill()
    still_there = 201 in ip_ids(pg_db)
    assert still_there is server_notices
    out = run_lmtriage("audit", *args, "--format", "json", env=env)
    assert '"status": "pending"' in out.stdout  # the killed process could not finish it
    out = run_lmtriage("audit", *args, "--reconcile", env=env)
    expected = "failed" if server_notices else "committed"
    assert out.returncode == 0 and out.stdout.startswith(f"event 1: {expected}"), out.stderr
    out = run_lmtriage("audit", *args, "--undo", "1", "--yes", env=env)
    if server_notices:
        assert out.returncode == 1 and "only committed changes can be undone" in out.stderr
    else:
        assert out.returncode == 0 and "restored 1 block(s)" in out.stdout
        assert 201 in ip_ids(pg_db)


# --------------------------------------------------------------------------- failed = audited


def test_a_release_failing_before_its_event_still_leaves_a_failed_event(
    pg_db, admin, tmp_path: Path
) -> None:
    config = write_config(pg_db, tmp_path, "[database]\nstatement_timeout = 1")
    core = open_core(load_config(db=pg_db.url, config=str(config)))
    core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    try:
        with core.connect() as conn:
            refs = [
                BlockRef.of(b) for b in fetch_blocks(core.schema, conn, "ip", [201], since=None)
            ]
        with table_locked(admin, IP_TABLE):
            result = release_blocks(
                core.schema,
                core.engine,
                core.audit,
                core.audit_context(),
                refs,
                mode="retry-now",
                now=core.now(),
            )
        assert result.error and "timeout" in result.error.lower() and result.released == []
        events = core.audit.events_list()
        assert len(events) == 1 and events[0].status == "failed"
        assert events[0].failed == 1 and events[0].touched.startswith("gmail.com (1 IP pair)")
        assert 201 in ip_ids(pg_db)
    finally:
        core.close()
