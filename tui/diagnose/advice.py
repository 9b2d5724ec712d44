"""Advice for one block: what the replies say, what to do, and when to release.

:func:`advise` classifies every reply group of a block, weighs them by count and recency, and
turns the winning category into a headline, an explanation, ordered steps and a release rule,
using the tables of :mod:`tui.diagnose.playbook`. It is pure: no database, no network, no
terminal. Check results (DNS, blocklists, SPF/DKIM/DMARC) change the advice when the caller ran
them; they are read, never run, here.

Everything that came from outside (reply texts, database strings, check reasons) is passed
through :func:`tui.textsafe.printable` before it is put into a text, so the advice can be shown
or mailed as it is.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from tui.db.records import ConnectionLimit, Outcomes
from tui.diagnose import playbook as PB
from tui.diagnose.classify import BLOCK_REASONS, Classification, classify, normalise
from tui.diagnose.grouping import SignatureGroup, group_replies, later
from tui.diagnose.patterns import (
    AUTH,
    CONTENT,
    DNSBL,
    FULL,
    GREY,
    IP_REPUTATION,
    OTHER,
    POLICY,
    RATE,
    TLS,
    USER,
)
from tui.textsafe import printable

if TYPE_CHECKING:
    from tui.checks.results import CheckResult
    from tui.db.records import ReplyGroup

Kind = Literal["domain", "ip"]
When = Literal["now", "wait", "after-fix"]
Confidence = Literal["high", "medium", "low"]

HALF_LIFE_HOURS = 24.0
"""A reply seen a day ago weighs half as much as one seen now."""
MIN_RECENCY = 0.01
EVIDENCE_LINES = 5
EVIDENCE_CHARS = 300
MIXED_SHARE = 0.25
"""A second block reason is reported (``mixed``) when it weighs this much of the first."""
MAX_COUNT = 10**12

_PER_RECIPIENT = frozenset({USER, FULL, GREY, TLS})
_LIST_OPERATORS = frozenset(
    {"spamhaus", "spamcop", "sorbs", "uceprotect", "barracuda", "cloudmark", "trendmicro"}
)
_NOT_A_BLOCK = {
    USER: ", which are per recipient",
    FULL: ", which are per recipient",
    GREY: ", which are per recipient",
    TLS: ", which a TLS setting on our side fixes",
    CONTENT: ", which judge single messages",
}
_WHEN_ORDER = {PB.WHEN_NOW: 0, PB.WHEN_WAIT: 1, PB.WHEN_AFTER_FIX: 2}
_LINE_SEPARATORS = re.compile("[\u2028\u2029]")


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
        )


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


# --------------------------------------------------------------------------- analysis


@dataclass(slots=True)
class _Scored:
    reply: EvidenceReply
    weight: float
    label: str | None = None  # "Description" / "latest reply" for the block's own texts

    @property
    def cls(self) -> Classification:
        return self.reply.classification


@dataclass(slots=True)
class _Part:
    """The advice for one category, before primary and secondary are combined."""

    category: str
    name: str  # "Outlook's IP block list (S3140)"
    headline: str
    meaning: str
    steps: list[str]
    when: str
    reason: str
    not_before: datetime | None = None
    needs_checks: tuple[str, ...] = ()
    delisting_urls: list[str] = field(default_factory=list)
    blocklist: str | None = None
    proposed: ConnectionLimit | None = None
    extra: list[str] = field(default_factory=list)  # explanation sentences
    release_steps: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # steps after the category's own
    play_steps: bool = True  # False: the category's generic steps do not apply


@dataclass(slots=True)
class _Context:
    facts: BlockFacts
    domain: str
    stream: str
    category: str
    scored: list[_Scored]  # replies of this category, heaviest first
    provider: str  # resolved provider key
    fill: _Fill
    last_seen: datetime | None
    listed_ip: str | None  # the stream IP the replies are about, when known


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
        for code in (cls.provider_code, cls.enhanced_code, ""):
            if code is not None and regex.fullmatch(code):
                return note, code
    return None


_CODE_NOTES = tuple((note, re.compile(note.code, re.IGNORECASE)) for note in PB.CODE_NOTES)
_BLOCKLISTS = tuple((row, re.compile(row.pattern)) for row in PB.BLOCKLISTS)
_POLICY = tuple((cause, re.compile(cause.pattern)) for cause in PB.POLICY_CAUSES)
_AUTH = tuple((rec, re.compile(rec.pattern)) for rec in PB.AUTH_RECORDS)
_SPAMHAUS_SUB = re.compile(r"\b(sbl|xbl|pbl|css|cbl)\b")
_UCE_LEVEL = re.compile(r"level ?([123])|dnsbl-([123])\.uceprotect")


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


def _base_name(
    ctx: _Context, play: PB.Play, top: Classification
) -> tuple[str, str, PB.CodeNote | None]:
    """(headline name, meaning, code note) of the heaviest reply of the category."""
    found = _code_note(ctx.provider, top, ctx.category)
    if found is not None:
        note, code = found
        values = _Fill(ctx.fill)
        values["code"] = code
        name = re.sub(r"\s*\(\)", "", _fill(note.name, values))
        return name, _fill(note.meaning, values), note
    code = _meaningful_code(top)
    name = f"{_who(ctx.provider, ctx.domain)}'s {play.title}"
    if code:
        name += f" ({code})"
    return name, "", None


# --------------------------------------------------------------------------- check results


def _checks(facts: BlockFacts, names: Iterable[str]) -> list[CheckResult]:
    wanted = set(names)
    return [r for r in facts.check_results if getattr(r, "check", None) in wanted]


def _detail(result: CheckResult, key: str) -> str:
    details = getattr(result, "details", None)
    value = details.get(key) if isinstance(details, dict) else None
    return _safe(value, 253) if value not in (None, "") else ""


def _reason(result: CheckResult) -> str:
    return _safe(getattr(result, "reason", ""), 300)


def _auth_check_step(result: CheckResult, fill: Mapping[str, str] | None = None) -> str:
    """One step naming a failing authentication check."""
    known = fill or {}
    domain = _detail(result, "domain") or "the From domain"
    selector = _detail(result, "selector")
    reason = _reason(result)
    check = result.check
    if check == "dkim-key-match":
        sel = selector or known.get("selector") or "<selector>"
        domain = _detail(result, "domain") or known.get("from_domain") or "<From domain>"
        return (
            f"ListManager is sending UNSIGNED mail for {domain}: publish at "
            f"{sel}._domainkey.{domain} the public key that matches ListManager's private key "
            f"for selector {sel}, or re-import the private key that matches the published one "
            f"(check: {reason})."
        )
    if check == "dkim-record":
        return f"DKIM key record {_safe(result.subject, 300)}: {reason}; publish a valid key."
    if check == "dkim-sign-verify":
        return f"A test message signed with selector {selector or '?'} does not verify: {reason}."
    if check == "spf":
        ip = _detail(result, "ip") or "the sending IP"
        mech = "ip6" if ":" in ip else "ip4"
        return (
            f"SPF of {domain} does not authorize {ip}: {reason}; add {mech}:{ip} (or an "
            "include that covers it)."
        )
    if check == "spf-lookups":
        return f"SPF of {domain} needs too many DNS lookups: {reason}; flatten or drop includes."
    if check == "spf-record":
        return f"SPF record of {domain}: {reason}."
    if check == "dmarc":
        return (
            f"DMARC of {domain}: {reason}; publish v=DMARC1; p=none; rua=mailto:… at "
            f"_dmarc.{domain} at least."
        )
    return f"{_safe(check, 40)} {_safe(result.subject, 200)}: {reason}."


_AUTH_CHECK_ORDER = ("dkim-key-match", "dkim-record", "dkim-sign-verify", "spf", "spf-record",
                     "spf-lookups", "dmarc")  # fmt: skip


def _failing_label(result: CheckResult) -> str:
    selector = _detail(result, "selector")
    return {
        "dkim-key-match": f"DKIM key mismatch{f' for selector {selector}' if selector else ''} "
        "(ListManager sends unsigned)",
        "dkim-record": f"DKIM record{f' of selector {selector}' if selector else ''}",
        "dkim-sign-verify": "DKIM signature verification",
        "spf": "SPF for the sending IP",
        "spf-record": "the SPF record",
        "spf-lookups": "SPF lookup count",
        "dmarc": "DMARC",
    }.get(result.check, _safe(result.check, 40))


# --------------------------------------------------------------------------- per category


def _part_rate(ctx: _Context, part: _Part, note: PB.CodeNote | None) -> None:
    facts = ctx.facts
    provider = PB.PROVIDERS.get(ctx.provider)
    current = facts.connection_limit or ConnectionLimit.default(ctx.domain)
    volume = bool(note and note.volume)
    proposed = propose_limit(current, ctx.provider, volume=volume)
    if proposed is None:
        part.steps.append(
            f"{ctx.domain}'s Domain Connection Limit is already as low as it goes "
            f"({current.describe()}): this throttle is about volume or reputation, so send less "
            "to it per hour and spread mailings out."
        )
    else:
        part.proposed = proposed
        part.steps.append(
            f"Lower {ctx.domain}'s Domain Connection Limit from {current.describe()} to "
            f"{proposed.describe()}: press {PB.CONSOLE_DCL_KEY} in the console, or run "
            f"{proposed.command()}"
        )
        if proposed.per_hour and proposed.per_connection:
            part.steps.append(
                f"With {proposed.per_hour} connections an hour and {proposed.per_connection} "
                f"messages per connection each MX IP gets at most about "
                f"{proposed.per_hour * proposed.per_connection:,} messages an hour; raise the "
                "caps again slowly once the deferrals stop."
            )
    if (
        provider
        and provider.monitoring
        and not any("Postmaster Tools" in step or "SNDS" in step for step in part.steps)
    ):
        part.tail.append(provider.monitoring)
    if provider and provider.max_connections:
        part.extra.append(
            f"{provider.name} is known to want very few connections per sending IP "
            f"(at most {provider.max_connections})."
        )
    hours = (note.cooldown_hours if note and note.cooldown_hours else None) or (
        PB.PLAYS[RATE].cooldown_hours or 1.0
    )
    _wait(ctx, part, hours, "deferral")


def _wait(ctx: _Context, part: _Part, hours: float, what: str) -> None:
    """Release advice ``wait``: ``hours`` after the last reply, or ``now`` when that passed."""
    base = ctx.last_seen or ctx.facts.since or ctx.facts.now
    not_before = _plus_hours(base, hours)
    cool = _hours_text(hours)
    passed = _after(ctx.facts.now, not_before) if not_before else None
    if not_before is not None and passed:
        part.when = PB.WHEN_NOW
        part.reason = (
            f"the {cool} cool-down after the last {what} ({fmt_time(base)}) has passed"
            + ("; set the lower limit first" if part.proposed else "")
        )
        part.not_before = not_before
        part.release_steps.append(
            f"The {cool} cool-down after the last {what} has passed: "
            + ("set the lower limit, then release now." if part.proposed else "release now.")
        )
        return
    why = (
        PB.PLAYS[RATE].release_reason
        if part.category == RATE
        else "the receiver is still deferring the IP"
    )
    part.when = PB.WHEN_WAIT
    part.not_before = not_before
    part.reason = f"{why}: wait {cool} after the last {what} ({fmt_time(base)})"
    part.release_steps.append(
        f"Release no earlier than {fmt_time(not_before)} ({cool} after the last {what}); "
        "releasing earlier re-blocks the stream."
    )


def _auth_records(ctx: _Context, note: PB.CodeNote | None) -> list[PB.AuthRecord]:
    keys: list[str] = list(note.auth) if note and note.auth else []
    if not keys:
        for s in ctx.scored:
            norm = normalise(s.reply.text)
            keys += [rec.key for rec, regex in _AUTH if regex.search(norm)]
    if not keys:
        keys = ["dkim", "spf", "dmarc"]
    by_key = {rec.key: rec for rec in PB.AUTH_RECORDS}
    return [by_key[k] for k in dict.fromkeys(keys) if k in by_key]


_DKIM_NONE = re.compile(
    r"dkim(?: result)?\s?[=:]?\s?(?:none|did not pass|fail)|not signed|unsigned|no (?:dkim )?signature"
)
_SPF_FAIL = re.compile(r"spf(?: result)?\s?[=:]?\s?(?:fail|softfail|did not pass)|spf check failed")


def _part_auth(ctx: _Context, part: _Part, note: PB.CodeNote | None) -> None:
    records = _auth_records(ctx, note)
    labels = [r.label for r in records]
    part.extra.append(f"The reply points at {_join(labels)}.")
    domain = ctx.fill.get("from_known", "")
    every = _checks(ctx.facts, _AUTH_CHECK_ORDER)
    # With the From domain of the replies known, only its results speak to them.
    results = [r for r in every if not domain or _detail(r, "domain").lower() == domain]
    failing = [r for r in results if r.status in ("fail", "warn")]
    failing.sort(key=lambda r: _AUTH_CHECK_ORDER.index(r.check))
    if not results:
        if every and domain:
            part.extra.append(
                f"The authentication checks that ran did not cover {domain}, the domain the "
                "replies name."
            )
        part.steps.append(_fill(PB.RUN_AUTH_CHECKS, ctx.fill))
    if domain and not ctx.facts.dkim_selectors.get(domain) and ctx.facts.dkim_selectors:
        part.extra.append(
            f"ListManager has no DKIM selector for {domain} (lyrSiteDKDomains), so it sends "
            "that domain's mail unsigned."
        )
        part.steps.append(
            f"Add {domain} to ListManager's DKIM domains with a selector and a 2048-bit key, and "
            f"publish the public key at <selector>._domainkey.{domain}."
        )
    if failing:
        part.extra.append(
            "The checks found: "
            + "; ".join(dict.fromkeys(_failing_label(r) for r in failing))
            + "."
        )
        part.steps += [_auth_check_step(r, ctx.fill) for r in failing]
    # The generic fix of each record the reply names, unless a failing check already said it.
    covered = {r.check for r in failing}
    part.steps += [
        _fill(rec.step, ctx.fill) for rec in records if not covered.intersection(rec.checks)
    ]
    passing = bool(results) and all(r.status == "pass" for r in results)
    if passing:
        _reconcile_auth(ctx, part, results)
    elif failing:
        part.reason = (
            "ListManager's mail fails "
            + _join(list(dict.fromkeys(_failing_label(r) for r in failing)))
            + ": fix it first"
        )
    provider = PB.PROVIDERS.get(ctx.provider)
    # A feedback loop that keys on DKIM (Yahoo's) is one more reason to get signing right.
    loop = provider.feedback_loop if provider else None
    if loop and "DKIM" in loop and "dkim" in {r.key for r in records}:
        part.steps.append(loop)
    if provider and provider.monitoring and "Postmaster Tools" in provider.monitoring:
        part.steps.append(provider.monitoring)


def _reconcile_auth(ctx: _Context, part: _Part, results: Sequence[CheckResult]) -> None:
    """The checks pass now while the replies said the mail failed: what each side means."""
    domain = ctx.fill.get("from_known", "") or "the From domain"
    text = " ".join(normalise(s.reply.text) for s in ctx.scored[:5])
    checked = {r.check for r in results}
    who = ctx.fill["who"]
    last = fmt_time(ctx.last_seen)
    if _DKIM_NONE.search(text) and checked & {"dkim-key-match", "dkim-record"}:
        part.extra.append(
            f"The checks find the DKIM key of {domain} published and matching ListManager's "
            f"private key, while {who} found no valid DKIM signature up to {last}: either the "
            "key was fixed since (ListManager sends unsigned while they differ), or the refused "
            f"mail was not signed for {domain} at all."
        )
        part.steps.append(
            f"If the replies after the release still say DKIM none: make sure ListManager signs "
            f"the mailings of stream '{ctx.stream}' (DKIM signing on, {domain} among its DKIM "
            f"domains with selector {ctx.fill['selector']}) and that their From: address is "
            f"under {domain}."
        )
    if _SPF_FAIL.search(text) and "spf" in checked:
        part.extra.append(
            f"SPF of {domain} authorizes the stream's IPs now, while {who} saw an SPF failure: "
            "SPF is judged on the bounce (envelope sender) domain and the connecting IP, so "
            f"either the record was fixed since, or the bounce address is not under {domain}."
        )
        part.steps.append(
            "If the replies still say SPF fail: compare the bounce (MAIL FROM) address of a "
            "refused mailing with the SPF record; SPF must authorize every IP of the stream "
            "for that domain."
        )
    part.when = PB.WHEN_NOW
    part.reason = "the DKIM/SPF/DMARC checks pass now: release and watch the next replies"
    part.release_steps.append(
        f"The DKIM/SPF/DMARC checks pass now; if the records were fixed after {last} (the last "
        "refusal), release now and watch the next replies."
    )


def _blocklist_row(text: str) -> PB.Blocklist | None:
    low = text.lower()
    for row, regex in _BLOCKLISTS:
        if regex.search(low):
            return row
    return None


def _part_dnsbl(ctx: _Context, part: _Part, note: PB.CodeNote | None) -> None:
    listed = None
    for s in ctx.scored:
        listed = s.cls.blocklist or PB.PROVIDER_CODE_LISTS.get((s.cls.provider_code or "").upper())
        if listed:
            break
    row = _blocklist_row(listed) if listed else None
    if row is None:
        for s in ctx.scored:  # a list named only in a URL or by its operator
            for candidate in (*s.cls.urls, s.cls.provider):
                row = _blocklist_row(candidate)
                if row:
                    break
            if row:
                break
    label = _safe(listed, 120) if listed else (row.name if row else "a blocklist")
    if row and listed and row.name.lower() != label.lower() and "." in label:
        label = f"{row.name} ({label})"  # "Spamhaus (zen.spamhaus.org)"
    part.blocklist = _safe(listed, 120) if listed else (row.name if row else None)
    ip = ctx.listed_ip or "the sending IP"
    ctx.fill["blocklist"] = label
    who = _who(ctx.provider, ctx.domain)
    if note is not None:
        part.headline = f"{part.name} refuses {ip}: listed on {label}"
    else:
        part.headline = f"{ip} is listed on {label}; {who} refuses it"
    for s in ctx.scored[:3]:
        part.delisting_urls += [_safe(u, 300) for u in s.cls.urls[:3]]
    if row and row.url:
        part.delisting_urls.append(row.url)
    if row:
        if row.url and row.url not in row.note:
            part.steps.append(f"Look {ip} up on {row.name}: {row.url}.")
        part.steps.append(row.note)
    norm = " ".join(normalise(s.reply.text) for s in ctx.scored[:3])
    if row and row.name == "Spamhaus":
        sub = _SPAMHAUS_SUB.search(norm)
        if sub:
            part.extra.append(PB.SPAMHAUS_SUBLISTS[sub.group(1)])
    if row and row.name == "UCEPROTECT":
        level = _UCE_LEVEL.search(norm + " " + (listed or ""))
        if level and (level.group(1) or level.group(2)) in ("2", "3"):
            part.extra.append(
                "This is a UCEPROTECT level 2/3 listing of the whole network: informational, "
                "nothing on your side removes it; ask the receiver not to block on it."
            )
    _dnsbl_checks(ctx, part, row, ip, label)


def _dnsbl_checks(
    ctx: _Context, part: _Part, row: PB.Blocklist | None, ip: str, label: str
) -> None:
    results = _checks(ctx.facts, ("dnsbl",))
    if row is not None and not row.public:
        part.reason = f"{row.name} cannot be queried in DNS: release once it confirms removal"
        part.extra.append(
            f"{row.name} is not a public DNS list, so the reply is the only evidence; a clean "
            "DNS blocklist check does not clear it."
        )
        return
    if not results:
        return
    ips = {ctx.listed_ip} if ctx.listed_ip else set(ctx.facts.stream_ips)
    hint = row.zone_hint if row else None
    mine = [
        r
        for r in results
        if (_detail(r, "ip") in ips or not _detail(r, "ip"))
        and (hint is None or hint in _detail(r, "zone").lower())
    ]
    listed = [r for r in mine if r.status == "fail"]
    clean = [r for r in mine if r.status == "pass"]
    untested = [r for r in mine if r.status == "not_tested"]
    others = [r for r in results if r.status == "fail" and r not in listed]
    if listed:
        part.extra.append(
            "The blocklist check confirms the listing now: "
            + "; ".join(f"{_safe(r.subject, 120)} ({_reason(r)})" for r in listed[:3])
            + "."
        )
        part.reason = f"{ip} is listed on {label} now: delist first, then release"
        for r in listed:
            url = _detail(r, "delist_url")
            if url:
                part.delisting_urls.append(url)
    elif clean and not untested:
        zones = _join(list(dict.fromkeys(_detail(r, "zone") for r in clean)))
        part.extra.append(
            f"The blocklist check finds {ip} NOT listed on {zones} now: the listing has "
            "probably expired or been removed."
        )
        part.when = PB.WHEN_NOW
        part.reason = f"{ip} is not listed on {zones} any more"
        part.release_steps.append(
            f"{ip} is no longer listed on {zones}: release the block now and watch whether "
            f"{ctx.domain} accepts the next attempts."
        )
    elif untested:
        part.steps.append(
            f"The lookup on {label} could not be done ({_reason(untested[0])}): use a local "
            "resolver (public resolvers are refused by Spamhaus) or the list's lookup page."
        )
    elif hint is not None:
        part.steps.append(
            f"The blocklist checks did not query {label}: add its zone (--dnsbl-zone) to "
            "confirm the listing."
        )
    if others:
        part.extra.append(
            "Also listed: " + "; ".join(_safe(r.subject, 120) for r in others[:3]) + "."
        )


def _part_reputation(ctx: _Context, part: _Part, note: PB.CodeNote | None) -> None:
    provider = PB.PROVIDERS.get(ctx.provider)
    if note and note.url:
        part.delisting_urls.append(note.url)
    for s in ctx.scored[:3]:
        for url in s.cls.urls:
            host = url.split("://", 1)[-1].split("/", 1)[0].lower()
            if any(host == h or host.endswith("." + h) for h in PB.DELIST_HOSTS):
                part.delisting_urls.append(_safe(url, 300))
    part.steps.append(
        provider.feedback_loop
        if provider and provider.feedback_loop
        else _fill(PB.GENERIC_FEEDBACK_LOOP, ctx.fill)
    )
    if provider and provider.monitoring:
        part.steps.append(provider.monitoring)
    # The unblock request comes last: it only helps after the cause is fixed.
    if note and note.url and any(note.url in step for step in note.steps):
        ask = ""  # the code's own steps already say where
    elif note and note.url:
        ask = f"Once the cause is fixed, ask for removal at {note.url}."
    elif provider and not provider.has_allowlist:
        ask = (
            f"{provider.name} has no allowlist or delisting: fix the cause and let the "
            f"reputation recover; {provider.contact} is for a review after that."
        )
    elif provider and provider.contact:
        ask = (
            f"Once the cause is fixed, send {provider.name} an unblock request "
            f"({provider.contact}) with the reply evidence."
        )
    else:
        ask = (
            f"Once the cause is fixed, write to postmaster@{ctx.domain} with the reply "
            "evidence and ask them to lift the block."
        )
    if ask:
        part.tail.append(ask)
    listed = [r for r in _checks(ctx.facts, ("dnsbl",)) if r.status == "fail"]
    if listed:
        part.extra.append(
            "The blocklist check also finds: "
            + "; ".join(_safe(r.subject, 120) for r in listed[:3])
            + " (delist there first)."
        )
    top = ctx.scored[0].cls
    temporary = (
        (top.smtp_code // 100 == 4)
        if top.smtp_code
        else ((top.enhanced_code or "").startswith("4"))
    )
    if temporary:
        hours = (note.cooldown_hours if note and note.cooldown_hours else None) or (
            PB.PLAYS[IP_REPUTATION].cooldown_hours or 24.0
        )
        _wait(ctx, part, hours, "deferral")


def _part_policy(ctx: _Context, part: _Part, note: PB.CodeNote | None) -> None:
    found = _policy_cause(ctx.scored)
    cause = found or PB.POLICY_GENERIC
    if note is None and found is not None and not found.allowlist_only:
        # "example.net's reverse DNS (PTR) check (4.7.25) defers mail from …"
        code = _meaningful_code(ctx.scored[0].cls)
        part.name = f"{_who(ctx.provider, ctx.domain)}'s {found.title} check" + (
            f" ({code})" if code else ""
        )
        part.headline = (
            f"{part.name} {_verb(POLICY, ctx.scored[0].cls)} {_subject(ctx.facts, ctx.stream)}"
        )
    if (
        found is None
        and ctx.provider == "microsoft"
        and any((s.cls.provider_code or "").startswith("AS(") for s in ctx.scored)
    ):
        cause = next(c for c in PB.POLICY_CAUSES if c.key == "customer")
    part.extra.append(f"The reply points at {cause.title}.")
    part.steps[:0] = [_fill(step, ctx.fill) for step in cause.steps]
    if cause.allowlist_only:
        part.needs_checks = ()
        part.reason = f"only {ctx.domain}'s administrators can lift it: release once they confirm"
        part.play_steps = False  # no DNS fix applies
        return
    results = _checks(ctx.facts, cause.checks)
    failing = [r for r in results if r.status in ("fail", "warn")]
    if failing:
        part.extra.append(
            "The DNS checks confirm it: "
            + "; ".join(
                f"{_safe(r.check, 20)} {_safe(r.subject, 80)}: {_reason(r)}" for r in failing[:3]
            )
            + "."
        )
        part.reason = f"{cause.title} still fails the checks: fix it first"
    elif results and all(r.status == "pass" for r in results):
        checks = _join(sorted({r.check for r in results}))
        part.when = PB.WHEN_NOW
        part.reason = f"the {checks} checks pass now"
        part.release_steps.append(
            f"The {checks} checks pass now: if this was fixed after "
            f"{fmt_time(ctx.last_seen)} (the last refusal), release now."
        )


_BUILDERS = {
    RATE: _part_rate,
    AUTH: _part_auth,
    DNSBL: _part_dnsbl,
    IP_REPUTATION: _part_reputation,
    POLICY: _part_policy,
}


def _part(ctx: _Context) -> _Part:
    play = PB.PLAYS.get(ctx.category, PB.PLAYS[OTHER])
    top = ctx.scored[0].cls
    name, meaning, note = _base_name(ctx, play, top)
    subject = _subject(ctx.facts, ctx.stream)
    headline = f"{name} {_verb(ctx.category, top)} {subject}"
    if ctx.category in _PER_RECIPIENT - {TLS}:
        code = _meaningful_code(top)
        headline = (
            f"Only per-recipient replies from {ctx.fill['who']} ({play.title}"
            f"{', ' + code if code else ''}): nothing here explains the block of {subject}"
        )
    part = _Part(
        category=ctx.category,
        name=name,
        headline=headline,
        meaning=meaning or _fill(play.meaning, ctx.fill),
        steps=[_fill(step, ctx.fill) for step in (note.steps if note else ())],
        when=play.release,
        reason=play.release_reason,
        needs_checks=play.needs_checks,
    )
    builder = _BUILDERS.get(ctx.category)
    if builder is not None:
        builder(ctx, part, note)
    if part.play_steps:
        part.steps += [_fill(step, ctx.fill) for step in play.steps]
    part.steps += part.tail
    return part


# --------------------------------------------------------------------------- limits


def propose_limit(
    current: ConnectionLimit, provider: str = "unknown", *, volume: bool = False
) -> ConnectionLimit | None:
    """A stricter Domain Connection Limit than ``current``, or None when none is possible.

    Connections are halved (floor 2, or 1 for receivers that want very few connections or when
    the limit is already 2 or less) and capped at the provider's known ceiling. For a volume
    throttle the hourly and per-connection caps are set when unset (the provider's starting
    values) and the hourly cap is halved when set.
    """
    row = PB.PROVIDERS.get(provider)
    few = bool(row and row.max_connections)
    now = current.connections
    floor = PB.MIN_CONNECTIONS if (few or now <= 2) else 2
    connections = max(floor, now // 2)
    if row and row.max_connections:
        connections = min(connections, row.max_connections)
    connections = max(PB.MIN_CONNECTIONS, min(connections, now))
    per_hour = current.per_hour if current.per_hour and current.per_hour > 0 else None
    per_connection = (
        current.per_connection if current.per_connection and current.per_connection > 0 else None
    )
    if volume:
        per_hour = max(1, per_hour // 2) if per_hour else (row.per_hour if row else 60)
        per_connection = per_connection or (row.per_connection if row else 20)
    elif connections == now and per_hour:
        per_hour = max(1, per_hour // 2)
    proposal = ConnectionLimit(current.domain, connections, per_hour, per_connection, False)
    same = (
        proposal.connections == now
        and proposal.per_hour == (current.per_hour or None)
        and proposal.per_connection == (current.per_connection or None)
    )
    return None if same else proposal


# --------------------------------------------------------------------------- advise


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + " and " + items[-1]


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


def _scores(scored: Sequence[_Scored]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for s in scored:
        totals[s.cls.category] = totals.get(s.cls.category, 0.0) + s.weight
    return totals


def _tier(category: str) -> int:
    if category in BLOCK_REASONS:
        return 2
    if category in (CONTENT, OTHER):
        return 1
    return 0


_SENDER_DOMAIN = tuple(re.compile(p) for p in PB.SENDER_DOMAIN_PATTERNS)
_SELECTOR = re.compile(PB.DKIM_SELECTOR_PATTERN)
SENDER_SCAN_CHARS = 2000


def sender_seen(text: str) -> tuple[list[str], list[str]]:
    """(sender domains, DKIM selectors) an authentication reply names, in order."""
    norm = normalise(text if isinstance(text, str) else str(text))[:SENDER_SCAN_CHARS]
    domains: list[str] = []
    for regex in _SENDER_DOMAIN:
        for m in regex.finditer(norm):
            domains.append(m.group(1).strip(".-"))
    selectors = [m.group(1).strip(".-") for m in _SELECTOR.finditer(norm)]
    return list(dict.fromkeys(d for d in domains if "." in d)), list(dict.fromkeys(selectors))


def _fill_sender(fill: _Fill, facts: BlockFacts, pool: Sequence[_Scored]) -> None:
    """``{from_domain}``, ``{selector}`` and ``{selector_arg}``: from the authentication
    replies, else ListManager's only DKIM domain; ``<From domain>``/``<selector>`` only when
    neither tells."""
    domains: list[str] = []
    selectors: list[str] = []
    for s in sorted(pool, key=lambda s: s.cls.category != AUTH):
        if s.cls.category not in (AUTH, POLICY):
            continue
        d, sel = sender_seen(s.reply.text)
        domains += d
        selectors += sel
    known = {k.lower(): v for k, v in facts.dkim_selectors.items()}
    domain = next((d for d in domains if d in known), domains[0] if domains else "")
    if not domain and len(known) == 1:
        domain = next(iter(known))
    listed = list(known.get(domain, ())) if domain else []
    selector = (listed or selectors or [""])[0]
    fill["from_known"] = _safe(domain, 253)
    fill["from_domain"] = fill["from_known"] or "<From domain>"
    fill["selector"] = _safe(selector, 63) or "<selector>"
    fill["selector_arg"] = (
        f" --dkim-selector {shlex.quote(_safe(selector, 63))}" if selector else ""
    )


HARD_SHARE = 0.25
"""A hard, fixable cause leads once it weighs this much of a throttle's replies."""
_SOFT = frozenset({RATE, IP_REPUTATION})
_HARD = frozenset({AUTH, POLICY, DNSBL})
_CHECKS_OF: dict[str, tuple[str, ...]] = {
    POLICY: ("ptr", "fcrdns", "helo"),
    AUTH: _AUTH_CHECK_ORDER,
    DNSBL: ("dnsbl",),
}


