""":func:`advise`: the advice for one block, composed from the ranked categories, the
evidence, the checks and the release rule (the package docstring says what it promises)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tui.diagnose import playbook as PB
from tui.diagnose.advice.categories import _Context, _Part, _part
from tui.diagnose.advice.evidence import (
    EVIDENCE_LINES,
    _evidence,
    _fallback,
    _Scored,
    _weight,
    merge_replies,
)
from tui.diagnose.advice.ranking import (
    _confirmed_by_checks,
    _rank,
    _scores,
    _tier,
    _unconfirmed_findings,
)
from tui.diagnose.advice.receiver import (
    _listed_ip,
    _listed_ips,
    _meaningful_code,
    _provider_for_domain,
    _resolve_provider,
    _subject,
    _who,
)
from tui.diagnose.advice.records import Advice, BlockFacts, Confidence
from tui.diagnose.advice.release import _release
from tui.diagnose.advice.sender import _fill_sender
from tui.diagnose.advice.text import _dedupe, _Fill, _safe, fmt_time
from tui.diagnose.classify import BLOCK_REASONS
from tui.diagnose.grouping import later
from tui.diagnose.patterns import CONTENT, DNSBL, FULL, GREY, IP_REPUTATION, OTHER, RATE, TLS, USER

_NOT_A_BLOCK = {
    USER: ", which are per recipient",
    FULL: ", which are per recipient",
    GREY: ", which are per recipient",
    TLS: ", which a TLS setting on our side fixes",
    CONTENT: ", which judge single messages",
}


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
    return _Context(
        facts,
        domain,
        values["stream"],
        category,
        mine,
        provider,
        values,
        last,
        listed,
        _listed_ips(facts, mine),
    )


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
    steps += _ip_share_steps(facts, domain, category, limit_helps=part.proposed is not None)
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


def _ip_share_steps(
    facts: BlockFacts, domain: str, category: str, *, limit_helps: bool = True
) -> list[str]:
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
        RATE: " Lower the Domain Connection Limit before they hit the same limit."
        if limit_helps
        else "",
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
