"""DNS faults injected by the real loopback server, and what every check makes of them.

Each fault (SERVFAIL, REFUSED, a server that never answers) is aimed at every lookup a check
kind makes; the check must say "not tested" with the reason, never "fail" or "listed" for a
record it could not read, and must finish within its time limit. Truncated UDP answers must
be fetched again over TCP, NXDOMAIN and NODATA must each get their right answer, and the
blocklist error answers must be "not tested" with the reason the list gives.

This module runs its own server (zones below) so it can shape faults per zone, per name and
per query type without touching the session server of ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tui.checks.block_checks import ERROR_ANSWERS, BlockTarget
from tui.checks.dkim_keys import dns_record_for, load_private_key
from tui.checks.dns_server import Behaviour, DnsServer
from tui.checks.engine import CheckContext, collect, stream_jobs
from tui.checks.results import CheckResult
from tui.checks.runner import planned_jobs
from tui.checks.sender_checks import DkimSelector, SenderTarget
from tui.checks.settings import CheckSettings

SOA = "@ SOA ns.ok.test. hostmaster.ok.test. 1 3600 600 86400 60\n@ NS ns.ok.test.\n"

TIMEOUT = 1.0
MARGIN = 0.5
"""A check may overrun its time limit by this much (scheduling, thread hand-over)."""

# fault name -> (zone that has the fault, short tag used in other zone names, reason marker)
FAULTS: dict[str, tuple[str, str, str]] = {
    "servfail": ("sf.test", "sf", "SERVFAIL"),
    "refused": ("rf.test", "rf", "REFUSED"),
    "drop": ("dr.test", "dr", "no answer"),
}
FAULT_IP_LAST = {"servfail": 10, "refused": 11, "drop": 12}
"""203.0.113.N has a reverse zone with the fault; 198.51.100.N has a PTR into the fault zone."""

GOOD_IP = "198.51.100.1"  # PTR mta.ok.test, which resolves back
NODATA_PTR_IP = "198.51.100.30"  # the reverse name exists (TXT) but has no PTR
NXDOMAIN_PTR_IP = "198.51.100.31"  # the reverse name does not exist
TC_IP = "198.51.100.20"  # everything about it is served only over TCP
BL_IP = "203.0.113.5"  # blocklist zones answer the probe, but its listing has the fault
SLOW_MS = 800  # slow zones answer within the time limit, but two of their answers do not

DNSBL_CODES = [
    "127.255.255.252",
    "127.255.255.254",
    "127.255.255.255",
    "127.0.1.255",
    "127.0.0.1",
    "10.0.0.1",
]


def txt(value: str) -> str:
    """A TXT rdata, split into strings of at most 250 bytes."""
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)] or [""]
    return " ".join('"' + c.replace('"', '\\"') + '"' for c in chunks)


def big_spf(last_ip: str) -> str:
    """An SPF record of about 1,500 bytes (more than one UDP answer of 1,232) with the
    authorized address at its very end."""
    terms = [f"ip4:192.0.2.{i}" for i in range(1, 100)]
    return "v=spf1 " + " ".join(terms) + f" ip4:{last_ip} -all"


def build_zones(dkim_record: str) -> dict[str, tuple[str, Behaviour | None]]:
    zones: dict[str, tuple[str, Behaviour | None]] = {}
    ok = f"""$TTL 300
{SOA}@ A 198.51.100.1
ns A 127.0.0.1
mta A 198.51.100.1
mx1 A 198.51.100.25
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@ok.test"
implicit A 198.51.100.50
v6only AAAA 2001:db8::25
bare TXT "neither MX nor address"
txtonly TXT "a name with no address"
noaddr MX 10 nxhost.ok.test.
partial MX 10 mx1.ok.test.
partial MX 20 nxhost.ok.test.
s-nodata._domainkey A 127.0.0.1
lm-nodata._domainkey A 127.0.0.1
_dmarc.dm-nodata A 127.0.0.1
dm-nodata A 127.0.0.1
dm-nx A 127.0.0.1
bigspf TXT {txt(big_spf(GOOD_IP))}
"""
    for fault, (zone, _tag, _marker) in FAULTS.items():
        ok += f"mxhosts-{fault} MX 10 mx.{zone}.\n"
        ok += f'inc-{fault} TXT "v=spf1 include:spf.{zone} -all"\n'
    zones["ok.test"] = (ok, None)

    reverse = f'$TTL 300\n{SOA}1 PTR mta.ok.test.\n30 TXT "exists, no PTR"\n'
    for fault, (zone, tag, _marker) in FAULTS.items():
        last = FAULT_IP_LAST[fault]
        reverse += f"{last} PTR host.{zone}.\n"
        behaviour = Behaviour(**{fault: True})
        # The whole zone misbehaves: its content would be answered otherwise.
        zones[zone] = (
            f'$TTL 300\n{SOA}* A 198.51.100.1\n* TXT "v=spf1 -all"\n2.0.0.127 A 127.0.0.2\n',
            behaviour,
        )
        # Reverse zone of 203.0.113.N alone.
        zones[f"{last}.113.0.203.in-addr.arpa"] = (
            f"$TTL 300\n{SOA}@ PTR mta.ok.test.\n",
            behaviour,
        )
        # No MX: the implicit MX is the domain's own address, whose lookups have the fault.
        zones[f"imp-{tag}.test"] = (
            f"$TTL 300\n{SOA}@ A 198.51.100.50\n",
            Behaviour(**{fault: True}, rdtypes=frozenset({"A", "AAAA"})),
        )
        # A blocklist whose test entry answers, while the listings of 203.0.113.0/24 fail.
        zones[f"bl-{tag}.test"] = (f"$TTL 300\n{SOA}2.0.0.127 A 127.0.0.2\n", None)
        zones[f"113.0.203.bl-{tag}.test"] = (f"$TTL 300\n{SOA}* A 127.0.0.2\n", behaviour)
        # DMARC: nothing at _dmarc.news.<tag>o.test, the fault at the organizational domain.
        zones[f"news.{tag}o.test"] = (f"$TTL 300\n{SOA}", None)
        zones[f"{tag}o.test"] = (f'$TTL 300\n{SOA}_dmarc TXT "v=DMARC1; p=none"\n', behaviour)
    zones["100.51.198.in-addr.arpa"] = (reverse, None)

    # Slow but answering: a blocklist probe, and a DKIM key (TXT only).
    zones["bl-slow.test"] = (f"$TTL 300\n{SOA}2.0.0.127 A 127.0.0.2\n", Behaviour(delay_ms=SLOW_MS))
    zones["113.0.203.bl-slow.test"] = (f"$TTL 300\n{SOA}* A 127.0.0.2\n", Behaviour(drop=True))
    zones["slowkey.test"] = (
        f"$TTL 300\n{SOA}sel._domainkey TXT {txt(dkim_record)}\n",
        Behaviour(delay_ms=SLOW_MS, rdtypes=frozenset({"TXT"})),
    )

    for index, code in enumerate(DNSBL_CODES):
        # The test entry answers 127.0.0.2, every listing answers the code ...
        zones[f"zen.lst{index}.test"] = (
            f"$TTL 300\n{SOA}2.0.0.127 A 127.0.0.2\n* A {code}\n",
            None,
        )
        # ... or even the test entry answers the code.
        zones[f"zen.prb{index}.test"] = (f"$TTL 300\n{SOA}* A {code}\n", None)
    zones["zen.listed.test"] = (f"$TTL 300\n{SOA}2.0.0.127 A 127.0.0.2\n* A 127.0.0.2\n", None)
    zones["zen.mixed.test"] = (
        f"$TTL 300\n{SOA}2.0.0.127 A 127.0.0.2\n* A 127.0.0.2\n* A 127.255.255.254\n",
        None,
    )

    truncate = Behaviour(truncate=True)
    zones["tc.test"] = (
        f"""$TTL 300
{SOA}@ MX 10 mx
mx A {TC_IP}
mta A {TC_IP}
@ TXT {txt(big_spf(TC_IP))}
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@tc.test"
sel._domainkey TXT {txt(dkim_record)}
""",
        truncate,
    )
    zones["20.100.51.198.in-addr.arpa"] = (f"$TTL 300\n{SOA}@ PTR mta.tc.test.\n", truncate)
    zones["zen.tc.test"] = (
        f"""$TTL 300
{SOA}2.0.0.127 A 127.0.0.2
20.100.51.198 A 127.0.0.2
20.100.51.198 A 127.0.0.11
20.100.51.198 TXT "Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL9"
""",
        truncate,
    )
    return zones


@dataclass
class FaultEnv:
    server: DnsServer
    port: int
    key_pem: str

    def settings(self, **changes: object) -> CheckSettings:
        base = CheckSettings(
            nameservers=[("127.0.0.1", self.port)],
            dnsbl_nameservers=[("127.0.0.1", self.port)],
            dnsbl_zones=[],
            timeout=TIMEOUT,
            retries=1,
            concurrency=32,
            deadline=30.0,
        )
        return base.copy(**changes)


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultEnv]:
    key = rsa.generate_private_key(65537, 2048)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    server = DnsServer()
    for origin, (text, behaviour) in build_zones(dns_record_for(load_private_key(key_pem))).items():
        server.add_zone_text(origin, text)
        if behaviour is not None:
            server.set_behaviour(origin, behaviour)
    port = server.start_in_thread()
    try:
        yield FaultEnv(server, port, key_pem)
    finally:
        server.stop_thread()


KINDS: dict[str, frozenset[str]] = {
    "mx": frozenset({"mx"}),
    "rdns": frozenset({"rdns"}),
    "dnsbl": frozenset({"dnsbl-zone", "dnsbl"}),
    "spf": frozenset({"spf"}),
    "dmarc": frozenset({"dmarc"}),
    "dkim": frozenset({"dkim"}),
}
"""Check kinds by the first word of their job names."""


async def run_jobs(
    settings: CheckSettings,
    blocks: Sequence[BlockTarget] = (),
    senders: Sequence[SenderTarget] = (),
    kinds: frozenset[str] | None = None,
) -> tuple[list[CheckResult], float]:
    """Run the jobs of ``kinds`` (all when ``None``); the results and the seconds taken."""
    jobs = planned_jobs(blocks, senders, settings)
    if kinds is not None:
        jobs = [(name, job) for name, job in jobs if name.split()[0] in kinds]
    assert jobs
    started = time.monotonic()
    ctx = CheckContext.create(settings)
    async with contextlib.aclosing(stream_jobs(ctx, jobs)) as results:
        collected = await collect(results)
    return collected, time.monotonic() - started


def by(results: list[CheckResult], check: str, subject: str) -> CheckResult:
    matches = [r for r in results if r.check == check and r.subject == subject]
    assert len(matches) == 1, (check, subject, [(r.check, r.subject) for r in results])
    return matches[0]


def targets_for(
    kind: str, fault: str, key_pem: str
) -> tuple[list[BlockTarget], list[SenderTarget], list[str]]:
    """Targets whose every lookup of ``kind`` meets ``fault``, and the blocklist zones."""
    zone, tag, _marker = FAULTS[fault]
    last = FAULT_IP_LAST[fault]
    if kind == "mx":
        blocks = [
            BlockTarget(f"x.{zone}", blocking_mx_ips=["198.51.100.25"]),
            BlockTarget(f"mxhosts-{fault}.ok.test", blocking_mx_ips=["198.51.100.25"]),
            BlockTarget(f"imp-{tag}.test", blocking_mx_ips=["198.51.100.50"]),
        ]
        return blocks, [], []
    if kind == "rdns":
        blocks = [
            BlockTarget(None, [f"203.0.113.{last}"], helo=f"mta.{zone}"),
            BlockTarget(None, [f"198.51.100.{last}"], helo=f"host.{zone}"),
        ]
        return blocks, [], []
    if kind == "dnsbl":
        return [BlockTarget(None, [BL_IP])], [], [zone, f"bl-{tag}.test"]
    if kind == "spf":
        return (
            [],
            [SenderTarget(f"x.{zone}", [GOOD_IP]), SenderTarget(f"inc-{fault}.ok.test", [GOOD_IP])],
            [],
        )
    if kind == "dmarc":
        return [], [SenderTarget(f"x.{zone}"), SenderTarget(f"news.{tag}o.test")], []
    assert kind == "dkim"
    selectors = [DkimSelector("lm", key_pem, "listmanager"), DkimSelector("guess")]
    return [], [SenderTarget(f"x.{zone}", [], selectors)], []


def expected_passes(kind: str, fault: str) -> set[tuple[str, str]]:
    """(check, subject) pairs whose records were read in spite of the fault."""
    _zone, tag, _marker = FAULTS[fault]
    if kind == "rdns":
        return {("ptr", f"198.51.100.{FAULT_IP_LAST[fault]}")}  # the PTR itself answered
    if kind == "dnsbl":
        return {("dnsbl-zone", f"bl-{tag}.test")}
    if kind == "spf":
        return {("spf-record", f"inc-{fault}.ok.test")}
    return set()


# -- timeouts, SERVFAIL, REFUSED -------------------------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_dns_fault_is_not_tested_within_the_time_limit(
    faults: FaultEnv, kind: str, fault: str
) -> None:
    blocks, senders, zones = targets_for(kind, fault, faults.key_pem)
    settings = faults.settings(dnsbl_zones=zones)
    results, elapsed = await run_jobs(settings, blocks, senders, KINDS[kind])
    assert elapsed < TIMEOUT + MARGIN, f"{kind} took {elapsed:.2f}s with {fault}"
    marker = FAULTS[fault][2]
    passes = expected_passes(kind, fault)
    assert results
    for result in results:
        if (result.check, result.subject) in passes:
            assert result.status == "pass", result
            continue
        assert result.status == "not_tested", result  # never fail, never listed
        assert result.reason
    # The reason names the fault where the lookup itself failed.
    must_name = {
        "mx": ["mx"],
        "rdns": ["fcrdns", "helo"],
        "dnsbl": ["dnsbl", "dnsbl-zone"],
        "spf": ["spf-record", "spf-lookups"],
        "dmarc": ["dmarc"],
        "dkim": ["dkim-record", "dkim-key-match"],
    }[kind]
    for result in results:
        if result.check in must_name and result.status == "not_tested":
            assert marker in result.reason, result
    if kind == "rdns":
        far = f"203.0.113.{FAULT_IP_LAST[fault]}"
        assert marker in by(results, "ptr", far).reason
        assert marker in by(results, "fcrdns", far).reason


async def test_the_run_deadline_caps_many_checks(faults: FaultEnv) -> None:
    """Checks with a 5 s limit, 2 s retries and 40-odd lookups on a dead server: the run
    still ends at its 1 s deadline, every result not tested."""
    zone = FAULTS["drop"][0]
    blocks = [
        BlockTarget(f"d{i}.{zone}", ["203.0.113.12", "198.51.100.12"], ["192.0.2.9"])
        for i in range(6)
    ]
    blocks.append(BlockTarget(None, [f"203.0.113.{i}" for i in range(40, 48)], helo=f"h.{zone}"))
    selectors = [DkimSelector("lm", faults.key_pem, "listmanager"), DkimSelector("g")]
    senders = [SenderTarget(f"s{i}.{zone}", [GOOD_IP], selectors) for i in range(6)]
    settings = faults.settings(
        dnsbl_zones=[zone, "bl-dr.test"], timeout=5.0, retries=1, deadline=1.0, concurrency=4
    )
    results, elapsed = await run_jobs(settings, blocks, senders)
    assert elapsed < 1.0 + MARGIN, f"the run took {elapsed:.2f}s"
    assert len(results) > 60
    # Only these records live in zones that answer, if their lookup got a slot in time.
    answerable = {("ptr", "198.51.100.12"), ("dnsbl-zone", "bl-dr.test")}
    wrong = [
        r
        for r in results
        if r.status != "not_tested"
        and not ((r.check, r.subject) in answerable and r.status == "pass")
    ]
    assert not wrong, wrong[:3]
    assert any("overall deadline" in r.reason for r in results)


async def test_a_slow_first_lookup_leaves_less_time_for_the_next(faults: FaultEnv) -> None:
    """A blocklist probe and a DKIM key lookup that take 0.8 of the 1 s limit: the listing
    lookup (dead server) and dkimpy's own key lookup get what is left, not a new second, and
    a key dkimpy could not fetch is "not tested", not a failed signature."""
    settings = faults.settings(dnsbl_zones=["bl-slow.test"], retries=0)
    blocks = [BlockTarget(None, [BL_IP])]
    senders = [SenderTarget("slowkey.test", [], [DkimSelector("sel", faults.key_pem)])]
    results, elapsed = await run_jobs(settings, blocks, senders, KINDS["dnsbl"] | KINDS["dkim"])
    assert elapsed < TIMEOUT + MARGIN, f"took {elapsed:.2f}s"
    assert by(results, "dnsbl-zone", "bl-slow.test").status == "pass"
    listing = by(results, "dnsbl", f"{BL_IP} on bl-slow.test")
    assert listing.status == "not_tested", listing
    subject = "sel._domainkey.slowkey.test"
    assert by(results, "dkim-record", subject).status == "pass"
    assert by(results, "dkim-key-match", subject).status == "pass"
    verify = by(results, "dkim-sign-verify", subject)
    assert verify.status == "not_tested", verify
    assert "time limit" in verify.reason or "no answer" in verify.reason


# -- truncated UDP answers ---------------------------------------------------------------------


async def test_truncated_answers_are_fetched_over_tcp(faults: FaultEnv) -> None:
    """Every answer of tc.test (and the reverse and blocklist zones of TC_IP) comes with TC
    set over UDP: each check must get the full answer over TCP, including pyspf's and
    dkimpy's lookups, which go through the blocking resolver."""
    stats = faults.server.stats
    before = (stats.truncated, stats.tcp_queries)
    blocks = [BlockTarget("tc.test", [TC_IP, GOOD_IP], [TC_IP], helo={TC_IP: "mta.tc.test"})]
    senders = [
        SenderTarget(
            "tc.test", [TC_IP, GOOD_IP], [DkimSelector("sel", faults.key_pem, "listmanager")]
        )
    ]
    settings = faults.settings(dnsbl_zones=["zen.tc.test"], timeout=3.0)
    results, _elapsed = await run_jobs(settings, blocks, senders)

    assert by(results, "mx", "tc.test").status == "pass"
    assert by(results, "blocking-mx", f"tc.test MX {TC_IP}").status == "pass"
    assert by(results, "ptr", TC_IP).status == "pass"
    assert by(results, "fcrdns", TC_IP).status == "pass"
    assert by(results, "helo", TC_IP).status == "pass"
    assert by(results, "dnsbl-zone", "zen.tc.test").status == "pass"
    listed = by(results, "dnsbl", f"{TC_IP} on zen.tc.test")
    assert listed.status == "fail" and "SBL" in listed.reason and "PBL" in listed.reason
    assert listed.details["delist_url"] == "https://check.spamhaus.org/sbl/query/SBL9"
    assert by(results, "dnsbl", f"{GOOD_IP} on zen.tc.test").status == "pass"

    record = by(results, "spf-record", "tc.test")
    assert record.status == "pass", record
    assert record.details["records"] == [big_spf(TC_IP)]  # 6 strings joined without spaces
    assert by(results, "spf", f"tc.test for {TC_IP}").status == "pass"  # the last term
    assert by(results, "spf", f"tc.test for {GOOD_IP}").status == "fail"
    assert by(results, "dmarc", "tc.test").status == "pass"
    assert by(results, "dkim-record", "sel._domainkey.tc.test").status == "pass"
    assert by(results, "dkim-key-match", "sel._domainkey.tc.test").status == "pass"
    verified = by(results, "dkim-sign-verify", "sel._domainkey.tc.test")
    assert verified.status == "pass", verified.reason

    assert stats.truncated - before[0] >= 10
    assert stats.tcp_queries - before[1] >= 10


