"""Checks for a blocked (receiving domain, stream IPs) pair.

Receiving side: the domain's MX hosts by preference with their addresses, and whether each
blocking MX IP recorded by ListManager is still one of them (if not, the block is stale: the
receiver moved its MX). Sending side, per stream IP: PTR, forward-confirmed reverse DNS, the
HELO name, and the listing on each DNS blocklist zone.

Blocklist answers are read carefully (see ``/work/shared/reference/mail-checks.md``): each zone
is first probed with its RFC 5782 test entry ``2.0.0.127.<zone>``, which must answer
127.0.0.2; error answers (127.255.255.252/254/255, 127.0.1.255), 127.0.0.1, answers outside
127.0.0.0/8, timeouts, SERVFAIL and REFUSED are **not tested**, never "listed".
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tui.checks.engine import CheckContext, Emit, Job, OnResult, collect, job_results
from tui.checks.resolver import Budget, Lookup
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status
from tui.checks.settings import CheckSettings
from tui.textsafe import printable


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
        if isinstance(self.helo, str):
            return self.helo
        if isinstance(self.helo, dict):
            return self.helo.get(ip)
        return None


# -- DNSBL answers ---------------------------------------------------------------------------

ERROR_ANSWERS: dict[str, str] = {
    "127.255.255.252": "error answer 127.255.255.252: typing error in the zone name "
    "or a malformed query",
    "127.255.255.254": "error answer 127.255.255.254: the query came through a public or "
    "open resolver, which Spamhaus refuses; use a local recursive resolver "
    "(checks.dnsbl_nameservers) or a DQS key",
    "127.255.255.255": "error answer 127.255.255.255: too many queries from this resolver",
    "127.0.1.255": "error answer 127.0.1.255: the query does not fit this list "
    "(e.g. an IP queried on a domain list)",
}

ZEN_CODES: dict[int, str] = {
    2: "SBL: Spamhaus Block List, a known spam source",
    3: "SBL CSS: low-reputation / snowshoe sending detected by Spamhaus CSS",
    4: "XBL: exploited or infected host (CBL)",
    5: "XBL: exploited or infected host",
    6: "XBL: exploited or infected host",
    7: "XBL: exploited or infected host",
    9: "DROP: hijacked or criminal netblock (SBL DROP)",
    10: "PBL (ISP-maintained): a range its owner says must not send mail directly to MX",
    11: "PBL (Spamhaus-maintained): a range that should not send mail directly to MX",
}

_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)


def dnsbl_query_name(ip: str, zone: str) -> str:
    """``10.2.0.192.zen.spamhaus.org`` for 192.0.2.10; IPv6 in reversed nibble format."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        labels = str(address).split(".")[::-1]
    else:
        labels = list(address.exploded.replace(":", ""))[::-1]
    return ".".join(labels) + "." + zone.rstrip(".")


def is_zen(zone: str) -> bool:
    """A Spamhaus ZEN zone (public mirror, DQS, or a test zone named ``zen.*``)."""
    return "zen" in zone.lower().split(".")


def is_informational(zone: str) -> bool:
    """Lists that list whole networks: a listing is a hint, not a block reason."""
    zone = zone.lower()
    return zone.startswith(("dnsbl-2.uceprotect.", "dnsbl-3.uceprotect."))


def is_allowlist(zone: str) -> bool:
    """An allowlist (listed = good), e.g. ``list.dnswl.org``."""
    return "dnswl" in zone.lower()


@dataclass(frozen=True)
class DnsblAnswer:
    """How an A answer from a blocklist reads."""

    status: Status  # fail = listed, pass = not listed, not_tested = unusable answer
    reason: str
    meanings: tuple[str, ...] = ()


