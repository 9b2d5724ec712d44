"""Who refuses the mail and how the headline names it: the provider behind the replies, its
reason-code note, the verb (defers or refuses) and the IP or stream it is about."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tui.diagnose import playbook as PB
from tui.diagnose.advice.evidence import _Scored
from tui.diagnose.advice.records import BlockFacts
from tui.diagnose.advice.text import _safe
from tui.diagnose.classify import Classification
from tui.diagnose.patterns import TLS

_LIST_OPERATORS = frozenset(
    {"spamhaus", "spamcop", "sorbs", "uceprotect", "barracuda", "cloudmark", "trendmicro"}
)


def _provider_for_domain(domain: str) -> str | None:
    domain = domain.lower().strip(".")
    for key, provider in PB.PROVIDERS.items():
        for d in provider.domains:
            if domain == d or domain.endswith("." + d):
                return key
    return None


def _resolve_provider(scored: Sequence[_Scored], domain: str) -> str:
    for s in scored:
        p = s.cls.provider
        if p != "unknown" and p not in _LIST_OPERATORS:
            return p
    by_domain = _provider_for_domain(domain)
    if by_domain:
        return by_domain
    for s in scored:
        if s.cls.provider != "unknown":
            return s.cls.provider
    return "unknown"


def _who(provider: str, domain: str) -> str:
    """The receiver's name: the provider's, or ``anra.com (Microsoft 365)`` for an
    organization a big provider only hosts."""
    row = PB.PROVIDERS.get(provider)
    if row is None:
        return domain
    hosted = PB.HOSTED_NAMES.get(provider)
    low = domain.lower()
    if hosted and not any(low == d or low.endswith("." + d) for d in row.domains):
        return f"{domain} ({hosted})"
    return row.name


def _code_note(provider: str, cls: Classification, category: str) -> tuple[PB.CodeNote, str] | None:
    for note, regex in _CODE_NOTES:
        if note.providers and provider not in note.providers and cls.provider not in note.providers:
            continue
        if note.category is not None and note.category != category:
            continue
        if note.text is not None and not re.search(note.text, cls.text, re.IGNORECASE):
            continue
        for code in (cls.provider_code, cls.enhanced_code, ""):
            if code is not None and regex.fullmatch(code):
                return note, code
    return None


_CODE_NOTES = tuple((note, re.compile(note.code, re.IGNORECASE)) for note in PB.CODE_NOTES)


def _meaningful_code(cls: Classification) -> str | None:
    if cls.provider_code:
        return cls.provider_code
    code = cls.enhanced_code
    if code and not code.endswith(".0.0"):
        return code
    return None


def _verb(category: str, cls: Classification) -> str:
    if category == TLS:
        return "refuses clear-text mail from"
    klass = cls.smtp_code // 100 if cls.smtp_code else None
    if klass is None and cls.enhanced_code:
        klass = int(cls.enhanced_code[0])
    return "defers mail from" if klass == 4 else "refuses mail from"


def _subject(facts: BlockFacts, stream: str) -> str:
    if facts.kind == "ip" and facts.ip:
        return _safe(facts.ip, 64)
    return f"stream '{stream}'"


def _listed_ips(facts: BlockFacts, scored: Sequence[_Scored]) -> tuple[str, ...]:
    """Every stream IP the replies of a domain block name, the heaviest reply's first (at most
    eight); an IP-pair block is about its own IP (``_listed_ip``)."""
    if facts.ip:
        return ()
    stream_ips = set(facts.stream_ips)
    found: dict[str, None] = {}
    for s in scored:
        for ip in s.reply.ips or s.cls.ips:
            if ip in stream_ips:
                found.setdefault(_safe(ip, 64), None)
    return tuple(found)[:8]


def _listed_ip(facts: BlockFacts, scored: Sequence[_Scored]) -> str | None:
    """The stream IP the replies are about: one named in a reply, else the block's IP."""
    stream_ips = set(facts.stream_ips)
    for s in scored:
        for ip in s.cls.ips:
            if ip in stream_ips:
                return ip
    if facts.ip:
        return _safe(facts.ip, 64)
    if len(facts.stream_ips) == 1:
        return _safe(facts.stream_ips[0], 64)
    return None