async def test_a_big_spf_record_is_truncated_by_size_and_read_over_tcp(
    faults: FaultEnv,
) -> None:
    stats = faults.server.stats
    before = (stats.truncated, stats.tcp_queries)
    senders = [SenderTarget("bigspf.ok.test", [GOOD_IP, "192.0.2.200"])]
    results, _elapsed = await run_jobs(faults.settings(), [], senders, KINDS["spf"])
    assert len(big_spf(GOOD_IP)) > 1232  # more than the EDNS buffer we advertise
    assert by(results, "spf-record", "bigspf.ok.test").details["records"] == [big_spf(GOOD_IP)]
    assert by(results, "spf", f"bigspf.ok.test for {GOOD_IP}").status == "pass"
    assert by(results, "spf", "bigspf.ok.test for 192.0.2.200").status == "fail"
    assert stats.truncated > before[0] and stats.tcp_queries > before[1]


# -- NXDOMAIN vs NODATA ------------------------------------------------------------------------


async def test_nxdomain_and_nodata_ptr_and_helo(faults: FaultEnv) -> None:
    blocks = [
        BlockTarget(None, [NXDOMAIN_PTR_IP], helo="nothing.ok.test"),
        BlockTarget(None, [NODATA_PTR_IP], helo="txtonly.ok.test"),
    ]
    results, _elapsed = await run_jobs(faults.settings(), blocks)
    for ip, what in ((NXDOMAIN_PTR_IP, "NXDOMAIN"), (NODATA_PTR_IP, "NODATA")):
        ptr = by(results, "ptr", ip)
        assert ptr.status == "fail" and "no PTR record" in ptr.reason and what in ptr.reason
        assert by(results, "fcrdns", ip).status == "not_tested"
        assert "no PTR name" in by(results, "fcrdns", ip).reason
    nx_helo = by(results, "helo", NXDOMAIN_PTR_IP)
    assert nx_helo.status == "fail" and "NXDOMAIN" in nx_helo.reason
    nodata_helo = by(results, "helo", NODATA_PTR_IP)
    assert nodata_helo.status == "fail" and "NODATA" in nodata_helo.reason


