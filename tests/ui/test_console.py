"""The console driven by keys, against the hand-built database (SQLite, and PostgreSQL for writes)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support import handmade
from tests.ui.conftest import settle
from tui.ui.bindings import KEYS, TABLE_KEYS
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.replies import RepliesScreen, SamplesScreen
from tui.ui.widgets.block_table import BlockTable

SIZE = (120, 40)


def ids(app, pane: str) -> list[int]:
    return list(app.table_of(pane).keys)


def rows_in_db(db, kind: str) -> set[int]:
    name = "lyrMailStreamBlockedDomains" if kind == "domain" else "lyrMailStreamBlockedIPs"
    if db.backend == "postgresql":
        name = name.lower()
    with db.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(f"select * from {name}"))}


def line_text(table: BlockTable, row: int) -> str:
    return "".join(seg.text for seg in table.render_line(row - table.scroll_offset.y + 1))


async def test_panes_load_and_switch(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(ids(app, "domains")) == len(handmade.DOMAIN_BLOCKS)
        assert len(ids(app, "ips")) == len(handmade.IP_BLOCKS)
        assert app.pane == "domains"
        await pilot.press("2")
        await settle(pilot)
        assert app.pane == "ips" and app.focused is app.table_of("ips")
        await pilot.press("3")
        await settle(pilot)
        assert app.pane == "dashboard"
        assert [d.domain for d in app.query_one("DashboardView").rows][:1] == ["gmail.com"]


async def test_hostile_text_is_drawn_literally(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        row = table.keys.index(206)
        text = line_text(table, row)
        assert "[bold]boom[/bold] [@cl" in text and "\x1b" not in text
        table.move_cursor(row)
        await settle(pilot)
        detail = str(app.query_one("#detail-text").render())
        assert "[bold]boom[/bold] [@click=app.quit]x[/]" in detail
        assert "\\x1b[31mred" in detail and "\x1b" not in detail
        assert app.is_running  # the [@click=app.quit] in the reply did nothing


async def test_filter_and_escape(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"hotmail")
        await pilot.pause(0.4)
        await settle(pilot)
        assert ids(app, "domains") == [103]
        await pilot.press("enter")
        assert app.focused is app.table_of("domains")
        await pilot.press("escape")
        await settle(pilot)
        assert len(ids(app, "domains")) == 4
        # Wildcards and quotes are literal, bound as parameters.
        await pilot.press("slash", *"%'", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        assert ids(app, "domains") == []
        assert "match the filter" in app.table_of("domains").empty_text


async def test_stream_picker(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("down", "down", "enter")  # All, default, marketing
        await settle(pilot)
        assert app.stream.name == "marketing"
        assert sorted(ids(app, "domains")) == [102, 103] and sorted(ids(app, "ips")) == [
            203,
            204,
            205,
        ]


async def test_drill_down_and_back(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.table_of("domains").current_block.domain == "gmail.com"
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RepliesScreen)
        assert [g.count for g in screen.groups] == [4, 2]
        await pilot.press("enter")
        await settle(pilot)
        samples = app.screen
        assert isinstance(samples, SamplesScreen) and len(samples.samples) == 4
        assert all(s.text == handmade.GMAIL_REPLY for s in samples.samples)
        await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]


async def test_mark_release_and_undo(lm_db, make_app) -> None:
    app = make_app(lm_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        chosen = table.keys[:3]
        await pilot.press("space", "space", "space")
        assert sorted(table.marks) == sorted(chosen) and table.cursor_row == 3
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert not set(chosen) & rows_in_db(lm_db, "ip")
        assert rows_in_db(lm_db, "ip") == {b[0] for b in handmade.IP_BLOCKS} - set(chosen)
        assert not set(chosen) & set(table.keys) and not table.marks
        event = app.core.audit.events_list()[0]
        assert event.released == 3 and event.status == "committed"
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert rows_in_db(lm_db, "ip") == {b[0] for b in handmade.IP_BLOCKS}
        assert sorted(table.keys) == sorted(b[0] for b in handmade.IP_BLOCKS)


async def test_release_dialog_defaults_to_no(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert rows_in_db(sqlite_db, "domain") == {b[0] for b in handmade.DOMAIN_BLOCKS}
        assert app.core.audit.events_list() == []


async def test_release_all_of_a_stream(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("down", "enter")  # default
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, rounds=4)
        assert 101 not in rows_in_db(sqlite_db, "domain") and not {201, 202} & rows_in_db(
            sqlite_db, "ip"
        )
        assert 102 in rows_in_db(sqlite_db, "domain")
        assert app.core.audit.events_list()[0].action == "release-all"


async def test_read_only_hides_and_refuses_writes(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.check_action("release", ()) is False and app.check_action("undo", ()) is False
        await pilot.press("space", "r", "A", "u")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert rows_in_db(sqlite_db, "domain") == {b[0] for b in handmade.DOMAIN_BLOCKS}
        header = "".join(s.text for s in app.query_one("#header").render_line(0))
        assert "READ-ONLY" in header


async def test_refresh_keeps_cursor_marks_and_filter(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        await pilot.press("space", "down", "space")
        marks = set(table.marks)
        cursor_block = table.current_key
        # Another process adds a block that sorts first: positions move, the cursor must not.
        with sqlite_db.engine.begin() as conn:
            conn.exec_driver_sql(
                "insert into lyrMailStreamBlockedIPs (BlockID, MailStreamID, IPAddress, Domain, BlockingMXIP) "
                "values (300, 1, '192.0.2.10', 'aaa.example', '198.18.3.3')"
            )
        await pilot.press("f5")
        await settle(pilot)
        assert table.keys[0] == 300
        assert set(table.marks) == marks and table.current_key == cursor_block
        await pilot.press("slash", *"gmail", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert sorted(table.keys) == [201, 202] and app.filters["ips"].text == "gmail"


async def test_dashboard_view_blocks(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("enter")  # gmail.com, the busiest domain
        await settle(pilot)
        assert app.pane == "domains"
        assert ids(app, "domains") == [101] and sorted(ids(app, "ips")) == [201, 202]
        await pilot.press("escape")
        await settle(pilot)
        assert len(ids(app, "domains")) == 4


async def test_help_lists_every_binding(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("DataTable")
        assert table.row_count == len(KEYS) + len(TABLE_KEYS)
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_keymap_from_config_rebinds(sqlite_db, make_app, tmp_path) -> None:
    config = tmp_path / "keys.toml"
    config.write_text(sqlite_db.config.read_text() + '\n[keymap]\nrelease = "R"\n')
    config.chmod(0o600)
    sqlite_db.config = config
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


async def test_sort_cycles_columns(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")  # domain -> since
        await settle(pilot)
        assert app.filters["domains"].sort == "since"
        assert ids(app, "domains")[0] == 103  # blocked 30 hours ago, the oldest
        await pilot.press("S")
        await settle(pilot)
        assert ids(app, "domains")[0] == 104


async def test_palette_offers_every_action(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        missing = [
            k.description
            for k in KEYS
            if k.id not in ("quit", "help") and k.description not in titles
        ]
        assert not missing


async def test_footer_comes_after_the_first_rows_and_without_any(sqlite_db, make_app) -> None:
    """The footer is mounted once the first rows are drawn, or at once when none will come."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    def footer_keys(app) -> list[str]:  # noqa: ANN001
        return [k.key for k in app.screen_stack[0].query(Footer).first().query(FooterKey)]

    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert {"1", "2", "3", "r"} <= set(footer_keys(app))
        assert app.classify is not None  # the diagnosis layer is loaded too
    with sqlite_db.engine.begin() as conn:
        conn.execute(sa.text("delete from lyrMailStreamBlockedDomains"))
        conn.execute(sa.text("delete from lyrMailStreamBlockedIPs"))
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.table_of("domains").keys
        assert {"1", "2", "3"} <= set(footer_keys(app))


async def test_moving_details_and_quit_keys(sqlite_db, make_app) -> None:
    """The bindings no other test presses: page down (both keys), first row (both keys),
    the detail panel toggle and quit."""
    from tui.ui.app import DetailPanel

    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 12)) as pilot:  # a short screen: a page is a few rows
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        assert table.cursor_row == 0 and len(table.keys) > 3
        await pilot.press("pagedown")
        first_page = table.cursor_row
        assert first_page > 0
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("ctrl+f")
        assert table.cursor_row == first_page
        await pilot.press("home")
        assert table.cursor_row == 0
        panel = app.query_one(DetailPanel)
        assert panel.display
        await pilot.press("i")
        assert not panel.display
        await pilot.press("i")
        assert panel.display
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