def _policy_cause(scored: Iterable[_Scored]) -> PB.PolicyCause | None:
    for s in scored:
        norm = normalise(s.reply.text)
        for cause, regex in _POLICY:
            if regex.search(norm):
                return cause
    return None


def _fixable(category: str, pool: Sequence[_Scored]) -> bool:
    """A hard cause the sender can fix (a recipient's own block list is not one)."""
    if category not in _HARD:
        return False
    if category == POLICY:
        cause = _policy_cause(s for s in pool if s.cls.category == POLICY)
        return cause is None or not cause.allowlist_only
    return True


def _ips_of(facts: BlockFacts) -> set[str]:
    return {facts.ip} if facts.kind == "ip" and facts.ip else set(facts.stream_ips)


def _failing_checks(facts: BlockFacts, category: str, sender: str = "") -> list[CheckResult]:
    """Failed checks that bear on ``category``: DNS checks of this block's IPs, authentication
    checks of ``sender`` (the From domain the replies name) when it is known."""
    names = _CHECKS_OF.get(category, ())
    ips = _ips_of(facts)
    out = []
    for r in _checks(facts, names):
        if r.status != "fail":
            continue
        ip = _detail(r, "ip")
        if category in (POLICY, DNSBL) and ip and ips and ip not in ips:
            continue
        if category == AUTH and sender and _detail(r, "domain").lower() != sender:
            continue
        out.append(r)
    return out


