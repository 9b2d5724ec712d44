"""Checks of a sender domain: SPF for each stream IP, DMARC, and each DKIM selector.

SPF: the record, pyspf's verdict per stream IP (through our resolver, see
:mod:`tui.checks.spf_walk`) and the RFC 7208 lookup count per mechanism. DMARC: the policy at
``_dmarc.<domain>`` or the organizational domain. DKIM: the key record (parsed by us, so
"testing" and "revoked" are said plainly), the key size, whether the DNS key is the public
half of ListManager's private key (if not, ListManager sends unsigned), and a real sign +
verify with dkimpy through our resolver.

A selector that has no key is "not tested: selector unknown" when it is only a guess, and a
failure when ListManager is configured with it (or its private key is known). We never say
"no DKIM" because one selector is unknown.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import importlib.util
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, ParamSpec, TypeVar

import dkim

from tui.checks.dkim_keys import (
    KeyRecord,
    PrivateKey,
    keys_match,
    load_private_key,
    looks_like_key_record,
    parse_key_record,
    signing_pem,
)
from tui.checks.engine import CheckContext, Emit, Job, OnResult, collect, job_results
from tui.checks.resolver import Budget, Resolver, acquire_slot
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status, worst
from tui.checks.settings import CheckSettings
from tui.checks.spf_walk import MAX_LOOKUPS, MAX_VOID, spf_verdict, walk_spf

SelectorSource = Literal["user", "config", "listmanager"]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class DkimSelector:
    """A selector to check at a domain.

    ``source`` says where the selector came from: ``"listmanager"`` (lyrDKSelectors /
    lyrSiteDKDomains), ``"config"`` (the config file) or ``"user"`` (a guess). A missing key
    is a failure for ListManager selectors and whenever the private key is known.
    """

    selector: str
    private_key_pem: str | None = None
    source: SelectorSource = "user"

    @property
    def expected(self) -> bool:
        """ListManager signs with this selector, so a missing key is a real problem."""
        return self.source == "listmanager" or bool(self.private_key_pem)


@dataclass
class SenderTarget:
    """A header-From domain and the stream IPs that send for it.

    ``mail_from`` is the envelope sender; SPF is checked for its domain when given, else for
    ``domain``. ``blocked_by`` are receiving domains blocking these IPs (to say what a missing
    DMARC record means for them).
    """

    domain: str
    stream_ips: list[str] = field(default_factory=list)
    selectors: list[DkimSelector] = field(default_factory=list)
    mail_from: str | None = None
    helo: dict[str, str] | str | None = None
    blocked_by: list[str] = field(default_factory=list)

    def helo_for(self, ip: str) -> str | None:
        if isinstance(self.helo, str):
            return self.helo
        if isinstance(self.helo, dict):
            return self.helo.get(ip)
        return None


# -- organizational domain -------------------------------------------------------------------

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


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().rstrip(".").lower()


# -- SPF ---------------------------------------------------------------------------------------


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


async def _in_thread(
    ctx: CheckContext, budget: Budget, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T | None:
    """Run a blocking library call in a thread, holding one concurrency slot, bounded by
    ``budget`` (the thread finishes on its own: its lookups share the same budget)."""
    if not await acquire_slot(ctx.limiter, budget):
        return None
    try:
        budget.start()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(fn, *args, **kwargs), budget.remaining() + 0.5
            )
        except TimeoutError:
            return None
    finally:
        ctx.limiter.release()


# -- DMARC -------------------------------------------------------------------------------------


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


# -- DKIM --------------------------------------------------------------------------------------

_HAVE_NACL = importlib.util.find_spec("nacl") is not None


def _test_message(domain: str) -> bytes:
    date = email.utils.formatdate(localtime=False)
    return (
        f"From: lmtriage <lmtriage-test@{domain}>\r\n"
        f"To: postmaster@{domain}\r\n"
        f"Subject: lmtriage DKIM test\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: <dkim-test.{abs(hash((domain, date)))}@{domain}>\r\n"
        "\r\n"
        "DKIM test message signed and verified by lmtriage.\r\n"
    ).encode("ascii")


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.INFO:
            self.messages.append(record.getMessage())


def sign_and_verify(
    resolver: Resolver, domain: str, selector: str, key: PrivateKey, budget: Budget
) -> tuple[bool | None, str, tuple[str, ...]]:
    """Sign a test message with dkimpy and verify it, looking the key up through
    ``resolver``; returns (verified, why, evidence). ``verified`` is ``None`` when the key
    could not be looked up (timeout, SERVFAIL...): nothing was verified then. Blocking: run
    in a thread."""
    budget.start()
    trail: list[str] = []
    dns_failures: list[str] = []

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", errors="replace") if isinstance(name, bytes) else name
        lookup = resolver.lookup_sync(text, "TXT", budget)
        trail.extend(lookup.evidence())
        if lookup.failed:
            dns_failures.append(lookup.reason)
            raise dkim.DnsTimeoutError(lookup.reason)
        for record in lookup.records:
            if looks_like_key_record(record):
                return record.encode("utf-8", errors="replace")
        return lookup.records[0].encode("utf-8", errors="replace") if lookup.records else None

    message = _test_message(domain)
    handler = _ListHandler()
    logger = logging.Logger(f"lmtriage.dkim.{selector}.{domain}")
    logger.addHandler(handler)
    try:
        signature = dkim.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            signing_pem(key),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
            logger=logger,
        )
    except dkim.DKIMException as exc:
        return False, f"dkimpy could not sign: {exc}", tuple(trail)
    try:
        ok = dkim.verify(signature + message, logger=logger, dnsfunc=dnsfunc, minkey=1024)
    except Exception as exc:  # noqa: BLE001 - dkimpy raises beyond DKIMException on odd keys
        if dns_failures:
            return None, f"key lookup during verification: {dns_failures[0]}", tuple(trail)
        return False, f"dkimpy could not verify: {type(exc).__name__}: {exc}", tuple(trail)
    if dns_failures and not ok:
        return None, f"key lookup during verification: {dns_failures[0]}", tuple(trail)
    if ok:
        return True, "a test message signed with the private key verifies against DNS", tuple(trail)
    why = handler.messages[-1] if handler.messages else "signature did not verify"
    return False, f"dkimpy verification failed: {why}", tuple(trail)


@functools.lru_cache(maxsize=32)
def _load_key_cached(pem: str) -> PrivateKey:
    return load_private_key(pem)


def _read_key(sel: DkimSelector) -> tuple[PrivateKey | None, str | None]:
    """The selector's private key, or why it cannot be read. Loading an RSA key checks it
    (about 0.1 s of CPU for 2048 bits), so run this in a thread; a key used for several
    domains is loaded once."""
    if not sel.private_key_pem:
        return None, None
    try:
        return _load_key_cached(sel.private_key_pem), None
    except ValueError as exc:
        return None, str(exc)


def _judge_record(record: KeyRecord, sel: DkimSelector) -> tuple[Status, str]:
    findings: list[tuple[Status, str]] = []
    if record.error:
        return FAIL, f"unusable key record: {record.error}"
    if record.revoked:
        return FAIL, "key revoked (empty p=): every signature with this selector fails"
    if record.key_type == "rsa" and record.bits is not None:
        if record.bits < 1024:
            findings.append(
                (FAIL, f"RSA key of {record.bits} bits: receivers ignore keys under 1024 bits")
            )
        elif record.bits < 2048:
            findings.append((WARN, f"RSA key of {record.bits} bits is weak; 2048 recommended"))
        else:
            findings.append((PASS, f"RSA key of {record.bits} bits"))
    elif record.key_type == "ed25519":
        findings.append((PASS, "ed25519 key (receivers that lack ed25519 also need an RSA key)"))
    if record.testing:
        findings.append((WARN, "testing mode (t=y): receivers may treat signed mail as unsigned"))
    service = record.tags.get("s", "*").replace(" ", "").lower().split(":")
    if "*" not in service and "email" not in service:
        findings.append((FAIL, f"s={record.tags.get('s')} excludes email"))
    hashes = record.tags.get("h")
    if hashes and "sha256" not in hashes.replace(" ", "").lower().split(":"):
        findings.append((FAIL, f"h={hashes} does not allow sha256"))
    status = worst(s for s, _ in findings)
    shown = [text for s, text in findings if s != PASS] or [text for _, text in findings]
    return status, "; ".join(shown)


async def check_dkim(ctx: CheckContext, domain: str, sel: DkimSelector, emit: Emit) -> None:
    """The key record of one selector, its match with the private key, and sign + verify."""
    name = f"{sel.selector}._domainkey.{domain}"
    subject = name
    details: dict[str, object] = {
        "domain": domain,
        "selector": sel.selector,
        "source": sel.source,
        "has_private_key": bool(sel.private_key_pem),
    }
    budget = ctx.budget()
    # The private key is read in a thread while the key record is looked up: reading it
    # on the event loop would hold up every other check (and a console) for its CPU time.
    key_task = asyncio.ensure_future(asyncio.to_thread(_read_key, sel))
    try:
        lookup = await ctx.resolver.lookup(name, "TXT", budget)
        private_key, key_error = await key_task
    finally:
        key_task.cancel()
    evidence = lookup.evidence()
    key_records = [r for r in lookup.records if looks_like_key_record(r)] if lookup.ok else []
    record: KeyRecord | None = None

    if lookup.failed:
        emit(CheckResult("dkim-record", subject, NOT_TESTED, lookup.reason, evidence, details))
    elif not key_records:
        what = (
            "TXT found but no p= tag"
            if lookup.ok
            else ("NXDOMAIN" if lookup.status == "nxdomain" else "NODATA")
        )
        if sel.expected:
            status: Status = FAIL
            reason = f"no key published at {name} ({what}): ListManager will send UNSIGNED"
        else:
            status = NOT_TESTED
            reason = (
                f"selector unknown: no key at {name} ({what}); this does not mean the domain "
                "has no DKIM (ListManager's selectors are in lyrDKSelectors)"
            )
        emit(CheckResult("dkim-record", subject, status, reason, evidence, details))
    else:
        record = parse_key_record(key_records[0])
        status, reason = _judge_record(record, sel)
        details.update(
            {
                "key_type": record.key_type,
                "bits": record.bits,
                "testing": record.testing,
                "revoked": record.revoked,
                "tags": {k: v for k, v in record.tags.items() if k != "p"},
            }
        )
        if len(key_records) > 1:
            status = worst([status, WARN])
            reason += f"; {len(key_records)} key records at this name: receivers pick either"
        emit(CheckResult("dkim-record", subject, status, reason, evidence, details))

    if not sel.private_key_pem:
        return
    mdetails = dict(details)
    usable = record is not None and record.public_key is not None and not record.error
    if private_key is None:
        emit(
            CheckResult(
                "dkim-key-match",
                subject,
                FAIL,
                f"the private key cannot be read ({key_error}): ListManager cannot sign",
                details=mdetails,
            )
        )
        return
    if lookup.failed:
        emit(
            CheckResult(
                "dkim-key-match",
                subject,
                NOT_TESTED,
                f"key lookup: {lookup.reason}",
                details=mdetails,
            )
        )
        return
    if record is None or not usable:
        why = (
            "no key published"
            if record is None
            else (
                "the DNS key is revoked"
                if record.revoked
                else f"the DNS record is unusable ({record.error})"
            )
        )
        emit(
            CheckResult(
                "dkim-key-match",
                subject,
                FAIL,
                f"ListManager will send UNSIGNED: {why}",
                details=mdetails,
            )
        )
        return
    assert record.public_key is not None
    if not keys_match(private_key, record.public_key):
        emit(
            CheckResult(
                "dkim-key-match",
                subject,
                FAIL,
                "ListManager will send UNSIGNED: the DNS key does not match the private key",
                evidence,
                mdetails,
            )
        )
        return
    emit(
        CheckResult(
            "dkim-key-match",
            subject,
            PASS,
            f"the DNS key is the public half of the private key ({record.summary()})",
            evidence,
            mdetails,
        )
    )
    if record.key_type == "ed25519" and not _HAVE_NACL:
        emit(
            CheckResult(
                "dkim-sign-verify",
                subject,
                NOT_TESTED,
                "dkimpy needs pynacl for ed25519, which is not installed",
                details=mdetails,
            )
        )
        return
    # The same time budget as the key lookup: the whole check stays within its limit.
    outcome = await _in_thread(
        ctx, budget, sign_and_verify, ctx.resolver, domain, sel.selector, private_key, budget
    )
    if outcome is None:
        emit(
            CheckResult(
                "dkim-sign-verify", subject, NOT_TESTED, budget.expired_reason(), details=mdetails
            )
        )
        return
    ok, why, trail = outcome
    verdict: Status = NOT_TESTED if ok is None else (PASS if ok else FAIL)
    emit(CheckResult("dkim-sign-verify", subject, verdict, why, trail, mdetails))


# -- scheduling --------------------------------------------------------------------------------


@dataclass
class _Domain:
    ips: dict[str, str | None] = field(default_factory=dict)
    selectors: dict[str, DkimSelector] = field(default_factory=dict)
    mail_from: str | None = None
    blocked_by: list[str] = field(default_factory=list)


def _merge(targets: Iterable[SenderTarget], settings: CheckSettings) -> dict[str, _Domain]:
    merged: dict[str, _Domain] = {}
    for target in targets:
        domain = target.domain.strip().rstrip(".").lower()
        entry = merged.setdefault(domain, _Domain())
        for ip in target.stream_ips:
            if entry.ips.get(ip) is None:
                entry.ips[ip] = target.helo_for(ip) or settings.helo_for(ip)
        for sel in target.selectors:
            key = sel.selector.lower()
            old = entry.selectors.get(key)
            if (
                old is None
                or (sel.expected and not old.expected)
                or (sel.private_key_pem and not old.private_key_pem)
            ):
                entry.selectors[key] = sel
        entry.mail_from = entry.mail_from or target.mail_from
        entry.blocked_by.extend(d for d in target.blocked_by if d not in entry.blocked_by)
    return merged


def sender_jobs(
    targets: Iterable[SenderTarget],
    settings: CheckSettings,
    blocked_by: Sequence[str] = (),
) -> list[tuple[str, Job]]:
    """The jobs for ``targets``: each SPF domain, (SPF domain, IP), DMARC domain and
    (domain, selector) once. ``blocked_by`` adds receiving domains to every target."""
    merged = _merge(targets, settings)
    jobs: list[tuple[str, Job]] = []
    spf_done: set[str] = set()
    spf_ip_done: set[tuple[str, str]] = set()
    for domain, entry in merged.items():
        mail_from = entry.mail_from or settings.mail_from
        if mail_from and "@" in mail_from:
            spf_domain = _domain_of(mail_from)
        else:
            spf_domain = domain
            mail_from = f"postmaster@{domain}"
        if spf_domain not in spf_done:
            spf_done.add(spf_domain)
            jobs.append((f"spf {spf_domain}", _job(check_spf_record, spf_domain)))
        for ip, helo in entry.ips.items():
            if (spf_domain, ip) in spf_ip_done:
                continue
            spf_ip_done.add((spf_domain, ip))
            jobs.append(
                (
                    f"spf {spf_domain} {ip}",
                    _job(check_spf_ip, spf_domain, ip, mail_from, helo or spf_domain),
                )
            )
        receivers = list(dict.fromkeys([*entry.blocked_by, *blocked_by]))
        jobs.append((f"dmarc {domain}", _job(check_dmarc, domain, receivers)))
        for sel in entry.selectors.values():
            jobs.append((f"dkim {sel.selector} {domain}", _job(check_dkim, domain, sel)))
    return jobs


def _job(fn: Callable[..., Awaitable[None]], *args: object) -> Job:
    async def job(ctx: CheckContext, emit: Emit) -> None:
        await fn(ctx, *args, emit)

    return job


def iter_sender_checks(
    targets: Iterable[SenderTarget], settings: CheckSettings, ctx: CheckContext | None = None
) -> AsyncIterator[CheckResult]:
    """Results of the sender-domain checks as they arrive (an async generator)."""

    return job_results(settings, lambda: sender_jobs(targets, settings), ctx)


async def run_sender_checks(
    targets: Iterable[SenderTarget],
    settings: CheckSettings,
    on_result: OnResult | None = None,
) -> list[CheckResult]:
    """Run every sender-domain check and return the results in listing order."""
    return await collect(iter_sender_checks(targets, settings), on_result)
