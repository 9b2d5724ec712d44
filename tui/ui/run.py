"""Start the console from parsed CLI arguments."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from tui.commands.common import config_from_args, open_core
from tui.config import Config, load_config
from tui.core import Core
from tui.core import open_core as open_config_core


def open_profile_core(config: Config, name: str, *, read_only: bool = False) -> Core:
    """A core on ``[profiles.NAME]`` of the same config file (``P`` in the console)."""
    new = load_config(
        config=str(config.config_path) if config.config_path else None,
        read_only=read_only,
        profile=name,
    )
    return open_config_core(new)


def console_loop(
    core: Core,
    open_profile: Callable[[str], Core],
    run_app: Callable[[Any], Any] | None = None,
) -> int:
    """Run the console on ``core``; when ``P`` opened another profile, run it again on that
    one. Each core is closed when its console ends."""
    from tui.ui.app import build_app

    while True:
        app = build_app(core, open_profile=open_profile)
        try:
            code = run_app(app) if run_app is not None else app.run()
        finally:
            core.close()
        if app.next_core is None:
            return int(code or 0)
        core = app.next_core


def _build_demo_with_progress(config: Config) -> None:
    """First run on the demo: build it now, saying so on the terminal (it takes seconds, and
    a blank screen meanwhile looks like a hang)."""
    from tui.demo import GENERATOR_VERSION
    from tui.demo.build import ensure_demo_database, read_demo_info

    path = config.resolved_demo_path()
    if path.exists() and (read_demo_info(path) or {}).get("version") == GENERATOR_VERSION:
        return
    shown = {"last": -1}

    def progress(stage: str, fraction: float) -> None:
        percent = int(fraction * 100)
        if percent != shown["last"]:
            shown["last"] = percent
            sys.stderr.write(
                f"\rlmtriage: building the demo database (first run): {percent:3d}% {stage:<12}"
            )
            sys.stderr.flush()

    sys.stderr.write(f"lmtriage: building the demo database at {path} (first run, a few seconds)\n")
    ensure_demo_database(path, progress=progress)
    sys.stderr.write("\n")


def run_console(args: argparse.Namespace) -> int:
    """Open the database (errors are one line from the caller), then run the app."""
    config = config_from_args(args)
    if config.db_url is None and sys.stderr.isatty():
        _build_demo_with_progress(config)
    core = open_core(args, config=config)
    if not sys.stdout.isatty():
        print(
            "lmtriage: the console needs a terminal; use a subcommand (lmtriage --help) for scripts",
            file=sys.stderr,
        )
        core.close()
        return 2

    def open_profile(name: str) -> Core:
        return open_profile_core(
            core.config, name, read_only=bool(getattr(args, "read_only", False))
        )

    return console_loop(core, open_profile)
