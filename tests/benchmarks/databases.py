"""The benchmark databases: the demo at each scale on SQLite and on PostgreSQL, built once.

SQLite files live in the cache directory (``~/.cache/lmtriage-bench``); PostgreSQL databases
are called ``lmtriage_bench_s`` / ``lmtriage_bench_l`` on the server of ``--pg-url`` and kept
between runs. Either is reused when it holds the demo of the same generator version, seed,
anchor and scale; the seconds its build took are kept beside it (``<scale>.<backend>.build.json``).
An L database built before the schema model expected an index gets that index added (what
``lmtriage doctor`` would print), not a rebuild.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tui.db.model import MODEL, create_model_metadata

NOW = datetime(2026, 11, 20, 12, 0, 0)
SEED = 7
SCALES = {
    "S": {"attempts": 200_000, "blocks": 400, "domains": 300, "streams": 4},
    "L": {"attempts": 10_000_000, "blocks": 100_000, "domains": 50_000, "streams": 8},
}
BACKENDS = ("sqlite", "postgresql")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class BenchDb:
    """One benchmark database."""

    scale: str
    backend: str
    url: str
    build_seconds: float
    fresh: bool  # built by this run
    size_bytes: int

    @property
    def label(self) -> str:
        """SQLite / PostgreSQL."""
        return "SQLite" if self.backend == "sqlite" else "PostgreSQL"


def _meta(cache: Path, scale: str, backend: str) -> Path:
    return cache / f"{scale}.{backend}.build.json"


def _is_current(engine: sa.Engine, scale: str) -> bool:
    from tui.demo import GENERATOR_VERSION

    try:
        with engine.connect() as conn:
            info = {
                str(k): str(v)
                for k, v in conn.exec_driver_sql('SELECT "key", "value" FROM lmtriage_demo_info')
            }
    except sa.exc.DBAPIError:
        return False
    return (
        info.get("version") == GENERATOR_VERSION
        and info.get("seed") == str(SEED)
        and info.get("anchor_time") == NOW.isoformat()
        and json.loads(info.get("scale", "{}")) == SCALES[scale]
    )


def add_missing_indexes(engine: sa.Engine) -> list[str]:
    """CREATE the model's indexes a database lacks (by name); their names."""
    created = []
    metadata = create_model_metadata()
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        for spec in MODEL:
            if not spec.indexes:
                continue
            have = {ix["name"] for ix in inspector.get_indexes(spec.default_name)}
            table = metadata.tables[spec.default_name]
            for index in table.indexes:
                if index.name not in have:
                    conn.execute(sa.schema.CreateIndex(index))
                    created.append(str(index.name))
        if created and conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    if created and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return created


def _sqlite(scale: str, cache: Path) -> BenchDb:
    from tui.demo import build_demo_database

    path = cache / f"{scale}.sqlite"
    meta = _meta(cache, scale, "sqlite")
    legacy = cache / f"{scale}.build.json"  # before there were two backends
    if not meta.exists() and legacy.exists():
        legacy.rename(meta)
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    try:
        if path.exists() and meta.exists() and _is_current(engine, scale):
            add_missing_indexes(engine)
            seconds = float(json.loads(meta.read_text())["seconds"])
            return BenchDb(scale, "sqlite", url, seconds, False, path.stat().st_size)
    finally:
        engine.dispose()
    cache.mkdir(parents=True, exist_ok=True)
    print(f"building {scale} on SQLite ({SCALES[scale]}) …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    build_demo_database(path, seed=SEED, now=NOW, **SCALES[scale])
    seconds = time.perf_counter() - started
    meta.write_text(json.dumps({"seconds": seconds, "scale": SCALES[scale]}))
    return BenchDb(scale, "sqlite", url, seconds, True, path.stat().st_size)


def _postgresql(scale: str, cache: Path, admin_url: str) -> BenchDb:
    from tui.db.connect import parse_url
    from tui.demo.server import load_demo

    name = f"lmtriage_bench_{scale.lower()}"
    url = sa.engine.make_url(admin_url).set(database=name)
    text = url.render_as_string(hide_password=False)
    meta = _meta(cache, scale, "postgresql")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    engine = sa.create_engine(text)
    try:
        current = meta.exists() and _is_current(engine, scale)
        if current:
            add_missing_indexes(engine)
            with engine.connect() as conn:
                size = int(
                    conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                )
            seconds = float(json.loads(meta.read_text())["seconds"])
            return BenchDb(scale, "postgresql", text, seconds, False, size)
    finally:
        engine.dispose()
    print(f"loading {scale} into PostgreSQL ({SCALES[scale]}) …", file=sys.stderr, flush=True)
    summary = load_demo(parse_url(text), seed=SEED, now=NOW, force=True, **SCALES[scale])
    cache.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"seconds": summary.seconds, "scale": SCALES[scale]}))
    return BenchDb(scale, "postgresql", text, summary.seconds, True, summary.size_bytes)


def build_or_reuse(scale: str, backend: str, cache: Path, pg_url: str = PG_ADMIN) -> BenchDb:
    """The scale's database on ``backend``, built (or loaded) only when missing or outdated."""
    if backend == "sqlite":
        return _sqlite(scale, cache)
    return _postgresql(scale, cache, pg_url)
