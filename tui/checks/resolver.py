"""DNS lookups that never raise: every answer is classified with a reason.

Built on dnspython's resolvers with ``configure=False`` and explicit nameservers (each may
have its own port). A lookup is retried after a timeout or SERVFAIL, falls back to TCP when
the UDP answer is truncated (dnspython does this), and is bounded by a :class:`Budget` so no
check outlives its time limit. Concurrency is capped by a semaphore shared by the resolvers
of one engine run.

Statuses: ``ok`` (records found), ``nxdomain`` (the name does not exist), ``nodata`` (the name
exists, no record of that type), ``servfail``, ``refused``, ``timeout``, ``error``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
import dns.reversename

from tui.checks.settings import Nameserver

LookupStatus = Literal["ok", "nxdomain", "nodata", "servfail", "refused", "timeout", "error"]

TRANSIENT: frozenset[str] = frozenset({"timeout", "servfail"})
"""Statuses worth another try."""

_RESEND = 2.0
"""Longest wait for one UDP answer before the query is sent again (dnspython's default)."""


class Budget:
    """The time one check may spend on the network.

    The clock starts with the check's first lookup, and time spent queueing for a
    concurrency slot is given back (:meth:`extend`), so a busy run does not make checks time
    out; ``hard_deadline`` (a ``time.monotonic()`` value, the end of the whole run) caps
    everything, queueing included.
    """

    def __init__(self, seconds: float, hard_deadline: float | None = None) -> None:
        self.seconds = seconds
        self.hard_deadline = hard_deadline
        self.deadline: float | None = None

    def start(self) -> None:
        """Start the clock (idempotent)."""
        if self.deadline is None:
            end = time.monotonic() + self.seconds
            self.deadline = end if self.hard_deadline is None else min(end, self.hard_deadline)

    def spend(self, seconds: float) -> None:
        """Start the clock and count ``seconds`` the check already spent on the network
        elsewhere (e.g. a shared lookup it had to wait for)."""
        self.start()
        if self.deadline is not None and seconds > 0:
            self.deadline -= seconds

    def extend(self, seconds: float) -> None:
        """Give back ``seconds`` spent waiting (not past the hard deadline)."""
        if self.deadline is not None and seconds > 0:
            end = self.deadline + seconds
            self.deadline = end if self.hard_deadline is None else min(end, self.hard_deadline)

    def remaining(self) -> float:
        """Seconds left (the whole budget when not started, capped by the hard deadline)."""
        now = time.monotonic()
        if self.deadline is None:
            left = self.seconds
            if self.hard_deadline is not None:
                left = min(left, self.hard_deadline - now)
            return left
        return self.deadline - now

    def hard_remaining(self) -> float | None:
        """Seconds before the run's deadline (``None`` when there is none)."""
        if self.hard_deadline is None:
            return None
        return self.hard_deadline - time.monotonic()

    def expired_reason(self) -> str:
        """Why there is no time left."""
        if self.hard_deadline is not None and time.monotonic() >= self.hard_deadline:
            return "overall deadline of the run reached"
        return f"time limit of {self.seconds:g}s for this check reached"


async def acquire_slot(limiter: asyncio.Semaphore, budget: Budget) -> bool:
    """Wait for a concurrency slot, bounded by the run's deadline only; the wait is given
    back to ``budget``. ``False`` when the deadline passed first (no slot is held then)."""
    limit = budget.hard_remaining()
    if limit is not None and limit <= 0:
        return False
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit):
            await limiter.acquire()
    except TimeoutError:
        return False
    budget.extend(time.monotonic() - started)
    return True


@dataclass(frozen=True)
class Lookup:
    """The classified outcome of one query. ``records`` are presentation texts (TXT strings
    joined and decoded), ``rdata`` the dnspython objects, ``evidence`` one line per record."""

    name: str
    rdtype: str
    status: LookupStatus
    reason: str
    records: tuple[str, ...] = ()
    rdata: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    ttl: int | None = None
    canonical_name: str | None = None
    nameserver: str | None = None
    elapsed: float = 0.0
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def empty(self) -> bool:
        """NXDOMAIN or NODATA: the DNS answered, and there is nothing."""
        return self.status in ("nxdomain", "nodata")

    @property
    def failed(self) -> bool:
        """The DNS did not give a usable answer (timeout, SERVFAIL, REFUSED, error)."""
        return self.status not in ("ok", "nxdomain", "nodata")

    def evidence(self) -> tuple[str, ...]:
        """``name TYPE record`` lines, or ``name TYPE: status`` when there is no record."""
        if self.records:
            return tuple(f"{self.name} {self.rdtype} {r}" for r in self.records)
        return (f"{self.name} {self.rdtype}: {self.reason}",)


def record_text(rdata: Any) -> str:
    """A record as shown to people: TXT strings joined and decoded, others as zone text."""
    if rdata.rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    if rdata.rdtype == dns.rdatatype.MX:
        return f"{rdata.preference} {rdata.exchange.to_text()}"
    return rdata.to_text()


def _format_ns(server: Nameserver) -> str:
    host, port = server
    host_text = f"[{host}]" if ":" in host else host
    return host_text if port == 53 else f"{host_text}:{port}"


