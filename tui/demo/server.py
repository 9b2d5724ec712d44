"""Load the demo into a database server (PostgreSQL, SQL Server) through SQLAlchemy.

The same world and rows as the SQLite file (:mod:`tui.demo.rows`), bulk-loaded: PostgreSQL's
``COPY … FROM STDIN`` through psycopg for the attempt log, multi-row ``INSERT … VALUES``
statements elsewhere (at most :data:`~tui.db.sqlfuncs.MAX_PARAMS_PER_STATEMENT` values each,
well inside SQL Server's 2,100). Tables are created without indexes, loaded, then indexed; the
whole load is one transaction, so a failure leaves the database as it was.

It never writes into someone's ListManager: a database that holds any model table and no
``lmtriage_demo_info`` is refused outright, and an existing demo is replaced only with
``force``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from tui.db.connect import masked
from tui.db.model import MODEL, create_model_metadata
from tui.db.sqlfuncs import MAX_PARAMS_PER_STATEMENT
from tui.demo.attempts import ATTEMPT_COLUMNS, TRACKING_COLUMNS, attempt_rows
from tui.demo.build import DemoSummary, make_world, normalise_now
from tui.demo.rows import (
    DEMO_INFO_TABLE,
    Row,
    as_datetime,
    block_rows,
    info_rows,
    static_rows,
    table_names,
)
from tui.demo.world import Progress, World
from tui.errors import LmError

# Columns holding times, per model table key (text in the rows; datetime for a server).
_TIME_COLUMNS = {
    "attempts": ("AttemptTime",),
    "blocked_ips": ("BlockedSince", "NextRetry"),
    "blocked_domains": ("BlockedSince", "NextRetry"),
    "stream_tracking": ("IntervalStart", "IntervalEnd"),
}


def demo_metadata(collation: str | None = None) -> sa.MetaData:
    """Every model table plus ``lmtriage_demo_info``; with ``collation``, every text column
    uses it (a test database mirroring SQL Server's case-insensitive collation)."""
    metadata = create_model_metadata()
    sa.Table(
        DEMO_INFO_TABLE,
        metadata,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text()),
    )
    if collation:
        for table in metadata.tables.values():
            for column in table.columns:
                if isinstance(column.type, sa.Text):
                    column.type = sa.Text(collation=collation)
                elif isinstance(column.type, sa.String):
                    column.type = sa.String(column.type.length, collation=collation)
    return metadata


def existing_tables(conn: Connection) -> tuple[list[str], bool]:
    """(the ListManager model tables the database holds, whether it is an lmtriage demo)."""
    live = {name.lower(): name for name in sa.inspect(conn).get_table_names()}
    wanted = {n.lower() for spec in MODEL for n in (spec.default_name, *spec.alternatives)}
    found = sorted(live[n] for n in wanted if n in live)
    return found, DEMO_INFO_TABLE in live


def check_target(conn: Connection, display: str, *, force: bool) -> list[str]:
    """The tables to drop before loading; raises when the database must not be written."""
    found, is_demo = existing_tables(conn)
    if found and not is_demo:
        shown = ", ".join(found[:4]) + (" …" if len(found) > 4 else "")
        raise LmError(
            f"{display} holds ListManager tables ({shown}) and is not an lmtriage demo "
            "database: refusing to write into it (even with --force)"
        )
    if is_demo and not force:
        raise LmError(f"{display} already holds a demo database; add --force to replace it")
    live = {name.lower(): name for name in sa.inspect(conn).get_table_names()}
    return found + ([live[DEMO_INFO_TABLE]] if is_demo else [])


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _as_server_rows(key: str, columns: tuple[str, ...], rows: Iterable[Row]) -> Iterator[Row]:
    """Rows with their time texts as ``datetime``."""
    times = [i for i, c in enumerate(columns) if c in _TIME_COLUMNS.get(key, ())]
    if not times:
        yield from rows
        return
    for row in rows:
        out = list(row)
        for i in times:
            out[i] = as_datetime(out[i])
        yield tuple(out)


def insert_statements(
    table: sa.Table, columns: tuple[str, ...], rows: Iterable[Row]
) -> Iterator[sa.Insert]:
    """Multi-row INSERTs of ``rows``, each with at most MAX_PARAMS_PER_STATEMENT values."""
    per = max(1, MAX_PARAMS_PER_STATEMENT // len(columns))
    keys = [table.c[c].key for c in columns]
    for batch in _batches(rows, per):
        yield sa.insert(table).values([dict(zip(keys, row, strict=True)) for row in batch])


def _copy_pg(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: Iterable[Row]):
    """PostgreSQL COPY FROM STDIN (text format: the time texts are parsed by the server)."""
    prep = conn.dialect.identifier_preparer
    cols = ", ".join(prep.quote(c) for c in columns)
    raw = conn.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {prep.format_table(table)} ({cols}) FROM STDIN") as cp,
    ):  # type: ignore[union-attr]
        for row in rows:
            cp.write_row(row)


