"""A PostgreSQL role that may only SELECT: lmtriage finds out by itself and turns writes off.

The role is real (CREATE ROLE … LOGIN, SELECT on the tables, nothing else), the connection
is made as it (trust auth), and it is dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.faults.conftest import DOMAIN_TABLE, IP_TABLE, SIZE, run_lmtriage, status_text
from tests.support import handmade
from tests.ui.conftest import FROZEN, settle
from tui.ui.app import build_app
from tui.ui.bindings import WRITE_ACTIONS
from tui.ui.screens.confirm import ConfirmScreen

REASON = f"the database user lacks DELETE on {DOMAIN_TABLE}"


@pytest.fixture
def ro_url(pg_db, admin) -> Iterator[str]:  # noqa: ANN001
    """The test database's URL for a fresh SELECT-only role."""
    role = f"lmtriage_ro_{uuid.uuid4().hex[:8]}"
    database = sa.engine.make_url(pg_db.url).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        yield sa.engine.make_url(pg_db.url).set(username=role).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def block_counts(db) -> tuple[int, int]:  # noqa: ANN001
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.exec_driver_sql(f"select count(*) from {t}").scalar()
            for t in (DOMAIN_TABLE, IP_TABLE)
        )


FULL = (len(handmade.DOMAIN_BLOCKS), len(handmade.IP_BLOCKS))


def test_select_only_role_is_read_only_by_itself(pg_db, ro_url, make_core) -> None:
    core = make_core(ro_url, pg_db.config)
    assert core.read_only is True
    assert core.read_only_reason == REASON
    assert core.schema.discovery.can_write is False
    assert core.schema.discovery.db_user.startswith("lmtriage_ro_")


def test_cli_release_refuses_in_one_line(pg_db, ro_url) -> None:
    out = run_lmtriage("release", "--db", ro_url, "--config", str(pg_db.config), "--all", "--yes")
    assert out.returncode != 0 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert lines == [f"lmtriage: error: release refused: writes are off ({REASON})"]
    assert block_counts(pg_db) == FULL
    # Reading is fine, and says why writes are off.
    out = run_lmtriage("doctor", "--db", ro_url, "--config", str(pg_db.config), "--format", "json")
    assert out.returncode == 0 and '"can_write": false' in out.stdout and REASON in out.stdout


async def test_console_hides_and_ignores_the_write_keys(pg_db, ro_url, make_core) -> None:
    app = build_app(make_core(ro_url, pg_db.config), clock=lambda: FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = "".join(s.text for s in app.query_one("#header").render_line(0))
        assert "READ-ONLY" in header
        assert f"read-only: {REASON}" in status_text(app)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "filter" in shown and not shown & WRITE_ACTIONS
        assert {"release", "release_all", "undo", "set_dcl"} <= WRITE_ACTIONS
        footer = app.export_screenshot()
        assert "Release" not in footer
        for key in ("space", "r", "A", "u", "c"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is app.screen_stack[0], key
            assert not isinstance(app.screen, ConfirmScreen)
        assert block_counts(pg_db) == FULL
        assert app.core.audit.events_list() == []
        assert app.is_running
