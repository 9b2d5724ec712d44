"""Regenerate ``screenshots/`` from a freshly built demo database.

    python -m tui.ui.screenshots [--out screenshots] [--size 120x40]

Builds the demo database with a fixed seed and clock (so the pictures only change when the app
does), drives the real console with Pilot like a user would, and saves an SVG per view with
Textual's own exporter; a PNG beside each when cairosvg is installed (``pip install -e
'.[screenshots]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditStore
from tui.ui.app import LmTriageApp, build_app

DEMO_NOW = datetime(2026, 11, 23, 9, 0, 0)
DEMO_SEED = 7
FROZEN_CLOCK = datetime(2026, 11, 23, 9, 0, 0)

Step = Callable[[object], Awaitable[None]]


async def _settle(pilot, rounds: int = 4) -> None:
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def _shoot(
    app: LmTriageApp, size: tuple[int, int], shots: list[tuple[str, list[str]]], out: Path
) -> list[Path]:
    """Press the keys of each shot in turn and save the screen after it."""
    written = []
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        for name, keys in shots:
            for key in keys:
                await pilot.press(key)
                await _settle(pilot, rounds=2)
            await pilot.pause(0.4)  # the cursor rests: the block is diagnosed
            await _settle(pilot)
            path = out / f"{name}.svg"
            app.save_screenshot(str(path))
            written.append(path)
    return written


def _to_png(svgs: list[Path]) -> list[Path]:
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        return []
    pngs = []
    for svg in svgs:
        png = svg.with_suffix(".png")
        cairosvg.svg2png(url=str(svg), write_to=str(png), output_width=1600)
        pngs.append(png)
    return pngs


SHOTS_WIDE: list[tuple[str, list[str]]] = [
    ("01-blocked-domains", []),
    ("02-blocked-ips", ["2"]),
    ("03-dashboard", ["3"]),
    ("04-drill-down", ["1", "enter"]),
    ("05-raw-samples", ["enter"]),
    ("06-release-dialog", ["escape", "escape", "2", "space", "space", "space", "r"]),
    ("07-help", ["n", "question_mark"]),
    ("08-dns-checks", ["escape", "U", "d"]),
    ("09-connection-limit", ["escape", "c"]),
    ("10-allowlist-request", ["escape", "w"]),
    ("13-release-domain-dialog", ["escape", "1", "g", "r"]),
    ("14-audit-history", ["y", "H"]),
]
SHOTS_SMALL: list[tuple[str, list[str]]] = [
    ("11-blocked-domains-80x24", []),
    ("12-blocked-ips-80x24", ["2"]),
    ("15-drill-down-80x24", ["1", "enter"]),
]


def build(out: Path, wide: tuple[int, int] = (120, 40)) -> list[Path]:
    """Build the demo, shoot every view, return the files written."""
    from tui.demo import build_demo_database

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        build_demo_database(db, seed=DEMO_SEED, now=DEMO_NOW)
        written: list[Path] = []
        # The small views first: the wide run releases a block (for the audit history view).
        for size, shots in (((80, 24), SHOTS_SMALL), (wide, SHOTS_WIDE)):
            core = open_core(load_config(db=f"sqlite:///{db}", env={}))
            core.__dict__["audit"] = AuditStore.at_path(Path(tmp) / "audit.sqlite")
            core.display_url = "DEMO (~/.local/share/lmtriage/demo.sqlite)"
            app = build_app(core, clock=lambda: FROZEN_CLOCK)
            written += asyncio.run(_shoot(app, size, shots, out))
            core.close()
    return written + _to_png(written)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: ``python -m tui.ui.screenshots``."""
    parser = argparse.ArgumentParser(prog="python -m tui.ui.screenshots", description=__doc__)
    parser.add_argument("--out", default="screenshots", type=Path)
    parser.add_argument("--size", default="120x40", help="the wide size, COLSxROWS")
    args = parser.parse_args(argv)
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    for path in build(args.out, (cols, rows)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
