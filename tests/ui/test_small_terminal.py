"""The console at 80×24 on the demo database: nothing important cut off.

The header keeps the stream and the clock; the block panes keep the block, ListManager's
retry, the failed attempts, the category and the reply text, and drop Stream when one stream
is picked; the drill-down shows the reply text in its table; ``s`` cycles only the columns on
screen, and failed attempts and category sort; the filter stays named after Enter; J/K scroll
the panel; Enter on a dashboard domain with only IP-pair blocks lands on pane 2.
"""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import FROZEN, settle
from tui.ui.app import build_app
from tui.ui.screens.replies import RepliesScreen

SMALL = (80, 24)


def demo_app(demo_db: Path, make_core):  # noqa: ANN001, ANN201
    core = make_core(f"sqlite:///{demo_db}")
    return build_app(core, clock=lambda: FROZEN)


def header(app) -> str:  # noqa: ANN001
    return "".join(s.text for s in app.query_one("#header").render_line(0))


def titles(table) -> list[str]:  # noqa: ANN001
    return [c.title for c, _w in table.column_layout()]


async def test_80x24_keeps_every_key_fact(demo_db, make_core) -> None:
    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        top = header(app)
        assert "stream All" in top and "12:00:00" in top  # the frozen clock
        domains = app.table_of("domains")
        # All streams: one domain may be blocked in two streams, so Stream stays (once the two
        # rows looked the same); Category gives way.
        assert titles(domains) == ["Stream", "Domain", "Next retry", "Failed", "Latest reply"]
        latest = dict((c.id, w) for c, w in domains.column_layout())["latest"]
        assert latest >= 20
        await pilot.press("2")
        await settle(pilot)
        ips = app.table_of("ips")
        assert (
            titles(ips)[:3] == ["IP", "Domain", "Blocking MX"] and titles(ips)[-1] == "Latest reply"
        )
        assert dict((c.id, w) for c, w in ips.column_layout())["latest"] >= 24
        # One stream: the header names it, the Stream column goes, a long name is not cut.
        await pilot.press("1", "m")
        await pilot.pause()
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert app.stream is not None
        assert f"stream {app.stream.name}" in header(app) and "12:00:00" in header(app)
        assert titles(domains) == ["Domain", "Next retry", "Failed", "Category", "Latest reply"]
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("home", "enter")  # back to All
        await settle(pilot)


async def test_sorting_cycles_visible_columns_and_sorts_by_failed_and_category(
    demo_db, make_core
) -> None:
    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = app.table_of("domains")
        seen = []
        for _ in range(len(table.visible_sorts())):
            await pilot.press("s")
            await settle(pilot)
            seen.append(app.filters["domains"].sort)
        assert (
            set(seen)
            == set(table.visible_sorts())
            == {"stream", "domain", "next_retry", "failed"}
        )
        await pilot.press("s")
        while app.filters["domains"].sort != "failed":
            await pilot.press("s")
            await settle(pilot)
        await settle(pilot)
        assert table.sort_id == "failed" and table.descending
        head = "".join(seg.text for seg in table.render_line(0))
        assert "▼" in head  # the arrow shows even where the title must give way ("Fai… ▼")
        rows = [table.cached_block(k) for k in table.keys[:20]]
        failed = [b.failed for b in rows if b is not None and b.failed is not None]
        assert len(failed) >= 10 and failed == sorted(failed, reverse=True)
        # One stream: Stream goes, Category comes on screen and sorts too.
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("down", "enter")
        await settle(pilot)
        assert "category" in table.visible_sorts() and "stream" not in table.visible_sorts()
        while app.filters["domains"].sort != "category":
            await pilot.press("s")
            await settle(pilot)
        await settle(pilot)
        from tui.db.queries import fetch_blocks
        from tui.diagnose.classify import classify

        with app.core.connect() as conn:
            listed = fetch_blocks(
                app.core.schema, conn, "domain", table.keys, since=app.core.since()
            )
        cats = [classify(b.latest_reply, b.latest_code).category for b in listed if b.latest_reply]
        assert len(cats) >= 10 and cats == sorted(cats)


async def test_drill_down_shows_the_reply_text(demo_db, make_core) -> None:
    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RepliesScreen)
        table = app.screen.query_one("#groups")
        assert [str(c.label) for c in table.columns.values()][:4] == [
            "Count",
            "Category",
            "Code",
            "Reply",
        ]
        reply = table.get_row_at(0)[3].plain
        assert len(reply) >= 20 and reply[:15] == app.screen.groups[0].sample_text[:15]