async def test_nxdomain_and_nodata_mx_and_the_implicit_mx(faults: FaultEnv) -> None:
    """RFC 5321 5.1: no MX record (NODATA) means the domain's own A/AAAA is the MX (preference
    0); a domain that does not exist (NXDOMAIN) receives nothing; a null MX refuses mail."""
    blocks = [
        BlockTarget("nothing.ok.test"),
        BlockTarget("implicit.ok.test", blocking_mx_ips=["198.51.100.50", "198.51.100.51"]),
        BlockTarget("v6only.ok.test"),
        BlockTarget("bare.ok.test"),
        BlockTarget("noaddr.ok.test"),
        BlockTarget("partial.ok.test", blocking_mx_ips=["198.51.100.25"]),
    ]
    results, _elapsed = await run_jobs(faults.settings(), blocks)
    nx = by(results, "mx", "nothing.ok.test")
    assert nx.status == "fail" and "NXDOMAIN" in nx.reason

    implicit = by(results, "mx", "implicit.ok.test")
    assert implicit.status == "warn" and "implicit MX" in implicit.reason
    assert "198.51.100.50" in implicit.reason
    assert implicit.details["hosts"][0] == {
        "host": "implicit.ok.test",
        "preference": 0,
        "addresses": ["198.51.100.50"],
        "resolved": True,
    }
    current = by(results, "blocking-mx", "implicit.ok.test MX 198.51.100.50")
    assert current.status == "pass"
    stale = by(results, "blocking-mx", "implicit.ok.test MX 198.51.100.51")
    assert stale.status == "warn" and "stale" in stale.reason

    v6 = by(results, "mx", "v6only.ok.test")
    assert v6.status == "warn" and "2001:db8::25" in v6.reason

    bare = by(results, "mx", "bare.ok.test")
    assert bare.status == "fail" and "no mail can be delivered" in bare.reason

    noaddr = by(results, "mx", "noaddr.ok.test")
    assert noaddr.status == "fail" and "nxhost.ok.test" in noaddr.reason

    partial = by(results, "mx", "partial.ok.test")
    assert partial.status == "warn" and "without an address: nxhost.ok.test" in partial.reason
    assert by(results, "blocking-mx", "partial.ok.test MX 198.51.100.25").status == "pass"


