"""``lmtriage autorelease``: dry run against apply, the caps, advice that says wait (never
released), a domain row with its IP pairs, read-only refusal, audit of every run, undo; on the
demo (SQLite and PostgreSQL) and the hand-built database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.cli import main
from tui.config import load_config
from tui.db.audit import AuditStore

BLOCK_TABLES = ("lyrMailStreamBlockedDomains", "lyrMailStreamBlockedIPs")

THROTTLES = """
max_blocks = {max_blocks}
[[rule]]
name = "throttles"
category = "rate_limit"
min_age = "30m"
advice = "release now"
{extra}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def policy(tmp_path: Path, text: str, name: str = "policy.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def keys(db) -> set[str]:
    """Every block row now, as ``kind:id`` (straight from SQL)."""
    out = set()
    with db.engine.connect() as conn:
        for kind, t in zip(("domain", "ip"), BLOCK_TABLES, strict=True):
            if getattr(db, "backend", "") == "postgresql" and hasattr(db, "config"):
                t, col = t.lower(), "blockid"
            else:
                col = "BlockID"
            out |= {f"{kind}:{r[0]}" for r in conn.execute(sa.text(f'select "{col}" from "{t}"'))}
    return out


def audit_events() -> list:
    store = AuditStore.at_path(load_config(env={}).resolved_audit_path())
    return store.events_list(limit=100)


def test_dry_run_then_apply_releases_exactly_what_the_dry_run_listed(demo, tmp_path, capsys) -> None:
    file = policy(tmp_path, THROTTLES.format(max_blocks=10, extra=""))
    before = keys(demo)
    code, out, _ = run(capsys, "autorelease", *demo.args("--policy", file, "--format", "json"))
    dry = json.loads(out)
    would = {d["block"] for d in dry["decisions"] if d["outcome"] == "would-release"}
    assert code == 0 and dry["dry_run"] and would and keys(demo) == before
    assert all(
        d["advice"] == "now" and d["category"] == "rate_limit"
        for d in dry["decisions"]
        if d["outcome"] == "would-release"
    )
    assert any(d["advice"] == "wait" for d in dry["decisions"])  # the demo has active throttles
    (run_event,) = [e for e in audit_events() if e.action == "autorelease-run"]
    assert run_event.mode == "dry-run" and run_event.status == "committed"
    assert json.loads(run_event.summary)["policy"]["sha256"] == dry["policy"]["sha256"]

    code, out, _ = run(
        capsys, "autorelease", *demo.args("--policy", file, "--apply", "--format", "json")
    )
    applied = json.loads(out)
    released = {d["block"] for d in applied["decisions"] if d["outcome"] == "released"}
    assert code == 0 and released == would and keys(demo) == before - would
    events = {e.id: e for e in audit_events()}
    release_event = events[applied["release_event"]]
    assert release_event.action == "autorelease" and release_event.released == len(would)
    assert events[applied["run_event"]].action == "autorelease-run"
    # Undoable like any release.
    code, out, _ = run(capsys, "audit", *demo.args("--undo", str(release_event.id), "--yes"))
    assert code == 0 and keys(demo) == before


def test_the_caps_hold(demo, tmp_path, capsys) -> None:
    before = keys(demo)
    file = policy(tmp_path, THROTTLES.format(max_blocks=1, extra=""))
    code, out, _ = run(
        capsys, "autorelease", *demo.args("--policy", file, "--apply", "--format", "json")
    )
    data = json.loads(out)
    assert code == 0 and data["released"] == 1 and len(before - keys(demo)) == 1
    assert data["unjudged"] > 0  # the rest wait for the next run
    before = keys(demo)
    file = policy(tmp_path, THROTTLES.format(max_blocks=50, extra="max_blocks = 1"), "rule.toml")
    code, out, _ = run(
        capsys, "autorelease", *demo.args("--policy", file, "--apply", "--format", "json")
    )
    data = json.loads(out)
    assert code == 0 and data["released"] == 1 and len(before - keys(demo)) == 1
    assert any("cap of 1 a run was reached" in d["reason"] for d in data["decisions"])


def test_wait_advice_is_never_released(lm_db, tmp_path, capsys) -> None:
    file = policy(tmp_path, THROTTLES.format(max_blocks=100, extra=""))
    code, out, _ = run(
        capsys, "autorelease", *lm_db.args("--policy", file, "--apply", "--format", "json")
    )
    data = json.loads(out)
    by_block = {d["block"]: d for d in data["decisions"]}
    # yahoo.com is throttled right now (TSS04, 3 hours ago, 4 hours' cool-down): both rows wait.
    for key in ("domain:102", "ip:203"):
        assert by_block[key]["outcome"] == "skipped" and by_block[key]["advice"] == "wait"
        assert "wait" in by_block[key]["reason"]
    assert by_block["ip:202"]["outcome"] == "released"  # gmail's 421 4.7.28, 5 hours ago
    assert keys(lm_db) == {
        "domain:101",
        "domain:102",
        "domain:103",
        "domain:104",
        "ip:201",
        "ip:203",
        "ip:204",
        "ip:205",
        "ip:206",
    }


def _throttled_domain(db, *, with_listed_pair: bool) -> None:
    """A domain row (stream 2) whose replies are an old throttle, with its IP pair, and
    optionally a second pair that is listed on a blocklist (no replies: its Description)."""
    pg = db.backend == "postgresql"

    def n(name: str) -> str:
        return name.lower() if pg else name

    since = db.now - timedelta(hours=5)
    retry = db.now + timedelta(minutes=30)
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                f'insert into "{n("lyrMailStreamBlockedDomains")}" ("{n("BlockID")}", "{n("MailStreamID")}", '
                f'"{n("Domain")}", "{n("Description")}", "{n("BlockedSince")}", "{n("NextRetry")}") '
                "values (150, 2, 'throttled.example', 'All MX blocked', :s, :r)"
            ),
            {"s": since, "r": retry},
        )
        pairs = [(250, "198.51.100.20", "198.18.5.5", "Too many connections")]
        if with_listed_pair:
            pairs.append(
                (
                    251,
                    "198.51.100.21",
                    "198.18.5.6",
                    "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
                )
            )
        for block_id, ip, mx, desc in pairs:
            conn.execute(
                sa.text(
                    f'insert into "{n("lyrMailStreamBlockedIPs")}" ("{n("BlockID")}", "{n("MailStreamID")}", '
                    f'"{n("IPAddress")}", "{n("Domain")}", "{n("BlockingMXIP")}", "{n("Description")}", '
                    f'"{n("BlockedSince")}", "{n("NextRetry")}") '
                    "values (:b, 2, :ip, 'throttled.example', :mx, :d, :s, :r)"
                ),
                {"b": block_id, "ip": ip, "mx": mx, "d": desc, "s": since, "r": retry},
            )
        for i in range(4):
            conn.execute(
                sa.text(
                    f'insert into "{n("lyrDeliverAttemptLog")}" ("{n("AttemptID")}", "{n("AttemptTime")}", '
                    f'"{n("MailStreamID")}", "{n("SourceIP")}", "{n("Domain")}", "{n("MXHost")}", '
                    f'"{n("MXIP")}", "{n("SMTPResponseCode")}", "{n("SMTPResponseText")}") '
                    "values (:id, :t, 2, '198.51.100.20', 'throttled.example', 'mx.throttled.example', "
                    "'198.18.5.5', 421, '421 4.7.0 Too many connections from your IP, try again later')"
                ),
                {"id": 9000 + i, "t": db.now - timedelta(hours=3, minutes=i)},
            )


