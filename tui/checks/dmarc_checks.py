"""The DMARC check of a sender domain: the policy at ``_dmarc.<domain>`` or at its
organizational domain, and what a missing record means for the receivers that block it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tui.checks.engine import CheckContext, Emit
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status

_TWO_LEVEL = """
    co.uk org.uk me.uk ltd.uk plc.uk net.uk ac.uk gov.uk sch.uk nhs.uk
    com.au net.au org.au edu.au gov.au asn.au id.au co.nz net.nz org.nz govt.nz ac.nz
    co.jp ne.jp or.jp ac.jp go.jp co.kr or.kr ac.kr com.cn net.cn org.cn gov.cn edu.cn
    com.hk org.hk com.tw org.tw com.sg com.my com.ph co.id co.in net.in org.in gov.in
    co.za org.za com.br net.br org.br gov.br com.ar com.mx org.mx com.co com.pe com.tr
    co.il org.il com.ua com.pl co.th ac.th com.vn com.eg com.sa com.ng co.ke
"""
TWO_LEVEL_SUFFIXES = frozenset(_TWO_LEVEL.split())
"""Known two-level public suffixes. This is a heuristic, not the Public Suffix List: the
organizational domain is the last two labels, or three under one of these suffixes."""

BULK_SENDER_RECEIVERS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "aol.com", "rocketmail.com"}
)
"""Receivers whose bulk-sender rules (2024) require DMARC, SPF and DKIM."""


def organizational_domain(domain: str) -> str:
    """``news.example.co.uk`` → ``example.co.uk`` (heuristic, see :data:`TWO_LEVEL_SUFFIXES`)."""
    labels = domain.rstrip(".").lower().split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def parse_dmarc(text: str) -> dict[str, str]:
    """Tags of a DMARC record, lower-case keys (``{"v": "DMARC1", "p": "none", ...}``)."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


def _dmarc_records(texts: Sequence[str]) -> list[str]:
    return [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]


async def check_dmarc(
    ctx: CheckContext, domain: str, blocked_by: Sequence[str], emit: Emit
) -> None:
    """The DMARC policy of ``domain`` (or its organizational domain)."""
    budget = ctx.budget()
    org = organizational_domain(domain)
    details: dict[str, object] = {"domain": domain, "organizational_domain": org}
    lookup = await ctx.resolver.lookup(f"_dmarc.{domain}", "TXT", budget)
    evidence = list(lookup.evidence())
    records = _dmarc_records(lookup.records) if lookup.ok else []
    found_at = domain
    if not records and not lookup.failed and org != domain:
        org_lookup = await ctx.resolver.lookup(f"_dmarc.{org}", "TXT", budget)
        evidence.extend(org_lookup.evidence())
        lookup = org_lookup
        records = _dmarc_records(lookup.records) if lookup.ok else []
        found_at = org
    if lookup.failed:
        emit(CheckResult("dmarc", domain, NOT_TESTED, lookup.reason, tuple(evidence), details))
        return
    if not records:
        bulk = sorted(d for d in dict.fromkeys(blocked_by) if d in BULK_SENDER_RECEIVERS)
        if bulk:
            reason = (
                f"no DMARC record: {', '.join(bulk)} {'requires' if len(bulk) == 1 else 'require'} "
                "DMARC (at least p=none) from bulk "
                "senders, which explains 5.7.26 / 'unauthenticated' blocks"
            )
            status: Status = FAIL
        else:
            reason = (
                "no DMARC record: Gmail and Yahoo require DMARC (at least p=none) from bulk senders"
            )
            status = WARN
        emit(CheckResult("dmarc", domain, status, reason, tuple(evidence), details))
        return
    if len(records) > 1:
        emit(
            CheckResult(
                "dmarc",
                domain,
                FAIL,
                f"{len(records)} DMARC records at _dmarc.{found_at}: receivers ignore them all",
                tuple(evidence),
                details,
            )
        )
        return
    tags = parse_dmarc(records[0])
    details.update({"found_at": found_at, "tags": {k: tags[k] for k in tags if k in _DMARC_TAGS}})
    inherited_from = found_at if found_at != domain else None
    status, reason, policy = dmarc_verdict(tags, inherited_from)
    details["policy"] = policy
    emit(CheckResult("dmarc", domain, status, reason, tuple(evidence), details))


def dmarc_verdict(
    tags: Mapping[str, str], inherited_from: str | None = None
) -> tuple[Status, str, str]:
    """``(status, reason, policy)`` for the tags of one DMARC record (see :func:`parse_dmarc`).

    ``inherited_from`` is the organizational domain when the record was found there, not at
    the domain itself: its ``sp=`` (else ``p=``) applies then. ``policy`` is the lower-cased
    policy as written (possibly not a valid one).
    """
    inherited = inherited_from is not None
    policy = (tags.get("sp") or tags.get("p", "")) if inherited else tags.get("p", "")
    policy = policy.lower()
    where = f" (inherited from {inherited_from})" if inherited else ""
    status: Status
    if policy not in ("none", "quarantine", "reject"):
        status, reason = (
            FAIL,
            f"invalid DMARC record{where}: p= missing or not none/quarantine/reject",
        )
    elif policy == "none":
        status = WARN
        reason = f"unenforced (p=none){where}: failing mail is not rejected; monitoring only"
    else:
        status, reason = PASS, f"p={policy}{where}"
        pct = tags.get("pct", "100")
        # ASCII digits only: str.isdigit() is also true for "²", which int() refuses.
        if pct.isascii() and pct.isdigit() and int(pct) < 100:
            status = WARN
            reason = f"p={policy} applied to only {int(pct)}% of failing mail{where}"
    if "rua" not in tags:
        reason += "; no rua= (no aggregate reports)"
    return status, reason, policy


_DMARC_TAGS = ("v", "p", "sp", "pct", "rua", "ruf", "adkim", "aspf", "fo", "ri")
