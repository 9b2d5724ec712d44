"""Fixtures for the operations commands: the demo database on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, PG_WANTED
from tests.support import demo_pg


@pytest.fixture(scope="session")
def demo_pg_template(demo_db_path: Path) -> Iterator[str]:
    """A PostgreSQL database holding the session's demo (a template: never written to)."""
    if not PG_WANTED:
        pytest.skip("PostgreSQL tests need LMTRIAGE_TEST_PG=1 (and a server at 127.0.0.1:5432)")
    name = demo_pg.create_database(PG_ADMIN_URL)
    try:
        demo_pg.copy_sqlite_to(demo_db_path, demo_pg.url_of(PG_ADMIN_URL, name))
        yield name
    finally:
        demo_pg.drop_database(PG_ADMIN_URL, name)


@dataclass
class Demo:
    """A private copy of the demo database."""

    backend: str
    url: str
    engine: sa.Engine

    def table(self, name: str) -> sa.Table:
        """A demo table, reflected."""
        return sa.Table(name, sa.MetaData(), autoload_with=self.engine)

    def args(self, *extra: str) -> list[str]:
        """CLI arguments naming this database."""
        return ["--db", self.url, *extra]


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, demo_db_path: Path, tmp_path: Path) -> Iterator[Demo]:
    """The demo database, a private copy on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "demo.sqlite"
        shutil.copyfile(demo_db_path, path)
        url = f"sqlite:///{path}"
        engine = sa.create_engine(url)
        try:
            yield Demo("sqlite", url, engine)
        finally:
            engine.dispose()
        return
    template = request.getfixturevalue("demo_pg_template")
    name = demo_pg.create_database(PG_ADMIN_URL, template=template)
    url = demo_pg.url_of(PG_ADMIN_URL, name)
    engine = sa.create_engine(url)
    try:
        yield Demo("postgresql", url, engine)
    finally:
        engine.dispose()
        demo_pg.drop_database(PG_ADMIN_URL, name)
