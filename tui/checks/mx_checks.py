"""The receiving side of a block: the domain's MX hosts by preference with their addresses,
and whether each blocking MX IP recorded by ListManager is still one of them (if not, the
block is stale: the receiver moved its MX)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from tui.checks.engine import CheckContext, Emit
from tui.checks.resolver import Budget, Lookup
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status


@dataclass(frozen=True)
class MxHost:
    host: str
    preference: int
    addresses: tuple[str, ...]
    lookups: tuple[Lookup, ...]

    @property
    def resolved(self) -> bool:
        """Every address lookup answered (possibly with nothing)."""
        return not any(lookup.failed for lookup in self.lookups)


@dataclass(frozen=True)
class MxInfo:
    """The MX hosts of a domain, or why they are unknown."""

    domain: str
    lookup: Lookup
    hosts: tuple[MxHost, ...]
    implicit: bool = False  # no MX record: the domain's own address is used (RFC 5321 5.1)
    null_mx: bool = False

    @property
    def usable(self) -> bool:
        return self.lookup.ok or self.implicit

    def addresses(self) -> dict[str, MxHost]:
        out: dict[str, MxHost] = {}
        for host in self.hosts:
            for address in host.addresses:
                out.setdefault(_canonical_ip(address), host)
        return out


def _canonical_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


async def _resolve_host(ctx: CheckContext, host: str, preference: int, budget: Budget) -> MxHost:
    a, aaaa = await ctx.resolver.addresses(host, budget)
    addresses = tuple(r for lookup in (a, aaaa) if lookup.ok for r in lookup.records)
    return MxHost(host, preference, addresses, (a, aaaa))


async def lookup_mx(ctx: CheckContext, domain: str) -> MxInfo:
    """MX hosts of ``domain`` by preference, each with its A/AAAA addresses."""
    budget = ctx.budget()
    mx = await ctx.resolver.lookup(domain, "MX", budget)
    if mx.status == "nodata":
        host = await _resolve_host(ctx, domain, 0, budget)
        return MxInfo(domain, mx, (host,), implicit=True)
    if not mx.ok:
        return MxInfo(domain, mx, ())
    pairs = sorted(
        ((int(r.preference), r.exchange.to_text(omit_final_dot=True)) for r in mx.rdata),
        key=lambda p: (p[0], p[1]),
    )
    if len(pairs) == 1 and pairs[0][1] in ("", "."):
        return MxInfo(domain, mx, (), null_mx=True)
    hosts = await asyncio.gather(*(_resolve_host(ctx, h, p, budget) for p, h in pairs))
    return MxInfo(domain, mx, tuple(hosts))


def _mx_task(ctx: CheckContext, domain: str) -> asyncio.Task[MxInfo]:
    return ctx.shared(("mx", domain), lambda: lookup_mx(ctx, domain))


def _host_failure(host: MxHost) -> str:
    return next((lookup.reason for lookup in host.lookups if lookup.failed), "lookup failed")


def _judge_mx_hosts(info: MxInfo) -> tuple[Status, str]:
    """The verdict on the MX hosts of a domain whose MX lookup answered (or said NODATA).

    A host whose address lookups answered with nothing has no address; one whose lookups
    failed is unknown, and unknown hosts make the verdict "not tested", never a failure.
    """
    listed = ", ".join(
        f"{h.host} ({h.preference}): {' '.join(h.addresses) or 'no address'}" for h in info.hosts
    )
    empty = [h.host for h in info.hosts if not h.addresses and h.resolved]
    unknown = [h for h in info.hosts if not h.addresses and not h.resolved]
    unknown_text = "; ".join(f"{h.host}: {_host_failure(h)}" for h in unknown)
    if info.implicit:
        host = info.hosts[0]
        if host.addresses:
            return WARN, (
                "no MX record: mail goes to the domain's own address (implicit MX, RFC 5321 "
                f"5.1): {' '.join(host.addresses)}"
            )
        if unknown:
            return NOT_TESTED, (
                "no MX record, and the domain's own address (implicit MX) could not be looked "
                f"up: {_host_failure(host)}"
            )
        return FAIL, (
            "no MX record and no address of the domain (implicit MX): none, so no mail can "
            "be delivered"
        )
    if empty and len(empty) == len(info.hosts):
        return FAIL, f"no MX host has an address, so no mail can be delivered: {listed}"
    if empty:
        reason = f"MX hosts without an address: {', '.join(empty)}; all: {listed}"
        if unknown:
            reason += f"; not looked up: {unknown_text}"
        return WARN, reason
    if unknown:
        return NOT_TESTED, f"addresses of MX hosts could not be looked up: {unknown_text}"
    count = len(info.hosts)
    return PASS, f"{count} MX host{'s' if count != 1 else ''}: {listed}"


async def check_mx(
    ctx: CheckContext, domain: str, blocking_mx_ips: Sequence[str], emit: Emit
) -> None:
    """Report the MX hosts of ``domain``, then each recorded blocking MX IP."""
    info = await _mx_task(ctx, domain)
    evidence = list(info.lookup.evidence())
    hosts_json = []
    for host in info.hosts:
        for lookup in host.lookups:
            evidence.extend(lookup.evidence())
        hosts_json.append(
            {
                "host": host.host,
                "preference": host.preference,
                "addresses": list(host.addresses),
                "resolved": host.resolved,
            }
        )
    details: dict[str, object] = {"domain": domain, "hosts": hosts_json}
    if info.null_mx:
        status: Status = FAIL
        reason = "null MX (RFC 7505): the domain accepts no mail at all"
    elif info.lookup.status == "nxdomain":
        status, reason = FAIL, "the domain does not exist (NXDOMAIN)"
    elif info.lookup.failed:
        status, reason = NOT_TESTED, f"MX lookup failed: {info.lookup.reason}"
    else:
        status, reason = _judge_mx_hosts(info)
    emit(CheckResult("mx", domain, status, reason, tuple(evidence), details))

    by_address = info.addresses()
    for raw_ip in dict.fromkeys(blocking_mx_ips):
        ip = _canonical_ip(raw_ip)
        subject = f"{domain} MX {ip}"
        bdetails: dict[str, object] = {"domain": domain, "mx_ip": ip}
        host = by_address.get(ip)
        if not info.usable:
            result = CheckResult(
                "blocking-mx",
                subject,
                NOT_TESTED,
                f"could not list the MX hosts: {info.lookup.reason}",
                details=bdetails,
            )
        elif host is not None:
            bdetails["mx_host"] = host.host
            result = CheckResult(
                "blocking-mx",
                subject,
                PASS,
                f"{ip} is {host.host} (preference {host.preference}), a current MX",
                details=bdetails,
            )
        elif any(not h.resolved for h in info.hosts):
            result = CheckResult(
                "blocking-mx",
                subject,
                NOT_TESTED,
                f"{ip} not found, but some MX hosts of {domain} could not be resolved",
                details=bdetails,
            )
        else:
            current = ", ".join(sorted(by_address)) or "none"
            result = CheckResult(
                "blocking-mx",
                subject,
                WARN,
                f"stale block: {ip} is no longer an address of any MX of {domain} (MX moved; "
                f"current: {current})",
                details=bdetails,
            )
        emit(result)
