"""SPF: pyspf's verdict through our resolver, and our own walk of the record tree.

**How pyspf is pointed at our resolver.** pyspf 2.0.14 does every DNS query through the
module global ``spf.DNSLookup(name, qtype, strict, timeout)`` (called from ``query.dns``),
which by default uses dnspython's *global* default resolver. We replace that global, once, by
a dispatcher that looks up the lookup function in a :class:`contextvars.ContextVar`; when the
variable is unset it calls pyspf's original function, so any other pyspf user in the process
is unaffected. :func:`spf_verdict` sets the variable inside the worker thread for the duration
of one ``spf.query(...).check()``. Each thread (and each ``asyncio.to_thread`` call, which
runs in a copied context) sees only its own value, so concurrent checks against different
resolvers do not interfere. Overriding ``query.dns`` in a subclass would have meant copying
its 60 lines of caching and CNAME logic.

**The walk.** RFC 7208 limits an evaluation to 10 DNS-querying terms (include, a, mx, ptr,
exists, redirect) and 2 void lookups. pyspf only says "permerror", so we walk the tree
ourselves, statically (every term, in record order, as checkers do), through our resolver,
and show the count per mechanism and which term is the 11th.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import spf

from tui.checks.resolver import Budget, Lookup, Resolver

COUNTED = ("include", "a", "mx", "ptr", "exists", "redirect")
MAX_LOOKUPS = 10
MAX_VOID = 2
_MAX_DEPTH = 10
_MAX_WALKED = 4 * MAX_LOOKUPS  # pyspf gives up at 40 as well

SpfLookup = Callable[[str, str, Any, float], list[tuple[tuple[str, str], Any]]]

_lookup_var: contextvars.ContextVar[SpfLookup | None] = contextvars.ContextVar(
    "lmtriage_spf_lookup", default=None
)
_install_lock = threading.Lock()
_original_lookup: Any = None


def _dispatch(name: str, qtype: str, strict: Any = True, timeout: float = 30) -> Any:
    fn = _lookup_var.get()
    if fn is None:
        return _original_lookup(name, qtype, strict, timeout)
    return fn(name, qtype, strict, timeout)


def install_spf_hook() -> None:
    """Route pyspf's DNS through :data:`_lookup_var` (idempotent, thread-safe)."""
    global _original_lookup
    with _install_lock:
        if spf.DNSLookup is not _dispatch:
            _original_lookup = spf.DNSLookup
            spf.DNSLookup = _dispatch


