"""Make hostile text (SMTP replies, database strings) safe to show literally.

Text from mail and from the database may hold ANSI/OSC escape sequences, NULs, lone
surrogates from invalid UTF-8, right-to-left overrides or megabytes of data. Everything that
prints such text (CLI tables, CSV, the console) passes it through :func:`printable` first, so
control characters become visible ``\\xNN`` escapes instead of acting on the terminal. Markup
is a separate concern: the console wraps the result in ``rich.text.Text``.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the bidi/format controls that reorder or hide text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ud800-\udfff]"
)
_NEWLINES = re.compile("[\r\n\t\u2028\u2029\x85\x0b\x0c\x1c-\x1e]")

DEFAULT_MAX_CHARS = 4000


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by "surrogateescape"
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def coerce_text(value: object) -> str:
    """Turn any database value (bytes included) into ``str`` without raising."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def printable(
    value: object, *, max_chars: int | None = DEFAULT_MAX_CHARS, one_line: bool = True
) -> str:
    """Return ``value`` as text that shows literally on a terminal.

    Control characters become ``\\xNN``; with ``one_line`` newlines and tabs become spaces;
    text longer than ``max_chars`` is cut with a note of how much was left out.
    """
    text = coerce_text(value)
    extra = 0
    if max_chars is not None and len(text) > max_chars:
        extra = len(text) - max_chars
        text = text[:max_chars]
    if one_line:
        text = _NEWLINES.sub(" ", text)
    text = _UNSAFE.sub(_escape, text)
    if extra:
        text += f"… [{extra:,} more characters]"
    return text