def _load_table(
    conn: Connection, metadata: sa.MetaData, key: str, columns: tuple[str, ...], rows: Iterable[Row]
) -> None:
    table = metadata.tables[table_names().get(key, key)]
    if conn.dialect.name == "postgresql":
        _copy_pg(conn, table, columns, rows)
        return
    for stmt in insert_statements(table, columns, _as_server_rows(key, columns, rows)):
        conn.execute(stmt)


def _columns(metadata: sa.MetaData, key: str, width: int) -> tuple[str, ...]:
    table = metadata.tables[table_names().get(key, key)]
    return tuple(c.name for c in table.columns)[:width]


def _after_load(conn: Connection, metadata: sa.MetaData) -> None:
    """Indexes, sequences past the explicit ids (PostgreSQL), statistics."""
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            conn.execute(sa.schema.CreateIndex(index))
    if conn.dialect.name == "postgresql":
        prep = conn.dialect.identifier_preparer
        for table in metadata.sorted_tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True:
                    conn.execute(
                        sa.text(
                            "SELECT setval(pg_get_serial_sequence(:t, :c), "
                            f"coalesce((SELECT max({prep.quote(column.name)}) FROM "
                            f"{prep.format_table(table)}), 0) + 1, false)"
                        ),
                        {"t": prep.format_table(table), "c": column.name},
                    )


def write_world(
    conn: Connection, w: World, *, drop: list[str], collation: str | None = None
) -> dict[str, int]:
    """Replace ``drop`` with the demo tables holding ``w``; row counts by table name."""
    prep = conn.dialect.identifier_preparer
    for name in drop:
        conn.execute(sa.text(f"DROP TABLE {prep.quote(name)}"))
    metadata = demo_metadata(collation)
    for table in metadata.sorted_tables:
        conn.execute(sa.schema.CreateTable(table))
    for key, rows in static_rows(w).items():
        if rows:
            _load_table(conn, metadata, key, _columns(metadata, key, len(rows[0])), rows)
    w.tick("attempts", 0.05)
    _load_table(conn, metadata, "attempts", ATTEMPT_COLUMNS, attempt_rows(w))
    w.tick("blocks", 0.85)
    for key, rows in block_rows(w).items():
        if rows:
            _load_table(conn, metadata, key, _columns(metadata, key, len(rows[0])), rows)
    _load_table(conn, metadata, "stream_tracking", TRACKING_COLUMNS, w.tracking)
    _load_table(conn, metadata, DEMO_INFO_TABLE, ("key", "value"), info_rows(w))
    w.tick("indexes", 0.88)
    _after_load(conn, metadata)
    counts = {}
    for name in sorted(table_names().values()):
        table = metadata.tables[name]
        counts[name] = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar())
    return counts


def _engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args = {"application_name": "lmtriage demo", "options": "-c statement_timeout=0"}
    elif url.get_backend_name() == "mssql":
        connect_args = {"appname": "lmtriage demo"}
    return sa.create_engine(url, connect_args=connect_args)


def _analyze(engine: Engine) -> None:
    """Fresh statistics (PostgreSQL: VACUUM too, so index-only scans work from the start)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")


def load_demo(
    url: URL,
    *,
    seed: int = 7,
    now: datetime | None = None,
    force: bool = False,
    collation: str | None = None,
    progress: Progress | None = None,
    **scale: int,
) -> DemoSummary:
    """Load the demo into the (empty, or demo) database at ``url``; one transaction.

    ``scale``: ``attempts``, ``blocks``, ``domains``, ``streams`` as for
    :func:`tui.demo.build_demo_database`.
    """
    if url.get_backend_name() == "sqlite":
        raise LmError("a SQLite demo is a file: use build_demo_database")
    started = time.perf_counter()
    anchor = normalise_now(now)
    display = masked(url)
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            drop = check_target(conn, display, force=force)
            w = make_world(seed=seed, now=anchor, progress=progress, **scale)
            counts = write_world(conn, w, drop=drop, collation=collation)
        if progress is not None:
            progress("analyze", 0.97)
        _analyze(engine)
        size = 0
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                size = int(
                    conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                    or 0
                )
    finally:
        engine.dispose()
    if progress is not None:
        progress("done", 1.0)
    return DemoSummary.of(w, display, counts, started, size)
