"""Small text and time helpers of the advice: outside text made safe to show, times and
durations in words, template filling, lists joined in words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from tui.textsafe import printable

_LINE_SEPARATORS = re.compile("[\u2028\u2029]")


# --------------------------------------------------------------------------- small helpers


def _safe(value: object, limit: int = 200) -> str:
    """One line of outside text, safe to show or mail; cut at ``limit`` characters."""
    text = printable(value, max_chars=limit, one_line=True)
    return _LINE_SEPARATORS.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _hours_between(later: datetime, earlier: datetime) -> float | None:
    try:
        return (later - earlier).total_seconds() / 3600.0
    except (TypeError, OverflowError):
        return None


def _plus_hours(when: datetime | None, hours: float) -> datetime | None:
    if when is None:
        return None
    try:
        return when + timedelta(hours=hours)
    except OverflowError:
        return None


def _after(a: datetime, b: datetime) -> bool | None:
    try:
        return a > b
    except TypeError:
        return None


def fmt_time(when: datetime | None) -> str:
    """``2024-05-03 09:12`` (with the zone when the time has one); ``?`` when unknown."""
    if when is None:
        return "?"
    text = f"{when.year:04d}-{when.month:02d}-{when.day:02d} {when.hour:02d}:{when.minute:02d}"
    if when.tzinfo is not None:
        name = when.tzname()
        if name:
            text += f" {_safe(name, 20)}"
    return text


def _hours_text(hours: float) -> str:
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    whole = round(hours)
    return f"{whole} hour{'s' if whole != 1 else ''}" if whole == hours else f"{hours:g} hours"


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


class _Fill(dict[str, str]):
    """Template values; an unknown name becomes empty rather than raising."""

    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, values: _Fill) -> str:
    try:
        return template.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return template


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + " and " + items[-1]
