"""Child processes of the benchmark harness: each measures one thing in a fresh interpreter.

    python -m tests.benchmarks.probe bare
    python -m tests.benchmarks.probe floor DB_URL
    python -m tests.benchmarks.probe start DB_URL
    python -m tests.benchmarks.probe paging DB_URL PAGES
    python -m tests.benchmarks.probe refresh DB_URL CYCLES
    python -m tests.benchmarks.probe long-session DB_URL CYCLES

Each prints one JSON line. ``bare``, ``floor`` and ``start`` print ``{"painted": true, "at":
T}`` once the first screen (for ``floor``: one page of the domain-block table read with
SQLAlchemy; for ``start``: the console's first block rows) is drawn, T being the wall-clock
time the frame was composed, so the parent can time them from process launch to that frame,
interpreter start-up included on every side (and not the work the app does just after).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time


def _peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Not ru_maxrss: that survives exec and can
    report the parent's peak (the harness that just built a 3.8 GB database)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_kib() -> int:
    """This process's resident set now (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _print(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def _bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    drawn: list[float] = []

    class Hello(Static):
        def render(self):  # noqa: ANN202 - the moment the first frame is composed
            if not drawn:
                drawn.append(time.time())
            return super().render()

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Hello("hello")
            yield Footer()

    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        _print({"painted": True, "at": drawn[0]})


