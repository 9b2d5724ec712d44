"""DNS blocklist checks of the stream IPs: the health of each zone and the listing of each IP.

Blocklist answers are read carefully (see ``/work/shared/reference/mail-checks.md``): each zone
is first probed with its RFC 5782 test entry ``2.0.0.127.<zone>``, which must answer
127.0.0.2; error answers (127.255.255.252/254/255, 127.0.1.255), 127.0.0.1, answers outside
127.0.0.0/8, timeouts, SERVFAIL and REFUSED are **not tested**, never "listed".
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tui.checks.engine import CheckContext, Emit
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status
from tui.textsafe import printable

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
