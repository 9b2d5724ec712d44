"""Build the demo database as a SQLite file, and find or reuse one.

Speed: the attempt log is written with the stdlib ``sqlite3`` module from a generator in one
transaction, with journaling off; rows come in time order (AttemptID follows time) and the
indexes are built after loading. Ten million attempts take a few minutes.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from tui.db.model import MODEL_BY_KEY, create_model_metadata
from tui.demo.attempts import ATTEMPT_COLUMNS, TRACKING_COLUMNS, attempt_rows
from tui.demo.blocks import make_blocks
from tui.demo.rows import (
    DEMO_INFO_TABLE,
    GENERATOR_VERSION,
    block_rows,
    info_rows,
    static_rows,
    table_names,
)
from tui.demo.world import Progress, World
from tui.errors import LmError


@dataclass
class DemoSummary:
    """What :func:`build_demo_database` (or :func:`tui.demo.server.load_demo`) wrote."""

    path: Path | str
    counts: dict[str, int]
    anchor_time: datetime
    seconds: float
    seed: int = 0
    version: str = GENERATOR_VERSION
    scale: dict[str, int] = field(default_factory=dict)
    blocks_by_cause: dict[str, int] = field(default_factory=dict)
    blocks_by_provider: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0

    @classmethod
    def of(
        cls, w: World, where: Path | str, counts: dict[str, int], started: float, size: int
    ) -> DemoSummary:
        """The summary of world ``w`` written to ``where`` (``started``: its perf_counter)."""
        return cls(
            path=where,
            counts=dict(counts),
            anchor_time=w.now,
            seconds=time.perf_counter() - started,
            seed=w.seed,
            scale=w.scale(),
            blocks_by_cause=w.by_cause(),
            blocks_by_provider=w.by_provider(),
            size_bytes=size,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "path": str(self.path),
            "counts": self.counts,
            "anchor_time": self.anchor_time.isoformat(sep=" "),
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "version": self.version,
            "scale": self.scale,
            "blocks_by_cause": self.blocks_by_cause,
            "blocks_by_provider": self.blocks_by_provider,
            "size_bytes": self.size_bytes,
        }


def _default_now() -> datetime:
    return datetime.now().replace(minute=0, second=0, microsecond=0)


def normalise_now(now: datetime | None) -> datetime:
    """The anchor time: naive local time, no microseconds (default: now, floored to the hour)."""
    if now is None:
        return _default_now()
    if now.tzinfo is not None:
        now = now.astimezone().replace(tzinfo=None)
    return now.replace(microsecond=0)


# The default scale: the embedded demo (S in the benchmarks).
DEFAULT_SCALE = {"attempts": 200_000, "blocks": 400, "domains": 300, "streams": 4}


def make_world(
    *, seed: int = 7, now: datetime, progress: Progress | None = None, **scale: int
) -> World:
    """Streams, domains, blocks and the blocks' attempt times, ready for the rows.

    ``scale``: ``attempts``, ``blocks``, ``domains``, ``streams`` (default
    :data:`DEFAULT_SCALE`).
    """
    unknown = set(scale) - set(DEFAULT_SCALE)
    if unknown:
        raise TypeError(f"unknown demo scale argument(s): {', '.join(sorted(unknown))}")
    w = World(**(DEFAULT_SCALE | scale), seed=seed, now=now, progress=progress)
    w.tick("streams", 0.0)
    w.make_streams()
    w.make_domains()
    w.tick("blocks", 0.02)
    make_blocks(w)
    w.make_timeline()
    return w


def _insert_sql(table: str, columns: tuple[str, ...] | int) -> str:
    if isinstance(columns, int):
        return f'INSERT INTO "{table}" VALUES ({",".join("?" * columns)})'
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({",".join("?" * len(columns))})'


def _write_sqlite(w: World, path: Path) -> None:
    names = table_names()
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA page_size=8192")  # before anything is written
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        metadata = create_model_metadata()
        dialect = sqlite_dialect.dialect()
        conn.execute("BEGIN")
        for table in metadata.sorted_tables:
            conn.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect)))
        conn.execute(f'CREATE TABLE {DEMO_INFO_TABLE} ("key" TEXT PRIMARY KEY, "value" TEXT)')
        for key, rows in static_rows(w).items():
            if rows:
                conn.executemany(_insert_sql(names[key], len(rows[0])), rows)
        w.tick("attempts", 0.05)
        conn.executemany(_insert_sql(names["attempts"], ATTEMPT_COLUMNS), attempt_rows(w))
        w.tick("blocks", 0.85)
        for key, rows in block_rows(w).items():
            if rows:
                conn.executemany(_insert_sql(names[key], len(rows[0])), rows)
        conn.executemany(_insert_sql(names["stream_tracking"], TRACKING_COLUMNS), w.tracking)
        w.tick("indexes", 0.88)
        for table in metadata.sorted_tables:
            for index in sorted(table.indexes, key=lambda i: i.name or ""):
                conn.execute(str(sa.schema.CreateIndex(index).compile(dialect=dialect)))
        conn.executemany(f"INSERT INTO {DEMO_INFO_TABLE} VALUES (?, ?)", info_rows(w))
        conn.execute("COMMIT")
        w.tick("analyze", 0.97)
        conn.execute("PRAGMA analysis_limit=1000")
        conn.execute("ANALYZE")
        for key in sorted(MODEL_BY_KEY):
            name = names[key]
            w.counts[name] = int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
    finally:
        conn.close()


def build_demo_database(
    path: Path,
    *,
    attempts: int = 200_000,
    blocks: int = 400,
    domains: int = 300,
    streams: int = 4,
    seed: int = 7,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write the demo database at ``path`` (replacing it atomically) and say what is in it.

    ``now`` is the anchor the data is built around (naive local time; default: now, floored to
    the hour). The same arguments and ``now`` give identical content.
    """
    started = time.perf_counter()
    path = Path(path)
    anchor = normalise_now(now)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    scale = {"attempts": attempts, "blocks": blocks, "domains": domains, "streams": streams}
    try:
        w = make_world(seed=seed, now=anchor, progress=progress, **scale)
        _write_sqlite(w, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress("done", 1.0)
    return DemoSummary.of(w, path, w.counts, started, path.stat().st_size)


def read_demo_info(path: Path) -> dict[str, str] | None:
    """The ``lmtriage_demo_info`` rows of a file, or None when it is not a demo database."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute(f'SELECT "key", "value" FROM {DEMO_INFO_TABLE}').fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return {str(k): str(v) for k, v in rows}


def ensure_demo_database(path: Path, **kwargs: Any) -> Path:
    """The demo database at ``path``, built first when missing or from another generator version.

    A file there that is not a demo database is never overwritten.
    """
    path = Path(path)
    if path.exists():
        info = read_demo_info(path)
        if info is None:
            raise LmError(
                f"{path} exists and is not an lmtriage demo database; move it away or set "
                "[ui] demo_path in the config file"
            )
        if info.get("version") == GENERATOR_VERSION:
            return path
    build_demo_database(path, **kwargs)
    return path