def interpret_dnsbl(zone: str, addresses: Sequence[str]) -> DnsblAnswer:
    """Read the A records a blocklist returned for an IP (an empty list = not listed)."""
    if not addresses:
        return DnsblAnswer(PASS, "not listed")
    for address in addresses:
        if address in ERROR_ANSWERS:
            return DnsblAnswer(NOT_TESTED, ERROR_ANSWERS[address])
    meanings: list[str] = []
    for address in addresses:
        try:
            value = ipaddress.ip_address(address)
        except ValueError:
            return DnsblAnswer(NOT_TESTED, f"not a DNSBL answer: {address!r}")
        if value.version != 4 or value not in ipaddress.ip_network("127.0.0.0/8"):
            return DnsblAnswer(
                NOT_TESTED, f"not a DNSBL answer: {printable(value)} is outside 127.0.0.0/8"
            )
        if address == "127.0.0.1":
            return DnsblAnswer(
                NOT_TESTED,
                "answer 127.0.0.1 is never a listing (RFC 5782): the list is "
                "refusing or misconfigured",
            )
        last = int(address.rsplit(".", 1)[1])
        if is_zen(zone) and address.startswith("127.0.0.") and last in ZEN_CODES:
            meanings.append(f"{address} {ZEN_CODES[last]}")
        else:
            meanings.append(f"{address} listed")
    listed = ", ".join(meanings)
    if is_allowlist(zone):
        return DnsblAnswer(PASS, f"allowlisted: {listed}", tuple(meanings))
    if is_informational(zone):
        return DnsblAnswer(
            WARN, f"informational listing (whole network): {listed}", tuple(meanings)
        )
    return DnsblAnswer(FAIL, f"listed: {listed}", tuple(meanings))


@dataclass(frozen=True)
class ZoneHealth:
    """Whether a blocklist zone answers its 127.0.0.2 test entry through our resolver."""

    zone: str
    usable: bool
    reason: str
    evidence: tuple[str, ...] = ()
    elapsed: float = 0.0  # network time of the probe, counted in each listing check's budget


async def probe_zone(ctx: CheckContext, zone: str) -> ZoneHealth:
    """Query ``2.0.0.127.<zone>``: the zone is usable only if it answers 127.0.0.2."""
    name = f"2.0.0.127.{zone.rstrip('.')}"
    lookup = await ctx.dnsbl_resolver.lookup(name, "A", ctx.budget())
    evidence = lookup.evidence()
    spent = lookup.elapsed
    if lookup.ok:
        errors = [a for a in lookup.records if a in ERROR_ANSWERS]
        if errors:
            return ZoneHealth(zone, False, ERROR_ANSWERS[errors[0]], evidence, spent)
        if "127.0.0.2" in lookup.records:
            return ZoneHealth(zone, True, "answers its 127.0.0.2 test entry", evidence, spent)
        return ZoneHealth(
            zone,
            False,
            f"test entry answered {', '.join(lookup.records)} instead of 127.0.0.2",
            evidence,
            spent,
        )
    if lookup.empty:
        what = "NXDOMAIN" if lookup.status == "nxdomain" else "NODATA"
        return ZoneHealth(
            zone,
            False,
            f"the zone does not list its 127.0.0.2 test entry ({what}): the zone is dead or "
            "renamed, or the resolver filters it",
            evidence,
            spent,
        )
    return ZoneHealth(zone, False, f"test entry lookup failed: {lookup.reason}", evidence, spent)


def _zone_health_task(ctx: CheckContext, zone: str) -> asyncio.Task[ZoneHealth]:
    return ctx.shared(("dnsbl-zone", zone), lambda: probe_zone(ctx, zone))


async def check_zone_health(ctx: CheckContext, zone: str, emit: Emit) -> None:
    """Report the health of one blocklist zone."""
    health = await _zone_health_task(ctx, zone)
    emit(
        CheckResult(
            check="dnsbl-zone",
            subject=zone,
            status=PASS if health.usable else NOT_TESTED,
            reason=health.reason,
            evidence=health.evidence,
            details={"zone": zone, "usable": health.usable},
        )
    )


