"""SVG snapshots of the console on the demo database, at 80×24 and 120×40, frozen clock.

The demo database is built with a fixed seed and clock, the header's clock is frozen and the
database path is shown as a fixed string, so the pictures change only when the app does.
Update them with ``python -m pytest tests/snapshots --snapshot-update`` and look at the
report before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import FROZEN, settle
from tui.ui.app import build_app


@pytest.fixture
def demo_app(demo_db: Path, make_core):
    core = make_core(f"sqlite:///{demo_db}")
    core.display_url = "DEMO (~/.local/share/lmtriage/demo.sqlite)"
    return build_app(core, clock=lambda: FROZEN)


def keys_then_settle(*keys: str):
    async def run_before(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        for key in (*keys, None):
            if key is not None:
                await pilot.press(key)
                await settle(pilot)
            await pilot.pause(0.4)  # the cursor rests after every key: its block is diagnosed
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_blocked_domains(snap_compare, demo_app, size) -> None:
    assert snap_compare(demo_app, terminal_size=size, run_before=keys_then_settle())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_blocked_ips(snap_compare, demo_app, size) -> None:
    assert snap_compare(demo_app, terminal_size=size, run_before=keys_then_settle("2"))


def test_dashboard(snap_compare, demo_app) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=keys_then_settle("3"))


def test_drill_down(snap_compare, demo_app) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 40), run_before=keys_then_settle("enter"))
