"""A release that fails inside its transaction, driven from the console: a real trigger on the
block table raises for one of the marked rows, so the DELETE fails and the whole release must
roll back, say so, and leave a failed audit event."""

from __future__ import annotations

import sqlalchemy as sa

from tests.faults.conftest import SIZE, status_text
from tests.support import handmade
from tests.ui.conftest import settle
from tui.ui.screens.confirm import ConfirmScreen


def add_refusing_trigger(db) -> None:  # noqa: ANN001
    """A BEFORE DELETE trigger that refuses hotmail.com (the second row by domain)."""
    with db.engine.begin() as conn:
        if db.backend == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE DELETE ON lyrMailStreamBlockedDomains "
                "WHEN old.Domain = 'hotmail.com' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF OLD.domain = 'hotmail.com' "
                "THEN RAISE EXCEPTION 'refused by trigger'; END IF; RETURN OLD; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE DELETE ON lyrmailstreamblockeddomains "
                "FOR EACH ROW EXECUTE FUNCTION boom()"
            )


def domain_rows(db) -> dict[int, tuple]:  # noqa: ANN001
    name = (
        "lyrmailstreamblockeddomains"
        if db.backend == "postgresql"
        else "lyrMailStreamBlockedDomains"
    )
    with db.engine.connect() as conn:
        return {r[0]: tuple(r) for r in conn.execute(sa.text(f"select * from {name}"))}


async def test_console_release_failing_in_its_transaction(lm_db, make_app) -> None:
    add_refusing_trigger(lm_db)
    before = domain_rows(lm_db)
    app = make_app(lm_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table_of("domains")
        assert [table.cached_block(k).domain for k in table.keys[:2]] == [
            "gmail.com",
            "hotmail.com",
        ]
        await pilot.press("space", "space")
        assert sorted(table.marks) == [101, 103]
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        status = status_text(app)
        assert status.startswith("release failed, nothing released")
        assert "refused by trigger" in status
        assert app.is_running and app.screen is app.screen_stack[0]
        # Nothing changed: gmail.com, deleted before the trigger fired, was rolled back too.
        assert domain_rows(lm_db) == before
        assert sorted(table.keys) == sorted(b[0] for b in handmade.DOMAIN_BLOCKS)
        assert sorted(table.marks) == [101, 103]  # still marked, to try again
        assert app.last_release is None  # nothing for u to undo
        events = app.core.audit.events_list()
        assert len(events) == 1
        event = app.core.audit.event(events[0].id)
        assert event.status == "failed" and "refused by trigger" in event.error
        # Each marked domain row goes with its IP pairs (gmail.com 201-202, hotmail.com 204-205).
        assert event.released == 0 and event.failed == 6
        assert sorted(r.key for r in event.rows) == [
            "domain:101",
            "domain:103",
            "ip:201",
            "ip:202",
            "ip:204",
            "ip:205",
        ]
        assert {r.outcome for r in event.rows} == {"failed"}