async def test_nxdomain_and_nodata_dkim_selector(faults: FaultEnv) -> None:
    selectors = [
        DkimSelector("nx"),  # NXDOMAIN, only a guess
        DkimSelector("s-nodata"),  # the name exists without TXT, only a guess
        DkimSelector("lm-nx", source="listmanager"),
        DkimSelector("lm-nodata", source="listmanager"),
    ]
    results, _elapsed = await run_jobs(
        faults.settings(), [], [SenderTarget("ok.test", [], selectors)], KINDS["dkim"]
    )
    guess_nx = by(results, "dkim-record", "nx._domainkey.ok.test")
    assert guess_nx.status == "not_tested" and "selector unknown" in guess_nx.reason
    assert "(NXDOMAIN)" in guess_nx.reason
    guess_nodata = by(results, "dkim-record", "s-nodata._domainkey.ok.test")
    assert guess_nodata.status == "not_tested" and "(NODATA)" in guess_nodata.reason
    lm_nx = by(results, "dkim-record", "lm-nx._domainkey.ok.test")
    assert lm_nx.status == "fail" and "(NXDOMAIN)" in lm_nx.reason and "UNSIGNED" in lm_nx.reason
    lm_nodata = by(results, "dkim-record", "lm-nodata._domainkey.ok.test")
    assert lm_nodata.status == "fail" and "(NODATA)" in lm_nodata.reason


