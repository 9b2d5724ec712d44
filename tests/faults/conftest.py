"""Fixtures for fault injection: the hand-built database on PostgreSQL, an admin connection
to it (to kill backends and hold locks), real ``lmtriage`` processes, and polling with a
deadline (never a bare sleep)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import LmDb, _reset_pg, handmade_db

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 40)
DOMAIN_TABLE = "lyrmailstreamblockeddomains"  # lower case on PostgreSQL (unquoted CREATE)
IP_TABLE = "lyrmailstreamblockedips"


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LmDb]:
    """The hand-built database, freshly built in this session's PostgreSQL database."""
    url = request.getfixturevalue("pg_database")
    _reset_pg(url)
    with handmade_db("postgresql", url, tmp_path) as db:
        yield db


@pytest.fixture
def admin(pg_db: LmDb) -> Iterator[sa.Engine]:
    """Autocommit connections to the test database, for the test's own hand on the server."""
    engine = sa.create_engine(pg_db.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def kill_backends(admin: sa.Engine) -> int:
    """Terminate every other backend of the test database; how many there were."""
    with admin.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalar()
            or 0
        )


def lmtriage_waiting_on_locks(admin: sa.Engine, query_prefix: str = "") -> int:
    """lmtriage's backends (application_name) waiting for a lock, optionally on a statement
    that starts with ``query_prefix`` (case-insensitive)."""
    with admin.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'lmtriage' AND wait_event_type = 'Lock' "
                "AND upper(query) LIKE upper(%s)",
                (query_prefix + "%",),
            ).scalar()
            or 0
        )


@contextmanager
def table_locked(
    admin: sa.Engine, *tables: str, mode: str = "ACCESS EXCLUSIVE"
) -> Iterator[sa.Connection]:
    """Hold ``LOCK TABLE … IN mode MODE`` in an open transaction until the block ends."""
    with admin.connect() as conn:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN {mode} MODE")
        try:
            yield conn
        finally:
            conn.exec_driver_sql("ROLLBACK")


def wait_until(condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` (synchronously) until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        time.sleep(0.02)


async def pilot_wait(
    pilot, condition: Callable[[], object], timeout: float = 20.0, what: str = ""
) -> None:  # noqa: ANN001
    """Poll ``condition`` while the app runs, until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        await pilot.pause(0.02)


def status_text(app) -> str:  # noqa: ANN001
    """The console's status line, as drawn."""
    return str(app.query_one("#status").render())


def lmtriage_env(**extra: str) -> dict[str, str]:
    """The environment of a real ``lmtriage`` process: this test's isolated XDG dirs (set by
    the autouse fixture), no inherited database settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMTRIAGE_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_lmtriage(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m tui ARGS`` as a real process, without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else lmtriage_env(),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        cwd=ROOT,
    )


def write_config(db: LmDb, tmp_path: Path, extra: str) -> Path:
    """The hand-built database's config plus ``extra`` TOML."""
    path = tmp_path / "faults.toml"
    path.write_text(db.config.read_text() + "\n" + extra + "\n")
    path.chmod(0o600)
    return path
