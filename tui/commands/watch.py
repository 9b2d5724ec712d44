"""``lmtriage watch``: report blocks that appear or disappear, as lines, JSON, a command or a
webhook.

It polls every ``--interval`` (default 60s) until stopped (SIGTERM or Ctrl-C end it after the
current poll), or ``--count N`` times; ``--once`` is one poll, for cron. What it has seen is
kept in the state directory, so a restart reports what changed meanwhile; the first run only
takes a baseline (``--report-existing`` reports the blocks already there). ``--exec CMD`` runs
CMD (no shell) with the events as JSON on standard input; ``--webhook URL`` POSTs the same
JSON. An event whose delivery failed is reported again at the next poll.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tui.commands.common import add_common_options, add_stream_option, open_core
from tui.config import parse_duration
from tui.errors import LmError
from tui.ops.watch import (
    ExecSink,
    PollResult,
    PrintSink,
    Sink,
    Watch,
    WatchState,
    WebhookSink,
    check_exec,
    run_watch,
    state_path,
)
from tui.textsafe import printable

MIN_INTERVAL = 1.0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``watch`` parser."""
    p = sub.add_parser(
        "watch",
        help="report blocks that appear or disappear (lines, JSON, --exec, --webhook)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(p)
    add_stream_option(p, "only the blocks of this MailStream")
    p.add_argument(
        "--interval", metavar="DURATION", default="60s", help="time between polls (default 60s)"
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--count", type=int, metavar="N", help="stop after N polls")
    when.add_argument("--once", action="store_true", help="one poll (for cron)")
    p.add_argument("--exec", dest="exec_cmd", metavar="CMD", help="run CMD with the events as JSON on stdin")
    p.add_argument("--webhook", metavar="URL", help="POST the events as JSON to URL")
    p.add_argument("--state-dir", metavar="DIR", help="where to remember what was seen")
    p.add_argument(
        "--report-existing",
        action="store_true",
        help="on the first run, report the blocks already there instead of taking a baseline",
    )
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="what to print (default text)"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Open the database, then poll."""
    interval = parse_duration(args.interval, "--interval").total_seconds()
    if interval < MIN_INTERVAL:
        raise LmError(f"--interval {args.interval}: at least {MIN_INTERVAL:.0f}s", exit_code=2)
    sinks: list[Sink] = []
    if not args.quiet:
        sinks.append(PrintSink(args.format))
    if args.exec_cmd:
        sinks.append(ExecSink(check_exec(args.exec_cmd)))
    if args.webhook:
        sinks.append(WebhookSink(args.webhook))
    core = open_core(args)
    try:
        stream_id = None
        if args.stream:
            from tui.db.queries import find_stream

            with core.connect() as conn:
                stream_id = find_stream(core.schema, conn, args.stream).id
        path = state_path(Path(args.state_dir).expanduser() if args.state_dir else None, core, args.stream)
        state = WatchState.load(path)
        if state.warning:
            print(f"lmtriage: warning: {state.warning}", file=sys.stderr)
        watch = Watch(core, state, sinks, stream_id=stream_id, report_existing=args.report_existing)
        stop = threading.Event()
        previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        try:
            count = 1 if args.once else args.count
            return run_watch(
                watch,
                count=count,
                interval=interval,
                stop=stop,
                report=lambda result, error: _report(result, error, args.quiet),
            )
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, previous)
    finally:
        core.close()


def _report(result: PollResult | None, error: str | None, quiet: bool) -> None:
    if error is not None:
        print(f"lmtriage: error: poll failed: {printable(error, max_chars=400)}", file=sys.stderr)
        return
    assert result is not None
    if result.baseline and not quiet:
        print(
            f"lmtriage: watch: baseline of {result.blocks:,} block(s) taken; changes are "
            "reported from the next poll",
            file=sys.stderr,
        )
    if result.truncated:
        print(
            "lmtriage: warning: more blocks than a watch tracks; disappearances are not "
            "reported this poll",
            file=sys.stderr,
        )
    for err in result.errors:
        print(
            f"lmtriage: error: {printable(err, max_chars=400)} ({result.undelivered} event(s) "
            "will be reported again at the next poll)",
            file=sys.stderr,
        )
