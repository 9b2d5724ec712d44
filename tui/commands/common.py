"""Options shared by the subcommands, and the one place their values are read."""

from __future__ import annotations

import argparse
from datetime import timedelta

from tui.commands.output import FORMATS
from tui.db.records import BlockKey
from tui.errors import LmError


def add_common_options(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """``--db``, ``--config`` and ``--read-only``, accepted before or after the subcommand.

    On subparsers the defaults are suppressed so a value given before the subcommand is not
    overwritten by the subparser's default.
    """
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database URL (else $LMTRIAGE_DB, else the config file, else the demo database)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="config file (else $LMTRIAGE_CONFIG, else ~/.config/lmtriage/config.toml)",
    )
    parser.add_argument(
        "-p",
        "--profile",
        metavar="NAME",
        default=default,
        help="the server of [profiles.NAME] in the config file (instead of --db)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="never write to the database (release and undo are disabled)",
    )


def add_format_option(
    parser: argparse.ArgumentParser,
    choices: tuple[str, ...] = FORMATS,
    default: str = "table",
    *,
    why_not: str | None = None,
) -> None:
    """``--format`` with the given choices; ``why_not`` says in ``--help`` why a format of
    table/json/csv is missing."""
    text = f"output format (default {default})"
    if why_not:
        text += f"; {why_not}"
    parser.add_argument("--format", choices=choices, default=default, help=text)


def config_from_args(args: argparse.Namespace):  # noqa: ANN201 - Config
    """The configuration the arguments name (flags > environment > file); its warnings go
    to stderr once here."""
    import sys

    from tui.config import load_config

    config = load_config(
        db=getattr(args, "db", None),
        config=getattr(args, "config", None),
        read_only=bool(getattr(args, "read_only", False)),
        profile=getattr(args, "profile", None),
    )
    for warning in config.warnings:
        print(f"lmtriage: warning: {warning}", file=sys.stderr)
    return config


def open_core(  # noqa: ANN201 - Core
    args: argparse.Namespace,
    *,
    build_demo: bool = True,
    strict: bool = True,
    index_report: bool = False,
    config=None,  # noqa: ANN001 - a Config already read from these arguments
):
    """Open the database named by the arguments."""
    from tui.core import open_core as _open

    config = config if config is not None else config_from_args(args)
    return _open(config, build_demo=build_demo, strict=strict, index_report=index_report)


def add_stream_option(
    parser: argparse.ArgumentParser, help_text: str = "only this MailStream (name or id)"
) -> None:
    """``--stream NAME``."""
    parser.add_argument("--stream", metavar="NAME", help=help_text)


def add_window_option(parser: argparse.ArgumentParser) -> None:
    """``--window 7d`` (or ``--since 7d``, the same option): how far back attempts count
    (default: the config's [ui] window). One name across commands."""
    parser.add_argument(
        "--window",
        "--since",
        metavar="DURATION",
        dest="window",
        help="how far back to read attempts, e.g. 7d, 12h (default: config, 7d); --since is "
        "the same option",
    )


def window_of(args: argparse.Namespace, core) -> timedelta:  # noqa: ANN001
    """The evidence window from ``--window``/``--since`` or the config."""
    from tui.config import parse_window

    value = getattr(args, "window", None)
    return parse_window(value, "--since/--window") if value is not None else core.config.window


def confirm(question: str) -> bool:
    """Ask on the terminal; refuse (raise) when there is none."""
    import sys

    from tui.errors import LmError

    if not sys.stdin.isatty():
        raise LmError("refusing to write without --yes: there is no terminal to confirm on")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def block_key(text: str) -> BlockKey:
    """``ip:204`` / ``domain:101`` as a block key."""
    kind, _, number = text.strip().partition(":")
    if kind not in ("domain", "ip") or not number.isdigit() or not number.isascii():
        raise LmError(f"--block {text!r}: give KIND:ID, e.g. ip:204 or domain:101", exit_code=2)
    if len(number) > 19 or int(number) > MAX_BLOCK_ID:
        raise LmError(
            f"--block {text.strip()[:40]!r}: a block id is a number from 0 to {MAX_BLOCK_ID:,}",
            exit_code=2,
        )
    return BlockKey(kind, int(number))  # type: ignore[arg-type]


MAX_BLOCK_ID = 2**63 - 1
"""The largest BlockID any of the three databases can hold (a signed 64-bit integer)."""
