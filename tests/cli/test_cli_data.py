"""The headless CLI on the hand-built database: output formats, release, audit, doctor, errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import handmade
from tui.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def block_ids(db, kind: str) -> set[int]:
    table = "lyrMailStreamBlockedDomains" if kind == "domain" else "lyrMailStreamBlockedIPs"
    if db.backend == "postgresql":
        table = table.lower()
    with db.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(f"select * from {table}"))}


def test_blocks_json_lists_every_block_with_evidence(lm_db, capsys) -> None:
    code, out, _ = run(capsys, "blocks", *lm_db.args("--format", "json"))
    assert code == 0
    data = json.loads(out)
    assert len(data) == len(handmade.DOMAIN_BLOCKS) + len(handmade.IP_BLOCKS)
    gmail = next(b for b in data if b["kind"] == "domain" and b["domain"] == "gmail.com")
    assert set(gmail) >= {
        "kind",
        "block_id",
        "stream",
        "domain",
        "ip",
        "blocking_mx",
        "blocked_since",
        "next_retry",
        "permanent",
        "attempts",
        "latest_reply",
    }
    assert (
        gmail["stream"] == "default"
        and gmail["attempts"] == 9
        and gmail["latest_reply_code"] == 421
    )
    yahoo = next(b for b in data if b["kind"] == "domain" and b["domain"] == "yahoo.com")
    assert yahoo["permanent"] is True and yahoo["next_retry"] is None


def test_blocks_csv_and_table_filters(sqlite_db, capsys) -> None:
    code, out, _ = run(
        capsys,
        "blocks",
        *sqlite_db.args("--kind", "ip", "--stream", "marketing", "--format", "csv"),
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and sorted(r["blocking_mx"] for r in rows) == [
        "198.18.1.1",
        "198.18.2.2",
        "198.18.2.2",
    ]
    code, out, _ = run(capsys, "blocks", *sqlite_db.args("--filter", "evil"))
    assert code == 0 and "evil.example" in out and "Permanent" not in out
    assert "\x1b" not in out and "\\x1b[31m" in out  # the hostile reply is shown, inert


def test_responses_grouped(lm_db, capsys) -> None:
    code, out, _ = run(
        capsys,
        "responses",
        *lm_db.args("--domain", "gmail.com", "--stream", "default", "--format", "json"),
    )
    groups = json.loads(out)
    assert code == 0 and [g["count"] for g in groups] == [4, 2]
    assert groups[0]["mx_hosts"] == [{"host": "gmail-smtp-in.l.google.com", "count": 4}]
    code, out, _ = run(capsys, "responses", *lm_db.args("--domain", "gmail.com", "--since", "30d"))
    assert code == 0 and out.splitlines()[1].split()[0] == "6"


def test_responses_of_a_block_has_the_blocks_scope(lm_db, capsys) -> None:
    """--block gives the drill-down's scope (an IP pair over every domain), so its groups add
    up to the block's failed count in `blocks` (--domain with --ip narrows to one domain)."""
    code, out, _ = run(capsys, "blocks", *lm_db.args("--format", "json", "--window", "30d"))
    blocks = {(b["kind"], b["block_id"]): b for b in json.loads(out)}
    assert blocks[("ip", 201)]["failed"] > 0 and blocks[("domain", 101)]["failed"] > 0
    for kind, block_id in (("ip", 201), ("domain", 101), ("ip", 204)):
        code, out, err = run(
            capsys,
            "responses",
            *lm_db.args("--block", f"{kind}:{block_id}", "--window", "30d", "--format", "json"),
        )
        assert code == 0, err
        assert sum(g["count"] for g in json.loads(out)) == blocks[(kind, block_id)]["failed"]
    code, _, err = run(capsys, "responses", *lm_db.args("--block", "ip:201", "--ip", "1.2.3.4"))
    assert code == 2 and "--block is the whole scope" in err
    code, _, err = run(capsys, "responses", *lm_db.args())
    assert code == 2 and "give --domain" in err
    code, _, err = run(capsys, "responses", *lm_db.args("--block", "ip:999999"))
    assert code == 1 and "no ip block ip:999999" in err


