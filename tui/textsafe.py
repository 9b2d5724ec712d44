"""Make hostile text (SMTP replies, database strings) safe to show literally.

Text from mail and from the database may hold ANSI/OSC escape sequences, NULs, lone
surrogates from invalid UTF-8, right-to-left overrides or megabytes of data. Everything that
prints such text (CLI tables, CSV, the console) passes it through :func:`printable` first, so
control characters become visible ``\\xNN`` escapes instead of acting on the terminal. Markup
is a separate concern: the console wraps the result in ``rich.text.Text``.
"""

from __future__ import annotations

import re

# Every format character (Unicode category Cf, as of Unicode 14.0: soft hyphen, Arabic letter
# mark U+061C, zero-width and bidi controls, word joiners, the BOM, interlinear annotation
# marks, tag characters U+E0000-E007F …): they hide or reorder text. The test suite checks this
# list against the running Python's unicodedata, so a newer Unicode is noticed.
FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
# Invisible characters that are not Cf: the combining grapheme joiner, Hangul fillers,
# Mongolian free variation selectors; and the line/paragraph separators.
INVISIBLE_CHARS = "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\uffa0\u2028\u2029"
# C0 controls, DEL, C1 controls, format and invisible characters, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + FORMAT_CHARS + INVISIBLE_CHARS + "\ud800-\udfff]"
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
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


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


def char_width(ch: str) -> int:
    """Terminal columns one character takes: 0 for combining marks, 2 for wide (CJK) and
    emoji characters, else 1."""
    import unicodedata

    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (see :func:`char_width`)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def cut_to_width(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` terminal columns, with an ellipsis when cut."""
    if display_width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > max(limit - 1, 0):
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"