async def test_filter_stays_named_and_panels_scroll(demo_db, make_core) -> None:
    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"yahoo", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        tab = app.query_one("#tabs").get_tab("domains").label.plain
        assert "⧩yahoo" in tab
        detail = app.query_one("#detail")
        before = detail.scroll_y
        await pilot.press("J")
        await pilot.pause()
        assert detail.scroll_y > before or detail.max_scroll_y == 0
        await pilot.press("K")
        await pilot.pause()
        assert detail.scroll_y == before


async def test_dashboard_domain_with_only_pairs_lands_on_pane_2(demo_db, make_core) -> None:
    app = demo_app(demo_db, make_core)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        dash = app.query_one("#dashboard-view")
        rows = dash.rows
        only_pairs = next(
            (i for i, r in enumerate(rows) if not r.domain_blocked and r.blocked_ips), None
        )
        with_row = next((i for i, r in enumerate(rows) if r.domain_blocked), None)
        assert only_pairs is not None and with_row is not None
        table = dash.query_one("DataTable")
        table.move_cursor(row=only_pairs)
        await pilot.press("enter")
        await settle(pilot)
        assert app.pane == "ips" and app.filters["ips"].domain == rows[only_pairs].domain
        await pilot.press("3")
        await settle(pilot)
        dash.query_one("DataTable").move_cursor(row=with_row)
        await pilot.press("enter")
        await settle(pilot)
        assert app.pane == "domains"


def test_first_run_says_it_builds_the_demo(tmp_path: Path, capsys) -> None:
    from tui.config import load_config
    from tui.ui.run import _build_demo_with_progress

    config = load_config(env={"XDG_DATA_HOME": str(tmp_path)})
    config.demo_path = tmp_path / "demo.sqlite"
    _build_demo_with_progress(config)
    err = capsys.readouterr().err
    assert "building the demo database" in err and "100%" in err
    assert config.demo_path.exists()
    _build_demo_with_progress(config)  # built: silent
    assert capsys.readouterr().err == ""


async def test_a_long_release_dialog_keeps_its_buttons_on_screen(demo_db, make_core) -> None:
    """Three domain rows with their pairs at 80×24: the rows scroll, the buttons stay (they
    once ran off the bottom with nothing on screen saying how to confirm or cancel)."""
    from textual.widgets import Button

    from tui.ui.screens.confirm import ReleaseDialog

    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("g", "space", "space", "space", "r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ReleaseDialog)
        for _ in ("before", "after"):
            for button in dialog.query(Button):
                region = button.region
                assert region.height >= 1 and region.y >= 0 and region.bottom <= SMALL[1]
            body = dialog.query_one(".body")
            assert body.max_scroll_y > 0  # the rows are longer than the room they have
            await pilot.press("end")
            await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, ReleaseDialog)


async def test_help_at_80x24_shows_every_id_whole_and_groups_together(demo_db, make_core) -> None:
    """The ids are what [keymap] rebinds by; they were cut to "pa", "dr" at 80 columns."""
    from tui.ui.bindings import KEYS, TABLE_KEYS
    from tui.ui.screens.help import HelpScreen

    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("DataTable")
        ids = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert sorted(ids) == sorted(k.id for k in (*KEYS, *TABLE_KEYS))
        shown = {c.label.plain: c.get_render_width(table) for c in table.columns.values()}
        assert shown["Id"] >= max(len(i) for i in ids)
        assert sum(shown.values()) <= table.scrollable_content_region.width  # nothing off screen
        groups = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        named = [g for g in groups if g]
        assert len(named) == len(set(named))  # each group once, its rows together


async def test_keys_typed_right_after_slash_go_to_the_filter(demo_db, make_core) -> None:
    """A burst ("/aol" then Enter, as a fast typist or a paste sends it) is queued before the
    filter bar takes focus; the keys once reached the table: "a" marked every row, "m"
    opened the stream picker."""
    from textual import events

    app = demo_app(demo_db, make_core)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        for key, char in (("slash", "/"), ("a", "a"), ("o", "o"), ("l", "l"), ("enter", "\r")):
            app.post_message(events.Key(key, char))
        await pilot.pause(0.5)
        await settle(pilot)
        table = app.table_of("domains")
        assert app.filters["domains"].text == "aol"
        assert not table.marks
        assert [table.cached_block(k).domain for k in table.keys] == ["aol.com"]
        assert app.focused is table  # Enter closed the bar
