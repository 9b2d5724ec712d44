"""The audit store: who released what, when, from where, with a full copy of every row.

By default a SQLite file in the XDG state directory, so lmtriage never adds a table to the
ListManager database unless the config asks for it (``[audit] in_database = true``). Each
write to ListManager is bracketed by an event: recorded as ``pending`` with the rows about to
change *before* the ListManager transaction commits, then marked ``committed`` or ``failed``.
A crash in between leaves a ``pending`` event, never an unrecorded change.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# The row encoding lives in tui.db.audit_encoding; its names are re-exported here.
from tui.db.audit_encoding import decode_pairs, encode_pairs
from tui.db.audit_encoding import decode_row as decode_row
from tui.db.audit_encoding import decode_rows as decode_rows
from tui.db.audit_encoding import encode_row as encode_row
from tui.db.audit_encoding import encode_rows as encode_rows
from tui.errors import DatabaseError

PENDING, COMMITTED, FAILED = "pending", "committed", "failed"
# A pending event whose outcome reconciliation could not tell (some rows changed, some not):
# never undoable, shown with its note.
UNKNOWN = "unknown"


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who is acting, from where, on which database."""

    os_user: str
    db_user: str
    client_host: str
    database: str  # masked URL or "DEMO <path>"
    database_name: str
    session_id: str

    @classmethod
    def current(
        cls, *, db_user: str, database: str, database_name: str, session_id: str | None = None
    ) -> AuditContext:
        """The context of this process: OS user, host name and SSH client address.

        The OS user is the real uid's name, never ``$LOGNAME``/``$USER``: those are whatever
        the caller's environment says, and an audit must not take a user's word for who they are.
        """
        host = socket.gethostname()
        ssh = os.environ.get("SSH_CLIENT", "").split()
        if ssh:
            host = f"{host} (ssh from {ssh[0]})"
        return cls(
            os_user=real_user(),
            db_user=db_user,
            client_host=host,
            database=database,
            database_name=database_name,
            session_id=session_id or uuid.uuid4().hex[:12],
        )


def real_user() -> str:
    """The name of the real uid (``uid 1234`` when it has no passwd entry)."""
    if not hasattr(os, "getuid"):  # pragma: no cover - Windows
        import getpass

        return getpass.getuser()
    uid = os.getuid()
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return f"uid {uid}"


@dataclass(slots=True)
class AuditRow:
    """One row a write touched: a full copy before, and what happened to it."""

    kind: str  # "domain", "ip" or "dcl"
    key: str  # the block id or the DCL domain
    row: dict[str, Any]
    # What the event does to the row (released, restored, set) or found (gone). Read back,
    # it is "failed" or "pending" unless the event committed.
    outcome: str = ""
    # The outcome as written (read back: ``outcome`` says "pending" for an unsettled event).
    recorded: str = ""