def _to_name(name: str | dns.name.Name) -> dns.name.Name:
    if isinstance(name, dns.name.Name):
        return name if name.is_absolute() else name.concatenate(dns.name.root)
    return dns.name.from_text(name)


def _display(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True)


def _classify_exception(
    exc: BaseException, qname: str, rdtype: str, servers: str, lifetime: float
) -> tuple[LookupStatus, str]:
    """Map a dnspython exception to a status and a one-line reason."""
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return "nxdomain", "NXDOMAIN: the name does not exist"
    if isinstance(exc, dns.resolver.NoAnswer):
        return "nodata", f"no {rdtype} record (NODATA)"
    if isinstance(exc, dns.resolver.LifetimeTimeout | dns.exception.Timeout | TimeoutError):
        return "timeout", f"no answer from {servers} within {lifetime:.1f}s"
    if isinstance(exc, dns.resolver.NoNameservers):
        errors = exc.kwargs.get("errors") or []
        kinds = []
        for error in errors:
            what = error[3]
            kinds.append(what if isinstance(what, str) else type(what).__name__)
        if "SERVFAIL" in kinds:
            return "servfail", f"SERVFAIL from {servers}"
        if "REFUSED" in kinds:
            return "refused", f"REFUSED by {servers}"
        if any(k == "Timeout" for k in kinds):
            return "timeout", f"no answer from {servers} within {lifetime:.1f}s"
        detail = ", ".join(sorted(set(kinds))) or "no nameserver answered"
        return "error", f"no usable answer from {servers}: {detail}"
    if isinstance(exc, dns.resolver.NoResolverConfiguration):
        return "error", "no nameserver configured"
    if isinstance(exc, dns.resolver.YXDOMAIN):
        return "error", "YXDOMAIN: the name is too long after DNAME substitution"
    if isinstance(exc, dns.name.NameTooLong | dns.name.EmptyLabel | dns.name.LabelTooLong):
        return "error", f"invalid name {qname!r}: {exc}"
    return "error", f"{type(exc).__name__}: {exc}"


def _from_answer(
    answer: dns.resolver.Answer, qname: dns.name.Name, rdtype: str
) -> tuple[LookupStatus, str, tuple[str, ...], tuple[Any, ...], int | None, str | None]:
    rrset = answer.rrset
    if rrset is None:
        return "nodata", f"no {rdtype} record (NODATA)", (), (), None, None
    rdata = tuple(rrset)
    records = tuple(record_text(r) for r in rdata)
    canonical = answer.canonical_name
    alias = _display(canonical) if canonical != qname else None
    count = len(records)
    reason = f"{count} {rdtype} record{'s' if count != 1 else ''}"
    if alias:
        reason += f" (via CNAME {alias})"
    return "ok", reason, records, rdata, rrset.ttl, alias


def _final_reason(result: Lookup, elapsed: float, attempts: int, servers: str) -> str:
    """The reason of the last attempt, restated for the whole lookup when it was retried."""
    if result.status == "timeout":
        tries = f" ({attempts} tries)" if attempts > 1 else ""
        return f"no answer from {servers} within {elapsed:.1f}s{tries}"
    if attempts > 1 and result.status in TRANSIENT:
        return f"{result.reason} ({attempts} tries)"
    return result.reason


