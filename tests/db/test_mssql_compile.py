"""Every Core statement lmtriage runs also compiles for Microsoft SQL Server.

The data layer's flows (lists, evidence, drill-down, dashboard, release, undo) run on SQLite
while a listener captures each statement; each is then compiled with the mssql dialect, with
IN lists expanded, and checked against SQL Server's rules: at most 2,100 parameters, TOP
instead of LIMIT, no row-value comparisons, reply text cast before it is grouped.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import mssql

import tui.triage.block_advice as ba
from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditRow, AuditStore
from tui.db.change_probe import key_probe
from tui.db.connection_limits import set_limit
from tui.db.queries import (
    BlockFilter,
    ReplyScope,
    block_keys,
    dashboard,
    dashboard_inputs,
    dkim_selectors,
    fetch_blocks,
    iter_blocks,
    list_streams,
    reply_groups,
    reply_outcomes,
    reply_samples,
    stream_ips,
    volume_series,
)
from tui.db.reconcile import reconcile_event
from tui.db.release import BlockRef, release_blocks, undo_release
from tui.db.release_plan import plan_for_cli, refs_for_stream
from tui.db.undo import undo_event
from tui.triage import check_sources
from tui.triage.block_advice import signature_groups

MSSQL_MAX_PARAMS = 2100


def test_every_statement_compiles_for_mssql(sqlite_db, tmp_path: Path) -> None:
    core = open_core(load_config(db=sqlite_db.url, config=str(sqlite_db.config)))
    core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    captured: list[sa.ClauseElement] = []

    @event.listens_for(core.engine, "before_execute")
    def capture(conn, clauseelement, multiparams, params, execution_options):  # noqa: ANN001
        if isinstance(clauseelement, sa.sql.ClauseElement) and not isinstance(
            clauseelement, sa.sql.elements.TextClause
        ):
            captured.append(clauseelement)

    since = sqlite_db.now - timedelta(days=7)
    # Many ids: the page and release statements must chunk below the parameter limit.
    table = core.schema.tables["blocked_ips"]
    with core.engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {
                    "BlockID": 5000 + i,
                    "MailStreamID": 1,
                    "IPAddress": "192.0.2.10",
                    "Domain": f"x{i}.example",
                    "BlockingMX": "198.18.7.7",
                }
                for i in range(2300)
            ],
        )
    with core.connect() as conn:
        list_streams(core.schema, conn)
        stream_ips(core.schema, conn, 1)
        for kind in ("domain", "ip"):
            for sort in ("domain", "since", "next_retry", "description", "stream"):
                keys = block_keys(
                    core.schema,
                    conn,
                    BlockFilter(kind, stream_id=1, text="a_%", sort=sort, descending=True),
                    page=2,
                )
                keys = block_keys(core.schema, conn, BlockFilter(kind, sort=sort), page=1000)
                fetch_blocks(core.schema, conn, kind, keys, since=since)
            list(
                iter_blocks(
                    core.schema, conn, BlockFilter(kind, domain="gmail.com"), since=since, page=1
                )
            )
        scope = ReplyScope(
            stream_id=1, domain="gmail.com", source_ip="192.0.2.10", mx_ip="198.18.0.5"
        )
        groups = reply_groups(core.schema, conn, scope, since=since)
        reply_samples(
            core.schema, conn, scope, groups[0].text, since=since, before=(sqlite_db.now, 10)
        )
        reply_samples(core.schema, conn, scope, ["", "x"], since=since)
        reply_samples(core.schema, conn, scope, since=since, match=lambda t: True, scan_page=1)
        reply_outcomes(core.schema, conn, scope, since=since)
        dkim_selectors(core.schema, conn)
        wide = ReplyScope(stream_id=1, domain="gmail.com")
        assert signature_groups(core, conn, wide, since=since)
        ba._fingerprint(core, conn, wide, since)
        check_sources.reply_senders(core, conn, 2, ["yahoo.com", "gmail.com"])
        dashboard(core.schema, conn, None, now=sqlite_db.now, window=timedelta(days=7))
        dashboard_inputs(core.schema, conn)
        for sort in ("domain", "next_retry", "since", "description"):
            key_probe(core.schema, conn, BlockFilter("ip", stream_id=1, text="a_%", sort=sort))
        volume_series(core.schema, conn, 1, start=since, end=sqlite_db.now)
        everything = refs_for_stream(core.schema, conn, None)
        plan = plan_for_cli(core.schema, conn, domains=["gmail.com", "yahoo.com"])
        assert plan.attached
    result = release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        everything,
        mode="delete",
        now=core.now(),
    )
    assert len(result.released) == len(everything) > 2100
    undo = undo_release(core.schema, core.engine, core.audit, core.audit_context(), result.event_id)
    assert undo.ok
    retry = [
        BlockRef(b.key, b.identity)
        for b in fetch_blocks(core.schema, core.engine.connect(), "domain", [101], since=None)
    ]
    release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        retry,
        mode="retry-now",
        now=core.now(),
    )
    # A connection-limit change, its undo, and the reconciliation of a pending release.
    change = set_limit(
        core.schema, core.engine, core.audit, core.audit_context(), "gmail.com", limit=3
    )
    assert undo_event(
        core.schema, core.engine, core.audit, core.audit_context(), change.event_id
    ).ok
    pending = core.audit.begin(
        "release",
        core.audit_context(),
        stream=None,
        mode="delete",
        rows=[
            AuditRow(
                "domain",
                "domain:101",
                {"BlockID": 101, "MailStreamID": 1, "Domain": "gmail.com"},
                "released",
            )
        ],
        requested=1,
    )
    assert reconcile_event(core.schema, core.engine, core.audit, pending, force=True).status

    assert len(captured) > 50
    dialect = mssql.dialect()
    kinds = set()
    for stmt in captured:
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        sql = str(compiled)
        kinds.add(sql.split()[0].upper())
        assert len(compiled.params) <= MSSQL_MAX_PARAMS, sql[:200]
        assert " LIMIT " not in sql.upper()
        if "GROUP BY" in sql and "text_prefix" not in sql and "SMTPResponseText" in sql:
            assert "CAST(SUBSTRING(" in sql
    assert {"SELECT", "DELETE", "INSERT", "UPDATE"} <= kinds
    locked = [
        str(s.compile(dialect=dialect))
        for s in captured
        if isinstance(s, sa.Select) and s._for_update_arg is not None
    ]
    assert locked and all("WITH (UPDLOCK, ROWLOCK)" in sql for sql in locked)
    core.close()