@dataclass(slots=True)
class AuditEvent:
    """One audited action."""

    id: int
    action: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    os_user: str
    db_user: str
    client_host: str
    database: str
    database_name: str
    session_id: str
    stream: str | None
    mode: str | None
    requested: int
    released: int
    already_gone: int
    failed: int
    error: str | None
    undo_of: int | None
    undone_by: int | None
    summary: str | None
    touched: str | None = None
    note: str | None = None
    pid: int | None = None
    rows: list[AuditRow] = field(default_factory=list)

    @property
    def host_name(self) -> str:
        """The host the event was made on (``client_host`` without its SSH note)."""
        return self.client_host.split(" (", 1)[0]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields of ``lmtriage audit``."""
        return {
            "id": self.id,
            "action": self.action,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "os_user": self.os_user,
            "db_user": self.db_user,
            "client_host": self.client_host,
            "database": self.database,
            "database_name": self.database_name,
            "session_id": self.session_id,
            "stream": self.stream,
            "mode": self.mode,
            "requested": self.requested,
            "released": self.released,
            "already_gone": self.already_gone,
            "failed": self.failed,
            "error": self.error,
            "undo_of": self.undo_of,
            "undone_by": self.undone_by,
            "summary": self.summary,
            "touched": self.touched,
            "note": self.note,
            "rows": [
                {"kind": r.kind, "key": r.key, "outcome": r.outcome, "row": r.row}
                for r in self.rows
            ],
        }


# --------------------------------------------------------------------------- store


def _tables(metadata: sa.MetaData, prefix: str) -> tuple[sa.Table, sa.Table]:
    events = sa.Table(
        f"{prefix}_event",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("os_user", sa.String(128), nullable=False),
        sa.Column("db_user", sa.String(128), nullable=False),
        sa.Column("client_host", sa.String(255), nullable=False),
        sa.Column("database", sa.String(500), nullable=False),
        sa.Column("database_name", sa.String(255), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("stream", sa.String(255)),
        sa.Column("mode", sa.String(20)),
        sa.Column("requested", sa.Integer, nullable=False, default=0),
        sa.Column("released", sa.Integer, nullable=False, default=0),
        sa.Column("already_gone", sa.Integer, nullable=False, default=0),
        sa.Column("failed", sa.Integer, nullable=False, default=0),
        sa.Column("error", sa.Text),
        sa.Column("undo_of", sa.Integer),
        sa.Column("undone_by", sa.Integer),
        sa.Column("summary", sa.Text),
        # Added after the first release (see AuditStore._migrate): what the event touched in
        # words, the writing process, and what reconciliation found.
        sa.Column("touched", sa.Text),
        sa.Column("pid", sa.Integer),
        sa.Column("note", sa.Text),
    )
    rows = sa.Table(
        f"{prefix}_rows",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "event_id", sa.Integer, sa.ForeignKey(f"{prefix}_event.id"), nullable=False, index=True
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        # A JSON array of [key, row] pairs: one write per group, however many rows.
        sa.Column("rows_json", sa.Text, nullable=False),
    )
    return events, rows


# (store location, event id) of events this process has begun and not yet tried to finish:
# reconciliation leaves them alone (they are still being written), and only them.
_OPEN_EVENTS: set[tuple[str, int]] = set()


def is_open_here(location: str, event_id: int) -> bool:
    """True while this process is between begin() and finish() of the event."""
    return (location, event_id) in _OPEN_EVENTS


def _private_files(path: Path) -> None:
    """Create ``path`` mode 600 if missing; make it and its -wal/-shm 600 if they exist.

    An existing file is never opened here: closing any descriptor of a file drops every POSIX
    lock this process holds on it, so SQLite's own connections (of this or another store in
    this process) would lose the lock that tells other processes the WAL is in use, and the
    next process to close its connection would delete -wal and -shm under them. Only a file
    that does not exist yet is created (``O_EXCL``), and modes are set by path.
    """
    if not path.exists():
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass  # another process created it meanwhile: tightened by path below
        except OSError as err:
            raise DatabaseError(f"cannot create the audit file {path}: {err.strerror}") from None
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if name.exists() and name.stat().st_mode & 0o077:
                name.chmod(0o600)
        except OSError:
            pass  # not ours to change (another user's file): SQLite will say if it cannot open


def _private_directory(directory: Path) -> None:
    """Create ``directory`` and every missing parent mode 700 (``mkdir(parents=True)`` gives
    the parents the umask's mode, world-writable under ``umask 000``)."""
    missing: list[Path] = []
    here = directory
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for part in reversed(missing):
        try:
            part.mkdir(mode=0o700)
        except FileExistsError:
            continue
        except OSError as err:
            raise DatabaseError(
                f"cannot create the audit directory {part}: {err.strerror}"
            ) from None


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class AuditStore:
    """Reads and writes audit events in their own database (or ListManager's, if asked)."""

    def __init__(
        self, engine: Engine, *, prefix: str = "lmtriage_audit", location: str = ""
    ) -> None:
        self.engine = engine
        self.location = location or engine.url.render_as_string(hide_password=True)
        self.metadata = sa.MetaData()
        self.events, self.rows = _tables(self.metadata, prefix)
        for attempt in range(3):
            try:
                self.metadata.create_all(engine)
                break
            except sa.exc.DBAPIError as err:
                # Two processes opening a new store at once: both see no table, one CREATE
                # fails with "already exists". Checking again finds the other's tables.
                if attempt < 2:
                    continue
                raise DatabaseError(
                    f"cannot open the audit store at {self.location}: {type(err.orig).__name__}: "
                    f"{str(err.orig).splitlines()[0] if err.orig else err}"
                ) from None
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns later versions need to an audit store made by an earlier one."""
        try:
            with self.engine.connect() as conn:
                have = {c["name"] for c in sa.inspect(conn).get_columns(self.events.name)}
            missing = [c for c in self.events.c if c.name not in have]
            if not missing:
                return
            with self.engine.begin() as conn:
                for column in missing:
                    ddl = column.type.compile(dialect=conn.dialect)
                    name = conn.dialect.identifier_preparer.quote(column.name)
                    table = conn.dialect.identifier_preparer.format_table(self.events)
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")
        except sa.exc.DBAPIError as err:
            raise DatabaseError(
                f"cannot upgrade the audit store at {self.location}: {type(err.orig).__name__}"
            ) from None

    @classmethod
    def at_path(cls, path: Path, *, busy_timeout: float = 30.0) -> AuditStore:
        """A SQLite audit file, created with its directory (mode 700) when missing.

        The file is created mode 600 before SQLite opens it, and SQLite gives its -wal and
        -shm files the mode of the database file, so all three are private to the user in
        any directory, whatever the umask. Files of an earlier version are tightened too.
        """
        _private_directory(path.parent)
        _private_files(path)
        engine = sa.create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL: readers never wait for the writer; NORMAL: durable at each checkpoint,
            # one fsync a commit instead of two.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return cls(engine, location=str(path))

    # -- writing

    def begin(
        self,
        action: str,
        context: AuditContext,
        *,
        stream: str | None,
        mode: str | None,
        rows: list[AuditRow],
        requested: int,
        undo_of: int | None = None,
        summary: str | None = None,
        touched: str | None = None,
    ) -> int:
        """Record a pending event with the rows about to change; returns its id.

        ``touched`` says in words what the event changes (domains, IPs), for the history.
        """
        with self.engine.begin() as conn:
            event_id = conn.execute(
                self.events.insert().values(
                    action=action,
                    status=PENDING,
                    started_at=_utcnow(),
                    os_user=context.os_user,
                    db_user=context.db_user,
                    client_host=context.client_host,
                    database=context.database,
                    database_name=context.database_name,
                    session_id=context.session_id,
                    stream=stream,
                    mode=mode,
                    requested=requested,
                    released=0,
                    already_gone=0,
                    failed=0,
                    undo_of=undo_of,
                    summary=summary,
                    touched=touched,
                    pid=os.getpid(),
                )
            ).inserted_primary_key[0]
            self._insert_rows(conn, int(event_id), rows)
        _OPEN_EVENTS.add((self.location, int(event_id)))
        return int(event_id)

    def _insert_rows(self, conn: sa.Connection, event_id: int, rows: list[AuditRow]) -> None:
        groups: dict[tuple[str, str], list[list[Any]]] = {}
        for r in rows:
            groups.setdefault((r.kind, r.outcome or "changed"), []).append([str(r.key), r.row])
        for (kind, outcome), pairs in groups.items():
            conn.execute(
                self.rows.insert().values(
                    event_id=event_id,
                    kind=kind,
                    outcome=outcome,
                    count=len(pairs),
                    rows_json=encode_pairs(pairs),
                )
            )

    def finish(
        self,
        event_id: int,
        status: str,
        *,
        released: int = 0,
        already_gone: int = 0,
        failed: int = 0,
        error: str | None = None,
        extra_rows: list[AuditRow] | None = None,
        summary: str | None = None,
        note: str | None = None,
    ) -> None:
        """Mark the event committed or failed, with its counts (and rows found on the way,
        such as blocks already gone)."""
        _OPEN_EVENTS.discard((self.location, event_id))  # tried: no longer being written
        with self.engine.begin() as conn:
            values: dict[str, Any] = {
                "status": status,
                "finished_at": _utcnow(),
                "released": released,
                "already_gone": already_gone,
                "failed": failed,
                "error": error,
            }
            if summary is not None:
                values["summary"] = summary
            if note is not None:
                values["note"] = note
            conn.execute(self.events.update().where(self.events.c.id == event_id).values(**values))
            if extra_rows:
                self._insert_rows(conn, event_id, extra_rows)

    def mark_undone(self, event_id: int, by_event: int) -> None:
        """Link a release to the event that undid it."""
        with self.engine.begin() as conn:
            conn.execute(
                self.events.update().where(self.events.c.id == event_id).values(undone_by=by_event)
            )

    # -- reading

    def _event(self, row: Any) -> AuditEvent:
        return AuditEvent(
            id=row.id,
            action=row.action,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            os_user=row.os_user,
            db_user=row.db_user,
            client_host=row.client_host,
            database=row.database,
            database_name=row.database_name,
            session_id=row.session_id,
            stream=row.stream,
            mode=row.mode,
            requested=row.requested,
            released=row.released,
            already_gone=row.already_gone,
            failed=row.failed,
            error=row.error,
            undo_of=row.undo_of,
            undone_by=row.undone_by,
            summary=row.summary,
            touched=row.touched,
            note=row.note,
            pid=row.pid,
        )

    def events_list(
        self,
        *,
        limit: int = 50,
        before_id: int | None = None,
        session_id: str | None = None,
        databases: list[str] | None = None,
        status: str | None = None,
    ) -> list[AuditEvent]:
        """Newest events first, a keyset page at a time; optionally only those made on one
        of ``databases`` (display URLs) or with ``status``."""
        stmt = sa.select(self.events).order_by(self.events.c.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(self.events.c.id < before_id)
        if session_id is not None:
            stmt = stmt.where(self.events.c.session_id == session_id)
        if databases is not None:
            stmt = stmt.where(self.events.c.database.in_(databases))
        if status is not None:
            stmt = stmt.where(self.events.c.status == status)
        with self.engine.connect() as conn:
            return [self._event(r) for r in conn.execute(stmt)]

    def event(self, event_id: int, *, with_rows: bool = True) -> AuditEvent | None:
        """One event, with its rows."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.events).where(self.events.c.id == event_id)).first()
            if row is None:
                return None
            event = self._event(row)
            if with_rows:
                stmt = (
                    sa.select(self.rows)
                    .where(self.rows.c.event_id == event_id)
                    .order_by(self.rows.c.id)
                )
                for r in conn.execute(stmt):
                    outcome = r.outcome
                    if event.status != COMMITTED and outcome != "gone":
                        outcome = {FAILED: "failed", UNKNOWN: UNKNOWN}.get(event.status, PENDING)
                    event.rows += [
                        AuditRow(kind=r.kind, key=key, row=row, outcome=outcome, recorded=r.outcome)
                        for key, row in decode_pairs(r.rows_json)
                    ]
        return event

    def last_undoable(self, session_id: str, database: str) -> AuditEvent | None:
        """This session's newest committed release on this database that was not undone."""
        stmt = (
            sa.select(self.events)
            .where(
                self.events.c.session_id == session_id,
                self.events.c.database == database,
                self.events.c.action.in_(("release", "release-all")),
                self.events.c.status == COMMITTED,
                self.events.c.undone_by.is_(None),
                self.events.c.released > 0,
            )
            .order_by(self.events.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return self.event(row.id) if row else None