async def check_dnsbl(ctx: CheckContext, ip: str, zone: str, emit: Emit) -> None:
    """Report whether ``ip`` is listed on ``zone``, with the list's TXT reason when it is."""
    subject = f"{ip} on {zone}"
    details: dict[str, object] = {"ip": ip, "zone": zone}
    try:
        name = dnsbl_query_name(ip, zone)
    except ValueError:
        emit(CheckResult("dnsbl", subject, NOT_TESTED, "not an IP address", details=details))
        return
    details["query"] = name
    health = await _zone_health_task(ctx, zone)
    if not health.usable:
        emit(
            CheckResult(
                "dnsbl",
                subject,
                NOT_TESTED,
                f"zone unusable: {health.reason}",
                health.evidence,
                details,
            )
        )
        return
    # One time limit for the whole check: the probe's network time is part of it.
    budget = ctx.budget()
    budget.spend(health.elapsed)
    lookup = await ctx.dnsbl_resolver.lookup(name, "A", budget)
    if lookup.failed:
        emit(CheckResult("dnsbl", subject, NOT_TESTED, lookup.reason, lookup.evidence(), details))
        return
    answer = interpret_dnsbl(zone, lookup.records if lookup.ok else ())
    evidence = list(lookup.evidence())
    details["answers"] = list(lookup.records)
    if answer.meanings:
        details["meanings"] = list(answer.meanings)
    reason = answer.reason
    if answer.meanings:
        txt = await ctx.dnsbl_resolver.lookup(name, "TXT", budget)
        evidence.extend(txt.evidence())
        if txt.ok:
            details["txt"] = list(txt.records)
            urls = [m.group(0).rstrip(".,;)") for r in txt.records for m in _URL.finditer(r)]
            if urls:
                details["delist_url"] = urls[0]
                reason += f" (see {printable(urls[0], max_chars=300)})"
    emit(CheckResult("dnsbl", subject, answer.status, reason, tuple(evidence), details))


# -- receiving side --------------------------------------------------------------------------


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


# -- stream IPs ------------------------------------------------------------------------------


def _same_name(a: str, b: str) -> bool:
    return a.rstrip(".").lower() == b.rstrip(".").lower()


async def check_rdns(ctx: CheckContext, ip: str, helo: str | None, emit: Emit) -> None:
    """PTR, forward-confirmed reverse DNS and the HELO name of one stream IP.

    The three share one time budget; the HELO name is looked up while the PTR is, so a dead
    reverse zone does not delay the HELO verdict past the check's time limit.
    """
    details: dict[str, object] = {"ip": ip}
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        emit(CheckResult("ptr", ip, NOT_TESTED, "not an IP address", details=details))
        return
    forward_type = "A" if address.version == 4 else "AAAA"
    budget = ctx.budget()
    helo_verdict = _helo_without_lookup(helo)
    helo_lookup: asyncio.Future[Lookup] | None = None
    if helo and helo_verdict is None:
        helo_lookup = asyncio.ensure_future(ctx.resolver.lookup(helo, forward_type, budget))
    try:
        names, confirmed = await _check_ptr(ctx, ip, address, forward_type, budget, emit)
        helo_details: dict[str, object] = {"ip": ip, "helo": helo, "ptr": names}
        if helo_lookup is None:
            status, reason = helo_verdict or (NOT_TESTED, "HELO name unknown")
            emit(CheckResult("helo", ip, status, reason, details=helo_details))
            return
        lookup = await helo_lookup
        emit(_judge_helo(ip, address, helo or "", lookup, names, helo_details))
    finally:
        if helo_lookup is not None and not helo_lookup.done():
            helo_lookup.cancel()


