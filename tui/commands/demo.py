"""``lmtriage demo``: write the demo database (the embedded default, or a file of your choice)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from tui.commands.common import add_common_options, add_format_option
from tui.commands.output import dumps, render_table
from tui.errors import LmError


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def register(subparsers: Any) -> None:
    """Add the ``demo`` parser."""
    p = subparsers.add_parser(
        "demo",
        help="write the demo database",
        description=(
            "Write a realistic demo ListManager database (SQLite): streams, blocks at real "
            "providers with the replies behind them, a week of delivery attempts. The same "
            "--seed and --now give the same database."
        ),
    )
    add_common_options(p)
    p.add_argument("--path", metavar="FILE", help="where to write it (default: the embedded demo)")
    p.add_argument(
        "--attempts",
        metavar="N",
        type=_positive,
        default=200_000,
        help="delivery attempts (default 200000)",
    )
    p.add_argument(
        "--blocks", metavar="N", type=_positive, default=400, help="IP-pair blocks (default 400)"
    )
    p.add_argument(
        "--domains",
        metavar="N",
        type=_positive,
        default=300,
        help="receiving domains (default 300)",
    )
    p.add_argument(
        "--streams", metavar="N", type=_positive, default=4, help="MailStreams, 1 to 8 (default 4)"
    )
    p.add_argument("--seed", metavar="S", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--now",
        metavar="ISO",
        help="the anchor time the data is built around (default: now, floored to the hour)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing demo database")
    add_format_option(p, choices=("table", "json"))
    p.set_defaults(run=run)


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise LmError(
            f"--now: {text!r} is not an ISO date and time like 2026-11-20T12:00:00"
        ) from None


def _target(args: argparse.Namespace) -> Path:
    if args.path:
        return Path(args.path).expanduser()
    from tui.config import load_config

    return load_config(config=getattr(args, "config", None)).resolved_demo_path()


def _progress_printer() -> Any:
    if not sys.stderr.isatty():
        return None
    shown = {"text": ""}

    def show(stage: str, fraction: float) -> None:
        text = f"\rbuilding demo database: {stage:<9} {fraction * 100:5.1f}%"
        if text != shown["text"]:
            sys.stderr.write(text)
            sys.stderr.flush()
            shown["text"] = text
        if stage == "done":
            sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def run(args: argparse.Namespace) -> int:
    """Build the database and print what is in it."""
    from tui.demo import build_demo_database, read_demo_info

    path = _target(args)
    now = _parse_now(args.now)
    if not 1 <= args.streams <= 8:
        raise LmError("--streams must be between 1 and 8")
    if args.domains < 1:
        raise LmError("--domains must be at least 1")
    if path.exists():
        if path.is_dir():
            raise LmError(f"{path} is a directory; give a file name with --path")
        if read_demo_info(path) is None:
            raise LmError(
                f"{path} exists and is not an lmtriage demo database; refusing to overwrite it"
            )
        if not args.force:
            raise LmError(f"{path} already holds a demo database; add --force to rebuild it")
    try:
        summary = build_demo_database(
            path,
            attempts=args.attempts,
            blocks=args.blocks,
            domains=args.domains,
            streams=args.streams,
            seed=args.seed,
            now=now,
            progress=_progress_printer(),
        )
    except OSError as err:
        raise LmError(f"cannot write {path}: {err.strerror or err}") from None
    if args.format == "json":
        sys.stdout.write(dumps(summary.to_json(), indent=2) + "\n")
        return 0
    rows = [{"table": name, "rows": f"{count:,}"} for name, count in sorted(summary.counts.items())]
    sys.stdout.write(render_table(rows, ["table", "rows"]) + "\n\n")
    causes = ", ".join(f"{k} {v}" for k, v in summary.blocks_by_cause.items())
    sys.stdout.write(f"IP blocks by cause: {causes}\n")
    sys.stdout.write(
        f"anchor time {summary.anchor_time.isoformat(sep=' ')}, seed {summary.seed}, "
        f"{summary.size_bytes / 1e6:.1f} MB in {summary.seconds:.1f} s\n"
    )
    sys.stdout.write(f"wrote {path}\n")
    return 0
