"""``c`` sets a Domain Connection Limit (proposed by the advice, confirmed, audited); ``w``
writes the allowlist request; the detail panel shows the diagnosis of the cursor block."""

from __future__ import annotations

import sqlalchemy as sa

from tests.ui.conftest import settle
from tui.ui.screens.allowlist import AllowlistScreen
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.dcl import DclScreen


def dcl_row(db, domain: str):
    with db.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select ConnectionLimit_, ConnPerHour_ from domainconnectionlimits_ where Domain_ = :d"
            ),
            {"d": domain},
        ).first()


async def test_detail_panel_shows_the_diagnosis(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)  # the cursor rests: the block is diagnosed
        await settle(pilot)
        block = app.table_of("domains").current_block
        assert block.domain == "gmail.com"
        advice = app.advice_cache[block.key][1]
        # Four "very low reputation" refusals outweigh the two later rate-limit deferrals;
        # the category column shows the latest reply's category.
        assert advice.category == "ip_reputation_block" and advice.provider == "gmail"
        shown = str(app.query_one("#detail-text").render())
        assert "ip_reputation_block" in shown and advice.headline in shown and "Release:" in shown
        assert app.category_of(block) == "rate_limit"


async def test_c_sets_the_connection_limit(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, DclScreen)
        proposed = int(app.screen.query_one("#dcl-limit").value)
        assert 1 <= proposed < 10  # below ListManager's default of 10 for a rate-limited domain
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert dcl_row(sqlite_db, "gmail.com") is None
        await pilot.press("y")
        await settle(pilot)
        assert dcl_row(sqlite_db, "gmail.com")[0] == proposed
        event = app.core.audit.events_list()[0]
        assert event.action == "dcl" and event.status == "committed"


async def test_c_cancelled_changes_nothing(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert dcl_row(sqlite_db, "gmail.com") is None and app.core.audit.events_list() == []


async def test_w_writes_the_allowlist_request(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AllowlistScreen)
        text = screen.text
        assert "postmaster" in text.lower() or "gmail" in text.lower()
        assert "192.0.2.10" in text and "192.0.2.11" in text
        await pilot.press("s")
        await pilot.pause()
        assert screen.saved is not None and screen.saved.read_text().startswith(
            text.splitlines()[0]
        )
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]


async def test_read_only_hides_c(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.check_action("set_dcl", ()) is False
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, DclScreen)


async def test_detail_panel_splits_the_attempts(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        block = app.table_of("domains").current_block
        assert block is not None and block.domain == "gmail.com"
        text = app.block_detail(block).plain
        assert "In the window: 6 failed (" in text and "3 delivered" in text
        assert "attempt(s) in the window" not in text


async def test_finished_checks_feed_the_diagnosis(sqlite_db, make_app) -> None:
    from tui.checks.results import CheckResult
    from tui.ui.widgets.checks_panel import CheckRun

    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.4)
        await settle(pilot)
        block = app.table_of("domains").current_block
        before = app.advice_cache[block.key][1]
        assert not before.steps[0].startswith("Fix what the checks found first")
        run = CheckRun(title="d", running=False)
        run.results.append(
            CheckResult("fcrdns", "192.0.2.10", "fail", "no PTR", (), {"ip": "192.0.2.10"})
        )
        app.check_runs[("block", block.key)] = run
        app._rediagnose(("block", block.key))
        await pilot.pause(0.4)
        await settle(pilot)
        after = app.advice_cache[block.key][1]
        assert after.steps[0].startswith("Fix what the checks found first (fcrdns 192.0.2.10")
