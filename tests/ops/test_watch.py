"""``lmtriage watch``: a block that appears or disappears is reported (printed, JSON, --exec,
--webhook to a real local HTTP server); the state survives a restart (real processes); a
failed delivery is reported again; the loop is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.cli import main
from tui.ops.watch import PollResult, PrintSink, Watch, WatchState, run_watch, state_path

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _names(db) -> tuple[str, dict[str, str]]:
    """The blocked-IPs table and its column names on this database."""
    if getattr(db, "backend", "") == "postgresql" and hasattr(db, "config"):
        cols = ["blockid", "mailstreamid", "ipaddress", "domain", "blockingmxip", "description", "blockedsince", "nextretry"]
        return "lyrmailstreamblockedips", dict(zip(MODEL, cols, strict=True))
    if hasattr(db, "config"):  # the hand-built database: BlockingMX is BlockingMXIP
        return "lyrMailStreamBlockedIPs", {**{c: c for c in MODEL}, "BlockingMX": "BlockingMXIP"}
    return "lyrMailStreamBlockedIPs", {c: c for c in MODEL}


MODEL = ["BlockID", "MailStreamID", "IPAddress", "Domain", "BlockingMX", "Description", "BlockedSince", "NextRetry"]


def insert_ip_block(db, block_id: int, domain: str, *, stream: int = 1, since=None) -> None:
    table, cols = _names(db)
    values = {
        "BlockID": block_id,
        "MailStreamID": stream,
        "IPAddress": "192.0.2.99",
        "Domain": domain,
        "BlockingMX": "198.18.77.7",
        "Description": "test block",
        "BlockedSince": since,
        "NextRetry": None,
    }
    names = ", ".join(f'"{cols[k]}"' for k in values)
    params = ", ".join(f":{k}" for k in values)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f'insert into "{table}" ({names}) values ({params})'), values)


def delete_ip_block(db, block_id: int) -> None:
    table, cols = _names(db)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f'delete from "{table}" where "{cols["BlockID"]}" = :b'), {"b": block_id})


# --------------------------------------------------------------------------- a real HTTP server


class Hook:
    """A local HTTP server that records what was POSTed and answers with ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.status = 204
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                hook.headers.append(dict(self.headers))
                if hook.status < 300:
                    hook.bodies.append(json.loads(body))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN-secret-path"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


# --------------------------------------------------------------------------- tests


def test_watch_reports_an_inserted_and_a_deleted_block(demo, tmp_path: Path, capsys) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    code, out, err = run(capsys, "watch", *demo.args("--once", *state))
    assert code == 0 and out == "" and "baseline of 480 block(s)" in err
    insert_ip_block(demo, 90001, "new-block.example", since=None)
    delete_ip_block(demo, next(iter(_ids(demo))))
    code, out, _ = run(capsys, "watch", *demo.args("--once", "--format", "json", *state))
    payload = json.loads(out)
    assert code == 0 and payload["appeared"] == 1 and payload["disappeared"] == 1
    appeared = next(e for e in payload["events"] if e["event"] == "appeared")
    assert appeared["domain"] == "new-block.example" and appeared["block_id"] == 90001
    assert appeared["ip"] == "192.0.2.99" and appeared["blocking_mx"] == "198.18.77.7"
    code, out, _ = run(capsys, "watch", *demo.args("--once", *state))
    assert code == 0 and out == ""  # remembered: nothing new


def _ids(db) -> list[int]:
    table, cols = _names(db)
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(f'select "{cols["BlockID"]}" from "{table}" order by 1'))]


