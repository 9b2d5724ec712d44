"""Domain Connection Limits: read with the default, set (insert or update), audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main
from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditStore
from tui.db.connection_limits import get_limit, limits_for, set_limit
from tui.errors import LmError, ReadOnlyError


@pytest.fixture
def core(lm_db, tmp_path: Path):
    c = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    c.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    yield c
    c.close()


def test_default_and_existing_rows(core) -> None:
    with core.connect() as conn:
        gmail = get_limit(core.schema, conn, "gmail.com")
        yahoo = get_limit(core.schema, conn, "YAHOO.com")
        both = limits_for(core.schema, conn, ["gmail.com", "yahoo.com"])
    assert gmail.is_default and gmail.connections == 10 and "default" in gmail.describe()
    assert (yahoo.connection_limit, yahoo.per_hour, yahoo.per_connection) == (5, 500, 20)
    assert both["yahoo.com"].connection_limit == 5 and both["gmail.com"].is_default


def test_set_inserts_then_updates_and_audits(core) -> None:
    first = set_limit(
        core.schema, core.engine, core.audit, core.audit_context(), "gmail.com", limit=4
    )
    assert first.before.is_default and first.after.connection_limit == 4
    second = set_limit(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        "yahoo.com",
        limit=2,
        per_hour=100,
    )
    assert (second.after.connection_limit, second.after.per_hour, second.after.per_connection) == (
        2,
        100,
        20,
    )
    with core.connect() as conn:
        assert get_limit(core.schema, conn, "gmail.com").connection_limit == 4
        assert get_limit(core.schema, conn, "yahoo.com").per_hour == 100
    event = core.audit.event(second.event_id)
    assert event.action == "dcl" and event.status == "committed" and event.mode == "update"
    before = {k.lower(): v for k, v in event.rows[0].row.items()}
    assert (
        before["connectionlimit_"] == 5 and before["connperhour_"] == 500
    )  # enough to put it back
    assert core.audit.event(first.event_id).rows[0].row == {}  # there was no row before


def test_bad_values_and_read_only(core) -> None:
    with pytest.raises(LmError, match="between 1 and 1000"):
        set_limit(core.schema, core.engine, core.audit, core.audit_context(), "gmail.com", limit=0)
    with pytest.raises(ReadOnlyError):
        set_limit(
            core.schema,
            core.engine,
            core.audit,
            core.audit_context(),
            "gmail.com",
            limit=3,
            read_only=True,
        )
    assert core.audit.events_list() == []


def test_cli_show_and_set(sqlite_db, capsys) -> None:
    assert main(["dcl", *sqlite_db.args("--domain", "yahoo.com")]) == 0
    assert "5 connections per MX" in capsys.readouterr().out
    assert (
        main(
            [
                "dcl",
                *sqlite_db.args(
                    "--domain", "comcast.net", "--limit", "2", "--yes", "--format", "json"
                ),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert (
        out["before"]["is_default"] is True
        and out["after"]["connection_limit"] == 2
        and out["audit_event"]
    )
    assert (
        main(["dcl", *sqlite_db.args("--domain", "comcast.net", "--limit", "5000", "--yes")]) == 2
    )
    assert "--limit 5000: out of range (connections per MX: 1 to 1,000)" in capsys.readouterr().err
