"""Two real ``lmtriage release`` processes release the same blocks at the same moment.

The barrier is PostgreSQL's own: the test holds ``LOCK TABLE … IN SHARE MODE`` on both block
tables, which lets both processes read the blocks but stops each at its DELETE. Once both
are waiting there (pg_stat_activity), the lock goes and the two DELETEs race for the rows.
Both write to one SQLite audit file (WAL), as two consoles of one administrator would.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.faults.conftest import (
    DOMAIN_TABLE,
    IP_TABLE,
    ROOT,
    lmtriage_env,
    lmtriage_waiting_on_locks,
    table_locked,
    wait_until,
)
from tests.support import handmade
from tui.db.audit import AuditStore

EVERY_BLOCK = {f"domain:{b[0]}" for b in handmade.DOMAIN_BLOCKS} | {
    f"ip:{b[0]}" for b in handmade.IP_BLOCKS
}


def test_two_processes_release_each_block_exactly_once(pg_db, admin, tmp_path) -> None:
    audit_file = tmp_path / "shared-audit.sqlite"
    env = lmtriage_env(LMTRIAGE_AUDIT=str(audit_file))
    args = [
        sys.executable,
        "-m",
        "tui",
        "release",
        "--db",
        pg_db.url,
        "--config",
        str(pg_db.config),
        "--all",
        "--yes",
        "--format",
        "json",
    ]
    procs: list[subprocess.Popen[str]] = []
    try:
        with table_locked(admin, DOMAIN_TABLE, IP_TABLE, mode="SHARE"):
            for _ in range(2):
                procs.append(
                    subprocess.Popen(
                        args,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        stdin=subprocess.DEVNULL,
                        text=True,
                        env=env,
                        cwd=ROOT,
                    )
                )
            wait_until(
                lambda: (
                    lmtriage_waiting_on_locks(admin, "DELETE") == 2
                    or any(p.poll() is not None for p in procs)
                ),
                timeout=60,
                what="both releases to wait at their DELETE",
            )
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, (out, err)
        assert err == ""
    results = [json.loads(out) for out, _ in outputs]
    released = [set(r["released"]) for r in results]
    gone = [set(r["already_gone"]) for r in results]
    # Each block released exactly once; what one released, the other found already gone.
    assert released[0] | released[1] == EVERY_BLOCK
    assert not released[0] & released[1]
    assert gone[0] == released[1] and gone[1] == released[0]
    assert all(r["requested"] == len(EVERY_BLOCK) and not r["failed"] for r in results)
    assert all(r["error"] is None for r in results)
    with pg_db.engine.connect() as conn:
        for table in (DOMAIN_TABLE, IP_TABLE):
            assert conn.exec_driver_sql(f"select count(*) from {table}").scalar() == 0
    # Both events are committed in the shared audit store, with the right counts.
    store = AuditStore.at_path(audit_file)
    try:
        events = {e.id: e for e in store.events_list()}
        assert sorted(events) == sorted(r["audit_event"] for r in results)
        for result in results:
            event = store.event(result["audit_event"])
            assert event.status == "committed" and event.action == "release-all"
            assert event.released == len(result["released"])
            assert event.already_gone == len(result["already_gone"])
            assert {r.key for r in event.rows if r.outcome == "released"} == set(result["released"])
            assert all(r.row for r in event.rows if r.outcome == "released")  # full copies
    finally:
        store.engine.dispose()


OPEN_AND_WRITE = """
import os, sys, time
from pathlib import Path
from tui.db.audit import COMMITTED, AuditContext, AuditRow, AuditStore
go = Path(sys.argv[2])
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    pass
store = AuditStore.at_path(Path(sys.argv[1]))
ctx = AuditContext.current(db_user="u", database="d", database_name="n", session_id=str(os.getpid()))
event = store.begin("release", ctx, stream=None, mode="delete", requested=1,
                    rows=[AuditRow(kind="domain", key="domain:1", row={"pid": os.getpid()}, outcome="released")])
store.finish(event, COMMITTED, released=1)
print(event)
"""


def test_processes_opening_a_new_audit_store_at_once(tmp_path) -> None:
    """The first use of a shared audit file by several processes at once: each creates the
    tables if missing, and a CREATE that loses the race must not fail the release."""
    audit_file, go = tmp_path / "new-audit.sqlite", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_WRITE, str(audit_file), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=lmtriage_env(),
            cwd=ROOT,
        )
        for _ in range(4)
    ]
    try:
        # The barrier: each process, imports done, says it is ready and spins until the go
        # file appears; then all four open the new store together.
        wait_until(
            lambda: (
                len(list(tmp_path.glob("ready-*"))) == 4 or any(p.poll() is not None for p in procs)
            ),
            timeout=60,
            what="four processes ready",
        )
        go.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    ids = sorted(int(out) for out, _ in outputs)
    store = AuditStore.at_path(audit_file)
    try:
        events = store.events_list()
        assert sorted(e.id for e in events) == ids and len(set(ids)) == 4
        assert {e.status for e in events} == {"committed"}
    finally:
        store.engine.dispose()
