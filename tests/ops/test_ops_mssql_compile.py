"""The statements of status, watch, history, autorelease and report also compile for
Microsoft SQL Server (captured while the flows run on SQLite, then compiled with the mssql
dialect): TOP instead of LIMIT, reply text cast before it is grouped, parameters bounded."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import mssql

from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditStore
from tui.db.history import clear_cache
from tui.db.queries import fetch_blocks
from tui.db.release import release_blocks
from tui.db.release_plan import BlockRef
from tui.ops.autorelease import run_autorelease
from tui.ops.inventory import block_categories, current_blocks, failed_by_category, read_inventory
from tui.ops.policy import load_policy
from tui.ops.report import collect
from tui.triage.block_advice import block_history


def test_ops_statements_compile_for_mssql(sqlite_db, tmp_path: Path) -> None:
    clear_cache()
    core = open_core(load_config(db=sqlite_db.url, config=str(sqlite_db.config)))
    core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    captured: list[sa.ClauseElement] = []

    def capture(conn, clauseelement, multiparams, params, execution_options):  # noqa: ANN001
        if isinstance(clauseelement, sa.sql.ClauseElement) and not isinstance(
            clauseelement, sa.sql.elements.TextClause
        ):
            captured.append(clauseelement)

    event.listen(core.engine, "before_execute", capture)
    event.listen(core.audit.engine, "before_execute", capture)
    with core.connect() as conn:
        (b,) = fetch_blocks(core.schema, conn, "ip", [202], since=None)
    release_blocks(
        core.schema, core.engine, core.audit, core.audit_context(), [BlockRef.of(b)],
        mode="delete", now=core.now(),
    )
    with core.connect() as conn:
        read_inventory(core, conn)
        read_inventory(core, conn, 1)
        current_blocks(core, conn)
        block_categories(core, conn, 2)
        failed_by_category(core, conn, None)
        (again,) = fetch_blocks(core.schema, conn, "ip", [201], since=None)
        again.ip = "192.0.2.11"  # the released pair, as if blocked again
        assert block_history(core, conn, again).has_history
        collect(core, conn, stream_id=None, stream_name="all", limit=3, window=core.config.window)
    policy = tmp_path / "p.toml"
    policy.write_text('[[rule]]\ncategory = "rate_limit"\nmin_age = "1m"\n')
    run_autorelease(core, load_policy(str(policy)), apply=False)
    dialect = mssql.dialect()
    assert len(captured) > 30
    for stmt in captured:
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        sql = str(compiled)
        assert len(compiled.params) <= 2100, sql[:200]
        assert " LIMIT " not in sql.upper()
        if "GROUP BY" in sql and "SMTPResponseText" in sql:
            assert "CAST(SUBSTRING(" in sql
    core.close()
