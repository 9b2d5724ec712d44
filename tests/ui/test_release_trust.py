"""The console releases exactly what the user saw and chose (SQLite and PostgreSQL).

- A domain row goes with its IP pairs, and the dialog says so ("domain row + 2 IP pairs");
  ``o`` in the dialog switches to the domain row alone.
- A mark remembers the row as it was: a block released and blocked again after it was marked is
  reported as changed and not released.
- ``A`` with a filter offers the filtered set, named with its count, not every block.
- The dialog warns when the advice of marked blocks says wait; ``N`` marks only the blocks
  whose advice says release now.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.support import handmade
from tests.ui.conftest import settle
from tests.ui.test_console import SIZE, rows_in_db
from tui.triage.release_advice import judge_blocks
from tui.ui.screens.confirm import ConfirmScreen, ReleaseDialog


def dialog_text(app) -> str:  # noqa: ANN001
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    return "\n".join(str(w.render()) for w in screen.query("Static"))


def status(app) -> str:  # noqa: ANN001
    return str(app.query_one("#status").render())


async def test_domain_release_with_its_pairs_or_alone(lm_db, make_app) -> None:
    app = make_app(lm_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.table_of("domains")
        assert table.current_block.domain == "gmail.com"
        await pilot.press("r")  # the cursor row: gmail.com's domain row
        await settle(pilot)
        text = dialog_text(app)
        assert isinstance(app.screen, ReleaseDialog)
        assert "3 block row(s): 1 domain row(s) + 2 IP pair(s)" in text
        assert "gmail.com (stream default): domain row + 2 IP pair(s)" in text
        assert "o: release the domain rows only" in text
        await pilot.press("o")
        await settle(pilot)
        text = dialog_text(app)
        assert "1 block row(s): 1 domain row(s) + 0 IP pair(s)" in text
        assert "gmail.com (stream default): domain row only" in text
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert 101 not in rows_in_db(lm_db, "domain")
        assert {201, 202} <= rows_in_db(lm_db, "ip")  # the pairs stayed, as chosen
        assert status(app).startswith("released 1, already gone 0, failed 0")
        assert table.current_block.domain == "hotmail.com"  # the next row moved up
        await pilot.press("r")  # hotmail.com: with its two pairs this time
        await settle(pilot)
        assert "hotmail.com (stream marketing): domain row + 2 IP pair(s)" in dialog_text(app)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert 103 not in rows_in_db(lm_db, "domain") and not {204, 205} & rows_in_db(lm_db, "ip")


async def test_a_mark_keeps_what_the_user_saw(lm_db, make_app) -> None:
    app = make_app(lm_db)
    ip_table = (
        "lyrmailstreamblockedips" if lm_db.backend == "postgresql" else "lyrMailStreamBlockedIPs"
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        first, second = table.keys[:2]
        await pilot.press("space", "space")
        assert set(table.marks) == {first, second}
        # After marking, the first block is released elsewhere and blocked again (new
        # BlockedSince), and a refresh re-reads the row: the mark still holds what was seen.
        with lm_db.engine.begin() as conn:
            conn.execute(
                sa.text(f"update {ip_table} set BlockedSince = :t where BlockID = :id"),
                {"t": lm_db.now - timedelta(minutes=2), "id": first},
            )
        await pilot.press("f5")
        await settle(pilot)
        assert set(table.marks) == {first, second}
        await pilot.press("r")
        await settle(pilot)
        assert "1 changed since chosen" in dialog_text(app)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert first in rows_in_db(lm_db, "ip") and second not in rows_in_db(lm_db, "ip")
        text = status(app)
        assert "released 1, already gone 0, changed since chosen 1 (left alone)" in text
        assert not table.marks
        event = app.core.audit.event(app.core.audit.events_list()[0].id)
        assert {r.key: r.outcome for r in event.rows} == {
            f"ip:{second}": "released",
            f"ip:{first}": "changed",
        }


async def test_release_all_with_a_filter_offers_the_filtered_set(lm_db, make_app) -> None:
    app = make_app(lm_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"hotmail", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        assert [
            app.table_of("domains").cached_block(k).domain for k in app.table_of("domains").keys
        ] == ["hotmail.com"]
        await pilot.press("A")
        await settle(pilot)
        text = dialog_text(app)
        assert "Release these blocks?" in text and "every block" not in text
        assert "domains matching 'hotmail'" in text and "in all streams" in text
        # Only the filtered pane's rows: hotmail.com's row and its 2 pairs, not every IP pair
        # of the unfiltered IP pane (it once offered all of them).
        assert "3 block row(s): 1 domain row(s) + 2 IP pair(s)" in text
        assert "hotmail.com (stream" in text and "domain row + 2 IP pair(s)" in text
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("2", "slash", *"198.51.100.2", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        text = dialog_text(app)
        assert "IP pairs matching '198.51.100.2'" in text
        domains_shown = 1 + 3  # hotmail.com's row + its 2 pairs; yahoo's 1 pair matches too
        assert f"{domains_shown} block row(s)" in text
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert rows_in_db(lm_db, "domain") == {b[0] for b in handmade.DOMAIN_BLOCKS} - {103}
        assert rows_in_db(lm_db, "ip") == {201, 202, 206}
        assert app.core.audit.events_list()[0].action == "release"


async def test_wait_advice_is_warned_and_release_now_marks_only_those(lm_db, make_app) -> None:
    app = make_app(lm_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        with app.core.connect() as conn:
            rows = [table.cached_block(k) for k in table.keys]
            judged = judge_blocks(app.core, conn, rows)
        now_keys = {k.block_id for k in judged.keys("now")}
        waiting = {k.block_id for k in judged.keys("wait")}
        assert waiting, "the hand-built TSS04 block is a throttle: its advice says wait"
        # r pressed while N still reads the advice: refused, not the cursor row (it once
        # offered the cursor row, whose advice said fix first, with the marks behind it).
        app.action_mark_release_now()
        app.action_release()
        assert "still marking" in status(app)
        assert not isinstance(app.screen, ConfirmScreen)
        await settle(pilot)
        assert set(table.marks) == now_keys
        assert "whose advice says release now" in status(app)
        # Mark everything instead: the dialog says how many should wait.
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        text = dialog_text(app)
        assert f"Advice: {len(waiting)} should wait" in text
        await pilot.press("escape")
        await settle(pilot)
        assert rows_in_db(lm_db, "ip") == {b[0] for b in handmade.IP_BLOCKS}
