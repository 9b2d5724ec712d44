"""Throwaway PostgreSQL databases: created under a random name, dropped afterwards.

The shared ``pg_database`` fixture (tests/conftest.py) is one of them per session; the
encoding tests make their own in SQL_ASCII and LATIN1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.support.demo_pg import drop_database, url_of

PG_ADMIN_URL = os.environ.get(
    "LMTRIAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_WANTED = os.environ.get("LMTRIAGE_TEST_PG") == "1"


@contextmanager
def temp_pg_database(*, encoding: str | None = None, locale: str = "C") -> Iterator[str]:
    """A new empty database (``encoding`` e.g. SQL_ASCII or LATIN1); its URL. Skips the
    test when PostgreSQL tests are not wanted."""
    if not PG_WANTED:
        pytest.skip("PostgreSQL tests need LMTRIAGE_TEST_PG=1 (and a server at 127.0.0.1:5432)")
    name = f"lmtriage_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    options = (
        f" ENCODING '{encoding}' LC_COLLATE '{locale}' LC_CTYPE '{locale}'" if encoding else ""
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0{options}')
    finally:
        admin.dispose()
    try:
        yield url_of(PG_ADMIN_URL, name)
    finally:
        drop_database(PG_ADMIN_URL, name)
