"""The SPF checks of a sender domain: its record (one, with a sane ``all``) and the RFC 7208
lookup count per mechanism, and pyspf's verdict for each stream IP (through our resolver, see
:mod:`tui.checks.spf_walk`)."""

from __future__ import annotations

from tui.checks.engine import CheckContext, Emit, _in_thread
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status
from tui.checks.spf_walk import MAX_LOOKUPS, MAX_VOID, spf_verdict, walk_spf


async def check_spf_record(ctx: CheckContext, domain: str, emit: Emit) -> None:
    """The SPF record of ``domain`` and its DNS lookup count."""
    walk = await walk_spf(ctx.resolver, domain, ctx.budget())
    details: dict[str, object] = {"domain": domain, "records": walk.records}
    evidence = tuple(walk.evidence) or walk.lookup.evidence()
    if walk.lookup.failed:
        emit(CheckResult("spf-record", domain, NOT_TESTED, walk.lookup.reason, evidence, details))
        emit(
            CheckResult(
                "spf-lookups",
                domain,
                NOT_TESTED,
                f"no SPF record to count: {walk.lookup.reason}",
                details=details,
            )
        )
        return
    if not walk.records:
        emit(
            CheckResult(
                "spf-record",
                domain,
                FAIL,
                "no SPF record: Gmail and Yahoo require SPF or DKIM from every sender, "
                "and both from bulk senders",
                evidence,
                details,
            )
        )
        emit(CheckResult("spf-lookups", domain, NOT_TESTED, "no SPF record", details=details))
        return
    if len(walk.records) > 1:
        status: Status = FAIL
        reason = f"{len(walk.records)} SPF records: receivers answer permerror (only one allowed)"
    else:
        status, reason = _judge_all(walk.records[0])
    emit(CheckResult("spf-record", domain, status, reason, evidence, details))

    counts = walk.by_mechanism()
    breakdown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    ldetails: dict[str, object] = {
        "domain": domain,
        "lookups": walk.lookups,
        "void_lookups": walk.void_lookups,
        "by_mechanism": counts,
        "steps": [
            {
                "index": s.index,
                "term": s.term,
                "record": s.record_domain,
                "depth": s.depth,
                "void": s.void,
                "note": s.note,
            }
            for s in walk.steps
        ],
        "problems": walk.problems,
    }
    lines = tuple(s.line() for s in walk.steps) + tuple(walk.problems)
    summary = (
        f"{walk.lookups} DNS lookup{'s' if walk.lookups != 1 else ''} "
        f"(limit {MAX_LOOKUPS}: {breakdown or 'none'}), "
        f"{walk.void_lookups} void (limit {MAX_VOID})"
    )
    over = walk.over_limit()
    if over is not None:
        top = walk.top_level_of(over)
        via = f" under {top.term}" if top is not over else ""
        ldetails["over_limit_term"] = over.term
        ldetails["over_limit_top"] = top.term
        result = CheckResult(
            "spf-lookups",
            domain,
            FAIL,
            f"permerror: {summary}; the 11th is {over.term} in {over.record_domain}{via}",
            lines,
            ldetails,
        )
    elif walk.void_lookups > MAX_VOID:
        result = CheckResult(
            "spf-lookups",
            domain,
            FAIL,
            f"permerror: too many void lookups: {summary}",
            lines,
            ldetails,
        )
    elif walk.problems:
        result = CheckResult(
            "spf-lookups", domain, FAIL, f"{walk.problems[0]}; {summary}", lines, ldetails
        )
    elif walk.dns_errors:
        result = CheckResult(
            "spf-lookups",
            domain,
            NOT_TESTED,
            f"incomplete, {walk.dns_errors[0]}; at least {summary}",
            lines,
            ldetails,
        )
    else:
        status = WARN if walk.lookups >= MAX_LOOKUPS - 1 else PASS
        note = ": close to the limit" if status == WARN else ""
        result = CheckResult("spf-lookups", domain, status, summary + note, lines, ldetails)
    emit(result)


def _judge_all(record: str) -> tuple[Status, str]:
    terms = record.split()[1:]
    alls = [t for t in terms if t.lstrip("+-~?").lower() == "all"]
    has_redirect = any(t.lower().startswith("redirect=") for t in terms)
    if not alls:
        if has_redirect:
            return PASS, "one SPF record (policy from its redirect=)"
        return WARN, "one SPF record without an 'all' term: unlisted IPs get 'neutral'"
    qualifier = alls[-1][0] if alls[-1][0] in "+-~?" else "+"
    if qualifier == "+":
        return FAIL, "one SPF record ending in +all: it authorizes every IP on the internet"
    if qualifier == "?":
        return WARN, "one SPF record ending in ?all: unlisted IPs are 'neutral'"
    return PASS, f"one SPF record ending in {qualifier}all"


_SPF_STATUS: dict[str, tuple[Status, str]] = {
    "pass": (PASS, "pass: {domain} authorizes {ip}"),
    "fail": (FAIL, "fail: {domain} does not authorize {ip} (-all)"),
    "softfail": (FAIL, "softfail: {domain} does not authorize {ip} (~all)"),
    "neutral": (WARN, "neutral: {domain} says nothing about {ip}"),
    "none": (FAIL, "none: {domain} has no SPF record"),
    "permerror": (FAIL, "permerror: the SPF record of {domain} is broken"),
    "temperror": (NOT_TESTED, "temperror: DNS failed during the SPF evaluation"),
}


async def check_spf_ip(
    ctx: CheckContext, domain: str, ip: str, mail_from: str, helo: str, emit: Emit
) -> None:
    """pyspf's verdict for ``ip`` sending as ``mail_from``."""
    subject = f"{domain} for {ip}"
    details: dict[str, object] = {"domain": domain, "ip": ip, "mail_from": mail_from, "helo": helo}
    budget = ctx.budget()
    outcome = await _in_thread(ctx, budget, spf_verdict, ctx.resolver, ip, mail_from, helo, budget)
    if outcome is None:
        emit(CheckResult("spf", subject, NOT_TESTED, budget.expired_reason(), details=details))
        return
    result, explanation, trail = outcome
    status, template = _SPF_STATUS.get(result, (NOT_TESTED, f"{result}: unexpected pyspf result"))
    reason = template.format(domain=domain, ip=ip)
    if result in ("permerror", "temperror") and explanation:
        reason += f": {explanation}"
    details["result"] = result
    details["explanation"] = explanation
    emit(CheckResult("spf", subject, status, reason, trail, details))
