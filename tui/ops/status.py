"""``lmtriage status`` as a Nagios/Icinga plugin: one status line, perfdata, exit 0/1/2/3.

Thresholds follow the plugin guidelines' simple form: ``blocks=10`` alerts when there are
*more than* 10 blocks, ``age=6h`` when the oldest block is *older than* six hours. The same
numbers appear as the warn/crit fields of the perfdata, so graphs show where the lines are.

Without any ``--warn``/``--crit`` the check warns as soon as there is one block
(``blocks=0``) and is never critical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from tui.config import parse_duration
from tui.diagnose.reblock import span_text
from tui.errors import LmError
from tui.ops.inventory import Inventory
from tui.textsafe import printable

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
COUNT_KEYS = ("blocks", "domain_blocks", "ip_blocks")
MAX_COUNT = 10_000_000
MAX_PERFDATA_STREAMS = 50


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One level's limits: alert when a count is above, or the oldest block older than."""

    counts: dict[str, int] = field(default_factory=dict)
    age: timedelta | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is set."""
        return not self.counts and self.age is None


def parse_thresholds(specs: list[str] | None, flag: str) -> Thresholds:
    """``["blocks=10,age=6h", "ip_blocks=5"]`` → thresholds; one-line errors."""
    counts: dict[str, int] = {}
    age: timedelta | None = None
    for spec in specs or ():
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            name, value = name.strip().lower(), value.strip()
            if not sep or not value:
                raise LmError(
                    f"{flag} {printable(part, max_chars=60)!r}: give NAME=VALUE, e.g. "
                    "blocks=10 or age=6h",
                    exit_code=UNKNOWN,
                )
            if name == "age":
                try:
                    age = parse_duration(value, f"{flag} age")
                except LmError as err:
                    raise LmError(str(err), exit_code=UNKNOWN) from None
            elif name in COUNT_KEYS:
                if not re.fullmatch(r"[0-9]{1,8}", value) or int(value) > MAX_COUNT:
                    raise LmError(
                        f"{flag} {name}={printable(value, max_chars=40)}: must be a whole "
                        f"number from 0 to {MAX_COUNT:,}",
                        exit_code=UNKNOWN,
                    )
                counts[name] = int(value)
            else:
                raise LmError(
                    f"{flag} {printable(name, max_chars=40)!r}: not a threshold (known: "
                    f"{', '.join((*COUNT_KEYS, 'age'))})",
                    exit_code=UNKNOWN,
                )
    return Thresholds(counts, age)


def _counts(inv: Inventory) -> dict[str, int]:
    return {
        "blocks": inv.total(),
        "domain_blocks": inv.total("domain"),
        "ip_blocks": inv.total("ip"),
    }


@dataclass(slots=True)
class Verdict:
    """The plugin's state and the reasons for it."""

    state: int
    reasons: list[str]


def evaluate(inv: Inventory, warn: Thresholds, crit: Thresholds) -> Verdict:
    """The worst state any threshold gives, and each crossing in words."""
    if warn.empty and crit.empty:
        warn = Thresholds({"blocks": 0})
    counts = _counts(inv)
    age = inv.oldest_age()
    state, reasons = OK, []
    for level, limits in ((CRITICAL, crit), (WARNING, warn)):
        for name, limit in limits.counts.items():
            if counts[name] > limit and not any(r.startswith(f"{name} ") for r in reasons):
                reasons.append(f"{name} {counts[name]:,} > {limit:,}")
                state = max(state, level)
        if (
            limits.age is not None
            and age is not None
            and age > limits.age
            and not any(r.startswith("oldest ") for r in reasons)
        ):
            reasons.append(f"oldest {span_text(age)} > {span_text(limits.age)}")
            state = max(state, level)
    return Verdict(state, reasons)


def _label(text: str) -> str:
    """A perfdata label: letters, digits, ``_ . -`` only (stream names are hostile text)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40].strip("_")
    return cleaned or "_"


def perfdata(inv: Inventory, warn: Thresholds, crit: Thresholds) -> str:
    """``blocks=12;0;50;0; … oldest_block_age=7200s;21600;86400;0;``."""
    if warn.empty and crit.empty:
        warn = Thresholds({"blocks": 0})
    counts = _counts(inv)

    def lim(t: Thresholds, name: str) -> str:
        return str(t.counts[name]) if name in t.counts else ""

    parts = [f"{n}={counts[n]};{lim(warn, n)};{lim(crit, n)};0;" for n in COUNT_KEYS]
    age = inv.oldest_age()
    seconds = int(age.total_seconds()) if age is not None else 0

    def lim_age(t: Thresholds) -> str:
        return str(int(t.age.total_seconds())) if t.age is not None else ""

    parts.append(f"oldest_block_age={seconds}s;{lim_age(warn)};{lim_age(crit)};0;")
    for stream, n in list(inv.by_stream().items())[:MAX_PERFDATA_STREAMS]:
        parts.append(f"'stream_{_label(stream)}'={n};;;0;")
    return " ".join(parts)


def status_line(
    inv: Inventory, verdict: Verdict, warn: Thresholds, crit: Thresholds, *, who: str
) -> str:
    """``LMTRIAGE WARNING - east: 12 blocks (3 domain, 9 IP pairs), oldest 7h 2m (…) | …``."""
    n = inv.total()
    text = (
        f"{n:,} block{'s' if n != 1 else ''} ({inv.total('domain'):,} domain, "
        f"{inv.total('ip'):,} IP pair{'s' if inv.total('ip') != 1 else ''})"
    )
    if inv.oldest is not None:
        text += f", oldest {span_text(inv.oldest.age(inv.now))}: {inv.oldest.describe()}"
    if verdict.reasons:
        text += f" [{'; '.join(verdict.reasons)}]"
    # The line goes to a monitoring system and often to a pager: one line, no control
    # characters, no '|' (it would start the perfdata).
    text = printable(f"{who}: {text}", max_chars=400).replace("|", "/")
    return f"LMTRIAGE {STATE_NAMES[verdict.state]} - {text} | {perfdata(inv, warn, crit)}"


def unknown_line(message: str) -> str:
    """The line for a check that could not run."""
    return f"LMTRIAGE UNKNOWN - {printable(message, max_chars=400).replace('|', '/')}"