class Resolver:
    """Classified lookups against explicit nameservers, async and sync.

    ``timeout`` is the time one lookup may take with its retries; each of the ``retries + 1``
    attempts gets an equal slice, the last one whatever is left. Pass a :class:`Budget` to
    share one time limit between the lookups of a check.
    """

    def __init__(
        self,
        nameservers: Sequence[Nameserver],
        *,
        timeout: float = 5.0,
        retries: int = 1,
        limiter: asyncio.Semaphore | None = None,
        label: str = "dns",
    ) -> None:
        if not nameservers:
            raise ValueError("at least one nameserver is needed")
        self.nameservers = [(str(h), int(p)) for h, p in nameservers]
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.limiter = limiter
        self.label = label
        self.servers_text = ", ".join(_format_ns(s) for s in self.nameservers)
        self._attempt_time = self.timeout / (self.retries + 1)
        self._async = dns.asyncresolver.Resolver(configure=False)
        self._sync = dns.resolver.Resolver(configure=False)
        for resolver in (self._async, self._sync):
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in self.nameservers
            ]
            # One attempt tries every nameserver once before backing off, and re-sends
            # (as stub resolvers do) after at most _RESEND seconds so a lost UDP packet costs
            # seconds, not the whole attempt.
            resolver.timeout = min(self._attempt_time / len(self.nameservers), _RESEND)
            resolver.lifetime = self._attempt_time
            resolver.retry_servfail = False
            resolver.cache = None
            resolver.use_edns(0, 0, 1232)

    def __repr__(self) -> str:
        return f"Resolver({self.label}: {self.servers_text})"

    def budget(self, hard_deadline: float | None = None) -> Budget:
        """A fresh budget of this resolver's ``timeout``."""
        return Budget(self.timeout, hard_deadline)

    async def lookup(
        self, name: str | dns.name.Name, rdtype: str = "A", budget: Budget | None = None
    ) -> Lookup:
        """Query ``name``/``rdtype``; never raises (cancellation excepted)."""
        budget = budget or Budget(self.timeout)
        try:
            qname = _to_name(name)
        except dns.exception.DNSException as exc:
            return Lookup(str(name), rdtype, "error", f"invalid name {str(name)!r}: {exc}")
        display = _display(qname)
        if self.limiter is None:
            budget.start()
            return await self._attempts(qname, display, rdtype, budget)
        if not await acquire_slot(self.limiter, budget):
            return Lookup(display, rdtype, "timeout", budget.expired_reason(), attempts=0)
        try:
            budget.start()
            return await self._attempts(qname, display, rdtype, budget)
        finally:
            self.limiter.release()

    async def _attempts(
        self, qname: dns.name.Name, display: str, rdtype: str, budget: Budget
    ) -> Lookup:
        started = time.monotonic()
        result: Lookup | None = None
        attempt = 0
        while attempt <= self.retries:
            left = budget.remaining()
            if left <= 0.001:
                break
            life = left if attempt == self.retries else min(self._attempt_time, left)
            attempt += 1
            result = await self._one_async(qname, display, rdtype, life)
            if result.status not in TRANSIENT:
                break
        if result is None:
            return Lookup(display, rdtype, "timeout", budget.expired_reason(), attempts=0)
        elapsed = time.monotonic() - started
        reason = _final_reason(result, elapsed, attempt, self.servers_text)
        return Lookup(
            result.name,
            result.rdtype,
            result.status,
            reason,
            result.records,
            result.rdata,
            result.ttl,
            result.canonical_name,
            result.nameserver,
            elapsed,
            attempt,
        )

    async def _one_async(
        self, qname: dns.name.Name, display: str, rdtype: str, life: float
    ) -> Lookup:
        try:
            async with asyncio.timeout(life):
                answer = await self._async.resolve(
                    qname, rdtype, lifetime=life, raise_on_no_answer=False, search=False
                )
        except Exception as exc:  # noqa: BLE001 - classified, never raised to callers
            status, reason = _classify_exception(exc, display, rdtype, self.servers_text, life)
            return Lookup(display, rdtype, status, reason, nameserver=self.servers_text)
        status, reason, records, rdata, ttl, alias = _from_answer(answer, qname, rdtype)
        server = f"{answer.nameserver}:{answer.port}" if answer.nameserver else None
        return Lookup(display, rdtype, status, reason, records, rdata, ttl, alias, server)

    def lookup_sync(self, name: str | dns.name.Name, rdtype: str, budget: Budget) -> Lookup:
        """Blocking variant for libraries that do their own DNS (pyspf, dkimpy) in a thread.

        No concurrency slot is taken: the caller holds one for the whole library call.
        """
        try:
            qname = _to_name(name)
        except dns.exception.DNSException as exc:
            return Lookup(str(name), rdtype, "error", f"invalid name {str(name)!r}: {exc}")
        display = _display(qname)
        budget.start()
        started = time.monotonic()
        result: Lookup | None = None
        attempt = 0
        while attempt <= self.retries:
            left = budget.remaining()
            if left <= 0.001:
                break
            life = left if attempt == self.retries else min(self._attempt_time, left)
            attempt += 1
            try:
                answer = self._sync.resolve(
                    qname, rdtype, lifetime=life, raise_on_no_answer=False, search=False
                )
            except Exception as exc:  # noqa: BLE001 - classified
                status, reason = _classify_exception(exc, display, rdtype, self.servers_text, life)
                result = Lookup(display, rdtype, status, reason, nameserver=self.servers_text)
                if status in TRANSIENT:
                    continue
                break
            status, reason, records, rdata, ttl, alias = _from_answer(answer, qname, rdtype)
            result = Lookup(display, rdtype, status, reason, records, rdata, ttl, alias)
            break
        if result is None:
            return Lookup(display, rdtype, "timeout", budget.expired_reason(), attempts=0)
        elapsed = time.monotonic() - started
        return Lookup(
            result.name,
            result.rdtype,
            result.status,
            _final_reason(result, elapsed, attempt, self.servers_text),
            result.records,
            result.rdata,
            result.ttl,
            result.canonical_name,
            result.nameserver,
            elapsed,
            attempt,
        )

    async def ptr(self, ip: str, budget: Budget | None = None) -> Lookup:
        """The PTR records of ``ip`` (IPv4 or IPv6)."""
        try:
            name = dns.reversename.from_address(ip)
        except (ValueError, dns.exception.SyntaxError) as exc:
            return Lookup(ip, "PTR", "error", f"not an IP address: {exc}")
        return await self.lookup(name, "PTR", budget)

    async def addresses(self, name: str, budget: Budget | None = None) -> tuple[Lookup, Lookup]:
        """A and AAAA of ``name``, concurrently."""
        budget = budget or Budget(self.timeout)
        a, aaaa = await asyncio.gather(
            self.lookup(name, "A", budget), self.lookup(name, "AAAA", budget)
        )
        return a, aaaa
