"""The core both front ends share: configuration, engine, bound schema, audit and clock.

The console and every CLI command call :func:`open_core` and then the query, release and
diagnosis functions with ``core.schema`` and a connection from ``core.engine``; neither front
end reimplements a query. No Textual here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tui.config import Config, load_config
from tui.db.audit import AuditContext, AuditStore
from tui.db.connect import (
    ConnectionHealth,
    check_connection,
    connection_health,
    create_engine,
    masked,
    parse_url,
)
from tui.db.discover import BoundSchema, discover
from tui.db.errors import describe_exception
from tui.db.queries import db_now
from tui.errors import DatabaseError, LmError


@dataclass
class Core:
    """An open ListManager database with everything needed to read and release blocks."""

    config: Config
    engine: Engine
    schema: BoundSchema
    display_url: str
    clock_offset: timedelta
    read_only: bool
    read_only_reason: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    demo_path: Path | None = None

    @property
    def is_demo(self) -> bool:
        """True on the embedded (or any generated) demo database."""
        return self.schema.discovery.is_demo

    def now(self) -> datetime:
        """The database's notion of now (the frozen anchor, ticking, on the demo)."""
        return datetime.now() + self.clock_offset

    def since(self, window: timedelta | None = None) -> datetime:
        """Start of the evidence window (``[ui] window``, default 7 days)."""
        return self.now() - (window or self.config.window)

    @property
    def health(self) -> ConnectionHealth:
        """How many connections the driver reported lost (the pool replaces them silently)."""
        return connection_health(self.engine)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection; driver errors become one-line :class:`DatabaseError`."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except LmError:
            raise
        except sa.exc.DBAPIError as err:
            raise DatabaseError(describe_exception(err)) from None

    @cached_property
    def audit(self) -> AuditStore:
        """The audit store, opened on first use (read-only commands never touch it)."""
        cfg = self.config
        if cfg.audit_in_database:
            return AuditStore(
                self.engine, location=f"table lmtriage_audit_event in {self.display_url}"
            )
        return open_audit_store(cfg)

    def audit_context(self) -> AuditContext:
        """Who is acting, for the audit."""
        d = self.schema.discovery
        return AuditContext.current(
            db_user=d.db_user or "",
            database=self.display_url,
            database_name=d.database_name,
            session_id=self.session_id,
        )

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def open_audit_store(cfg: Config) -> AuditStore:
    """The audit store of ``[audit] url`` or the audit file, without opening ListManager's
    database (``[audit] in_database`` needs it: see :attr:`Core.audit`)."""
    if cfg.audit_url:
        url = parse_url(cfg.audit_url)
        return AuditStore(create_engine(url), location=masked(url))
    return AuditStore.at_path(cfg.resolved_audit_path(), busy_timeout=cfg.audit_lock_timeout)


def display_url_of(cfg: Config) -> str | None:
    """The name audit events carry for the configured database, without connecting (None
    for the embedded demo, whose name is its path)."""
    if cfg.db_url is None:
        return f"DEMO ({cfg.resolved_demo_path()})"
    return masked(parse_url(cfg.db_url, cfg.db_password))


def _demo_url(cfg: Config, *, build: bool) -> tuple[str, Path]:
    path = cfg.resolved_demo_path()
    if build:
        from tui.demo import ensure_demo_database

        ensure_demo_database(path)
    elif not path.exists():
        raise DatabaseError(
            f"the demo database {path} does not exist; run `lmtriage demo` to build it"
        )
    return f"sqlite:///{path}", path


def open_core(
    config: Config,
    *,
    build_demo: bool = True,
    strict: bool = True,
    index_report: bool = False,
) -> Core:
    """Connect, discover the schema, and work out the clock and whether writes are allowed.

    ``strict=False`` opens a database that lacks the required ListManager tables (for
    ``doctor``, which reports them); everything else needs them. ``index_report`` reads
    the indexes the model expects (``doctor`` only; the console starts without).
    """
    demo_path: Path | None = None
    if config.db_url is None:
        url_text, demo_path = _demo_url(config, build=build_demo)
    else:
        url_text = config.db_url
    url = parse_url(url_text, config.db_password)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        sqlite_path = Path(url.database)
        if not sqlite_path.exists():
            raise DatabaseError(f"the SQLite database {sqlite_path} does not exist")
    engine = create_engine(url, statement_timeout=config.statement_timeout)
    check_connection(engine)
    try:
        schema = discover(
            engine,
            config.schema,
            release_mode=config.release_mode,
            strict=strict,
            index_report=index_report,
        )
        with engine.connect() as conn:
            server_now = db_now(conn)
    except LmError:
        engine.dispose()
        raise
    except sa.exc.DBAPIError as err:
        engine.dispose()
        raise DatabaseError(f"{describe_exception(err)} (database {masked(url)})") from None
    d = schema.discovery
    offset = server_now - datetime.now()
    if d.is_demo and d.demo_info.get("anchor_time"):
        offset = datetime.fromisoformat(d.demo_info["anchor_time"]) - datetime.now()
    if demo_path is not None:
        display = f"DEMO ({demo_path})"
    elif d.is_demo:
        display = f"DEMO {masked(url)}"
    else:
        display = masked(url)
    read_only, reason = config.read_only, config.read_only_source or "--read-only"
    if not read_only and not d.can_write:
        read_only, reason = True, d.write_reason
    return Core(
        config=config,
        engine=engine,
        schema=schema,
        display_url=display,
        clock_offset=offset,
        read_only=read_only,
        read_only_reason=reason if read_only else "",
        demo_path=demo_path,
    )


def core_from_args(args: object, *, build_demo: bool = True) -> Core:
    """Load the config from parsed CLI arguments and open the core."""
    config = load_config(
        db=getattr(args, "db", None),
        config=getattr(args, "config", None),
        read_only=bool(getattr(args, "read_only", False)),
        profile=getattr(args, "profile", None),
    )
    return open_core(config, build_demo=build_demo)
