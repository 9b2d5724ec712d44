"""100,000 blocked IP pairs: the pane pages rows from SQL by key and stays responsive."""

from __future__ import annotations

from datetime import timedelta

from tests.ui.conftest import settle
from tui.ui.widgets.block_table import CACHE_ROWS, PAGE_ROWS

N = 100_000


async def test_hundred_thousand_rows_are_virtual(sqlite_db, make_app) -> None:
    now = sqlite_db.now
    rows = [
        (
            1_000_000 + i,
            1 + i % 3,
            f"192.0.2.{i % 250}",
            f"d{i:06d}.example",
            f"198.18.{i % 200}.{i % 250}",
            "bulk",
            now - timedelta(hours=1),
            now + timedelta(hours=1),
        )
        for i in range(N)
    ]
    raw = sqlite_db.engine.raw_connection()
    raw.executemany(
        "insert into lyrMailStreamBlockedIPs (BlockID, MailStreamID, IPAddress, Domain, BlockingMXIP, Description, BlockedSince, NextRetry) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (a, b, c, d, e, f, g.isoformat(sep=" "), h.isoformat(sep=" "))
            for a, b, c, d, e, f, g, h in rows
        ],
    )
    raw.commit()
    raw.close()
    app = make_app(sqlite_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.table_of("ips")
        assert len(table.keys) == N + 6
        assert len(table.cache) <= 2 * PAGE_ROWS  # only what is on screen was fetched
        await pilot.press("G")
        await settle(pilot)
        assert table.cursor_row == N + 5 and table.current_block is not None
        for _ in range(20):
            await pilot.press("pageup")
        await settle(pilot)
        assert table.current_block is not None
        assert len(table.cache) <= CACHE_ROWS
        await pilot.press("a")  # mark every row the filter shows (read in a worker)
        await settle(pilot)
        assert len(table.marks) == N + 6
        await pilot.press("U")
        assert not table.marks
