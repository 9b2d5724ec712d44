"""The advice for one category of reply (rate limit, authentication, blocklist, reputation,
policy): its headline, meaning, steps and release rule, before primary and secondary are
combined. Each builder reads the playbook row, the replies and the check results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tui.db.records import ConnectionLimit
from tui.diagnose import playbook as PB
from tui.diagnose.advice.check_results import (
    _AUTH_CHECK_ORDER,
    _auth_check_step,
    _checks,
    _detail,
    _failing_label,
    _reason,
)
from tui.diagnose.advice.evidence import _Scored
from tui.diagnose.advice.limits import propose_limit
from tui.diagnose.advice.receiver import _code_note, _meaningful_code, _subject, _verb, _who
from tui.diagnose.advice.records import BlockFacts
from tui.diagnose.advice.text import (
    _after,
    _Fill,
    _fill,
    _hours_text,
    _join,
    _plus_hours,
    _safe,
    fmt_time,
)
from tui.diagnose.classify import Classification, normalise
from tui.diagnose.patterns import (
    AUTH,
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

if TYPE_CHECKING:
    from tui.checks.results import CheckResult


_PER_RECIPIENT = frozenset({USER, FULL, GREY, TLS})


_BLOCKLISTS = tuple((row, re.compile(row.pattern)) for row in PB.BLOCKLISTS)
_POLICY = tuple((cause, re.compile(cause.pattern)) for cause in PB.POLICY_CAUSES)
_AUTH = tuple((rec, re.compile(rec.pattern)) for rec in PB.AUTH_RECORDS)
_SPAMHAUS_SUB = re.compile(r"\b(sbl|xbl|pbl|css|cbl)\b")
_UCE_LEVEL = re.compile(r"level ?([123])|dnsbl-([123])\.uceprotect")


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
    listed_ips: tuple[str, ...] = ()  # every stream IP the replies name, most weight first


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


# --------------------------------------------------------------------------- per category


def _part_rate(ctx: _Context, part: _Part, note: PB.CodeNote | None) -> None:
    facts = ctx.facts
    provider = PB.PROVIDERS.get(ctx.provider)
    current = facts.connection_limit or ConnectionLimit.default(ctx.domain)
    proposed = propose_limit(current, ctx.provider, volume=bool(note and note.volume))
    if note and note.no_limit:
        pass  # about the messages, not the connections: the note's own steps say what to fix
    elif proposed is None:
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
    ip = _and(ctx.listed_ips) if len(ctx.listed_ips) > 1 else (ctx.listed_ip or "the sending IP")
    ctx.fill["blocklist"] = label
    who = _who(ctx.provider, ctx.domain)
    are = "are" if len(ctx.listed_ips) > 1 else "is"
    if note is not None:
        part.headline = f"{part.name} refuses {ip}: listed on {label}"
    else:
        part.headline = f"{ip} {are} listed on {label}; {who} refuses {'them' if are == 'are' else 'it'}"
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
    ips = set(ctx.listed_ips) or ({ctx.listed_ip} if ctx.listed_ip else set(ctx.facts.stream_ips))
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
        _forward_steps(part, results)
    elif results and all(r.status == "pass" for r in results):
        checks = _join(sorted({r.check for r in results}))
        part.when = PB.WHEN_NOW
        part.reason = f"the {checks} checks pass now"
        part.release_steps.append(
            f"The {checks} checks pass now: if this was fixed after "
            f"{fmt_time(ctx.last_seen)} (the last refusal), release now."
        )


def _forward_steps(part: _Part, results: Sequence[CheckResult]) -> None:
    """A PTR that exists but does not resolve back: the fix is its forward record, not a new
    PTR; the generic "publish a PTR" step is replaced by what the checks found."""
    has_ptr = {_detail(r, "ip") or r.subject for r in results if r.check == "ptr" and r.status == "pass"}
    specific = []
    for r in results:
        if r.check != "fcrdns" or r.status != "fail":
            continue
        ip = _detail(r, "ip") or _safe(r.subject, 64)
        if ip not in has_ptr:
            continue
        specific.append(
            f"{ip} has a PTR record, but {_reason(r)}: make that name's A record point at "
            f"{ip} (or give {ip} a PTR name that does), so its reverse DNS is forward-confirmed."
        )
    if specific:
        part.steps[:] = [s for s in part.steps if not s.startswith("Publish a PTR record")]
        part.steps[:0] = specific[:3]


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


def _policy_cause(scored: Iterable[_Scored]) -> PB.PolicyCause | None:
    for s in scored:
        norm = normalise(s.reply.text)
        for cause, regex in _POLICY:
            if regex.search(norm):
                return cause
    return None


def _and(items: Sequence[str]) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