async def _check_ptr(
    ctx: CheckContext,
    ip: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    forward_type: str,
    budget: Budget,
    emit: Emit,
) -> tuple[list[str], list[str]]:
    """Emit the PTR and FCrDNS results; return the PTR names and the confirmed ones."""
    details: dict[str, object] = {"ip": ip}
    ptr = await ctx.resolver.ptr(ip, budget)
    names = [r.rstrip(".") for r in ptr.records] if ptr.ok else []
    details["ptr"] = names
    if ptr.ok:
        emit(CheckResult("ptr", ip, PASS, f"PTR {', '.join(names)}", ptr.evidence(), details))
    elif ptr.empty:
        what = "NXDOMAIN" if ptr.status == "nxdomain" else "NODATA"
        emit(
            CheckResult(
                "ptr",
                ip,
                FAIL,
                f"no PTR record ({what}): Gmail (5.7.25), Comcast and GMX refuse mail from IPs "
                "without reverse DNS",
                ptr.evidence(),
                details,
            )
        )
    else:
        emit(CheckResult("ptr", ip, NOT_TESTED, ptr.reason, ptr.evidence(), details))

    confirmed: list[str] = []
    if not names:
        why = "no PTR name to confirm" if ptr.empty or ptr.ok else f"PTR lookup: {ptr.reason}"
        emit(CheckResult("fcrdns", ip, NOT_TESTED, why, details=dict(details)))
        return names, confirmed
    forwards = await asyncio.gather(*(ctx.resolver.lookup(n, forward_type, budget) for n in names))
    evidence = [line for lookup in forwards for line in lookup.evidence()]
    resolved: dict[str, list[str]] = {}
    failed = []
    for name, lookup in zip(names, forwards, strict=True):
        resolved[name] = list(lookup.records) if lookup.ok else []
        if lookup.failed:
            failed.append(f"{name}: {lookup.reason}")
        if any(_canonical_ip(r) == str(address) for r in resolved[name]):
            confirmed.append(name)
    fdetails = dict(details, forward=resolved)
    if confirmed:
        result = CheckResult(
            "fcrdns", ip, PASS, f"{confirmed[0]} resolves back to {ip}", evidence, fdetails
        )
    elif failed:
        result = CheckResult("fcrdns", ip, NOT_TESTED, "; ".join(failed), evidence, fdetails)
    else:
        shown = "; ".join(
            f"{n} resolves to {' '.join(a) if a else 'nothing'}" for n, a in resolved.items()
        )
        result = CheckResult(
            "fcrdns",
            ip,
            FAIL,
            f"PTR name does not resolve back to {ip}: {shown}",
            evidence,
            fdetails,
        )
    emit(result)
    return names, confirmed


def _helo_without_lookup(helo: str | None) -> tuple[Status, str] | None:
    """The HELO verdict when no lookup is needed (unknown, address literal, not a FQDN)."""
    if not helo:
        return NOT_TESTED, "HELO name unknown (set checks.helo or --helo)"
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(helo.strip("[]"))
        return FAIL, f"HELO {helo} is an address literal, not a host name"
    if "." not in helo.strip("."):
        return FAIL, f"HELO {helo} is not a fully-qualified name"
    return None


def _judge_helo(
    ip: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    helo: str,
    lookup: Lookup,
    ptr_names: list[str],
    details: dict[str, object],
) -> CheckResult:
    evidence = lookup.evidence()
    resolves_back = lookup.ok and any(_canonical_ip(r) == str(address) for r in lookup.records)
    matches_ptr = any(_same_name(helo, n) for n in ptr_names)
    if lookup.failed:
        return CheckResult("helo", ip, NOT_TESTED, lookup.reason, evidence, details)
    if resolves_back and matches_ptr:
        return CheckResult(
            "helo",
            ip,
            PASS,
            f"HELO {helo} is the PTR name and resolves to {ip}",
            evidence,
            details,
        )
    if resolves_back:
        ptr_text = ", ".join(ptr_names) or "none"
        return CheckResult(
            "helo",
            ip,
            WARN,
            f"HELO {helo} resolves to {ip} but is not the PTR name ({ptr_text})",
            evidence,
            details,
        )
    if lookup.empty:
        return CheckResult(
            "helo",
            ip,
            FAIL,
            f"HELO {helo} does not resolve ({lookup.status.upper()}): Gmail and others "
            "reject unresolvable HELO names",
            evidence,
            details,
        )
    return CheckResult(
        "helo",
        ip,
        FAIL,
        f"HELO {helo} resolves to {' '.join(lookup.records)}, not {ip}",
        evidence,
        details,
    )


# -- scheduling ------------------------------------------------------------------------------


def _bind(fn: Callable[..., Awaitable[None]], *args: object) -> Job:
    async def job(ctx: CheckContext, emit: Emit) -> None:
        await fn(ctx, *args, emit)

    return job


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
        jobs.append((f"mx {domain}", _bind(check_mx, domain, mx_ips)))
    for ip, helo in ips.items():
        jobs.append((f"rdns {ip}", _bind(check_rdns, ip, helo)))
    zones = list(dict.fromkeys(z.strip().rstrip(".").lower() for z in settings.dnsbl_zones))
    if ips:
        for zone in zones:
            jobs.append((f"dnsbl-zone {zone}", _bind(check_zone_health, zone)))
        for ip in ips:
            for zone in zones:
                jobs.append((f"dnsbl {ip} {zone}", _bind(check_dnsbl, ip, zone)))
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
