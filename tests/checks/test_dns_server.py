"""The loopback DNS server itself: wildcards, behaviours, and the subprocess mode."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from tui.checks.dns_server import Behaviour, DnsServer, load_zone_text
from tui.checks.resolver import Resolver

if TYPE_CHECKING:
    from pathlib import Path

    from tests.checks.conftest import DnsEnv

ZONE = """$TTL 60
@ SOA ns.t.test. h.t.test. 1 60 60 60 60
@ NS ns.t.test.
ns A 127.0.0.1
* TXT "wild"
sub TXT "sub"
a.b.deep A 192.0.2.7
"""


def ask(port: int, name: str, rdtype: str, *, edns: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=0 if edns else None)
    return dns.query.udp(query, "127.0.0.1", timeout=2, port=port)


def test_answers_rcodes_and_authority(dns_env: DnsEnv) -> None:
    port = dns_env.port
    nx = ask(port, "nx.example.test", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.flags & dns.flags.AA
    assert nx.authority and nx.authority[0].rdtype == dns.rdatatype.SOA
    nodata = ask(port, "mta1.example.test", "MX")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority
    cname = ask(port, "alias.example.test", "A")
    assert [rrset.rdtype for rrset in cname.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]
    assert ask(port, "www.example.org", "A").rcode() == dns.rcode.REFUSED


def test_truncation_without_and_with_edns(dns_env: DnsEnv) -> None:
    plain = ask(dns_env.port, "big.example.test", "TXT")
    assert plain.flags & dns.flags.TC and not plain.answer
    tcp = dns.query.tcp(
        dns.message.make_query("big.example.test", "TXT"), "127.0.0.1", timeout=2, port=dns_env.port
    )
    assert not tcp.flags & dns.flags.TC and len(tcp.answer[0]) == 10


def test_wildcards_and_empty_non_terminals() -> None:
    server = DnsServer([load_zone_text("t.test", ZONE)])
    port = server.start_in_thread()
    try:
        assert ask(port, "anything.t.test", "TXT").answer[0][0].strings == (b"wild",)
        assert ask(port, "x.y.t.test", "TXT").answer[0].name.to_text() == "x.y.t.test."
        assert ask(port, "sub.t.test", "TXT").answer[0][0].strings == (b"sub",)
        # deep.t.test exists only as an empty non-terminal: NODATA, and the wildcard does
        # not apply below it (RFC 4592).
        ent = ask(port, "deep.t.test", "TXT")
        assert ent.rcode() == dns.rcode.NOERROR and not ent.answer
        assert ask(port, "x.deep.t.test", "TXT").rcode() == dns.rcode.NXDOMAIN
    finally:
        server.stop_thread()


async def test_behaviours_delay_and_truncate() -> None:
    server = DnsServer(
        [load_zone_text("t.test", ZONE)],
        behaviours={"t.test": Behaviour(delay_ms=150, truncate=True)},
    )
    port = server.start_in_thread()
    try:
        resolver = Resolver([("127.0.0.1", port)], timeout=2.0)
        started = time.monotonic()
        lookup = await resolver.lookup("sub.t.test", "TXT")
        assert lookup.ok
        assert time.monotonic() - started >= 0.3  # delayed over UDP and again over TCP
        assert server.stats.truncated == 1 and server.stats.tcp_queries == 1
    finally:
        server.stop_thread()


def test_behaviour_parse() -> None:
    assert Behaviour.parse("drop") == Behaviour(drop=True)
    assert Behaviour.parse("truncate,delay_ms=20") == Behaviour(delay_ms=20, truncate=True)
    with pytest.raises(ValueError):
        Behaviour.parse("explode")


async def test_subprocess_mode(tmp_path: Path) -> None:
    (tmp_path / "t.test.zone").write_text(ZONE)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.checks.dns_server",
            "--port",
            "0",
            "--zone-dir",
            str(tmp_path),
            "--behaviour",
            "t.test=delay_ms=10",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        lookup = await Resolver([("127.0.0.1", port)], timeout=2.0).lookup("a.b.deep.t.test", "A")
        assert lookup.records == ("192.0.2.7",)
    finally:
        proc.terminate()
        proc.wait(5)
