"""A long session: the console auto-refreshing 1,000 times must not grow its memory.

``[ui] refresh_seconds`` is set tiny, so the timer re-arms as soon as a refresh is applied;
the test counts the RefreshDone messages the app handles and reads the process's resident
set (/proc/self/status VmRSS) after a warm-up of 50 cycles and at the end.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from tests.faults.conftest import SIZE, pilot_wait, write_config
from tests.support import handmade
from tests.ui.conftest import settle
from tui.ui.messages import RefreshDone

WARM_UP = 50
CYCLES = 1_000
GROWTH_LIMIT_MB = 20.0


def rss_mb() -> float:
    """This process's resident set now."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
async def test_thousand_auto_refreshes_hold_memory(sqlite_db, make_app, tmp_path: Path) -> None:
    sqlite_db.config = write_config(sqlite_db, tmp_path, "[ui]\nrefresh_seconds = 0.001\n")
    app = make_app(sqlite_db)
    assert app.core.config.refresh_seconds == 0.001
    handled = {"ok": 0, "failed": 0}

    def count(message: object) -> None:
        if isinstance(message, RefreshDone):
            handled["failed" if message.error else "ok"] += 1

    async with app.run_test(size=SIZE, message_hook=count) as pilot:
        await pilot_wait(pilot, lambda: handled["ok"] >= WARM_UP, timeout=60, what="the warm-up")
        gc.collect()
        start_rss, start_count, started = rss_mb(), handled["ok"], time.monotonic()
        await pilot_wait(
            pilot,
            lambda: handled["ok"] >= start_count + CYCLES,
            timeout=120,
            what=f"{CYCLES} refreshes",
        )
        seconds = time.monotonic() - started
        gc.collect()
        growth = rss_mb() - start_rss
        await pilot.press("p")  # pause, so the panes hold still for the last checks
        await settle(pilot)
        assert handled["failed"] == 0 and app.failures == 0
        assert app.refresh_number >= start_count + CYCLES
        assert sorted(app.table_of("domains").keys) == sorted(b[0] for b in handmade.DOMAIN_BLOCKS)
        assert app.table_of("domains").current_block is not None
        assert len(app.workers) < 10 and len(app.advice_cache) <= 256
        assert app.is_running
    print(f"\n{CYCLES} refresh cycles in {seconds:.1f} s; RSS growth {growth:+.1f} MB")
    assert growth < GROWTH_LIMIT_MB, f"RSS grew {growth:.1f} MB over {CYCLES} refreshes"
