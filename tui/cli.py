"""The ``lmtriage`` command: the console by default, or a headless subcommand.

Every failure the user can act on is an :class:`~tui.errors.LmError`; it is printed as one line
on stderr with a nonzero exit status. Nothing else escapes as a traceback unless
``LMTRIAGE_DEBUG`` is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from tui import __version__
from tui.commands import COMMAND_MODULES
from tui.commands.common import add_common_options
from tui.commands.validate import subparser_of, validate_args
from tui.errors import LmError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="lmtriage",
        description="Find out why a ListManager MailStream is blocked, and fix it.",
    )
    parser.add_argument("--version", action="version", version=f"lmtriage {__version__}")
    add_common_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    for command in sub.choices.values():
        _plain_help(command)
    return parser


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """Help is for people on a terminal: no reStructuredText ``literal`` markers (the
    command descriptions are the modules' docstrings)."""

    def plain(text: str | None) -> str | None:
        # reST in docstrings: ``code`` and *emphasis* read as plain words in a terminal.
        if text is None:
            return None
        return _EMPHASIS.sub(r"\1", text.replace("``", ""))

    parser.description = plain(parser.description)
    parser.epilog = plain(parser.epilog)
    for action in parser._actions:  # noqa: SLF001 - argparse keeps no public list
        if isinstance(action.help, str):
            action.help = plain(action.help)


_EMPHASIS = re.compile(r"(?<![\w*])\*([A-Za-z][^*\n]{0,60}?)\*(?![\w*])")


def run_console(args: argparse.Namespace) -> int:
    """Open the Textual console (imported lazily: the CLI must not need a terminal)."""
    from tui.ui.run import run_console as _run

    return _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, and turn known failures into one line on stderr."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse would print the top-level usage; the subcommand's is the useful one.
        subparser_of(parser, getattr(args, "command", None)).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    run = getattr(args, "run", None) or run_console
    try:
        validate_args(parser, args)
        return int(run(args) or 0)
    except LmError as err:
        print(f"lmtriage: error: {err}", file=sys.stderr)
        on_error = getattr(args, "on_error", None)  # e.g. status: Nagios wants exit 3
        return on_error(str(err)) if on_error else err.exit_code
    except KeyboardInterrupt:
        print("lmtriage: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except Exception as err:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("LMTRIAGE_DEBUG"):
            raise
        from tui.db.errors import describe_exception

        print(f"lmtriage: error: {describe_exception(err)}", file=sys.stderr)
        on_error = getattr(args, "on_error", None)
        return on_error(describe_exception(err)) if on_error else 2


if __name__ == "__main__":
    raise SystemExit(main())