def _confirmed_by_checks(
    facts: BlockFacts, pool: Sequence[_Scored], sender: str
) -> dict[str, list[CheckResult]]:
    """Block-reason categories of the replies that the checks the user ran confirm."""
    present = {s.cls.category for s in pool}
    out: dict[str, list[CheckResult]] = {}
    for category in _CHECKS_OF:
        if category in present:
            failing = _failing_checks(facts, category, sender)
            if failing:
                out[category] = failing
    return out


def _rank(
    pool: Sequence[_Scored], totals: dict[str, float], confirmed: Mapping[str, object]
) -> tuple[str, str | None, str]:
    """(primary, secondary, why the order differs from the weights).

    Block reasons before the rest; among them a cause the checks confirm first, then the
    heaviest; but a hard, fixable cause (authentication, a policy such as reverse DNS, a
    blocklist) leads a throttle or reputation deferral once it has :data:`HARD_SHARE` of its
    weight: it refuses mail by itself, throttles often follow from it, and no connection limit
    fixes it.
    """
    category = max(totals, key=lambda c: (_tier(c), c in confirmed, totals[c]))
    why = ""
    if category in _SOFT:
        hard = sorted(
            (c for c in totals if _fixable(c, pool) and totals[c] >= HARD_SHARE * totals[category]),
            key=lambda c: (c in confirmed, totals[c]),
            reverse=True,
        )
        if hard:
            soft = category
            category = hard[0]
            why = (
                f"The {PB.PLAYS[category].title} replies come first although the "
                f"{PB.PLAYS[soft].title} replies weigh more: they point at a cause you can fix, "
                "which refuses mail by itself and often brings the throttling with it."
            )
    elif category in confirmed and category not in _SOFT:
        top = max(totals, key=lambda c: (_tier(c), totals[c]))
        if top != category:
            why = (
                f"The {PB.PLAYS[category].title} replies come first: the checks confirm them "
                "(see below)."
            )
    secondary = None
    if category in BLOCK_REASONS:
        rivals = sorted(
            ((c, w) for c, w in totals.items() if c in BLOCK_REASONS and c != category),
            key=lambda cw: -cw[1],
        )
        if rivals and (rivals[0][1] >= MIXED_SHARE * totals[category] or why):
            secondary = rivals[0][0]
    return category, secondary, why


