"""Print command results as a table, JSON or CSV, with hostile text made harmless.

JSON is written with ``ensure_ascii`` so no raw control, bidi or invalid character reaches the
terminal; tables and CSV pass every cell through :func:`tui.textsafe.printable`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from tui.textsafe import printable

FORMATS = ("table", "json", "csv")


def json_default(value: Any) -> Any:
    """Serialise the values our records hold that json does not know."""
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    return str(value)


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON with every non-ASCII and control character escaped."""
    return json.dumps(value, default=json_default, ensure_ascii=True, indent=indent)


def cell_text(value: Any, max_chars: int | None) -> str:
    """One cell as printed in a table or CSV."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple | set | frozenset):
        return printable(", ".join(cell_text(v, None) for v in value), max_chars=max_chars)
    return printable(value, max_chars=max_chars)


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    headers: Sequence[str] | None = None,
    max_width: Mapping[str, int] | None = None,
) -> str:
    """A plain aligned text table; long cells are cut to the column's ``max_width``."""
    headers = list(headers or [c.upper() for c in columns])
    limits = dict(max_width or {})
    cells = []
    for row in rows:
        line = []
        for col in columns:
            text = cell_text(row.get(col), None if col not in limits else limits[col] * 4)
            limit = limits.get(col)
            if limit is not None and len(text) > limit:
                text = text[: max(limit - 1, 0)] + "…"
            line.append(text)
        cells.append(line)
    widths = [len(h) for h in headers]
    for line in cells:
        for i, text in enumerate(line):
            widths[i] = max(widths[i], len(text))
    out = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for line in cells:
        out.append("  ".join(t.ljust(widths[i]) for i, t in enumerate(line)).rstrip())
    return "\n".join(out)


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """CSV with a header row; cells are made printable but not cut."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell_text(row.get(c), None) for c in columns])


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: str,
    columns: Sequence[str],
    *,
    headers: Sequence[str] | None = None,
    max_width: Mapping[str, int] | None = None,
    json_value: Any = None,
    out: TextIO | None = None,
    empty_message: str | None = None,
) -> None:
    """Print ``rows`` in ``fmt``. JSON prints ``json_value`` when given, else the rows."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(dumps(json_value if json_value is not None else list(rows), indent=2) + "\n")
    elif fmt == "csv":
        write_csv(rows, columns, out)
    else:
        if not rows and empty_message:
            out.write(empty_message + "\n")
            return
        out.write(render_table(rows, columns, headers=headers, max_width=max_width) + "\n")