async def _floor(url: str) -> None:
    """The fair floor for the console's start: a bare Textual app that also imports
    SQLAlchemy, connects and shows one page (50 rows) of the same table the console's first
    pane shows, in the same order."""
    import threading

    import sqlalchemy as sa
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    drawn: list[float] = []
    rows: list[str] = []
    ready = threading.Event()

    def read() -> None:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            t = sa.Table("lyrMailStreamBlockedDomains", sa.MetaData(), autoload_with=conn)
            stmt = sa.select(t).order_by(t.c.Domain, t.c.BlockID).limit(50)
            rows.extend(" ".join(str(v) for v in r) for r in conn.execute(stmt))
        engine.dispose()
        ready.set()

    threading.Thread(target=read, daemon=True).start()

    class Page(Static):
        def render(self):  # noqa: ANN202 - the moment the rows are composed
            if rows and not drawn:
                drawn.append(time.time())
            return "\n".join(rows) or "loading"

    class Floor(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Page()
            yield Footer()

    app = Floor()
    async with app.run_test(size=(120, 40)) as pilot:
        while not ready.is_set():
            await asyncio.sleep(0.002)
        app.query_one(Page).refresh()
        while not drawn:
            await pilot.pause(0.002)
        _print({"painted": True, "at": drawn[0]})


async def _settle(pilot) -> None:  # noqa: ANN001
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _start(db: str) -> None:
    """The console's own path: parse the command line, open the database, run the app."""
    from pathlib import Path

    from tui.cli import build_parser
    from tui.commands.common import open_core
    from tui.db.audit import AuditStore
    from tui.ui.app import build_app

    args = build_parser().parse_args(["--db", db])
    core = open_core(args)
    core.__dict__["audit"] = AuditStore.at_path(Path("/tmp/lmtriage-bench-audit.sqlite"))
    app = build_app(core)
    async with app.run_test(size=(120, 40)):
        table = app.table_of("domains")
        while table.rows_drawn == 0:
            await asyncio.sleep(0.002)
        _print({"painted": True, "at": table.first_drawn_at, "rows": len(table.keys)})


async def _paging(db: str, pages: int) -> None:
    from pathlib import Path

    from tui.config import load_config
    from tui.core import open_core
    from tui.db.audit import AuditStore
    from tui.ui.app import build_app

    core = open_core(load_config(db=db, env={}))
    core.__dict__["audit"] = AuditStore.at_path(Path("/tmp/lmtriage-bench-audit.sqlite"))
    app = build_app(core)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("2")
        table = app.table_of("ips")
        while table.current_block is None:
            await pilot.pause(0.01)
        # Pilot.press waits for the screen to go idle (about 60 ms on its own), so the
        # action is called directly and the loop polls for the rows of the new screenful.
        times, evidence = [], []
        for _ in range(pages):
            start = time.perf_counter()
            table.action_page_down()
            while table.current_block is None or table.inflight:
                await asyncio.sleep(0.0005)
            await pilot.pause(0)
            times.append(time.perf_counter() - start)
            while table.evidence_inflight:
                await asyncio.sleep(0.0005)
            evidence.append(time.perf_counter() - start)
        rss_kib = _peak_rss_kib()
        _print(
            {
                "rows": len(table.keys),
                "pages": pages,
                "page_ms_median": sorted(times)[len(times) // 2] * 1000,
                "page_ms_p95": sorted(times)[int(len(times) * 0.95) - 1] * 1000,
                "page_ms_max": max(times) * 1000,
                "evidence_ms_median": sorted(evidence)[len(evidence) // 2] * 1000,
                "peak_rss_mb": rss_kib / 1024,
                "cached_rows": len(table.cache),
            }
        )


def _console(db: str, tmp: str, refresh_seconds: float):  # noqa: ANN202 - (Core, app)
    """The console on ``db`` with its auto-refresh interval set, the audit in ``tmp``."""
    import os
    from pathlib import Path

    from tui.config import load_config
    from tui.core import open_core
    from tui.db.audit import AuditStore
    from tui.ui.app import build_app

    config = Path(tmp) / "config.toml"
    config.write_text(f"[ui]\nrefresh_seconds = {refresh_seconds}\n")
    os.chmod(config, 0o600)
    core = open_core(load_config(db=db, config=str(config), env={}))
    core.__dict__["audit"] = AuditStore.at_path(Path(tmp) / "audit.sqlite")
    return core, build_app(core)


async def _long_session(db: str, cycles: int, warm_up: int = 50) -> None:
    """The console auto-refreshing as fast as it can: ``cycles`` RefreshDone handled after
    ``warm_up``; the resident set after the warm-up and at the end."""
    import gc
    import tempfile

    from tui.ui.messages import RefreshDone

    with tempfile.TemporaryDirectory() as tmp:
        core, app = _console(db, tmp, 0.001)
        handled = {"ok": 0, "failed": 0}

        def count(message: object) -> None:
            if isinstance(message, RefreshDone):
                handled["failed" if message.error else "ok"] += 1

        async with app.run_test(size=(120, 40), message_hook=count):
            while handled["ok"] < warm_up:
                await asyncio.sleep(0.01)
            gc.collect()
            start_kib, start, started = _rss_kib(), handled["ok"], time.perf_counter()
            while handled["ok"] < start + cycles:
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - started
            gc.collect()
            end_kib = _rss_kib()
            done = handled["ok"] - start
            rows = len(app.table_of("domains").keys) + len(app.table_of("ips").keys)
        core.close()
    _print(
        {
            "cycles": done,
            "seconds": seconds,
            "ms_per_cycle": seconds * 1000 / done,
            "failed": handled["failed"],
            "rss_start_mb": start_kib / 1024,
            "rss_end_mb": end_kib / 1024,
            "rss_growth_mb": (end_kib - start_kib) / 1024,
            "rows": rows,
        }
    )


async def _refresh(db: str, cycles: int, warm_up: int = 3) -> None:
    """Refresh cycles of an idle console on pane 1 (auto-refresh off, started by hand): from
    the start of a refresh to its keys applied and the rows on screen read again, rows and
    evidence. Nothing changes in the database meanwhile."""
    import tempfile

    from tui.ui.messages import RefreshDone

    with tempfile.TemporaryDirectory() as tmp:
        core, app = _console(db, tmp, 0)
        done = {"n": 0}

        def count(message: object) -> None:
            if isinstance(message, RefreshDone) and not message.error:
                done["n"] += 1

        times = []
        async with app.run_test(size=(120, 40), message_hook=count) as pilot:
            await _settle(pilot)
            tables = [app.table_of("domains"), app.table_of("ips")]
            for i in range(warm_up + cycles):
                before = done["n"]
                start = time.perf_counter()
                app.refresh_data()
                while done["n"] == before or app.refreshing:
                    await asyncio.sleep(0.0005)
                await pilot.pause(0)
                while any(t.inflight or t.evidence_inflight for t in tables):
                    await asyncio.sleep(0.0005)
                if i >= warm_up:
                    times.append(time.perf_counter() - start)
            rows = sum(len(t.keys) for t in tables)
        core.close()
    times.sort()
    _print(
        {
            "cycles": len(times),
            "rows": rows,
            "cycle_ms_median": times[len(times) // 2] * 1000,
            "cycle_ms_p95": times[max(int(len(times) * 0.95) - 1, 0)] * 1000,
        }
    )


def main(argv: list[str]) -> int:
    """Dispatch on the first argument."""
    what = argv[0]
    if what == "bare":
        asyncio.run(_bare())
    elif what == "floor":
        asyncio.run(_floor(argv[1]))
    elif what == "refresh":
        asyncio.run(_refresh(argv[1], int(argv[2])))
    elif what == "start":
        asyncio.run(_start(argv[1]))
    elif what == "paging":
        asyncio.run(_paging(argv[1], int(argv[2])))
    elif what == "long-session":
        asyncio.run(_long_session(argv[1], int(argv[2])))
    else:
        raise SystemExit(f"unknown probe {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