def _unconfirmed_findings(
    facts: BlockFacts, category: str, secondary: str | None, sentences: list[str], sender: str
) -> list[str]:
    """Steps for checks that failed on a cause no reply names: they go first. Authentication
    checks count only for the sender domain the replies name (``k`` checks every sending
    domain of the stream, most of them not this block's)."""
    steps: list[str] = []
    for other in (POLICY, AUTH, DNSBL):
        if other in (category, secondary) or (other == AUTH and not sender):
            continue
        failing = _failing_checks(facts, other, sender)
        if not failing:
            continue
        found = "; ".join(
            f"{_safe(r.check, 20)} {_safe(r.subject, 80)}: {_reason(r)}" for r in failing[:3]
        )
        key = PB.CONSOLE_AUTH_KEY if other == AUTH else PB.CONSOLE_DNS_KEY
        sentences.append(f"The checks ({key}) also found: {found}.")
        steps.append(
            f"Fix what the checks found first ({found}): receivers throttle or refuse mail "
            "for it, so the other steps cannot work while it fails."
        )
    return steps


def _share_sentence(facts: BlockFacts, n: int, replies: int, ctx: _Context) -> str:
    """``45 of the 90 failed attempts in the window (…) got this kind of reply, …``."""
    last = f"the last on {fmt_time(ctx.last_seen)}"
    out = facts.outcomes
    if out is None or out.failed < replies:
        return f"{n:,} of the {replies:,} failed attempts in the window got this kind of reply, {last}."
    split = f"{out.deferred:,} deferred, {out.rejected:,} rejected"
    if out.no_code:
        split += f", {out.no_code:,} without a reply code"
    delivered = f"{out.delivered:,} delivered besides" if out.delivered else "none delivered"
    return (
        f"{n:,} of the {out.failed:,} failed attempts in the window ({split}; {delivered}) got "
        f"this kind of reply, {last}."
    )


