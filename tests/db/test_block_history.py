"""Block history from the audit store and the attempt log: released, blocked again, how soon;
undone releases not counted; the advice says so when a block came back soon; ``explain``
shows it; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.cli import main
from tui.db.block_rows import PhysicalBlocks
from tui.db.history import build_index, clear_cache, history_of
from tui.db.queries import fetch_blocks
from tui.db.release import release_blocks, undo_release
from tui.db.release_plan import BlockRef
from tui.triage.block_advice import advise_block, block_history


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _n(db, name: str) -> str:
    return name.lower() if db.backend == "postgresql" else name


def reinsert_pair(db, block_id: int, *, since: datetime) -> None:
    """Block 192.0.2.11 → 198.18.0.5 (gmail.com, stream default) again as ``block_id``."""
    cols = ["BlockID", "MailStreamID", "IPAddress", "Domain", "BlockingMXIP", "Description", "BlockedSince", "NextRetry"]
    names = ", ".join(f'"{_n(db, c)}"' for c in cols)
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                f'insert into "{_n(db, "lyrMailStreamBlockedIPs")}" ({names}) values '
                "(:b, 1, '192.0.2.11', 'GMail.com', '198.18.0.5', 'again', :s, :r)"
            ),
            {"b": block_id, "s": since, "r": since + timedelta(hours=1)},
        )


def block(core, kind: str, block_id: int):
    with core.connect() as conn:
        (found,) = fetch_blocks(core.schema, conn, kind, [block_id], since=core.since())
    return found


def release(core, *blocks, mode: str = "delete"):
    return release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        [BlockRef.of(b) for b in blocks],
        mode=mode,
        now=core.now(),
    )


def test_released_then_blocked_again_soon(lm_db, make_core) -> None:
    core = make_core(lm_db.url, lm_db.config)
    before = block(core, "ip", 202)
    with core.connect() as conn:
        advice, _ = advise_block(core, conn, before)
        assert advice.release.when == "now"  # gmail's throttle, cooled down
        assert not block_history(core, conn, before).has_history
    result = release(core, before)
    assert result.released and result.event_id
    reblocked_at = core.now() + timedelta(minutes=25)
    reinsert_pair(lm_db, 292, since=reblocked_at)
    again = block(core, "ip", 292)
    with core.connect() as conn:
        history = block_history(core, conn, again)
        advice, _ = advise_block(core, conn, again, history=history)
    assert history.times_released == 1 and history.times_blocked == 2
    (past,) = history.releases
    assert past.event_id == result.event_id and past.blocked_since == before.since
    assert abs(past.released_at - core.now()) < timedelta(minutes=1)  # on the database clock
    assert history.reblock_evidence == "BlockedSince"
    assert timedelta(minutes=24) <= history.reblocked_after <= timedelta(minutes=26)
    assert history.reblocked_soon()
    # The advice says so: no "release now" for a block that came back 25 minutes later.
    assert advice.release.when == "after-fix" and "blocked again 25 min" in advice.release.reason
    assert advice.steps[0].startswith("Re-blocked 25 min after the last release")
    assert not [s for s in advice.steps if "release now" in s.lower()]
    assert "came back 25 min after it was last released" in advice.explanation
    # The other pair of the domain has its own history: none.
    with core.connect() as conn:
        assert not block_history(core, conn, block(core, "ip", 201)).has_history


def test_an_undone_release_is_listed_not_counted(lm_db, make_core) -> None:
    core = make_core(lm_db.url, lm_db.config)
    b = block(core, "ip", 202)
    result = release(core, b)
    undone = undo_release(core.schema, core.engine, core.audit, core.audit_context(), result.event_id)
    assert undone.ok
    clear_cache()
    with core.connect() as conn:
        history = block_history(core, conn, block(core, "ip", 202))
        advice, _ = advise_block(core, conn, block(core, "ip", 202), history=history)
    assert len(history.releases) == 1 and history.releases[0].undone
    assert history.times_released == 0 and history.times_blocked == 1
    assert history.reblocked_after is None and advice.release.when == "now"


def test_retry_now_keeps_the_row_so_the_attempt_log_tells(lm_db, make_core) -> None:
    core = make_core(lm_db.url, lm_db.config)
    b = block(core, "ip", 202)
    result = release(core, b, mode="retry-now")
    assert result.released
    after = core.now() + timedelta(minutes=40)
    cols = ["AttemptID", "AttemptTime", "MailStreamID", "SourceIP", "Domain", "MXHost", "MXIP", "SMTPResponseCode", "SMTPResponseText"]
    with lm_db.engine.begin() as conn:
        names = ", ".join(f'"{_n(lm_db, c)}"' for c in cols)
        for i, (code, text) in enumerate(
            [
                (250, "250 2.0.0 OK gsmtp"),
                (550, "550 5.1.1 The email account that you tried to reach does not exist. gsmtp"),
                (421, "421-4.7.28 Our system has detected an unusual rate of unsolicited mail. gsmtp"),
            ]
        ):
            conn.execute(
                sa.text(
                    f'insert into "{_n(lm_db, "lyrDeliverAttemptLog")}" ({names}) values '
                    "(:id, :t, 1, '192.0.2.11', 'gmail.com', 'alt1.gmail-smtp-in.l.google.com', "
                    "'198.18.0.5', :c, :x)"
                ),
                {"id": 800 + i, "t": after + timedelta(minutes=i), "c": code, "x": text},
            )
    with core.connect() as conn:
        history = block_history(core, conn, block(core, "ip", 202))
    # Same row, same BlockedSince: the re-block is the first *blocking* reply (the unknown
    # user is per recipient and does not count).
    assert history.times_blocked == 1 and history.times_released == 1
    assert history.reblock_evidence == "attempt log"
    assert timedelta(minutes=41) <= history.reblocked_after <= timedelta(minutes=43)
    assert history.failed_since_release == 2 and history.delivered_since_release == 1


def test_the_index_is_bounded_and_says_so(lm_db, make_core) -> None:
    core = make_core(lm_db.url, lm_db.config)
    release(core, block(core, "ip", 202))
    release(core, block(core, "ip", 205))
    physical = {k: PhysicalBlocks(core.schema, k) for k in ("domain", "ip")}
    index = build_index(core.audit, core.display_url, physical, core.clock_offset, max_events=1)
    assert not index.complete and len(index.by_pair) == 1
    full = build_index(core.audit, core.display_url, physical, core.clock_offset)
    assert full.complete and len(full.by_pair) == 2
    # Another database's events are not this one's history.
    other = build_index(core.audit, "sqlite:///elsewhere.db", physical, core.clock_offset)
    assert not other.by_pair


def test_explain_shows_the_history(lm_db, tmp_path: Path, capsys) -> None:
    assert main(["release", *lm_db.args("--block", "ip:202", "--yes")]) == 0
    reinsert_pair(lm_db, 293, since=datetime.now() + timedelta(minutes=3))
    capsys.readouterr()
    code = main(["explain", *lm_db.args("--domain", "gmail.com", "--ip", "192.0.2.11", "--format", "json")])
    (entry,) = json.loads(capsys.readouterr().out)
    assert code == 0 and entry["block"]["block_id"] == 293
    history = entry["history"]
    assert history["times_released"] == 1 and history["times_blocked"] == 2
    assert history["reblock_evidence"] == "BlockedSince"
    assert 120 <= history["reblocked_after_seconds"] <= 240
    assert entry["advice"]["release"]["when"] == "after-fix"
    code = main(["explain", *lm_db.args("--domain", "gmail.com", "--ip", "192.0.2.11")])
    out = capsys.readouterr().out
    assert "history: Blocked 2 time(s), released 1 time(s) by lmtriage" in out
    assert "blocked again 3 min after it" in out


def test_explain_on_a_server_never_released_creates_no_audit_file(sqlite_db, capsys) -> None:
    from tui.config import load_config

    path = load_config(env={}).resolved_audit_path()
    assert not path.exists()
    assert main(["explain", *sqlite_db.args("--domain", "yahoo.com")]) == 0
    assert "history:" not in capsys.readouterr().out
    assert not path.exists()


def test_history_of_a_block_no_release_touched(lm_db, make_core) -> None:
    core = make_core(lm_db.url, lm_db.config)
    with core.connect() as conn:
        history = history_of(core, conn, block(core, "domain", 101))
    assert history.times_blocked == 1 and history.times_released == 0
    assert history.to_json()["releases"] == [] and history.complete
