"""Privileges per operation, with real PostgreSQL roles (CREATE ROLE … LOGIN, trust auth).

- SELECT only: ``release --dry-run`` works (it reads without ``FOR UPDATE``, which needs UPDATE).
- No UPDATE anywhere: ``doctor`` shows the per-table matrix; a retry-now release and a
  connection-limit change are refused in one line *before* anything is tried (no audit event);
  a delete-mode release still works.
- No SELECT on the attempt log: ``doctor`` says so, the panes still list every block, the detail
  panel says the replies cannot be read (not "no failed attempt").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tests.faults.conftest import DOMAIN_TABLE, IP_TABLE, SIZE, run_lmtriage, status_text
from tests.support import handmade
from tests.ui.conftest import FROZEN, settle
from tui.ui.app import build_app

ATTEMPTS = "lyrdeliverattemptlog"  # the hand-built database uses the index spelling
DCL = "domainconnectionlimits_"


@pytest.fixture
def make_role(pg_db, admin) -> Iterator[Callable[[str], str]]:  # noqa: ANN001
    """make(grants SQL with {role}) -> URL of a fresh login role; dropped afterwards."""
    made: list[str] = []
    database = sa.engine.make_url(pg_db.url).database

    def make(grants: str) -> str:
        role = f"lmtriage_r_{uuid.uuid4().hex[:8]}"
        made.append(role)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
            for statement in grants.format(role=role).split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement)
        return (
            sa.engine.make_url(pg_db.url).set(username=role).render_as_string(hide_password=False)
        )

    yield make
    with admin.connect() as conn:
        for role in made:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
            )
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def counts(db) -> tuple[int, int]:  # noqa: ANN001
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.exec_driver_sql(f"select count(*) from {t}").scalar()
            for t in (DOMAIN_TABLE, IP_TABLE)
        )


def test_select_only_role_can_dry_run(pg_db, make_role, tmp_path) -> None:
    url = make_role("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    out = run_lmtriage(
        "release", "--db", url, "--config", str(pg_db.config), "--domain", "gmail.com", "--dry-run"
    )
    assert out.returncode == 0, out.stderr
    assert "would release 3, already gone 0, failed 0" in out.stdout
    assert counts(pg_db) == (len(handmade.DOMAIN_BLOCKS), len(handmade.IP_BLOCKS))


def test_role_without_update_is_told_before_anything_is_tried(pg_db, make_role, tmp_path) -> None:
    url = make_role(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        f"GRANT DELETE, INSERT ON {DOMAIN_TABLE}, {IP_TABLE}, {DCL} TO {{role}}"
    )
    audit = tmp_path / "audit.sqlite"
    env_args = ["--db", url, "--config", str(pg_db.config)]
    from tests.faults.conftest import lmtriage_env

    env = lmtriage_env(LMTRIAGE_AUDIT=str(audit))
    out = run_lmtriage("doctor", *env_args, "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    doctor = json.loads(out.stdout)
    matrix = {p["model_table"]: p for p in doctor["privileges"]}
    assert matrix["blocked_ips"]["SELECT"] and matrix["blocked_ips"]["DELETE"]
    assert (
        matrix["blocked_ips"]["UPDATE"] is False and matrix["connection_limits"]["UPDATE"] is False
    )
    assert matrix["attempts"]["SELECT"] and matrix["attempts"]["DELETE"] is False
    assert doctor["operations"]["release_delete"] == "ok"
    assert doctor["operations"]["release_retry-now"].startswith(
        "the database user lacks UPDATE on lyrmailstreamblockeddomains"
    )
    assert doctor["operations"]["dcl"] == f"the database user lacks UPDATE on {DCL}"
    out = run_lmtriage("doctor", *env_args, env=env)
    assert "UPDATE" in out.stdout and "release_retry-now" in out.stdout
    # retry-now and dcl: refused in one line, before any statement or audit event.
    out = run_lmtriage(
        "release", *env_args, "--ip", "192.0.2.10", "--mode", "retry-now", "--yes", env=env
    )
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "lmtriage: error: release refused in mode retry-now: the database user lacks UPDATE on "
        f"{DOMAIN_TABLE}, UPDATE on {IP_TABLE}"
    ]
    out = run_lmtriage("dcl", *env_args, "--domain", "gmail.com", "--limit", "3", "--yes", env=env)
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == f"lmtriage: error: dcl refused: the database user lacks UPDATE on {DCL}"
    )
    assert not audit.exists()  # nothing was tried, so nothing was audited
    # A delete-mode release needs no UPDATE, and works.
    out = run_lmtriage("release", *env_args, "--ip", "192.0.2.10", "--yes", env=env)
    assert out.returncode == 0 and "released 1," in out.stdout, out.stderr


async def test_console_without_update_says_so_on_c(pg_db, make_role, make_core) -> None:
    url = make_role(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        f"GRANT DELETE, INSERT ON {DOMAIN_TABLE}, {IP_TABLE}, {DCL} TO {{role}}"
    )
    app = build_app(make_core(url, pg_db.config), clock=lambda: FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.core.read_only  # delete-mode release works
        await pilot.press("c")
        await settle(pilot)
        assert app.screen is app.screen_stack[0]
        assert (
            status_text(app)
            == f"cannot set connection limits: the database user lacks UPDATE on {DCL}"
        )


async def test_role_that_cannot_read_the_attempt_log(pg_db, make_role, make_core) -> None:
    url = make_role(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        f"REVOKE SELECT ON {ATTEMPTS} FROM {{role}}"
    )
    out = run_lmtriage("doctor", "--db", url, "--config", str(pg_db.config), "--format", "json")
    assert out.returncode == 0, out.stderr
    tables = {t["model_table"]: t for t in json.loads(out.stdout)["tables"]}
    assert tables["attempts"]["status"] == "unreadable"
    out = run_lmtriage("doctor", "--db", url, "--config", str(pg_db.config))
    assert "may not read it (no SELECT)" in out.stdout
    out = run_lmtriage("blocks", "--db", url, "--config", str(pg_db.config), "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data) == len(handmade.DOMAIN_BLOCKS) + len(handmade.IP_BLOCKS)
    assert all(b["attempts"] is None for b in data)
    out = run_lmtriage(
        "responses", "--db", url, "--config", str(pg_db.config), "--domain", "gmail.com"
    )
    assert out.returncode != 0 and "may not read it" in out.stderr
    app = build_app(make_core(url, pg_db.config), clock=lambda: FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table_of("domains")
        assert len(table.keys) == len(handmade.DOMAIN_BLOCKS)
        detail = str(app.query_one("#detail-text").render())
        assert "Replies unavailable" in detail and "may not read it" in detail
        assert "No failed attempt" not in detail
