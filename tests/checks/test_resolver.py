"""The resolver against the loopback server: every outcome classified, never raised."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from tui.checks.resolver import Budget, Resolver

if TYPE_CHECKING:
    from tests.checks.conftest import DnsEnv


def resolver(env: DnsEnv, **kw: float) -> Resolver:
    return Resolver(
        [env.nameserver], timeout=kw.get("timeout", 2.0), retries=int(kw.get("retries", 1))
    )


async def test_ok_and_cname(dns_env: DnsEnv) -> None:
    r = resolver(dns_env)
    lookup = await r.lookup("alias.example.test", "A")
    assert lookup.status == "ok"
    assert lookup.records == ("192.0.2.1",)
    assert lookup.canonical_name == "mta1.example.test"


async def test_nxdomain_vs_nodata(dns_env: DnsEnv) -> None:
    r = resolver(dns_env)
    nx = await r.lookup("nothing-here.example.test", "A")
    nodata = await r.lookup("mta1.example.test", "AAAA")
    # An empty non-terminal exists (it has names below it) but holds no record.
    ent = await r.lookup("_domainkey.example.test", "TXT")
    assert (nx.status, nodata.status, ent.status) == ("nxdomain", "nodata", "nodata")
    assert nx.empty and nodata.empty and not nx.failed
    assert "NXDOMAIN" in nx.reason and "NODATA" in nodata.reason


async def test_truncated_udp_answer_is_retried_over_tcp(dns_env: DnsEnv) -> None:
    before = (dns_env.server.stats.truncated, dns_env.server.stats.tcp_queries)
    lookup = await resolver(dns_env).lookup("big.example.test", "TXT")
    assert lookup.status == "ok"
    assert len(lookup.records) == 10
    assert dns_env.server.stats.truncated > before[0]
    assert dns_env.server.stats.tcp_queries > before[1]


async def test_servfail_and_refused(dns_env: DnsEnv) -> None:
    r = resolver(dns_env)
    servfail = await r.lookup("x.servfail.test", "A")
    refused = await r.lookup("x.refused.test", "A")
    outside = await r.lookup("example.org", "A")
    assert servfail.status == "servfail" and servfail.attempts == 2
    assert "SERVFAIL" in servfail.reason
    assert refused.status == "refused" and refused.attempts == 1
    assert outside.status == "refused"


async def test_timeout_is_bounded(dns_env: DnsEnv) -> None:
    r = resolver(dns_env, timeout=0.6, retries=2)
    started = time.monotonic()
    lookup = await r.lookup("x.drop.test", "A")
    elapsed = time.monotonic() - started
    assert lookup.status == "timeout"
    assert lookup.attempts == 3
    assert elapsed < 0.6 + 0.25
    assert "no answer" in lookup.reason and "3 tries" in lookup.reason


async def test_budget_is_shared_by_the_lookups_of_a_check(dns_env: DnsEnv) -> None:
    r = resolver(dns_env, timeout=0.5, retries=0)
    budget = Budget(0.5)
    started = time.monotonic()
    first = await r.lookup("x.drop.test", "A", budget)
    second = await r.lookup("mta1.example.test", "A", budget)
    assert first.status == "timeout"
    assert second.status == "timeout"  # no time left in this check's budget
    assert "time limit" in second.reason
    assert time.monotonic() - started < 0.5 + 0.25


async def test_hard_deadline_caps_every_budget(dns_env: DnsEnv) -> None:
    r = resolver(dns_env)
    budget = Budget(5.0, hard_deadline=time.monotonic() - 1)
    lookup = await r.lookup("mta1.example.test", "A", budget)
    assert lookup.status == "timeout"
    assert "overall deadline" in lookup.reason


async def test_concurrency_cap(dns_env: DnsEnv) -> None:
    limiter = asyncio.Semaphore(2)
    r = Resolver([dns_env.nameserver], timeout=2.0, limiter=limiter)
    results = await asyncio.gather(*(r.lookup("mta1.example.test", "A") for _ in range(20)))
    assert all(x.ok for x in results)
    assert limiter._value == 2  # every slot given back


async def test_invalid_names_and_addresses_do_not_raise(dns_env: DnsEnv) -> None:
    r = resolver(dns_env)
    long_label = await r.lookup("a" * 70 + ".example.test", "A")
    bad_ip = await r.ptr("not-an-ip")
    assert long_label.status == "error"
    assert bad_ip.status == "error"


async def test_ipv6_ptr(dns_env: DnsEnv) -> None:
    lookup = await resolver(dns_env).ptr("2001:db8::6")
    assert lookup.records == ("mta6.example.test.",)


def test_sync_lookup(dns_env: DnsEnv) -> None:
    r = resolver(dns_env)
    ok = r.lookup_sync("mta1.example.test", "A", Budget(2.0))
    nx = r.lookup_sync("none.example.test", "A", Budget(2.0))
    assert ok.records == ("192.0.2.1",)
    assert nx.status == "nxdomain"


async def test_two_nameservers_one_dead(dns_env: DnsEnv) -> None:
    # A closed port first: the resolver moves on to the live server within the budget.
    r = Resolver([("127.0.0.1", 9), dns_env.nameserver], timeout=2.0, retries=1)
    lookup = await r.lookup("mta1.example.test", "A")
    assert lookup.ok


def test_resolver_needs_a_nameserver() -> None:
    with pytest.raises(ValueError):
        Resolver([])
