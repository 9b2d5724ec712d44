"""The DKIM check of one selector at a sender domain: the key record (parsed by us, so
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
from dataclasses import dataclass
from typing import Literal

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
from tui.checks.engine import CheckContext, Emit, _in_thread
from tui.checks.resolver import Budget, Resolver
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status, worst

SelectorSource = Literal["user", "config", "listmanager"]


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
