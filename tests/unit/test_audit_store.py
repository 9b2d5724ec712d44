"""The audit store itself: private files in any directory, the real user, an older store
upgraded in place, and a history that says what each event touched, where."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tui.cli import main
from tui.db.audit import AuditContext, AuditRow, AuditStore, real_user


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_audit_file_and_wal_are_private_whatever_the_umask(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    old = os.umask(0o000)
    try:
        store = AuditStore.at_path(shared / "audit.sqlite")
        context = AuditContext.current(db_user="u", database="d", database_name="n")
        event = store.begin("release", context, stream=None, mode="delete", rows=[], requested=0)
        store.finish(event, "committed")
        with store.engine.connect() as conn:  # keep a connection open: -wal and -shm exist
            conn.exec_driver_sql("select count(*) from lmtriage_audit_event").scalar()
            files = sorted(shared.iterdir())
            assert {p.name for p in files} >= {
                "audit.sqlite",
                "audit.sqlite-wal",
                "audit.sqlite-shm",
            }
            assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        os.umask(old)
        store.engine.dispose()


def test_a_loose_existing_audit_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    AuditStore.at_path(path).engine.dispose()
    path.chmod(0o644)
    AuditStore.at_path(path).engine.dispose()
    assert mode(path) == 0o600


def test_os_user_is_the_real_uid_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("USERNAME", "mallory")
    context = AuditContext.current(db_user="u", database="d", database_name="n")
    assert context.os_user == pwd.getpwuid(os.getuid()).pw_name == real_user()
    assert context.os_user != "mallory"


def test_an_older_store_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    raw = sqlite3.connect(path)
    raw.executescript(
        """
        CREATE TABLE lmtriage_audit_event (id INTEGER PRIMARY KEY, action VARCHAR(20) NOT NULL,
          status VARCHAR(12) NOT NULL, started_at DATETIME NOT NULL, finished_at DATETIME,
          os_user VARCHAR(128) NOT NULL, db_user VARCHAR(128) NOT NULL,
          client_host VARCHAR(255) NOT NULL, database VARCHAR(500) NOT NULL,
          database_name VARCHAR(255) NOT NULL, session_id VARCHAR(32) NOT NULL,
          stream VARCHAR(255), mode VARCHAR(20), requested INTEGER NOT NULL,
          released INTEGER NOT NULL, already_gone INTEGER NOT NULL, failed INTEGER NOT NULL,
          error TEXT, undo_of INTEGER, undone_by INTEGER, summary TEXT);
        CREATE TABLE lmtriage_audit_rows (id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL,
          kind VARCHAR(10) NOT NULL, outcome VARCHAR(20) NOT NULL, count INTEGER NOT NULL,
          rows_json TEXT NOT NULL);
        INSERT INTO lmtriage_audit_event VALUES (1, 'release', 'committed',
          '2026-11-01 10:00:00', '2026-11-01 10:00:01', 'ann', 'lm', 'host', 'DEMO x', 'x',
          's1', 'default', 'delete', 1, 1, 0, 0, NULL, NULL, NULL, NULL);
        """
    )
    raw.commit()
    raw.close()
    store = AuditStore.at_path(path)
    event = store.event(1)
    assert event is not None and event.touched is None and event.note is None
    context = AuditContext.current(db_user="u", database="d", database_name="n")
    new = store.begin(
        "release", context, stream=None, mode="delete", rows=[], requested=0, touched="x.com"
    )
    assert store.event(new).touched == "x.com" and store.event(new).pid == os.getpid()
    store.engine.dispose()


def test_history_shows_what_was_touched_where_and_filters_by_database(
    sqlite_db, tmp_path: Path, capsys
) -> None:
    args = sqlite_db.args()
    assert main(["release", *args, "--domain", "gmail.com", "--yes"]) == 0
    capsys.readouterr()
    assert main(["audit", *args, "--undo", "1", "--yes"]) == 0
    capsys.readouterr()
    # An event of another database in the same audit file.
    store = AuditStore.at_path(tmp_path / "home" / "state" / "lmtriage" / "audit.sqlite")
    other = AuditContext.current(
        db_user="u", database="postgresql+psycopg://lm@elsewhere/lm", database_name="lm"
    )
    store.begin(
        "release",
        other,
        stream=None,
        mode="delete",
        rows=[AuditRow("domain", "domain:9", {}, "released")],
        requested=1,
        touched="elsewhere.example (domain row)",
    )
    store.engine.dispose()
    assert main(["audit", "--config", str(sqlite_db.config)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    for column in ("DATABASE", "TOUCHED", "UNDO OF", "UNDONE BY"):
        assert column in header
    assert "gmail.com (domain row, 2 IP pairs)" in out and "elsewhere.example" in out
    assert main(["audit", *args, "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [(e["id"], e["action"], e["undo_of"], e["undone_by"]) for e in events] == [
        (2, "undo", 1, None),
        (1, "release", None, 2),
    ]
    assert all(e["database"] == sqlite_db.url for e in events)


_OTHER_PROCESS = """
import sys
from pathlib import Path
from tui.db.audit import AuditContext, AuditStore
store = AuditStore.at_path(Path(sys.argv[1]))
context = AuditContext.current(db_user="cli", database="d", database_name="n")
event = store.begin("release", context, stream=None, mode="delete", rows=[], requested=0)
store.finish(event, "committed")
store.engine.dispose()
"""


def test_a_second_process_on_the_same_audit_file_keeps_the_first_ones_wal(
    tmp_path: Path,
) -> None:
    """The console holds the audit store open while a CLI command writes to it and exits. The
    CLI must not find itself the last user and delete -wal/-shm under the console (it did when
    opening a store closed a plain descriptor of the file: that drops this process's SQLite
    locks), which lost committed events and once corrupted the file."""
    import subprocess
    import sys

    path = tmp_path / "audit.sqlite"
    store = AuditStore.at_path(path)
    context = AuditContext.current(db_user="console", database="d", database_name="n")
    try:
        with store.engine.connect() as held:  # the console's connection stays open throughout
            held.exec_driver_sql("select count(*) from lmtriage_audit_event").scalar()
            first = store.begin(
                "release", context, stream=None, mode="delete", rows=[], requested=0
            )
            store.finish(first, "committed")
            for _ in range(2):  # two CLI commands, one after the other
                subprocess.run(
                    [sys.executable, "-c", _OTHER_PROCESS, str(path)], check=True, timeout=60
                )
                assert Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
            last = store.begin("release", context, stream=None, mode="delete", rows=[], requested=0)
            store.finish(last, "committed")
            assert held.exec_driver_sql("pragma integrity_check").scalar() == "ok"
    finally:
        store.engine.dispose()
    with sqlite3.connect(path) as fresh:  # every event of both processes is in the file
        ids = [r[0] for r in fresh.execute("select id from lmtriage_audit_event order by id")]
        assert fresh.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert ids == [1, 2, 3, 4]


def test_missing_parent_directories_are_created_private(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        AuditStore.at_path(tmp_path / "new" / "sub" / "audit.sqlite").engine.dispose()
    finally:
        os.umask(old)
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "sub") == 0o700
