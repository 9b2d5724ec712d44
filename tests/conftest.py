"""Shared fixtures: real SQLite and PostgreSQL databases built for each test.

PostgreSQL tests run when ``LMTRIAGE_TEST_PG=1`` (CI sets it) against 127.0.0.1:5432 with
trust auth: the session creates its own database and drops it at the end. Elsewhere they skip
and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import handmade
from tests.support.pgdb import PG_ADMIN_URL, PG_WANTED, temp_pg_database  # noqa: F401


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real XDG directories and environment."""
    for var in ("LMTRIAGE_DB", "LMTRIAGE_CONFIG", "LMTRIAGE_DB_PASSWORD", "LMTRIAGE_AUDIT"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(home / kind.lower()))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session."""
    with temp_pg_database() as url:
        yield url


def _reset_pg(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


@dataclass
class LmDb:
    """A hand-built ListManager database and the config that maps its renamed column."""

    backend: str
    url: str
    config: Path
    now: datetime
    engine: sa.Engine

    def args(self, *extra: str) -> list[str]:
        """CLI arguments naming this database and config."""
        return ["--db", self.url, "--config", str(self.config), *extra]


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


@contextmanager
def handmade_db(backend: str, url: str, tmp_path: Path) -> Iterator[LmDb]:
    """The hand-built database, built now at ``url`` (an empty database), with its config."""
    engine = sa.create_engine(url)
    now = _now()
    handmade.build(engine, now)
    try:
        yield LmDb(backend, url, handmade.write_config(tmp_path), now, engine)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def lm_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LmDb]:
    """The hand-built database on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'handmade.sqlite'}"
    else:
        url = request.getfixturevalue("pg_database")
        _reset_pg(url)
    with handmade_db(request.param, url, tmp_path) as db:
        yield db


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[LmDb]:
    """The hand-built database on SQLite only (for tests that need no second backend)."""
    with handmade_db("sqlite", f"sqlite:///{tmp_path / 'handmade.sqlite'}", tmp_path) as db:
        yield db


DEMO_NOW = datetime(2026, 11, 23, 9, 0, 0)


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo database built once per test session (copy it before writing to it)."""
    from tui.demo import build_demo_database

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    build_demo_database(path, attempts=20_000, seed=7, now=DEMO_NOW)
    return path


@pytest.fixture
def demo_db(demo_db_path: Path, tmp_path: Path) -> Path:
    """A private copy of the small demo database, free to write to."""
    import shutil

    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_db_path, path)
    return path


# ------------------------------------------------------------------ the console on a database


@pytest.fixture
def make_core(tmp_path: Path):
    """A core on a database, with its audit store in the test's directory."""
    from tui.config import load_config
    from tui.core import open_core
    from tui.db.audit import AuditStore

    made = []

    def make(url: str, config: Path | None = None, *, read_only: bool = False):
        core = open_core(
            load_config(db=url, config=str(config) if config else None, read_only=read_only)
        )
        core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
        made.append(core)
        return core

    yield make
    for core in made:
        core.close()


@pytest.fixture
def make_app(make_core):
    """The console on a database, with a frozen clock for the header."""
    from tests.ui.conftest import FROZEN
    from tui.ui.app import build_app

    def make(db, *, read_only: bool = False):
        core = make_core(db.url, db.config, read_only=read_only)
        return build_app(core, clock=lambda: FROZEN)

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After a run that included the corpus test, print the classifier's accuracy on every
    corpus (held-out included) in the log. Here, not in the test, so ``-n 2`` shows it too."""
    ran = any(
        "test_classify_corpora.py" in getattr(report, "nodeid", "")
        for reports in terminalreporter.stats.values()
        for report in reports
    )
    if ran:
        from tests.support import corpora

        terminalreporter.write_sep("-", "classifier accuracy")
        terminalreporter.write_line(corpora.report(corpora.score_all()))
