"""``d`` and ``k`` in the console: results fill the panel, stay per block, Esc cancels."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from tests.ui.conftest import FROZEN, settle
from tui.checks.dns_server import Behaviour, DnsServer
from tui.ui.app import build_app
from tui.ui.widgets.checks_panel import ChecksPanel


def row_of(app, pane: str, block_id: int) -> int:
    return app.table_of(pane).keys.index(block_id)


async def wait_for_run(pilot, run, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while run.running and time.monotonic() < deadline:
        await settle(pilot, rounds=1)
    await settle(pilot)


async def test_d_checks_the_block_under_the_cursor(demo_db: Path, make_core) -> None:
    engine = sa.create_engine(f"sqlite:///{demo_db}")
    with engine.connect() as conn:
        listed = conn.exec_driver_sql(
            "select BlockID from lyrMailStreamBlockedIPs where IPAddress = '198.51.100.13' order by BlockID limit 1"
        ).scalar()
    engine.dispose()
    app = build_app(make_core(f"sqlite:///{demo_db}"), clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        table.move_cursor(row_of(app, "ips", listed))
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot, rounds=1)
        run = app.check_runs[("block", table.current_key)]
        await wait_for_run(pilot, run)
        assert not run.running and not run.cancelled and run.error is None
        fails = {(r.check, r.details.get("zone")) for r in run.results if r.status == "fail"}
        assert ("dnsbl", "zen.spamhaus.org") in fails
        panel = app.query_one(ChecksPanel)
        assert panel.run is run and panel.display
        shown = str(panel.query_one("#checks-text").render())
        assert "zen.spamhaus.org" in shown and "✗" in shown
        # Move away and back: the results are still there; Esc hides the panel.
        await pilot.press("down")
        await settle(pilot)
        assert panel.run is None
        await pilot.press("up")
        await settle(pilot)
        assert panel.run is run
        await pilot.press("escape")
        assert panel.run is None and ("block", table.current_key) in app.check_runs


async def test_k_checks_the_streams_sending_domains(demo_db: Path, make_core) -> None:
    app = build_app(make_core(f"sqlite:///{demo_db}"), clock=lambda: FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        names = [s.name for s in app.streams]
        await pilot.press(*["down"] * (names.index("transactional") + 1), "enter")
        await settle(pilot)
        assert app.stream.name == "transactional"
        await pilot.press("k")
        await settle(pilot, rounds=1)
        run = app.check_runs[("stream", app.stream.id)]
        await wait_for_run(pilot, run)
        by_check = {(r.check, r.status) for r in run.results}
        assert ("dkim-key-match", "fail") in by_check
        assert {r.subject for r in run.results if r.check == "dmarc"} == {"tx.example.org"}


async def test_escape_cancels_a_running_check(sqlite_db, make_core, tmp_path: Path) -> None:
    server = DnsServer([], default=Behaviour(drop=True))
    port = server.start_in_thread()
    config = tmp_path / "drop.toml"
    config.write_text(
        sqlite_db.config.read_text()
        + f'\n[checks]\nnameservers = ["127.0.0.1:{port}"]\ntimeout = 30\n'
    )
    config.chmod(0o600)
    try:
        app = build_app(make_core(sqlite_db.url, config), clock=lambda: FROZEN)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("d")
            await pilot.pause(0.5)
            run = next(iter(app.check_runs.values()))
            assert run.running and run.pending
            started = time.monotonic()
            await pilot.press("escape")
            await wait_for_run(pilot, run, timeout=10)
            assert run.cancelled and not run.running
            assert time.monotonic() - started < 5
    finally:
        server.stop_thread()