def _context(facts: BlockFacts, category: str, scored: Sequence[_Scored], fill: _Fill) -> _Context:
    mine = [s for s in scored if s.cls.category == category]
    mine.sort(key=lambda s: -s.weight)
    last: datetime | None = None
    for s in mine:
        last = later(last, s.reply.last_seen)
    domain = _safe(facts.domain, 253)
    provider = _resolve_provider(mine, domain)
    listed = _listed_ip(facts, mine)
    stream_ips = [_safe(ip, 64) for ip in facts.stream_ips[:8]]
    values = _Fill(fill)
    values["who"] = _who(provider, domain)
    values["code"] = (_meaningful_code(mine[0].cls) if mine else None) or ""
    values["ip"] = listed or ("each sending IP" if len(stream_ips) != 1 else stream_ips[0])
    values["ip_one"] = listed or (stream_ips[0] if stream_ips else "<IP>")
    values["ip_args"] = listed or (" ".join(stream_ips) if stream_ips else "<IP>")
    return _Context(facts, domain, values["stream"], category, mine, provider, values, last, listed)


def advise(facts: BlockFacts) -> Advice:
    """The advice for one block. Never raises on odd reply texts, counts or times."""
    domain = _safe(facts.domain, 253)
    stream = _safe(facts.stream_name, 100)
    replies = merge_replies(facts.groups)
    scored = [_Scored(r, _weight(r, facts.now)) for r in replies]
    scored.sort(key=lambda s: (-s.weight, -s.reply.count))
    totals = _scores(scored)
    block_weight = sum(w for c, w in totals.items() if c in BLOCK_REASONS)
    other_weight = sum(totals.values()) - block_weight

    notes: list[str] = []
    fallback = False
    confidence: Confidence
    pool = scored
    if not scored:
        pool = _fallback(facts)
        fallback = True
        source = "latest reply and Description" if facts.latest_reply else "Description"
        notes.append(
            f"No reply is recorded for this block in the evidence window: this advice rests "
            f"on the block's {source} only."
            if pool
            else "No reply is recorded for this block and it has no Description: there is "
            "nothing to diagnose yet; look at the attempt log or release and watch."
        )
    elif block_weight == 0:
        rescue = [s for s in _fallback(facts) if s.cls.category in BLOCK_REASONS]
        top_other = max(totals, key=lambda c: (_tier(c), totals[c]))
        play = PB.PLAYS.get(top_other, PB.PLAYS[OTHER])
        why = _NOT_A_BLOCK.get(top_other, "")
        notes.append(
            f"None of the replies is a reason to block a stream (mostly {play.title} replies"
            f"{why}): the block is likely NOT caused by them; ListManager may have mis-recorded "
            "it, or the block reply is older than the evidence window."
        )
        if rescue:
            pool = rescue
            fallback = True
            notes.append("The advice follows the block's own Description / latest reply.")
    elif other_weight > block_weight:
        shares = sorted(
            ((c, w) for c, w in totals.items() if c not in BLOCK_REASONS), key=lambda cw: -cw[1]
        )
        title = PB.PLAYS.get(shares[0][0], PB.PLAYS[OTHER]).title
        notes.append(
            f"Most replies are per-recipient {title} replies, which do not block a stream; the "
            "block follows the fewer block replies."
        )

    fill = _Fill(
        domain=domain,
        stream=stream,
        retry=PB.RETRY_DEFAULT,
        bounce_announce=str(PB.BOUNCE_LIMIT_ANNOUNCE),
        bounce_discussion=str(PB.BOUNCE_LIMIT_DISCUSSION),
        dcl_key=PB.CONSOLE_DCL_KEY,
        dns_key=PB.CONSOLE_DNS_KEY,
        auth_key=PB.CONSOLE_AUTH_KEY,
        blocklist="the blocklist",
    )

    if not pool:
        return _empty_advice(facts, domain, stream, notes)

    pool_totals = _scores(pool)
    _fill_sender(fill, facts, pool)
    sender = fill["from_known"]
    confirmed = _confirmed_by_checks(facts, pool, sender)
    category, secondary, precedence = _rank(pool, pool_totals, confirmed)

    ctx = _context(facts, category, pool, fill)
    part = _part(ctx)
    second = _part(_context(facts, secondary, pool, fill)) if secondary else None

    # Explanation: what the code means, why the receiver does it, what the evidence shows.
    play = PB.PLAYS.get(category, PB.PLAYS[OTHER])
    sentences = [part.meaning, play.explanation, *part.extra]
    if not fallback and ctx.scored:
        n = sum(s.reply.count for s in ctx.scored)
        sentences.append(_share_sentence(facts, n, sum(s.reply.count for s in scored), ctx))
    if precedence:
        sentences.append(precedence)
    findings = _unconfirmed_findings(facts, category, secondary, sentences, sender)
    if second is not None:
        share = pool_totals[secondary] / max(sum(pool_totals.values()), 1e-9)  # type: ignore[index]
        sentences.append(
            f"Mixed evidence: about {share:.0%} of the weighted replies point at "
            f"{PB.PLAYS[second.category].title} instead ({second.name})."
        )
    sentences += notes
    explanation = " ".join(s.strip() for s in sentences if s and s.strip())

    steps = findings + list(part.steps)
    if second is not None:
        steps += [f"Also ({second.name}): {s}" for s in second.steps[:2]]
    steps += _ip_share_steps(facts, domain, category)
    release = _release(facts, part, second, stream, domain, steps)

    needs = _dedupe([*part.needs_checks, *(second.needs_checks if second else ())])
    urls = _dedupe([*part.delisting_urls, *(second.delisting_urls if second else [])])[:6]
    blocklist = part.blocklist or (second.blocklist if second else None)
    top = ctx.scored[0].cls

    if fallback or category not in BLOCK_REASONS:
        confidence = "low"
    else:
        share = pool_totals[category] / max(block_weight, 1e-9)
        confidence = "high" if share >= 0.75 and other_weight <= block_weight else "medium"
        if second is not None:
            confidence = "medium"

    return Advice(
        category=category,
        provider=ctx.provider,
        provider_code=top.provider_code,
        headline=part.headline,
        explanation=explanation,
        steps=_dedupe(steps),
        release=release,
        proposed_limit=part.proposed if category == RATE else None,
        needs_checks=needs,
        delisting_urls=urls,
        blocklist=blocklist,
        evidence=tuple(_evidence(s) for s in (scored or pool)[:EVIDENCE_LINES]),
        confidence=confidence,
        mixed=second is not None,
    )


