"""Checks every subcommand's parsed arguments get before anything connects.

An empty or blank value is never "no filter": ``--domain ""`` once released every block on a
server. Every text option given with a blank value, and every number outside its sane range,
is refused here in one line with exit status 2, before the database is opened.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass

from tui.errors import LmError

# Options whose value may legitimately be empty (none today; kept as the explicit exception list).
BLANK_ALLOWED: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Range:
    """The sane range of an integer option of one command."""

    low: int
    high: int
    what: str


# (command, dest) -> range. ``--limit`` means "at most N rows in total" wherever it appears.
INT_RANGES: dict[tuple[str, str], Range] = {
    ("blocks", "limit"): Range(1, 1_000_000, "blocks"),
    ("responses", "limit"): Range(1, 100_000, "reply groups"),
    ("explain", "limit"): Range(1, 10_000, "blocks"),
    ("audit", "limit"): Range(1, 100_000, "events"),
    ("audit", "before"): Range(1, 2**31 - 1, "an audit event id"),
    ("audit", "event"): Range(1, 2**31 - 1, "an audit event id"),
    ("audit", "undo"): Range(1, 2**31 - 1, "an audit event id"),
    ("dcl", "limit"): Range(1, 1000, "connections per MX"),
    ("dcl", "per_hour"): Range(1, 10_000_000, "connections an hour"),
    ("dcl", "per_connection"): Range(1, 100_000, "messages per connection"),
    ("watch", "count"): Range(1, 100_000_000, "polls"),
    ("report", "limit"): Range(1, 500, "blocks diagnosed"),
}


# Options with two names: an error names both, whichever was typed.
def _flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """dest -> the option strings people type: the long ones, ``--window/--since`` for an
    option with two names (an error names both, whichever was typed)."""
    names: dict[str, str] = {}
    for action in parser._actions:  # noqa: SLF001 - argparse keeps no public list
        if not action.option_strings:
            continue
        longs = [o for o in action.option_strings if o.startswith("--")]
        names.setdefault(action.dest, "/".join(longs) or action.option_strings[0])
    return names


def _values(value: object) -> Iterable[object]:
    if isinstance(value, list | tuple):
        return value
    return (value,)


def subparser_of(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The subcommand's own parser (or the top-level one)."""
    if command:
        for action in parser._actions:  # noqa: SLF001
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                found = action.choices.get(command)
                if found is not None:
                    return found
    return parser


def validate_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Raise :class:`LmError` (exit 2) for a blank text value or an out-of-range number."""
    command = getattr(args, "command", None)
    flags = _flag_names(parser)
    flags.update(_flag_names(subparser_of(parser, command)))
    for dest, value in sorted(vars(args).items()):
        if dest in ("command", "run") or dest in BLANK_ALLOWED or dest not in flags:
            continue
        for item in _values(value):
            if isinstance(item, str) and not item.strip():
                raise LmError(
                    f"{flags[dest]} was given an empty value; give a value or leave the option "
                    "out (an empty value never means 'everything')",
                    exit_code=2,
                )
        rule = INT_RANGES.get((command or "", dest))
        if rule is None:
            continue
        for item in _values(value):
            if (
                isinstance(item, int)
                and not isinstance(item, bool)
                and not rule.low <= item <= rule.high
            ):
                raise LmError(
                    f"{flags[dest]} {item}: out of range ({rule.what}: {rule.low:,} to "
                    f"{rule.high:,})",
                    exit_code=2,
                )
