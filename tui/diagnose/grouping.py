"""Merge reply groups that differ only in their variable parts (IPs, ids, times, hosts).

The database groups attempts by exact reply text; Gmail alone writes a different message id
into every reply. Grouping those by :func:`~tui.diagnose.classify.signature` shows one line
per real cause, with the counts, dates and MX hosts of every variant added up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tui.db.records import ReplyGroup
from tui.diagnose.classify import Classification, classify


@dataclass(slots=True)
class SignatureGroup:
    """Reply groups sharing one signature."""

    signature: str
    classification: Classification
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    texts: list[str] = field(default_factory=list)
    mx_hosts: dict[str, int] = field(default_factory=dict)
    code: int | None = None

    @property
    def sample_text(self) -> str:
        """The most frequent variant's text."""
        return self.texts[0] if self.texts else ""

    def top_hosts(self, n: int = 5) -> list[tuple[str, int]]:
        """The busiest MX hosts."""
        return sorted(self.mx_hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def group_by_signature(groups: Iterable[ReplyGroup]) -> list[SignatureGroup]:
    """Signature groups, most attempts first (ties: most recent first)."""
    merged: dict[str, SignatureGroup] = {}
    for group in groups:
        result = classify(group.text, group.code)
        entry = merged.get(result.signature)
        if entry is None:
            entry = merged[result.signature] = SignatureGroup(
                result.signature, result, code=group.code
            )
        entry.count += group.count
        entry.first_seen = _min(entry.first_seen, group.first_seen)
        entry.last_seen = _max(entry.last_seen, group.last_seen)
        entry.texts.append(group.text)
        for host, n in group.mx_hosts:
            entry.mx_hosts[host] = entry.mx_hosts.get(host, 0) + n
    return sorted(
        merged.values(),
        key=lambda g: (-g.count, -(g.last_seen.timestamp() if g.last_seen else 0)),
    )
