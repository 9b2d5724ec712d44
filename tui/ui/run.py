"""Start the console from parsed CLI arguments."""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import open_core


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
    from tui.ui.app import build_app

    app = build_app(core)
    try:
        code = app.run()
    finally:
        core.close()
    return int(code or 0)