def _process(db, tmp_path: Path, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg-state"), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tui", "watch", *db.args(), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def test_watch_is_restart_safe_across_real_processes(lm_db, tmp_path: Path) -> None:
    first = _process(lm_db, tmp_path, "--once")
    assert first.returncode == 0 and "baseline of 10 block(s)" in first.stderr
    insert_ip_block(lm_db, 777, "while-down.example", stream=2)
    delete_ip_block(lm_db, 206)
    second = _process(lm_db, tmp_path, "--once")
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert len(lines) == 2
    assert any("appeared" in ln and "ip block 777: while-down.example" in ln for ln in lines)
    # The hostile description of block 206 is not printed; its domain is, inert.
    assert any("disappeared" in ln and "ip block 206: evil.example" in ln for ln in lines)
    third = _process(lm_db, tmp_path, "--once")
    assert third.returncode == 0 and third.stdout == ""
    files = list((tmp_path / "xdg-state" / "lmtriage" / "watch").iterdir())
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0


def test_webhook_gets_json_and_a_failed_post_is_sent_again(lm_db, hook: Hook, tmp_path: Path, capsys) -> None:
    args = lm_db.args("--once", "--quiet", "--webhook", hook.url, "--state-dir", str(tmp_path))
    assert run(capsys, "watch", *args)[0] == 0 and hook.bodies == []  # baseline
    insert_ip_block(lm_db, 778, "hooked.example", stream=1)
    hook.status = 500
    code, out, err = run(capsys, "watch", *args)
    assert code == 1 and out == ""
    assert "answered HTTP 500" in err and "T0KEN" not in err and "will be reported again" in err
    hook.status = 200
    code, _, err = run(capsys, "watch", *args)
    assert code == 0, err
    assert len(hook.bodies) == 1 and hook.headers[-1]["Content-Type"] == "application/json"
    body = hook.bodies[0]
    assert body["source"] == "lmtriage" and body["appeared"] == 1 and body["disappeared"] == 0
    assert body["events"][0]["domain"] == "hooked.example"
    assert body["events"][0]["event"] == "appeared"
    assert run(capsys, "watch", *args)[0] == 0 and len(hook.bodies) == 1  # delivered once


def test_exec_gets_the_events_on_stdin_without_a_shell(sqlite_db, tmp_path: Path, capsys) -> None:
    out_file = tmp_path / "events.json"
    pwned = tmp_path / "pwned"
    script = (
        "import os,sys,pathlib;"
        f"pathlib.Path({str(out_file)!r}).write_text(os.environ['LMTRIAGE_APPEARED'] + '\\n' + sys.stdin.read())"
    )
    cmd = f"{sys.executable} -c {json.dumps(script)}"
    args = sqlite_db.args("--once", "--exec", cmd, "--state-dir", str(tmp_path / "s"))
    assert run(capsys, "watch", *args)[0] == 0
    hostile = f"x.example; touch {pwned} $(touch {pwned}) `touch {pwned}`"
    insert_ip_block(sqlite_db, 779, hostile)
    code, out, _ = run(capsys, "watch", *args)
    assert code == 0
    count, body = out_file.read_text().split("\n", 1)
    assert count == "1" and json.loads(body)["events"][0]["domain"] == hostile
    assert not pwned.exists()
    assert "x.example; touch" in out  # printed literally


def collecting_watch(core, tmp_path: Path) -> tuple[Watch, list[dict]]:
    """A watch whose sink keeps the events it is given."""
    events: list[dict] = []

    class Collect(PrintSink):
        def send(self, payload):
            events.extend(payload["events"])
            return None

    return Watch(core, WatchState.load(state_path(tmp_path, core, None)), [Collect("text")]), events


def test_the_loop_is_bounded_and_sees_both_changes(lm_db, make_core, tmp_path: Path) -> None:
    watch, events = collecting_watch(make_core(lm_db.url, lm_db.config), tmp_path)
    results: list[PollResult | None] = []

    def report(result, error) -> None:
        assert error is None
        results.append(result)
        if len(results) == 1:
            insert_ip_block(lm_db, 780, "loop.example", stream=3)
        elif len(results) == 2:
            delete_ip_block(lm_db, 780)

    code = run_watch(watch, count=3, interval=0.0, stop=threading.Event(), report=report)
    assert code == 0 and len(results) == 3
    assert results[0].baseline
    assert [(e["event"], e["block_id"]) for e in events] == [("appeared", 780), ("disappeared", 780)]


def test_a_poll_that_fails_is_reported_and_the_watch_goes_on(lm_db, make_core, tmp_path: Path) -> None:
    watch, events = collecting_watch(make_core(lm_db.url, lm_db.config), tmp_path)
    table, _cols = _names(lm_db)
    reports: list[tuple[PollResult | None, str | None]] = []

    def report(result, error) -> None:
        reports.append((result, error))
        if len(reports) == 1:  # the block table goes away (a DBA's mistake, a restore)
            with lm_db.engine.begin() as conn:
                conn.execute(sa.text(f'alter table "{table}" rename to "moved_away"'))
        elif len(reports) == 2:
            with lm_db.engine.begin() as conn:
                conn.execute(sa.text(f'alter table "moved_away" rename to "{table}"'))

    code = run_watch(watch, count=3, interval=0.0, stop=threading.Event(), report=report)
    assert code == 1 and [r is not None for r, _e in reports] == [True, False, True]
    assert reports[1][1] and "\n" not in reports[1][1]
    assert reports[2][0].appeared == 0 and reports[2][0].disappeared == 0 and events == []


def test_a_reblock_is_a_new_block(lm_db, make_core, tmp_path: Path) -> None:
    watch, events = collecting_watch(make_core(lm_db.url, lm_db.config), tmp_path)
    assert watch.poll().baseline
    delete_ip_block(lm_db, 203)
    insert_ip_block(lm_db, 203, "yahoo.com", stream=2, since=lm_db.now + timedelta(minutes=5))
    result = watch.poll()
    assert result.appeared == 1 and result.disappeared == 1
    assert {(e["event"], e["block_id"]) for e in events} == {("appeared", 203), ("disappeared", 203)}
    assert len({e["blocked_since"] for e in events}) == 2


def test_an_unreadable_state_is_set_aside(sqlite_db, tmp_path: Path, capsys) -> None:
    args = sqlite_db.args("--once", "--state-dir", str(tmp_path))
    run(capsys, "watch", *args)
    (state,) = list(tmp_path.glob("*.json"))
    state.write_text("{not json")
    code, _, err = run(capsys, "watch", *args)
    assert code == 0 and "was unreadable" in err and "baseline" in err
    assert state.with_name(state.name + ".unreadable").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--interval", "0s"],
        ["--interval", "soon"],
        ["--count", "0"],
        ["--webhook", "ftp://example.com/x"],
        ["--webhook", "not a url"],
        ["--exec", " "],
        ["--exec", "'unclosed"],
    ],
)
def test_bad_options_are_refused(sqlite_db, tmp_path: Path, capsys, argv) -> None:
    state = tmp_path / "state"
    code, _, err = run(capsys, "watch", *sqlite_db.args(*argv, "--state-dir", str(state)))
    assert code == 2 and err.startswith("lmtriage: error: ") and len(err.splitlines()) == 1
    assert not state.exists()


def test_sigterm_ends_the_watch_after_its_poll(sqlite_db, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "watch", *sqlite_db.args("--interval", "1s")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        state_dir = tmp_path / "xdg" / "lmtriage" / "watch"
        while not (state_dir.exists() and list(state_dir.glob("*.json"))):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err
