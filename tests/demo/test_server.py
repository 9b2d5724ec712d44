"""``lmtriage demo --db URL``: the same demo in PostgreSQL, bulk-loaded, never over production.

The PostgreSQL tests load a small demo into the session's database and compare it row for row
with the SQLite file built from the same arguments. The SQL Server path (multi-row INSERTs)
runs for real on SQLite while every statement is captured and compiled with the mssql dialect.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from tests.conftest import _reset_pg
from tests.support import handmade
from tui.cli import main
from tui.db.connect import parse_url
from tui.db.model import MODEL
from tui.demo import build_demo_database
from tui.demo.build import make_world
from tui.demo.server import load_demo, write_world

NOW = datetime(2026, 11, 20, 12, 0, 0)
TINY = {"attempts": 3_000, "blocks": 40, "domains": 40, "streams": 2}
MSSQL_MAX_PARAMS = 2100


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def table_digest(engine: sa.Engine) -> dict[str, str]:
    """Per model table: a hash of its rows in a fixed order, values as text."""
    out = {}
    metadata = sa.MetaData()
    with engine.connect() as conn:
        for spec in MODEL:
            table = sa.Table(spec.default_name, metadata, autoload_with=conn)
            cols = [c for c in table.columns if c.name != "AttemptID"]
            rows = sorted(
                repr(tuple(_norm(v) for v in row)) for row in conn.execute(sa.select(*cols))
            )
            h = hashlib.sha256()
            for row in rows:
                h.update(row.encode())
            out[spec.default_name] = h.hexdigest()
    return out


def _norm(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


@pytest.mark.pg
def test_postgresql_demo_equals_the_sqlite_demo(pg_database: str, tmp_path: Path, capsys) -> None:
    _reset_pg(pg_database)
    path = tmp_path / "demo.sqlite"
    build_demo_database(path, seed=3, now=NOW, **TINY)
    argv = ["demo", "--db", pg_database, "--seed", "3", "--now", NOW.isoformat()]
    argv += [f"--{k}={v}" for k, v in TINY.items()]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "lyrDeliveryAttemptLog" in out and "3,000" in out
    sqlite_engine = sa.create_engine(f"sqlite:///{path}")
    pg_engine = sa.create_engine(pg_database)
    try:
        assert table_digest(pg_engine) == table_digest(sqlite_engine)
        with pg_engine.connect() as conn:
            info = {
                k: v
                for k, v in conn.exec_driver_sql('SELECT "key", "value" FROM lmtriage_demo_info')
            }
            # The block ids continue after the loaded ones (a SERIAL column's sequence).
            next_id = conn.exec_driver_sql(
                """SELECT nextval(pg_get_serial_sequence('"lyrMailStreamBlockedIPs"', 'BlockID'))"""
            ).scalar()
        assert info["seed"] == "3" and datetime.fromisoformat(info["anchor_time"]) == NOW
        assert next_id == TINY["blocks"] + 1
    finally:
        sqlite_engine.dispose()
        pg_engine.dispose()
    # The console's own reading of it: a demo, with the blocks.
    code, out, err = run(capsys, "--db", pg_database, "blocks", "--kind", "ip", "--format", "csv")
    assert code == 0, err
    assert len(out.strip().splitlines()) == TINY["blocks"] + 1


@pytest.mark.pg
def test_refuses_a_listmanager_database_that_is_not_a_demo(pg_database: str, capsys) -> None:
    _reset_pg(pg_database)
    engine = sa.create_engine(pg_database)
    handmade.build(engine, NOW)
    before = table_digest_handmade(engine)
    for extra in ([], ["--force"]):
        code, out, err = run(capsys, "demo", "--db", pg_database, *extra)
        assert code != 0
        assert len(err.strip().splitlines()) == 1
        assert "is not an lmtriage demo database: refusing to write into it" in err
    assert table_digest_handmade(engine) == before
    engine.dispose()


def table_digest_handmade(engine: sa.Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        return [
            (n, int(conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar())) for n in names
        ]


@pytest.mark.pg
def test_an_existing_demo_needs_force_and_a_failed_load_changes_nothing(
    pg_database: str, capsys
) -> None:
    _reset_pg(pg_database)
    url = parse_url(pg_database)
    load_demo(url, seed=1, now=NOW, **TINY)
    code, _out, err = run(capsys, "demo", "--db", pg_database, "--attempts", "1000")
    assert code != 0 and "add --force" in err

    def fail_midway(stage: str, fraction: float) -> None:
        if stage == "attempts" and fraction > 0.05:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        load_demo(
            url, seed=2, now=NOW, force=True, progress=fail_midway, **TINY | {"attempts": 400_000}
        )
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        seed = conn.exec_driver_sql(
            "SELECT value FROM lmtriage_demo_info WHERE key = 'seed'"
        ).scalar()
    assert seed == "1"  # the old demo, whole
    summary = load_demo(url, seed=2, now=NOW, force=True, **TINY)
    with engine.connect() as conn:
        seed = conn.exec_driver_sql(
            "SELECT value FROM lmtriage_demo_info WHERE key = 'seed'"
        ).scalar()
        n = conn.exec_driver_sql('SELECT count(*) FROM "lyrDeliveryAttemptLog"').scalar()
    engine.dispose()
    assert seed == "2" and n == TINY["attempts"] == summary.counts["lyrDeliveryAttemptLog"]


def test_sql_server_load_statements_compile_within_2100_parameters(tmp_path: Path) -> None:
    """The generic (non-COPY) load, run for real on SQLite, every statement compiled for mssql."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'generic.sqlite'}")
    captured: list[sa.ClauseElement] = []

    @sa.event.listens_for(engine, "before_execute")
    def capture(conn, clauseelement, multiparams, params, execution_options):  # noqa: ANN001
        if isinstance(clauseelement, sa.sql.ClauseElement):
            captured.append(clauseelement)

    w = make_world(seed=5, now=NOW, **TINY)
    with engine.begin() as conn:
        counts = write_world(conn, w, drop=[])
    engine.dispose()
    assert counts["lyrDeliveryAttemptLog"] == TINY["attempts"]
    dialect = mssql.dialect()
    inserts = 0
    for stmt in captured:
        if isinstance(stmt, sa.sql.elements.TextClause):
            continue
        compiled = stmt.compile(dialect=dialect)  # DDL too: CREATE TABLE/INDEX for SQL Server
        assert len(compiled.params or {}) <= MSSQL_MAX_PARAMS, str(stmt)[:200]
        if isinstance(stmt, sa.Insert):
            inserts += 1
            assert " VALUES " in str(compiled)
    assert inserts >= TINY["attempts"] // 100  # multi-row batches, not one row a statement