def test_a_domain_row_goes_only_when_each_of_its_pairs_may(lm_db, tmp_path, capsys) -> None:
    _throttled_domain(lm_db, with_listed_pair=True)
    file = policy(tmp_path, THROTTLES.format(max_blocks=100, extra=""))
    code, out, _ = run(capsys, "autorelease", *lm_db.args("--policy", file, "--format", "json"))
    by_block = {d["block"]: d for d in json.loads(out)["decisions"]}
    assert code == 0
    assert by_block["domain:150"]["advice"] == "now"
    assert by_block["domain:150"]["outcome"] == "skipped"
    assert "IP pair 198.51.100.21 → 198.18.5.6" in by_block["domain:150"]["reason"]
    assert "after-fix" in by_block["domain:150"]["reason"]
    assert by_block["ip:250"]["outcome"] == "would-release"  # the throttled pair, on its own


def test_a_domain_row_and_its_pairs_go_together_and_count_in_the_cap(lm_db, tmp_path, capsys) -> None:
    _throttled_domain(lm_db, with_listed_pair=False)
    text = THROTTLES.format(max_blocks=2, extra='kind = "domain"')
    code, out, _ = run(
        capsys,
        "autorelease",
        *lm_db.args("--policy", policy(tmp_path, text), "--apply", "--format", "json"),
    )
    data = json.loads(out)
    by_block = {d["block"]: d for d in data["decisions"]}
    assert code == 0 and data["released"] == 2
    assert by_block["domain:150"]["outcome"] == "released"
    assert by_block["ip:250"]["outcome"] == "released"
    assert "with its domain row domain:150" in by_block["ip:250"]["reason"]
    assert "domain:150" not in keys(lm_db) and "ip:250" not in keys(lm_db)


