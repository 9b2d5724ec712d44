"""The console's connection to PostgreSQL is killed mid-session, by the server, for real.

Between refreshes the pool's pre-ping would replace the dead connections silently: the
console must say the connection was lost. During a query the refresh fails: the console says
so, re-arms its timer with backoff, and the next attempt succeeds. The app keeps running.
"""

from __future__ import annotations

from tests.faults.conftest import (
    DOMAIN_TABLE,
    SIZE,
    kill_backends,
    lmtriage_waiting_on_locks,
    pilot_wait,
    status_text,
    table_locked,
)
from tests.support import handmade
from tests.ui.conftest import settle

ALL_DOMAINS = sorted(b[0] for b in handmade.DOMAIN_BLOCKS)
ALL_IPS = sorted(b[0] for b in handmade.IP_BLOCKS)


def shows_every_block(app) -> bool:  # noqa: ANN001
    domains = app.table_of("domains")
    return (
        sorted(domains.keys) == ALL_DOMAINS
        and sorted(app.table_of("ips").keys) == ALL_IPS
        and domains.current_block is not None
    )


async def test_killed_between_refreshes_is_reported_and_recovered(pg_db, admin, make_app) -> None:
    app = make_app(pg_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shows_every_block(app)
        assert app.core.health.lost == 0
        assert kill_backends(admin) >= 1  # the console's pooled connections
        await pilot.press("f5")
        await settle(pilot)
        assert app.core.health.lost >= 1
        assert "the connection to the database was lost; reconnected" in status_text(app)
        assert app.failures == 0 and shows_every_block(app) and app.is_running
        # Nothing lost since: the next refresh is quiet and still shows the blocks.
        await pilot.press("p")  # any other status first
        await pilot.press("f5")
        await settle(pilot)
        assert "lost" not in status_text(app) and shows_every_block(app)


async def test_killed_during_a_query_backs_off_and_retries(pg_db, admin, make_app) -> None:
    app = make_app(pg_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = app.refresh_number
        with table_locked(admin, DOMAIN_TABLE):
            await pilot.press("f5")
            # The refresh is now waiting for the lock, inside its query.
            await pilot_wait(
                pilot,
                lambda: lmtriage_waiting_on_locks(admin, "SELECT") >= 1,
                what="the refresh to wait for the table lock",
            )
            with admin.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'lmtriage'"
                )
            await pilot_wait(pilot, lambda: app.failures == 1, what="the refresh to fail")
        status = status_text(app)
        assert "refresh failed: the connection to the database was lost" in status
        assert "retrying in 2s" in status
        assert app.refresh_timer is not None  # re-armed with backoff, though auto-refresh is 30s
        assert app.is_running and app.refresh_number == before
        # The timer fires after 2 s, the pool reconnects, the refresh succeeds on its own.
        await pilot_wait(
            pilot, lambda: app.failures == 0 and app.refresh_number > before, what="the retry"
        )
        await settle(pilot)
        assert "the connection to the database was lost; reconnected" in status_text(app)
        assert shows_every_block(app)
        # And the refresh after that is an ordinary one.
        await pilot.press("f5")
        await settle(pilot)
        assert app.failures == 0 and shows_every_block(app)