def _pyspf_rows(lookup: Lookup, name: str, qtype: str) -> list[tuple[tuple[str, str], Any]]:
    """Our lookup in the shape pyspf's ``DNSLookup_dnspython`` returns."""
    rows: list[tuple[tuple[str, str], Any]] = []
    for r in lookup.rdata:
        if qtype in ("A", "AAAA"):
            rows.append(((name, qtype), r.address))
        elif qtype == "MX":
            rows.append(((name, qtype), (r.preference, r.exchange)))
        elif qtype == "PTR":
            rows.append(((name, qtype), r.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            rows.append(((name, qtype), r.strings))
    return rows


def spf_verdict(
    resolver: Resolver, ip: str, mail_from: str, helo: str, budget: Budget
) -> tuple[str, str, tuple[str, ...]]:
    """pyspf's ``(result, explanation, lookups made)`` for ``ip``; blocking, run it in a
    thread. Result is one of pass, fail, softfail, neutral, none, permerror, temperror."""
    install_spf_hook()
    budget.start()
    trail: list[str] = []

    def lookup(name: str, qtype: str, strict: Any = True, timeout: float = 30) -> Any:
        result = resolver.lookup_sync(name, qtype, budget)
        trail.append(f"{name} {qtype}: {', '.join(result.records) or result.reason}")
        if result.failed:
            raise spf.TempError(f"DNS {result.reason}")
        return _pyspf_rows(result, name, qtype)

    token = _lookup_var.set(lookup)
    try:
        query = spf.query(
            i=ip,
            s=mail_from,
            h=helo,
            timeout=max(budget.remaining(), 0.1),
            querytime=max(budget.remaining(), 0.1),
        )
        result, _code, explanation = query.check()
    except Exception as exc:  # noqa: BLE001 - pyspf raises odd things on odd records
        return "temperror", f"pyspf: {type(exc).__name__}: {exc}", tuple(trail)
    finally:
        _lookup_var.reset(token)
    return str(result), str(explanation), tuple(trail)


# -- the walk --------------------------------------------------------------------------------


def spf_records(texts: tuple[str, ...]) -> list[str]:
    """The TXT strings that are SPF records (``v=spf1`` alone or followed by a space)."""
    return [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]


@dataclass
class SpfStep:
    """One DNS-querying term, numbered in evaluation order."""

    index: int
    depth: int
    term: str
    mechanism: str
    target: str
    record_domain: str
    void: bool = False
    note: str = ""

    def line(self) -> str:
        extra = f" ({self.note})" if self.note else ""
        void = " [void]" if self.void else ""
        return f"{'  ' * self.depth}[{self.index}] {self.term} in {self.record_domain}{void}{extra}"


@dataclass
class _Item:
    term: str
    mechanism: str
    target: str
    void: bool = False
    note: str = ""
    child: _Node | None = None


@dataclass
class _Node:
    domain: str
    depth: int
    lookup: Lookup | None = None
    record: str | None = None
    error: str | None = None
    items: list[_Item] = field(default_factory=list)


@dataclass
class SpfWalk:
    """The result of walking ``domain``'s SPF tree."""

    domain: str
    lookup: Lookup
    records: list[str]
    steps: list[SpfStep] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dns_errors: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    @property
    def lookups(self) -> int:
        return len(self.steps)

    @property
    def void_lookups(self) -> int:
        return sum(1 for s in self.steps if s.void)

    def by_mechanism(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNTED, 0)
        for step in self.steps:
            counts[step.mechanism] += 1
        return counts

    def over_limit(self) -> SpfStep | None:
        """The 11th lookup, if any."""
        return self.steps[MAX_LOOKUPS] if len(self.steps) > MAX_LOOKUPS else None

    def top_level_of(self, step: SpfStep) -> SpfStep:
        """The term of the top-level record under which ``step`` happens."""
        top = step
        for candidate in self.steps[: step.index]:
            if candidate.depth == 0:
                top = candidate
        return top


_DUAL_CIDR = re.compile(r"(/\d{1,3})?(//\d{1,3})?$")
"""The ``/24``, ``//64`` or ``/24//64`` that may end an ``a`` or ``mx`` term (RFC 7208 5.3)."""


def _split_term(term: str) -> tuple[str, str | None]:
    """``("include", "_spf.example.com")`` for ``~include:_spf.example.com``;
    ``("a", "mail.example.com")`` for ``a:mail.example.com/24`` (the CIDR is no part of the
    name); ``("ip4", "192.0.2.0/24")`` for ``ip4:192.0.2.0/24``."""
    body = term[1:] if term[:1] in "+-~?" else term
    if "=" in body and (":" not in body or body.index("=") < body.index(":")):
        name, _, value = body.partition("=")
        return name.lower(), value
    for sep in (":", "/"):
        if sep in body:
            name, _, value = body.partition(sep)
            name = name.lower()
            if sep != ":":
                return name, None
            if name in ("a", "mx"):
                value = _DUAL_CIDR.sub("", value, count=1)
            return name, value
    return body.lower(), None


class _Walker:
    def __init__(self, resolver: Resolver, budget: Budget) -> None:
        self.resolver = resolver
        self.budget = budget
        self.walked = 0
        self.evidence: list[str] = []
        self.problems: list[str] = []
        self.dns_errors: list[str] = []

    async def visit(self, domain: str, depth: int, chain: tuple[str, ...]) -> _Node:
        node = _Node(domain, depth)
        lookup = await self.resolver.lookup(domain, "TXT", self.budget)
        node.lookup = lookup
        if lookup.failed:
            node.error = lookup.reason
            self.dns_errors.append(f"{domain} TXT: {lookup.reason}")
            self.evidence.append(f"{domain} TXT: {lookup.reason}")
            return node
        records = spf_records(lookup.records)
        if not records:
            node.error = "no SPF record"
            self.evidence.append(f"{domain} TXT: no SPF record")
            return node
        if len(records) > 1:
            node.error = f"{len(records)} SPF records"
        node.record = records[0]
        for record in records:
            self.evidence.append(f"{domain} TXT {record}")
        terms = node.record.split()[1:]
        has_all = any(_split_term(t)[0] == "all" for t in terms)
        pending: list[tuple[_Item, Any]] = []
        for term in terms:
            mechanism, arg = _split_term(term)
            if mechanism not in COUNTED:
                continue
            if mechanism == "redirect" and has_all:
                continue  # RFC 7208 6.1: ignored when the record has an "all"
            target = (arg or domain).rstrip(".").lower()
            item = _Item(term, mechanism, target)
            node.items.append(item)
            self.walked += 1
            if self.walked > _MAX_WALKED:
                item.note = "not followed: more than 40 lookups"
                continue
            if "%" in target:
                item.note = "macro, expanded only for a real message"
                continue
            if mechanism in ("include", "redirect"):
                if target in chain or depth >= _MAX_DEPTH:
                    item.note = "loop" if target in chain else "too deep"
                    self.problems.append(f"{term} in {domain}: include loop or too deep")
                    continue
                pending.append((item, self.visit(target, depth + 1, chain + (target,))))
            elif mechanism in ("a", "exists"):
                pending.append((item, self.resolver.lookup(target, "A", self.budget)))
            elif mechanism == "mx":
                pending.append((item, self.resolver.lookup(target, "MX", self.budget)))
            else:
                item.note = "ptr is deprecated (RFC 7208 5.5); resolved only for a real IP"
        results = await asyncio.gather(*(coro for _item, coro in pending))
        for (item, _coro), result in zip(pending, results, strict=True):
            if isinstance(result, _Node):
                item.child = result
                item.void = bool(result.lookup and result.lookup.empty)
                if result.error and not (result.lookup and result.lookup.failed):
                    self.problems.append(
                        f"{item.term} in {domain}: {item.target} has {result.error} (permerror)"
                    )
                continue
            lookup_result: Lookup = result
            self.evidence.extend(lookup_result.evidence())
            if lookup_result.failed:
                self.dns_errors.append(f"{item.term}: {lookup_result.reason}")
                item.note = lookup_result.reason
            elif lookup_result.empty:
                item.void = True
            elif item.mechanism == "mx":
                hosts = len(lookup_result.records)
                item.note = f"{hosts} MX host{'s' if hosts != 1 else ''}"
                if hosts > MAX_LOOKUPS:
                    self.problems.append(f"{item.term}: {hosts} MX hosts, more than 10 (permerror)")
        return node


def _flatten(node: _Node, steps: list[SpfStep]) -> None:
    for item in node.items:
        steps.append(
            SpfStep(
                index=len(steps) + 1,
                depth=node.depth,
                term=item.term,
                mechanism=item.mechanism,
                target=item.target,
                record_domain=node.domain,
                void=item.void,
                note=item.note,
            )
        )
        if item.child is not None:
            _flatten(item.child, steps)


async def walk_spf(resolver: Resolver, domain: str, budget: Budget) -> SpfWalk:
    """Fetch ``domain``'s SPF record and every record it includes; count the lookups."""
    walker = _Walker(resolver, budget)
    root = await walker.visit(domain, 0, (domain,))
    assert root.lookup is not None
    records = spf_records(root.lookup.records) if root.lookup.ok else []
    walk = SpfWalk(domain, root.lookup, records)
    _flatten(root, walk.steps)
    walk.problems = walker.problems
    walk.dns_errors = walker.dns_errors
    walk.evidence = walker.evidence
    return walk