def test_apply_is_refused_on_read_only_and_audited(lm_db, tmp_path, capsys) -> None:
    file = policy(tmp_path, THROTTLES.format(max_blocks=10, extra=""))
    before = keys(lm_db)
    code, out, err = run(capsys, "autorelease", *lm_db.args("--policy", file, "--apply", "--read-only"))
    assert code == 2 and "autorelease refused: writes are off" in err and keys(lm_db) == before
    (event,) = audit_events()
    assert event.action == "autorelease-run" and event.status == "failed"
    assert "refused" in (event.error or "")
    # A read-only profile is refused the same way; its dry run still works.
    config = tmp_path / "profiles.toml"
    config.write_text(
        lm_db.config.read_text() + f'\n[profiles.ro]\nurl = "{lm_db.url}"\nread_only = true\n'
    )
    config.chmod(0o600)
    code, _, err = run(
        capsys, "autorelease", "--config", str(config), "-p", "ro", "--policy", file, "--apply"
    )
    assert code == 2 and "refused" in err and keys(lm_db) == before
    code, out, _ = run(capsys, "autorelease", "--config", str(config), "-p", "ro", "--policy", file)
    assert code == 0 and "would-release" in out and keys(lm_db) == before


def backdate_events(minutes: int) -> None:
    """Move every audit event ``minutes`` into the past (time passing, for the history)."""
    store = AuditStore.at_path(load_config(env={}).resolved_audit_path())
    ev = store.events
    with store.engine.begin() as conn:
        for event_id, started, finished in conn.execute(
            sa.select(ev.c.id, ev.c.started_at, ev.c.finished_at)
        ).all():
            conn.execute(
                ev.update()
                .where(ev.c.id == event_id)
                .values(
                    started_at=started - timedelta(minutes=minutes),
                    finished_at=finished - timedelta(minutes=minutes),
                )
            )
    from tui.db.history import clear_cache

    clear_cache()


