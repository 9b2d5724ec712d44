"""The console and server profiles: the profile in the header, ``P`` to pick another server,
a profile that cannot be opened, and the block history in the detail panel."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.ui.conftest import FROZEN, settle
from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditStore
from tui.db.history import clear_cache
from tui.db.queries import fetch_blocks
from tui.db.release import release_blocks
from tui.db.release_plan import BlockRef
from tui.ui.app import DetailPanel, build_app
from tui.ui.run import console_loop
from tui.ui.screens.profile_picker import ProfilePicker
from tui.ui.widgets.header_bar import HeaderBar

SIZE = (120, 40)


def servers(sqlite_db, tmp_path: Path) -> Path:
    """Two servers: the hand-built database and a copy of it; a third that cannot open."""
    west = tmp_path / "west.sqlite"
    shutil.copyfile(sqlite_db.url.removeprefix("sqlite:///"), west)
    config = tmp_path / "servers.toml"
    config.write_text(
        sqlite_db.config.read_text()
        + f'\n[profiles.east]\nurl = "{sqlite_db.url}"\ndescription = "the east server"\n'
        f'[profiles.west]\nurl = "sqlite:///{west}"\nread_only = true\n'
        '[profiles.north]\nurl = "postgresql+psycopg://lm:pw@127.0.0.1:1/x"\n'
        'password_env = "NORTH_PW_NOT_SET"\n'
    )
    config.chmod(0o600)
    return config


def core_on(config: Path, profile: str | None, tmp_path: Path):
    core = open_core(load_config(config=str(config), profile=profile, env={}))
    core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    return core


def header(app) -> str:
    return app.query_one(HeaderBar)._shown.plain


def east_console(sqlite_db, tmp_path: Path):
    """The console on profile east of :func:`servers`."""
    core = core_on(servers(sqlite_db, tmp_path), "east", tmp_path)
    return core, build_app(core, clock=lambda: FROZEN)


async def test_the_header_names_the_profile_and_p_switches_server(sqlite_db, tmp_path) -> None:
    core, app = east_console(sqlite_db, tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert header(app).startswith("lmtriage  east  ")
            await pilot.press("P")
            await settle(pilot)
            picker = app.screen
            assert isinstance(picker, ProfilePicker)
            options = picker.query_one("OptionList")
            labels = [options.get_option_at_index(i).prompt.plain for i in range(options.option_count)]
            assert labels[0].startswith("east  (shown now)") and "the east server" in labels[0]
            assert "west  read-only" in labels[1] and "pw@" not in labels[2]
            await pilot.press("down", "enter")
            await settle(pilot)
        assert app.next_core is not None
        assert app.next_core.config.profile == "west" and app.next_core.read_only
        assert "west.sqlite" in app.next_core.display_url
    finally:
        core.close()
        if app.next_core is not None:
            app.next_core.close()


async def test_a_profile_that_cannot_open_keeps_the_console(sqlite_db, tmp_path) -> None:
    core, app = east_console(sqlite_db, tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("P", "down", "down", "enter")
            await settle(pilot)
            status = str(app.query_one("#status").render())
            assert "opening profile north" in status and "NORTH_PW_NOT_SET is not set" in status
            assert app.next_core is None and app.is_running
            await pilot.press("P", "enter")  # the one shown: nothing happens
            await settle(pilot)
            assert app.next_core is None and app.is_running
    finally:
        core.close()


async def test_p_without_profiles_says_how(sqlite_db, make_app) -> None:
    app = make_app(sqlite_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "east" not in header(app) and header(app).startswith("lmtriage ")
        await pilot.press("P")
        await settle(pilot)
        assert not isinstance(app.screen, ProfilePicker)
        assert "add [profiles.NAME]" in str(app.query_one("#status").render())


def test_the_console_starts_again_on_the_picked_server(sqlite_db, tmp_path) -> None:
    config = servers(sqlite_db, tmp_path)
    first = core_on(config, "east", tmp_path)
    second = core_on(config, "west", tmp_path)
    shown: list[str | None] = []

    def run_app(app) -> int:
        shown.append(app.core.config.profile)
        if len(shown) == 1:
            app.next_core = second  # what P does once the other server is open
        return 0

    closed: list[str] = []
    for core in (first, second):
        real_close = core.close
        core.close = lambda c=core, close=real_close: (closed.append(c.config.profile), close())
    assert console_loop(first, lambda name: second, run_app) == 0
    assert shown == ["east", "west"] and closed == ["east", "west"]


async def test_the_detail_panel_shows_the_block_history(lm_db, make_app) -> None:
    clear_cache()
    app = make_app(lm_db)
    core = app.core
    with core.connect() as conn:
        (block,) = fetch_blocks(core.schema, conn, "ip", [202], since=None)
    release_blocks(
        core.schema, core.engine, core.audit, core.audit_context(), [BlockRef.of(block)],
        mode="delete", now=core.now(),
    )
    pg = lm_db.backend == "postgresql"
    cols = ["BlockID", "MailStreamID", "IPAddress", "Domain", "BlockingMXIP", "Description", "BlockedSince", "NextRetry"]
    cols = [c.lower() for c in cols] if pg else cols
    table = "lyrmailstreamblockedips" if pg else "lyrMailStreamBlockedIPs"
    with lm_db.engine.begin() as conn:
        conn.execute(
            sa.text(
                f'insert into "{table}" ({", ".join(cols)}) values '
                "(292, 1, '192.0.2.11', 'gmail.com', '198.18.0.5', 'blocked-again', :s, :r)"
            ),
            {"s": core.now() + timedelta(minutes=15), "r": core.now() + timedelta(hours=1)},
        )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", *"blocked-again")
        await pilot.pause(0.4)
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause(0.5)
        await settle(pilot)
        assert list(app.table_of("ips").keys) == [292]
        text = app.query_one(DetailPanel)._shown.plain
        assert "History: Blocked 2 time(s), released 1 time(s) by lmtriage" in text
        assert "blocked again 15 min after it" in text
        assert "Re-blocked 15 min after the last release" in text
        assert "Release: after-fix" in text
