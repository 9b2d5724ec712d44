"""The evidence of a block: reply groups merged by signature, weighed by count and recency,
and written as one line each."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tui.diagnose.advice.records import BlockFacts, EvidenceReply
from tui.diagnose.advice.text import _hours_between, _safe, fmt_time
from tui.diagnose.classify import BLOCK_REASONS, Classification, classify
from tui.diagnose.grouping import SignatureGroup, group_replies

if TYPE_CHECKING:
    from tui.db.records import ReplyGroup


HALF_LIFE_HOURS = 24.0
"""A reply seen a day ago weighs half as much as one seen now."""
MIN_RECENCY = 0.01
EVIDENCE_LINES = 5
EVIDENCE_CHARS = 300


@dataclass(slots=True)
class _Scored:
    reply: EvidenceReply
    weight: float
    label: str | None = None  # "Description" / "latest reply" for the block's own texts

    @property
    def cls(self) -> Classification:
        return self.reply.classification


# --------------------------------------------------------------------------- evidence


def merge_replies(groups: Iterable[ReplyGroup | SignatureGroup]) -> list[EvidenceReply]:
    """Reply groups merged by signature, most attempts first.

    Per-text groups are merged with :func:`tui.diagnose.grouping.group_replies` (counts add
    up, first and last seen widen, MX hosts add up, the text kept is the one with the most
    attempts); signature groups (already merged, exact) are taken as they are.
    """
    items = list(groups)
    merged = [g for g in items if isinstance(g, SignatureGroup)]
    raw = [g for g in items if not isinstance(g, SignatureGroup)]
    if raw:
        merged += group_replies(raw)
    out = [EvidenceReply.of(g) for g in merged]
    out.sort(key=lambda r: -r.count)
    return out


def _evidence(scored: _Scored) -> str:
    if scored.label is None:
        return evidence_line(scored.reply)
    reply = scored.reply
    return (
        f"the block's {scored.label}: {reply.classification.category}: "
        f"{_safe(reply.text, EVIDENCE_CHARS)}"
    )


def _recency(reply: EvidenceReply, now: datetime) -> float:
    if reply.last_seen is None:
        return 0.5
    age = _hours_between(now, reply.last_seen)
    if age is None:
        return 0.5
    return max(math.pow(0.5, max(age, 0.0) / HALF_LIFE_HOURS), MIN_RECENCY)


def _weight(reply: EvidenceReply, now: datetime) -> float:
    return max(reply.count, 1) * _recency(reply, now)


def evidence_line(reply: EvidenceReply, *, chars: int = EVIDENCE_CHARS) -> str:
    """``1,234× 2024-05-01 10:00 – 2024-05-03 09:12 rate_limit: 421 4.7.28 … (MX a ×800)``."""
    hosts = ", ".join(f"{_safe(h, 80)} ×{n:,}" for h, n in reply.mx_hosts[:3])
    if len(reply.mx_hosts) > 3:
        hosts += f", +{len(reply.mx_hosts) - 3} more"
    line = (
        f"{reply.count:,}× {fmt_time(reply.first_seen)} – {fmt_time(reply.last_seen)} "
        f"{reply.classification.category}: {_safe(reply.text, chars)}"
    )
    return line + (f" (MX {hosts})" if hosts else "")


def _fallback(facts: BlockFacts) -> list[_Scored]:
    """The block's latest reply and description, classified, when there are no groups."""
    out: list[_Scored] = []
    sources = (
        ("latest reply", facts.latest_reply, facts.latest_code),
        ("Description", facts.description, None),
    )
    for label, text, code in sources:
        if not text or not isinstance(text, str) or not text.strip():
            continue
        cls = classify(text, code)
        reply = EvidenceReply(text, cls.smtp_code, 1, None, facts.since, (), cls)
        out.append(_Scored(reply, 1.0, label))
    out.sort(key=lambda s: s.cls.category not in BLOCK_REASONS)
    return out
