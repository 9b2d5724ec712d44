"""Create the SQLAlchemy engine for a ListManager database, with timeouts and masked errors."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from tui.db.errors import describe_exception, register_secret
from tui.errors import ConfigError, DatabaseError

# Bare scheme names people type, and the driver lmtriage ships for each.
_DRIVERS = {
    "mssql": "mssql+pymssql",
    "sqlserver": "mssql+pymssql",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def parse_url(text: str, password: str | None = None) -> URL:
    """Parse a database URL, filling in lmtriage's driver and an out-of-band password.

    A bare SQLite file path works too (``~`` expanded, made absolute): text without ``://``
    that has no colon or starts with ``/``, ``~`` or ``.``.
    """
    if not text or not text.strip():
        raise ConfigError("the database URL is empty")
    text = text.strip()
    if "://" not in text and (":" not in text or text[0] in "/~." or text == ":memory:"):
        return _sqlite_path_url(text)
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError) as err:
        raise ConfigError(describe_exception(sa.exc.ArgumentError(str(err)))) from None
    driver = _DRIVERS.get(url.drivername)
    if driver:
        url = url.set(drivername=driver)
    if password and not url.password:
        url = url.set(password=password)
    register_secret(url.password if isinstance(url.password, str) else None)
    if url.get_backend_name() not in ("sqlite", "postgresql", "mssql"):
        raise ConfigError(
            f"unsupported database {url.get_backend_name()!r}: use mssql+pymssql://, "
            "postgresql+psycopg:// or sqlite:///"
        )
    return url


def _sqlite_path_url(text: str) -> URL:
    """``sqlite:///<absolute path>`` for a bare file path (built, not parsed: a path may hold
    ``?``, ``#`` or ``@``)."""
    if text == ":memory:":
        return URL.create("sqlite", database=":memory:")
    return URL.create("sqlite", database=os.path.abspath(os.path.expanduser(text)))


def masked(url: URL | str) -> str:
    """The URL as shown to people: password replaced by ***."""
    if isinstance(url, str):
        try:
            url = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            from tui.db.errors import mask_secrets

            return mask_secrets(url)
    return url.render_as_string(hide_password=True)


def create_engine(
    url: URL, *, statement_timeout: float = 30.0, connect_timeout: float = 10.0
) -> Engine:
    """An engine with a per-statement timeout and a liveness check on every checkout."""
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "future": True}
    if backend == "postgresql":
        connect_args["connect_timeout"] = max(1, int(connect_timeout))
        connect_args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
        connect_args["application_name"] = "lmtriage"
    elif backend == "mssql":
        connect_args["login_timeout"] = max(1, int(connect_timeout))
        connect_args["timeout"] = max(1, int(statement_timeout))
        connect_args["appname"] = "lmtriage"
    elif backend == "sqlite":
        connect_args["check_same_thread"] = False
        connect_args["timeout"] = max(1.0, float(statement_timeout))
    try:
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    except Exception as err:  # noqa: BLE001 - driver import and argument errors alike
        raise ConfigError(describe_exception(err)) from None
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_lenient_text)
    elif backend == "postgresql" and engine.dialect.driver == "psycopg":
        sa.event.listen(engine, "do_connect", _pg_connect)
    _watch_disconnects(engine)
    return engine


class ConnectionHealth:
    """Connections the driver reported lost on an engine, pre-ping included.

    ``pool_pre_ping`` replaces a dead pooled connection without a word; the console compares
    :attr:`lost` before and after a refresh to say so ("the connection was lost;
    reconnected") instead of carrying on as if nothing had happened.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lost = 0
        self.last_error = ""

    def record(self, err: BaseException | None) -> None:
        """Count one lost connection (called on a pool thread)."""
        text = describe_exception(err) if err is not None else ""
        with self._lock:
            self.lost += 1
            self.last_error = text


_HEALTH: weakref.WeakKeyDictionary[Engine, ConnectionHealth] = weakref.WeakKeyDictionary()


def _watch_disconnects(engine: Engine) -> ConnectionHealth:
    health = ConnectionHealth()

    def on_error(context: Any) -> None:
        if context.is_disconnect:
            health.record(context.original_exception)

    sa.event.listen(engine, "handle_error", on_error)
    _HEALTH[engine] = health
    return health


def connection_health(engine: Engine) -> ConnectionHealth:
    """The disconnect counter of an engine (made here for one not from :func:`create_engine`)."""
    health = _HEALTH.get(engine)
    return health if health is not None else _watch_disconnects(engine)


def _sqlite_lenient_text(dbapi_conn: Any, _record: Any) -> None:
    """Decode TEXT with replacement: a reply stored as invalid UTF-8 must not stop a query
    (the default raises ``OperationalError: Could not decode to UTF-8``)."""
    dbapi_conn.text_factory = lambda raw: raw.decode("utf-8", errors="replace")


def _pg_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect with psycopg; on a SQL_ASCII database, read text as UTF-8 with the bytes that
    are not UTF-8 kept as lone surrogates (shown as ``\\xNN``, written back unchanged).

    psycopg hands back ``bytes`` for every text value of a SQL_ASCII database, which neither
    SQLAlchemy (its version check) nor a console can use. Everywhere else the driver's own
    fast decoding stays.
    """
    conn = dialect.loaded_dbapi.connect(*cargs, **cparams)
    if conn.info.encoding == "ascii":
        _register_sql_ascii_text(conn.adapters)
    return conn


def _register_sql_ascii_text(adapters: Any) -> None:
    """Text loaders and str dumpers for one SQL_ASCII connection (see :func:`_pg_connect`)."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format
    from psycopg.types import string

    class Text(Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode("utf-8", "surrogateescape")

    class TextBinary(Text):
        format = Format.BINARY

    for name in ("bpchar", "name", "text", "varchar", '"char"'):
        adapters.register_loader(name, Text)
        adapters.register_loader(name, TextBinary)
    adapters.register_loader(0, Text)  # unknown types, text format (as psycopg does)

    def dumper(base: type) -> type:
        class Dumper(base):  # type: ignore[valid-type, misc]
            def dump(self, obj: str) -> bytes:
                if "\x00" in obj and self.format == Format.TEXT:
                    return super().dump(obj)  # psycopg's own error for NUL
                return obj.encode("utf-8", "surrogateescape")

        return Dumper

    # In psycopg's order: the last one registered is the default for str.
    for base in (
        string.StrBinaryDumperName,
        string.StrBinaryDumperVarchar,
        string.StrBinaryDumper,
        string.StrDumperName,
        string.StrDumperVarchar,
        string.StrDumper,
        string.StrDumperUnknown,
    ):
        adapters.register_dumper(str, dumper(base))


def check_connection(engine: Engine) -> None:
    """Connect once so an unreachable server or a wrong password fails early and clearly."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
    except Exception as err:  # noqa: BLE001 - any driver error becomes one line
        raise DatabaseError(f"{describe_exception(err)} (database {masked(engine.url)})") from None
