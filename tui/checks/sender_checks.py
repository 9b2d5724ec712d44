"""Checks of a sender domain: SPF for each stream IP, DMARC, and each DKIM selector.

This module holds the targets (:class:`SenderTarget`, with :class:`DkimSelector`) and the
scheduling: each SPF domain, (SPF domain, IP), DMARC domain and (domain, selector) is checked
once. The checks are in :mod:`tui.checks.spf_checks` (the record, its RFC 7208 lookup count,
pyspf's verdict per stream IP), :mod:`tui.checks.dmarc_checks` (the policy at
``_dmarc.<domain>`` or the organizational domain) and :mod:`tui.checks.dkim_checks` (the key
record, the match with ListManager's private key, a real sign + verify, and when a missing key
is a failure); their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field

from tui.checks.dkim_checks import DkimSelector, SelectorSource, check_dkim, sign_and_verify
from tui.checks.dkim_checks import _judge_record as _judge_record  # tests
from tui.checks.dmarc_checks import (
    BULK_SENDER_RECEIVERS,
    TWO_LEVEL_SUFFIXES,
    check_dmarc,
    dmarc_verdict,
    organizational_domain,
    parse_dmarc,
)
from tui.checks.engine import (
    CheckContext,
    Job,
    OnResult,
    bind_job,
    collect,
    helo_from,
    job_results,
)
from tui.checks.results import CheckResult
from tui.checks.settings import CheckSettings
from tui.checks.spf_checks import _judge_all as _judge_all  # tests
from tui.checks.spf_checks import check_spf_ip, check_spf_record

__all__ = [
    "BULK_SENDER_RECEIVERS",
    "TWO_LEVEL_SUFFIXES",
    "DkimSelector",
    "SelectorSource",
    "SenderTarget",
    "check_dkim",
    "check_dmarc",
    "check_spf_ip",
    "check_spf_record",
    "dmarc_verdict",
    "iter_sender_checks",
    "organizational_domain",
    "parse_dmarc",
    "run_sender_checks",
    "sender_jobs",
    "sign_and_verify",
]


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
        return helo_from(self.helo, ip)


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().rstrip(".").lower()


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
            jobs.append((f"spf {spf_domain}", bind_job(check_spf_record, spf_domain)))
        for ip, helo in entry.ips.items():
            if (spf_domain, ip) in spf_ip_done:
                continue
            spf_ip_done.add((spf_domain, ip))
            jobs.append(
                (
                    f"spf {spf_domain} {ip}",
                    bind_job(check_spf_ip, spf_domain, ip, mail_from, helo or spf_domain),
                )
            )
        receivers = list(dict.fromkeys([*entry.blocked_by, *blocked_by]))
        jobs.append((f"dmarc {domain}", bind_job(check_dmarc, domain, receivers)))
        for sel in entry.selectors.values():
            jobs.append((f"dkim {sel.selector} {domain}", bind_job(check_dkim, domain, sel)))
    return jobs


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
