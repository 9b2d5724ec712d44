"""What :func:`tui.diagnose.advice.advise` reads and returns: the facts of one block, the
advice, its release rule, and the unit of evidence (reply groups merged by signature)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from tui.db.records import ConnectionLimit, Outcomes
from tui.diagnose.advice.text import _safe
from tui.diagnose.classify import Classification
from tui.diagnose.grouping import SignatureGroup
from tui.diagnose.reply_text import ips_of

if TYPE_CHECKING:
    from tui.checks.results import CheckResult
    from tui.db.records import ReplyGroup


Kind = Literal["domain", "ip"]
When = Literal["now", "wait", "after-fix"]
Confidence = Literal["high", "medium", "low"]


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class BlockFacts:
    """Everything :func:`advise` needs to know about one block (the caller gathers it)."""

    kind: Kind
    domain: str
    stream_name: str
    ip: str | None
    mx: str | None
    description: str | None
    since: datetime | None
    next_retry: datetime | None
    outcomes: Outcomes | None
    groups: tuple[ReplyGroup | SignatureGroup, ...]  # per text, or already merged (exact)
    now: datetime
    stream_ips: tuple[str, ...] = ()
    blocked_ips: int | None = None
    connection_limit: ConnectionLimit | None = None
    check_results: tuple[CheckResult, ...] = ()
    latest_reply: str | None = None
    latest_code: int | None = None
    dkim_selectors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """ListManager's DKIM signing domains and their selectors (lyrSiteDKDomains/lyrDKSelectors)."""
    block_id: int | None = None
    """The block's key, so a printed release command names exactly this block."""


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class ReleaseAdvice:
    """When to release the block: ``now``, ``wait`` (until ``not_before``) or ``after-fix``."""

    when: When
    reason: str
    not_before: datetime | None = None

    def not_before_text(self) -> str:
        """`` (not before 2026-12-04 09:44)`` while the advice says wait; nothing for *now*
        (a past time beside "now" read as if the release had to wait for it)."""
        if self.when != "wait" or self.not_before is None:
            return ""
        return f" (not before {self.not_before:%Y-%m-%d %H:%M})"

    def to_json(self) -> dict[str, Any]:
        """Plain data (``not_before`` as ISO 8601)."""
        return {
            "when": self.when,
            "reason": self.reason,
            "not_before": self.not_before.isoformat() if self.not_before else None,
        }


@dataclass(frozen=True, slots=True)
class Advice:
    """What happened, why, what to do, and when to release."""

    category: str
    provider: str
    provider_code: str | None
    headline: str
    explanation: str
    steps: tuple[str, ...]
    release: ReleaseAdvice
    proposed_limit: ConnectionLimit | None
    needs_checks: tuple[str, ...]
    delisting_urls: tuple[str, ...]
    blocklist: str | None
    evidence: tuple[str, ...]
    confidence: Confidence
    mixed: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "category": self.category,
            "provider": self.provider,
            "provider_code": self.provider_code,
            "headline": self.headline,
            "explanation": self.explanation,
            "steps": list(self.steps),
            "release": self.release.to_json(),
            "proposed_limit": self.proposed_limit.to_json() if self.proposed_limit else None,
            "needs_checks": list(self.needs_checks),
            "delisting_urls": list(self.delisting_urls),
            "blocklist": self.blocklist,
            "evidence": list(self.evidence),
            "confidence": self.confidence,
            "mixed": self.mixed,
        }


def _named_ips(group: SignatureGroup) -> tuple[str, ...]:
    """The IPs a group's replies name: the watched ones by attempts (every text counted),
    else those of the texts kept."""
    if group.named_ips:
        return tuple(ip for ip, _ in sorted(group.named_ips.items(), key=lambda kv: -kv[1]))[:16]
    return tuple(dict.fromkeys(ip for t in group.texts for ip in ips_of(t)))[:16]


@dataclass(frozen=True, slots=True)
class EvidenceReply:
    """Reply groups with one signature, merged: the unit of evidence."""

    text: str  # the most frequent text of the signature (raw: show it through printable)
    code: int | None
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    mx_hosts: tuple[tuple[str, int], ...]  # (host, attempts), most attempts first
    classification: Classification
    variants: int = 1
    ips: tuple[str, ...] = ()  # every IP its kept texts name (variants differ in the IP)

    @classmethod
    def of(cls, group: SignatureGroup) -> EvidenceReply:
        """The evidence of one signature group."""
        text = group.sample_text
        return cls(
            text=text if isinstance(text, str) else _safe(text, 100_000),
            code=group.classification.smtp_code,
            count=group.count,
            first_seen=group.first_seen,
            last_seen=group.last_seen,
            mx_hosts=tuple(group.top_hosts(len(group.mx_hosts))),
            classification=group.classification,
            variants=group.variants,
            ips=_named_ips(group),
        )
