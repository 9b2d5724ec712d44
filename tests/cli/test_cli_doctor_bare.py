"""``doctor`` on a database without the ListManager tables, and ``--db`` as a bare file path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import _reset_pg
from tui.cli import main

REQUIRED = ["lyrMailStreams", "lyrMailStreamBlockedDomains", "lyrMailStreamBlockedIPs"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _doctor_json(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, dict]:
    code, out, err = run(capsys, "doctor", "--db", url, "--format", "json")
    assert err == "", err
    return code, json.loads(out)


@pytest.mark.pg
def test_doctor_reports_an_empty_postgresql_database(pg_database: str, capsys) -> None:
    _reset_pg(pg_database)
    code, data = _doctor_json(capsys, pg_database)
    assert code == 1
    assert data["listmanager"] is False
    assert data["missing_required_tables"] == REQUIRED
    assert {t["status"] for t in data["tables"]} == {"missing"}
    assert data["indexes"] == []
    code, out, _ = run(capsys, "doctor", "--db", pg_database)
    assert code == 1 and out.startswith("NOT A LISTMANAGER DATABASE")
    assert "PostgreSQL" in out and "(no block tables)" in out


def test_doctor_reports_a_partial_database(tmp_path: Path, capsys) -> None:
    path = tmp_path / "partial.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'CREATE TABLE "lyrMailStreams" ("MailStreamID" INTEGER PRIMARY KEY, "Name" TEXT)'
        )
        conn.exec_driver_sql('CREATE TABLE "lyrDeliveryAttemptLog" ("AttemptID" INTEGER)')
    engine.dispose()
    code, data = _doctor_json(capsys, str(path))
    statuses = {t["model_table"]: t["status"] for t in data["tables"]}
    assert code == 1
    assert data["missing_required_tables"] == REQUIRED[1:]
    assert statuses["mailstreams"] == "found"
    assert statuses["attempts"] == "unusable"  # found, but without its required columns
    assert statuses["blocked_ips"] == "missing"


def test_db_takes_a_bare_sqlite_path(sqlite_db, tmp_path: Path, capsys, monkeypatch) -> None:
    url_args = ["blocks", "--format", "json", "--config", str(sqlite_db.config)]
    code, by_url, _ = run(capsys, *url_args, "--db", sqlite_db.url)
    assert code == 0
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    odd = tmp_path / "dir with space" / "lm#1?.sqlite"  # characters a URL would misread
    odd.parent.mkdir()
    shutil.copyfile(path, odd)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(odd.parent)
    for bare in (str(odd), "./lm#1?.sqlite", "~/dir with space/lm#1?.sqlite"):
        code, out, err = run(capsys, *url_args, "--db", bare)
        assert code == 0, err
        assert json.loads(out) == json.loads(by_url)
    code, _, err = run(capsys, "blocks", "--db", str(tmp_path / "missing.sqlite"))
    assert code != 0 and "does not exist" in err and len(err.strip().splitlines()) == 1