def test_a_block_that_came_back_soon_after_a_release_is_not_released_again(lm_db, tmp_path, capsys) -> None:
    assert run(capsys, "release", *lm_db.args("--block", "ip:202", "--yes"))[0] == 0
    backdate_events(30)  # released half an hour ago …
    pg = lm_db.backend == "postgresql"
    table = "lyrmailstreamblockedips" if pg else "lyrMailStreamBlockedIPs"
    cols = ["BlockID", "MailStreamID", "IPAddress", "Domain", "BlockingMXIP", "Description", "BlockedSince", "NextRetry"]
    cols = [c.lower() for c in cols] if pg else cols
    with lm_db.engine.begin() as conn:  # … and blocked again ten minutes later
        conn.execute(
            sa.text(
                f'insert into "{table}" ({", ".join(cols)}) values '
                "(290, 1, '192.0.2.11', 'gmail.com', '198.18.0.5', 'again', :s, :r)"
            ),
            {"s": datetime.now() - timedelta(minutes=20), "r": datetime.now() + timedelta(hours=1)},
        )
    text = THROTTLES.format(max_blocks=10, extra="").replace('min_age = "30m"', 'min_age = "5m"')
    code, out, _ = run(
        capsys, "autorelease", *lm_db.args("--policy", policy(tmp_path, text), "--format", "json")
    )
    decision = next(d for d in json.loads(out)["decisions"] if d["block"] == "ip:290")
    assert code == 0 and decision["outcome"] == "skipped" and decision["advice"] == "after-fix"
    assert "blocked again 10 min after the last release" in decision["reason"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\ncategory = 'rate_limit'\nadvice = 'wait'\n", "advice can only be"),
        ("[[rule]]\ncategory = 'rate_limits'\n", "is not one of"),
        ("[[rule]]\nname = 'x'\n", "category is required"),
        ("[[rule]]\ncategory = ''\n", "an empty value never means"),
        ("[[rule]]\ncategory = 'rate_limit'\nstream = 'x'\n", "unknown key"),
        ("[[rule]]\ncategory = 'rate_limit'\nmax_blocks = 0\n", "from 1 to"),
        ("max_blocks = 99999999\n[[rule]]\ncategory = 'rate_limit'\n", "from 1 to"),
        ("[[rule]]\ncategory = 'rate_limit'\nmin_age = '-1h'\n", "min_age"),
        ("[[rule]]\ncategory = 'rate_limit'\nkind = 'both'\n", "kind must be"),
        ("mode = 'nuke'\n[[rule]]\ncategory = 'rate_limit'\n", "mode must be"),
        ("max_blocks = 3\n", "no [[rule]]"),
        ("[[rule]\n", "not valid TOML"),
        ("[[rule]]\ncategory = 'rate_limit'\nstreams = ['nosuchstream']\n", "no MailStream named"),
    ],
)
def test_bad_policies_are_refused_in_one_line(sqlite_db, tmp_path, capsys, text, message) -> None:
    before = keys(sqlite_db)
    code, out, err = run(
        capsys, "autorelease", *sqlite_db.args("--policy", policy(tmp_path, text), "--apply")
    )
    assert code == 2 and message in err and len(err.splitlines()) == 1 and out == ""
    assert keys(sqlite_db) == before


def test_streams_provider_and_kind_narrow_a_rule(lm_db, tmp_path, capsys) -> None:
    text = THROTTLES.format(
        max_blocks=10, extra='streams = ["marketing"]\nprovider = ["yahoo"]\nkind = "ip"'
    )
    code, out, _ = run(
        capsys, "autorelease", *lm_db.args("--policy", policy(tmp_path, text), "--format", "json")
    )
    decisions = json.loads(out)["decisions"]
    assert code == 0 and {d["block"] for d in decisions} <= {"ip:203", "ip:204", "ip:205"}
    assert not [d for d in decisions if d["outcome"] == "would-release"]


def test_a_row_released_with_retry_now_is_not_released_again(lm_db, tmp_path, capsys) -> None:
    text = THROTTLES.format(max_blocks=10, extra="").replace(
        "max_blocks = 10\n", 'max_blocks = 10\nmode = "retry-now"\n', 1
    )
    file = policy(tmp_path, text)
    code, out, _ = run(capsys, "autorelease", *lm_db.args("--policy", file, "--apply", "--format", "json"))
    first = json.loads(out)
    assert code == 0 and first["mode"] == "retry-now" and first["released"] == 1
    assert "ip:202" in keys(lm_db)  # retry-now leaves the row for ListManager to retry
    code, out, _ = run(capsys, "autorelease", *lm_db.args("--policy", file, "--apply", "--format", "json"))
    second = json.loads(out)
    decision = next(d for d in second["decisions"] if d["block"] == "ip:202")
    assert code == 0 and second["released"] == 0 and decision["outcome"] == "skipped"
    assert "already released" in decision["reason"] and "has not retried it yet" in decision["reason"]