def test_release_with_yes_then_audit_then_undo(lm_db, capsys) -> None:
    code, out, err = run(
        capsys,
        "release",
        *lm_db.args(
            "--domain", "hotmail.com", "--stream", "marketing", "--yes", "--format", "json"
        ),
    )
    assert code == 0, err
    result = json.loads(out)
    assert (
        sorted(result["released"]) == ["domain:103", "ip:204", "ip:205"]
        and result["already_gone"] == []
    )
    assert 103 not in block_ids(lm_db, "domain") and not {204, 205} & block_ids(lm_db, "ip")
    code, out, _ = run(capsys, "audit", *lm_db.args("--format", "json"))
    events = json.loads(out)
    assert (
        events[0]["id"] == result["audit_event"]
        and events[0]["released"] == 3
        and events[0]["status"] == "committed"
    )
    code, out, _ = run(
        capsys, "audit", *lm_db.args("--event", str(result["audit_event"]), "--format", "json")
    )
    assert {r["key"] for r in json.loads(out)["rows"]} == {"domain:103", "ip:204", "ip:205"}
    code, out, _ = run(capsys, "release", *lm_db.args("--domain", "hotmail.com", "--yes"))
    assert code == 1  # nothing left to release for that domain
    code, out, _ = run(capsys, "audit", *lm_db.args("--undo", str(result["audit_event"]), "--yes"))
    assert code == 0 and "restored 3" in out
    assert 103 in block_ids(lm_db, "domain") and {204, 205} <= block_ids(lm_db, "ip")


def test_release_dry_run_and_no_terminal(sqlite_db, capsys, monkeypatch) -> None:
    before = block_ids(sqlite_db, "ip")
    code, out, _ = run(capsys, "release", *sqlite_db.args("--ip", "192.0.2.10", "--dry-run"))
    assert code == 0 and "would release 1" in out and block_ids(sqlite_db, "ip") == before
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, out, err = run(capsys, "release", *sqlite_db.args("--all"))
    assert (
        code == 2
        and "refusing to write without --yes" in err
        and block_ids(sqlite_db, "ip") == before
    )


def test_release_read_only(sqlite_db, capsys) -> None:
    code, _, err = run(capsys, "release", *sqlite_db.args("--all", "--yes", "--read-only"))
    assert code != 0 and "read-only" in err


def test_doctor_reports_alternative_and_missing(lm_db, capsys) -> None:
    code, out, _ = run(capsys, "doctor", *lm_db.args())
    assert code == 0
    assert "alternative name" in out and "lyrdeliverattemptlog" in out.lower()
    assert "lyrDAOMailStreamTracking" in out and "the stream volume chart" in out
    assert "BlockingMX -> " in out and "CREATE INDEX" in out
    code, out, _ = run(capsys, "doctor", *lm_db.args("--format", "json"))
    data = json.loads(out)
    statuses = {t["model_table"]: t["status"] for t in data["tables"]}
    assert statuses["attempts"] == "alternative" and statuses["stream_tracking"] == "missing"
    assert data["can_write"] is True


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["blocks", "--db", "::not a url::"], "not valid"),
        (
            ["blocks", "--db", "postgresql+psycopg://lm:s3cretpw@127.0.0.1:1/lm"],
            "cannot be reached",
        ),
        (["blocks", "--db", "mysql://u:s3cretpw@h/db"], "unsupported database"),
        (["blocks", "--db", "sqlite:////nonexistent/dir/lm.sqlite"], "does not exist"),
    ],
)
def test_bad_database_is_one_line_without_secret(capsys, args: list[str], needle: str) -> None:
    code, out, err = run(capsys, *args)
    assert code != 0 and out == ""
    assert needle in err and "s3cretpw" not in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_unknown_stream(sqlite_db, capsys) -> None:
    code, _, err = run(capsys, "blocks", *sqlite_db.args("--stream", "nope"))
    assert code != 0 and "no MailStream named 'nope'" in err


def test_not_listmanager(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("create table t (id int)")
    engine.dispose()
    code, _, err = run(capsys, "blocks", "--db", f"sqlite:///{path}")
    assert code != 0 and "does not look like a ListManager database" in err
    code, out, err = run(capsys, "doctor", "--db", str(path))  # reports instead of refusing
    assert code == 1 and "NOT A LISTMANAGER DATABASE" in out and err == ""


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("lmtriage ")


def test_blocks_json_has_the_category(sqlite_db, capsys) -> None:
    code, out, _ = run(capsys, "blocks", *sqlite_db.args("--kind", "domain", "--format", "json"))
    by_domain = {b["domain"]: b for b in json.loads(out)}
    assert by_domain["gmail.com"]["category"] == "rate_limit"  # the latest reply is 4.7.28
    assert by_domain["hotmail.com"]["category"] == "ip_reputation_block"
    assert by_domain["odd_domain%.example"]["category"] is None  # no reply in the window


def test_embedded_demo_database_is_built_on_first_run(capsys) -> None:
    code, out, err = run(capsys, "doctor")
    assert code == 0 and out.startswith("database      DEMO (")
    assert "demo clock" in out
    code, out, _ = run(capsys, "blocks", "--kind", "domain", "--format", "json")
    assert code == 0 and len(json.loads(out)) > 10