def release_command(facts: BlockFacts, stream: str, domain: str) -> str:
    """How to release exactly what this advice is about: an IP pair alone, or a domain with
    its IP pairs (what releasing a domain means, see tui.db.release_plan)."""
    key = PB.CONSOLE_RELEASE_KEY
    if facts.block_id is not None:
        if facts.kind == "ip":
            return f"{key} in the console, or lmtriage release --block ip:{facts.block_id} (this pair only)"
        return (
            f"{key} in the console, or lmtriage release --block domain:{facts.block_id} "
            "(the domain row with its IP pairs)"
        )
    if facts.kind == "ip":
        return f"{key} on the pair in the console (this pair only)"
    return (
        f"{key} in the console, or lmtriage release --stream {shlex.quote(stream)} --domain "
        f"{shlex.quote(domain)} (the domain row with its IP pairs)"
    )


def _release(
    facts: BlockFacts,
    part: _Part,
    second: _Part | None,
    stream: str,
    domain: str,
    steps: list[str],
) -> ReleaseAdvice:
    """The release advice (the stricter of primary and secondary); appends the release steps."""
    when, reason, not_before = part.when, part.reason, part.not_before
    steps += part.release_steps
    if second is not None and _WHEN_ORDER[second.when] > _WHEN_ORDER[when]:
        reason = f"{reason}; and {second.reason}"
        when = second.when
        not_before = not_before or second.not_before
        steps += second.release_steps
    cmd = release_command(facts, stream, domain)
    retry = facts.next_retry
    overdue = retry is not None and _after(facts.now, retry) is True
    if retry is not None and overdue:
        due = f"ListManager's retry was due at {fmt_time(retry)} and is overdue"
        if when == PB.WHEN_NOW:
            steps.append(f"Release now ({cmd}): {due}.")
        elif when == PB.WHEN_WAIT and not_before is not None:
            steps.append(
                f"{due}; a retry before {fmt_time(not_before)} will probably be deferred again "
                "(harmless); do not release by hand before then."
            )
        else:
            steps.append(
                f"After the fix, release ({cmd}); {due}, and until the fix its retries only "
                "collect more refusals."
            )
    elif retry is None:
        tail = {
            PB.WHEN_AFTER_FIX: " once the fix is in.",
            PB.WHEN_WAIT: f" after {fmt_time(not_before)}.",
            PB.WHEN_NOW: ": release now.",
        }[when]
        steps.append(
            "Next Retry is Permanent: ListManager will not retry on its own, so the block "
            f"needs a release ({cmd}){tail}"
        )
        reason += "; ListManager will not retry by itself (Permanent)"
    elif when == PB.WHEN_WAIT and not_before is not None:
        if _after(not_before, retry):
            steps.append(
                f"ListManager's own retry at {fmt_time(retry)} comes before the cool-down ends "
                f"and will probably be deferred again (harmless); do not release by hand before "
                f"{fmt_time(not_before)}."
            )
        else:
            steps.append(
                f"ListManager retries by itself at {fmt_time(retry)}, after the cool-down: no "
                f"release is needed unless you want it sooner ({cmd})."
            )
    elif when == PB.WHEN_NOW:
        steps.append(
            f"Release now ({cmd}) rather than wait for ListManager's own retry at "
            f"{fmt_time(retry)}."
        )
    else:
        steps.append(
            f"After the fix, release ({cmd}) rather than wait for ListManager's next retry at "
            f"{fmt_time(retry)}; until then its retries only collect more refusals."
        )
    return ReleaseAdvice(when=when, reason=reason, not_before=not_before)  # type: ignore[arg-type]


