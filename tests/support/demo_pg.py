"""The demo database on PostgreSQL: the SQLite demo copied table by table.

``lmtriage demo`` writes SQLite only; these tests need the same data on PostgreSQL, so the
session's demo file is reflected and copied into a template database once, and each test gets
its own copy of the template (``CREATE DATABASE … TEMPLATE``, a file copy on the server).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

CHUNK = 5_000


def copy_sqlite_to(sqlite_path: Path, url: str) -> None:
    """Create every table of the SQLite file at ``url`` (an empty database) and copy the rows."""
    src = sa.create_engine(f"sqlite:///{sqlite_path}")
    dst = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(src)
    for table in metadata.tables.values():
        for column in table.columns:
            column.type = column.type.as_generic()  # SQLite's DATETIME is no PostgreSQL type
    try:
        metadata.create_all(dst)
        with src.connect() as s, dst.begin() as d:
            for table in metadata.sorted_tables:
                result = s.execute(sa.select(table))
                while rows := result.mappings().fetchmany(CHUNK):
                    d.execute(table.insert(), [dict(r) for r in rows])
    finally:
        src.dispose()
        dst.dispose()


def create_database(admin_url: str, *, template: str | None = None) -> str:
    """A new database (a copy of ``template`` when given); returns its name."""
    name = f"lmtriage_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            extra = f' TEMPLATE "{template}"' if template else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{extra}')
    finally:
        admin.dispose()
    return name


def drop_database(admin_url: str, name: str) -> None:
    """Drop ``name``, ending its sessions first."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.dispose()


def url_of(admin_url: str, name: str) -> str:
    """The URL of database ``name`` on the admin URL's server."""
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
