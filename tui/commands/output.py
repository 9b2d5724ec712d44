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

from tui.textsafe import cut_to_width, display_width, printable

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


def _width(text: str) -> int:
    return display_width(text)


def _cut(text: str, limit: int) -> str:
    return cut_to_width(text, limit)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


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
            if limit is not None:
                text = _cut(text, limit)
            line.append(text)
        cells.append(line)
    widths = [_width(h) for h in headers]
    for line in cells:
        for i, text in enumerate(line):
            widths[i] = max(widths[i], _width(text))
    out = ["  ".join(_pad(h, widths[i]) for i, h in enumerate(headers)).rstrip()]
    for line in cells:
        out.append("  ".join(_pad(t, widths[i]) for i, t in enumerate(line)).rstrip())
    return "\n".join(out)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> str:
    """A CSV cell: printable, and a text cell a spreadsheet would run as a formula is
    prefixed with ``'`` (numbers stay numbers)."""
    text = cell_text(value, None)
    if isinstance(value, str | bytes) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """CSV with a header row; cells are made printable and formula-safe, not cut."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])


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
    csv_columns: Sequence[str] | None = None,
) -> None:
    """Print ``rows`` in ``fmt``. JSON prints ``json_value`` when given, else the rows; CSV
    has ``csv_columns`` when given (it may carry more than a terminal's width)."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(dumps(json_value if json_value is not None else list(rows), indent=2) + "\n")
    elif fmt == "csv":
        write_csv(rows, csv_columns or columns, out)
    else:
        if not rows and empty_message:
            out.write(empty_message + "\n")
            return
        out.write(render_table(rows, columns, headers=headers, max_width=max_width) + "\n")
