"""``lmtriage classify``: classify SMTP replies, one a line, read from a file or stdin.

Each reply gets a category (why it was refused), the receiving provider, its status codes, the
blocklist it cites, its URLs and IPs, and a signature that groups replies differing only in
IPs, IDs and times. ``--format json`` prints one JSON object per input line (JSON Lines).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tui.commands.common import add_common_options, add_format_option
from tui.commands.output import dumps, emit
from tui.errors import LmError

if TYPE_CHECKING:  # the classifier compiles its rules on import: only when classifying
    from tui.diagnose.listmanager_view import DaoMatcher

FORMATS = ("table", "json")
JSON_FIELDS = (
    "text",
    "category",
    "provider",
    "enhanced_code",
    "provider_code",
    "blocklist",
    "urls",
    "ips",
    "signature",
)
"""The fields of each JSON line (plus ``listmanager_status`` when a DaoMatcher is given)."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``classify`` parser."""
    p = sub.add_parser(
        "classify",
        help="classify SMTP replies, one a line, from a file or stdin",
        description=__doc__,
    )
    add_common_options(p)
    p.add_argument(
        "--file",
        metavar="FILE",
        help="read the replies from FILE, one a line (default: stdin; '-' also means stdin)",
    )
    add_format_option(p, FORMATS, why_not="no CSV: JSON Lines keeps each reply's lists (URLs, IPs)")
    p.set_defaults(run=run)


def read_lines(stream: IO[bytes] | IO[str]) -> Iterator[str]:
    """Lines of a byte (or text) stream as text: invalid UTF-8 is replaced, never fatal."""
    for raw in stream:
        if isinstance(raw, bytes):
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
        else:
            yield raw.rstrip("\r\n")


def classify_lines(
    lines: Iterable[str], matcher: DaoMatcher | None = None
) -> Iterator[dict[str, Any]]:
    """One record per non-blank line: :data:`JSON_FIELDS`, plus ``listmanager_status``
    (``{"code": …, "label": …}`` or None) when ``matcher`` is given."""
    from tui.diagnose.classify import classify

    for line in lines:
        if not line.strip():
            continue
        result = classify(line)
        record = {field: getattr(result, field) for field in JSON_FIELDS}
        record["urls"] = list(result.urls)
        record["ips"] = list(result.ips)
        if matcher is not None:
            status = matcher.match(line, result.smtp_code)
            record["listmanager_status"] = (
                None if status is None else {"code": status[0], "label": status[1]}
            )
        yield record


def _open_input(args: argparse.Namespace) -> tuple[IO[bytes] | IO[str], bool]:
    """The input stream and whether we opened it (and so must close it)."""
    name = getattr(args, "file", None)
    if name is None or name == "-":
        return getattr(sys.stdin, "buffer", sys.stdin), False
    try:
        return Path(name).open("rb"), True
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise LmError(f"cannot read {name}: {reason}") from err


def _codes(record: dict[str, Any]) -> str:
    from tui.diagnose.classify import smtp_code_of

    code = smtp_code_of(record["text"])
    parts = [str(code) if code else None, record["enhanced_code"], record["provider_code"]]
    return " ".join(p for p in parts if p)


def matcher_from_database(args: argparse.Namespace) -> DaoMatcher | None:
    """With ``--db``: ListManager's own patterns and labels, to show its view beside ours."""
    from tui.diagnose.listmanager_view import DaoMatcher

    if not getattr(args, "db", None):
        return None
    from tui.commands.common import open_core
    from tui.db.queries import dao_definitions, status_labels
    from tui.diagnose.listmanager_view import DaoDefinition

    core = open_core(args)
    try:
        if not core.schema.feature("listmanager_classification"):
            print(
                "lmtriage: warning: no ListManager classification: lyrDAODefinitions or "
                "lyrLookupCompletionStatus is missing",
                file=sys.stderr,
            )
            return None
        with core.connect() as conn:
            rows = dao_definitions(core.schema, conn)
            labels = status_labels(core.schema, conn)
    finally:
        core.close()
    return DaoMatcher([DaoDefinition.from_row(r) for r in rows], labels)


def run(args: argparse.Namespace, matcher: DaoMatcher | None = None) -> int:
    """Classify every line of the input and print the records."""
    if matcher is None:
        matcher = matcher_from_database(args)
    stream, opened = _open_input(args)
    out = sys.stdout
    try:
        try:
            records = classify_lines(read_lines(stream), matcher)
            if args.format == "json":
                for record in records:
                    out.write(dumps(record) + "\n")
                out.flush()
                return 0
            rows = []
            for record in records:
                row = dict(record)
                row["codes"] = _codes(record)
                if matcher is not None:
                    status = record.get("listmanager_status")
                    row["lm_status"] = f"{status['code']} {status['label']}" if status else ""
                rows.append(row)
        except OSError as err:
            name = getattr(args, "file", None) or "stdin"
            raise LmError(f"cannot read {name}: {err.strerror or type(err).__name__}") from err
    finally:
        if opened:
            stream.close()
    columns = ["category", "provider", "codes", "blocklist", "text"]
    headers = ["CATEGORY", "PROVIDER", "CODES", "BLOCKLIST", "REPLY"]
    if matcher is not None:
        columns.insert(3, "lm_status")
        headers.insert(3, "LISTMANAGER")
    emit(
        rows,
        "table",
        columns,
        headers=headers,
        max_width={"codes": 32, "blocklist": 28, "lm_status": 30, "text": 90},
        empty_message="no replies to classify",
        out=out,
    )
    return 0
