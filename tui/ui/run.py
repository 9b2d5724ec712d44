"""Start the console from parsed CLI arguments."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from tui.commands.common import open_core
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


def run_console(args: argparse.Namespace) -> int:
    """Open the database (errors are one line from the caller), then run the app."""
    core = open_core(args)
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
