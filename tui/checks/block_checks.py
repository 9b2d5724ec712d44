"""Checks for a blocked (receiving domain, stream IPs) pair.

Receiving side: the domain's MX hosts and whether the blocking MX IPs are still theirs
(:mod:`tui.checks.mx_checks`). Sending side, per stream IP: PTR, forward-confirmed reverse DNS
and the HELO name (:mod:`tui.checks.rdns_checks`), and the listing on each DNS blocklist zone
(:mod:`tui.checks.dnsbl_checks`, which says how blocklist answers are read).

This module holds the targets and the scheduling (each domain, IP and (IP, zone) checked
once); the checks' names are re-exported here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from tui.checks.dnsbl_checks import (
    ERROR_ANSWERS,
    ZEN_CODES,
    DnsblAnswer,
    ZoneHealth,
    check_dnsbl,
    check_zone_health,
    dnsbl_query_name,
    interpret_dnsbl,
    is_allowlist,
    is_informational,
    is_zen,
    probe_zone,
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
from tui.checks.mx_checks import MxHost, MxInfo, check_mx, lookup_mx
from tui.checks.rdns_checks import check_rdns
from tui.checks.results import CheckResult
from tui.checks.settings import CheckSettings

__all__ = [
    "ERROR_ANSWERS",
    "ZEN_CODES",
    "BlockTarget",
    "DnsblAnswer",
    "MxHost",
    "MxInfo",
    "ZoneHealth",
    "block_jobs",
    "check_dnsbl",
    "check_mx",
    "check_rdns",
    "check_zone_health",
    "dnsbl_query_name",
    "interpret_dnsbl",
    "is_allowlist",
    "is_informational",
    "is_zen",
    "iter_block_checks",
    "lookup_mx",
    "probe_zone",
    "run_block_checks",
]


@dataclass
class BlockTarget:
    """A receiving domain that blocks some stream IPs.

    ``domain`` may be ``None`` to check only the IPs. ``blocking_mx_ips`` are the MX addresses
    ListManager recorded as blocking. ``helo`` is one HELO name for every IP or a mapping
    IP → name; ``None`` falls back to the settings.
    """

    domain: str | None
    stream_ips: list[str] = field(default_factory=list)
    blocking_mx_ips: list[str] = field(default_factory=list)
    helo: dict[str, str] | str | None = None

    def helo_for(self, ip: str) -> str | None:
        """The HELO name this target knows for ``ip``."""
        return helo_from(self.helo, ip)


def block_jobs(targets: Iterable[BlockTarget], settings: CheckSettings) -> list[tuple[str, Job]]:
    """The jobs for ``targets``, each domain, IP and (IP, zone) once."""
    domains: dict[str, list[str]] = {}
    ips: dict[str, str | None] = {}
    for target in targets:
        if target.domain:
            domain = target.domain.strip().rstrip(".").lower()
            mx_ips = domains.setdefault(domain, [])
            mx_ips.extend(ip for ip in target.blocking_mx_ips if ip not in mx_ips)
        for ip in target.stream_ips:
            helo = target.helo_for(ip) or settings.helo_for(ip)
            if ips.get(ip) is None:
                ips[ip] = helo
    jobs: list[tuple[str, Job]] = []
    for domain, mx_ips in domains.items():
        jobs.append((f"mx {domain}", bind_job(check_mx, domain, mx_ips)))
    for ip, helo in ips.items():
        jobs.append((f"rdns {ip}", bind_job(check_rdns, ip, helo)))
    zones = list(dict.fromkeys(z.strip().rstrip(".").lower() for z in settings.dnsbl_zones))
    if ips:
        for zone in zones:
            jobs.append((f"dnsbl-zone {zone}", bind_job(check_zone_health, zone)))
        for ip in ips:
            for zone in zones:
                jobs.append((f"dnsbl {ip} {zone}", bind_job(check_dnsbl, ip, zone)))
    return jobs


def iter_block_checks(
    targets: Iterable[BlockTarget], settings: CheckSettings, ctx: CheckContext | None = None
) -> AsyncIterator[CheckResult]:
    """Results of the block checks as they arrive (an async generator; see
    :func:`tui.checks.engine.stream_jobs` for cancellation)."""

    return job_results(settings, lambda: block_jobs(targets, settings), ctx)


async def run_block_checks(
    targets: Iterable[BlockTarget],
    settings: CheckSettings,
    on_result: OnResult | None = None,
) -> list[CheckResult]:
    """Run every block check and return the results in listing order."""
    return await collect(iter_block_checks(targets, settings), on_result)
