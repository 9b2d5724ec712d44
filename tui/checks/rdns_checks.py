"""The sending side, per stream IP: PTR, forward-confirmed reverse DNS, and the HELO name."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress

from tui.checks.engine import CheckContext, Emit
from tui.checks.mx_checks import _canonical_ip
from tui.checks.resolver import Budget, Lookup
from tui.checks.results import FAIL, NOT_TESTED, PASS, WARN, CheckResult, Status


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
