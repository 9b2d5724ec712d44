"""``lmtriage demo``: write the demo database (the embedded default, a file, or a server)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from tui.commands.common import add_common_options, add_format_option
from tui.commands.output import dumps, render_table
from tui.errors import LmError

# The two scales the benchmarks use; S is the embedded demo.
SCALES: dict[str, dict[str, int]] = {
    "S": {"attempts": 200_000, "blocks": 400, "domains": 300, "streams": 4},
    "L": {"attempts": 10_000_000, "blocks": 100_000, "domains": 50_000, "streams": 8},
}


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
            "Write a realistic demo ListManager database: streams, blocks at real providers "
            "with the replies behind them, a week of delivery attempts. A SQLite file by "
            "default; with --db, loaded into a PostgreSQL or SQL Server database (bulk "
            "loaded; refused where ListManager tables that are not a demo exist). The same "
            "--seed and --now give the same database."
        ),
    )
    add_common_options(p)
    p.add_argument("--path", metavar="FILE", help="where to write it (default: the embedded demo)")
    p.add_argument(
        "--scale",
        choices=tuple(SCALES),
        default="S",
        help="S: 200,000 attempts, 400 IP blocks (default); L: 10,000,000 attempts, "
        "100,000 IP blocks, 50,000 domains, 8 streams",
    )
    p.add_argument(
        "--attempts", metavar="N", type=_positive, help="delivery attempts (default: the scale's)"
    )
    p.add_argument("--blocks", metavar="N", type=_positive, help="IP-pair blocks")
    p.add_argument("--domains", metavar="N", type=_positive, help="receiving domains")
    p.add_argument("--streams", metavar="N", type=_positive, help="MailStreams, 1 to 8")
    p.add_argument("--seed", metavar="S", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--now",
        metavar="ISO",
        help="the anchor time the data is built around (default: now, floored to the hour)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing demo database (never anything else)",
    )
    add_format_option(p, choices=("table", "json"), why_not="no CSV: a one-record summary")
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


def _sizes(args: argparse.Namespace) -> dict[str, int]:
    sizes = dict(SCALES[args.scale])
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    if not 1 <= sizes["streams"] <= 8:
        raise LmError("--streams must be between 1 and 8")
    if sizes["domains"] < 1:
        raise LmError("--domains must be at least 1")
    return sizes


def _server_url(args: argparse.Namespace) -> Any:
    """The --db URL parsed (password from the environment or config), or None without --db."""
    if getattr(args, "db", None) is None:
        return None
    from tui.config import load_config
    from tui.db.connect import parse_url

    config = load_config(db=args.db, config=getattr(args, "config", None))
    if args.path:
        raise LmError("give --path or --db, not both")
    return parse_url(config.db_url or "", config.db_password)


def run(args: argparse.Namespace) -> int:
    """Build the database and print what is in it."""
    sizes = _sizes(args)
    now = _parse_now(args.now)
    url = _server_url(args)
    if url is not None and url.get_backend_name() != "sqlite":
        from tui.demo.server import load_demo

        summary = load_demo(
            url, **sizes, seed=args.seed, now=now, force=args.force, progress=_progress_printer()
        )
        return _report(args, summary, str(summary.path))
    if url is not None:
        args.path = url.database
    from tui.demo import build_demo_database, read_demo_info

    path = _target(args)
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
            path, **sizes, seed=args.seed, now=now, progress=_progress_printer()
        )
    except OSError as err:
        raise LmError(f"cannot write {path}: {err.strerror or err}") from None
    return _report(args, summary, str(path))


def _report(args: argparse.Namespace, summary: Any, where: str) -> int:
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
    sys.stdout.write(f"wrote {where}\n")
    return 0