async def test_nxdomain_and_nodata_dmarc_fall_back_to_the_organizational_domain(
    faults: FaultEnv,
) -> None:
    senders = [SenderTarget("dm-nx.ok.test"), SenderTarget("dm-nodata.ok.test")]
    results, _elapsed = await run_jobs(faults.settings(), [], senders, KINDS["dmarc"])
    for domain in ("dm-nx.ok.test", "dm-nodata.ok.test"):
        dmarc = by(results, "dmarc", domain)
        assert dmarc.status == "pass" and dmarc.details["found_at"] == "ok.test", dmarc


# -- blocklist answers -------------------------------------------------------------------------


def _code_reason(code: str, probe: bool) -> str:
    if code in ERROR_ANSWERS:
        return ERROR_ANSWERS[code]
    if probe:
        return f"test entry answered {code} instead of 127.0.0.2"
    if code == "127.0.0.1":
        return "never a listing"
    return "outside 127.0.0.0/8"


@pytest.mark.parametrize("index", range(len(DNSBL_CODES)), ids=DNSBL_CODES)
async def test_blocklist_error_answers_are_not_tested(faults: FaultEnv, index: int) -> None:
    code = DNSBL_CODES[index]
    zones = [f"zen.lst{index}.test", f"zen.prb{index}.test"]
    results, _elapsed = await run_jobs(
        faults.settings(dnsbl_zones=zones), [BlockTarget(None, [GOOD_IP])], kinds=KINDS["dnsbl"]
    )
    listing = by(results, "dnsbl", f"{GOOD_IP} on {zones[0]}")
    assert listing.status == "not_tested", listing
    assert _code_reason(code, probe=False) in listing.reason
    assert by(results, "dnsbl-zone", zones[0]).status == "pass"
    probed = by(results, "dnsbl", f"{GOOD_IP} on {zones[1]}")
    assert probed.status == "not_tested"
    assert _code_reason(code, probe=True) in probed.reason
    zone = by(results, "dnsbl-zone", zones[1])
    assert zone.status == "not_tested" and _code_reason(code, probe=True) in zone.reason


async def test_blocklist_127_0_0_2_is_listed_and_an_error_among_listings_is_not(
    faults: FaultEnv,
) -> None:
    zones = ["zen.listed.test", "zen.mixed.test"]
    results, _elapsed = await run_jobs(
        faults.settings(dnsbl_zones=zones), [BlockTarget(None, [GOOD_IP])], kinds=KINDS["dnsbl"]
    )
    listed = by(results, "dnsbl", f"{GOOD_IP} on zen.listed.test")
    assert listed.status == "fail" and "127.0.0.2 SBL" in listed.reason
    mixed = by(results, "dnsbl", f"{GOOD_IP} on zen.mixed.test")
    assert mixed.status == "not_tested" and ERROR_ANSWERS["127.255.255.254"] in mixed.reason