def _ip_share_steps(facts: BlockFacts, domain: str, category: str) -> list[str]:
    total = len(facts.stream_ips)
    blocked = facts.blocked_ips
    if not total or blocked is None or blocked <= 0:
        return []
    if blocked >= total:
        if total == 1:
            return []
        return [
            f"All {total} IPs of the stream are blocked by {domain}: ListManager pulls no "
            f"recipients of {domain} for this stream until a block is released."
        ]
    free = total - blocked
    risk = {
        RATE: " Lower the Domain Connection Limit before they hit the same limit.",
        IP_REPUTATION: f" Consider pausing mail to {domain} until the block is lifted.",
        DNSBL: " Check them on the same list.",
    }.get(category, "")
    return [
        f"Only {blocked} of the stream's {total} IPs {'is' if blocked == 1 else 'are'} blocked "
        f"by {domain}; the other {free} still send to it, each now carrying about "
        f"{total / free:.1f}× its usual share of {domain}'s mail, which raises the risk of "
        f"blocking them too.{risk}"
    ]


def _empty_advice(facts: BlockFacts, domain: str, stream: str, notes: list[str]) -> Advice:
    steps: list[str] = [
        f"Open the block's replies (Enter in the console) or lmtriage responses for {domain} "
        "with a wider window to find the reply that blocked it.",
        f"Run the DNS checks ({PB.CONSOLE_DNS_KEY} in the console) for the stream's IPs.",
    ]
    release = _release(
        facts,
        _Part(
            OTHER,
            "",
            "",
            "",
            [],
            PB.WHEN_NOW,
            "nothing recorded says the receiver refuses the stream",
        ),
        None,
        stream,
        domain,
        steps,
    )
    return Advice(
        category=OTHER,
        provider=_provider_for_domain(domain) or "unknown",
        provider_code=None,
        headline=f"{domain} blocks {_subject(facts, stream)}, and no reply says why",
        explanation=" ".join(notes),
        steps=_dedupe(steps),
        release=release,
        proposed_limit=None,
        needs_checks=("dns",),
        delisting_urls=(),
        blocklist=None,
        evidence=(),
        confidence="low",
        mixed=False,
    )


__all__ = [
    "Advice",
    "BlockFacts",
    "ConnectionLimit",
    "EvidenceReply",
    "ReleaseAdvice",
    "advise",
    "evidence_line",
    "fmt_time",
    "merge_replies",
    "propose_limit",
]
