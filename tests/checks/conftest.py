"""A real authoritative DNS server on loopback serving good and broken zones for the checks.

Keys are generated at test time with ``cryptography``; cryptography 50 refuses to generate
RSA keys under 1024 bits, so the 512-bit key is a pre-generated PEM in ``data/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.reversename
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tui.checks.block_checks import dnsbl_query_name
from tui.checks.dkim_keys import dns_record_for
from tui.checks.dns_server import Behaviour, DnsServer
from tui.checks.settings import CheckSettings

DATA = Path(__file__).parent / "data"

SOA = "@ SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n@ NS ns.example.test.\n"

GOOD_IP = "192.0.2.1"  # PTR mta1.example.test, resolves back, SPF pass, not listed
NO_PTR_IP = "192.0.2.2"  # no PTR, not in SPF (fail)
PTR_MISMATCH_IP = "192.0.2.3"  # PTR mta3.example.test which resolves to 192.0.2.99
LISTED_IP = "192.0.2.4"  # listed on zen.test (127.0.0.2 SBL + 127.0.0.11 PBL) with TXT
IPV6_IP = "2001:db8::6"  # PTR mta6.example.test, listed on zen.test 127.0.0.3


def txt(value: str) -> str:
    """A TXT rdata, split into 255-byte strings."""
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)] or [""]
    return " ".join('"' + c.replace('"', '\\"') + '"' for c in chunks)


def pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@dataclass
class Keys:
    good: str
    other: str
    weak: str
    small: str
    ed: str


@dataclass
class DnsEnv:
    """The running server, its port, the DKIM keys, and the test addresses."""

    server: DnsServer
    port: int
    keys: Keys

    GOOD_IP = GOOD_IP
    NO_PTR_IP = NO_PTR_IP
    PTR_MISMATCH_IP = PTR_MISMATCH_IP
    LISTED_IP = LISTED_IP
    IPV6_IP = IPV6_IP

    @property
    def nameserver(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def settings(self, **changes: object) -> CheckSettings:
        base = CheckSettings(
            nameservers=[self.nameserver],
            dnsbl_nameservers=[self.nameserver],
            dnsbl_zones=["zen.test"],
            timeout=2.0,
            retries=1,
            concurrency=32,
            deadline=30.0,
        )
        return base.copy(**changes)


def build_zones(keys: Keys) -> dict[str, str]:
    from tui.checks.dkim_keys import load_private_key

    def rec(pem_text: str, **kw: bool) -> str:
        return dns_record_for(load_private_key(pem_text), **kw)

    big = "\n".join(f'big TXT "{str(i) * 200}"' for i in range(10))
    zones = {
        "example.test": f"""$TTL 300
{SOA}ns A 127.0.0.1
@ TXT "v=spf1 ip4:192.0.2.1 ip4:192.0.2.3 ip4:192.0.2.4 ip6:2001:db8::/32 -all"
_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.test"
mta1 A 192.0.2.1
mta3 A 192.0.2.99
mta4 A 192.0.2.4
mta6 AAAA 2001:db8::6
alias CNAME mta1
{big}
good._domainkey TXT {txt(rec(keys.good))}
testing._domainkey TXT {txt(rec(keys.good, testing=True))}
revoked._domainkey TXT "v=DKIM1; k=rsa; p="
small._domainkey TXT {txt(rec(keys.small))}
weak._domainkey TXT {txt(rec(keys.weak))}
mismatch._domainkey TXT {txt(rec(keys.other))}
ed._domainkey TXT {txt(rec(keys.ed))}
notakey._domainkey TXT "hello"
""",
        "good.test": f"""$TTL 300
{SOA}@ TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@good.test"
sub A 192.0.2.1
""",
        "nodmarc.test": f"""$TTL 300
{SOA}@ TXT "v=spf1 ip4:192.0.2.1 ~all"
""",
        "twospf.test": f"""$TTL 300
{SOA}@ TXT "v=spf1 ip4:192.0.2.1 -all"
@ TXT "v=spf1 ip4:192.0.2.2 -all"
""",
        "void.test": f"""$TTL 300
{SOA}@ TXT "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test -all"
""",
        "toomany.test": f"""$TTL 300
{SOA}@ TXT "v=spf1 include:s1.toomany.test include:s2.toomany.test include:s3.toomany.test -all"
s1 TXT "v=spf1 a mx include:s1b.toomany.test -all"
s1 A 198.51.100.201
s1 MX 10 s1
s1b TXT "v=spf1 ip4:198.51.100.0/28 -all"
s2 TXT "v=spf1 a mx exists:%{{i}}.e.toomany.test -all"
s2 A 198.51.100.202
s2 MX 10 s2
s3 TXT "v=spf1 a mx -all"
s3 A 198.51.100.203
s3 MX 10 s3
""",
        "recv.test": f"""$TTL 300
{SOA}@ MX 10 mx1
@ MX 20 mx2
mx1 A 198.51.100.10
mx2 A 198.51.100.11
mx2 AAAA 2001:db8::11
""",
        "nomx.test": f"""$TTL 300
{SOA}@ A 198.51.100.50
""",
        "nullmx.test": f"""$TTL 300
{SOA}@ MX 0 .
""",
        "2.0.192.in-addr.arpa": f"""$TTL 300
{SOA}1 PTR mta1.example.test.
3 PTR mta3.example.test.
4 PTR mta4.example.test.
""",
        "8.b.d.0.1.0.0.2.ip6.arpa": f"""$TTL 300
{SOA}{dns.reversename.from_address(IPV6_IP).to_text()} PTR mta6.example.test.
""",
        "zen.test": f"""$TTL 300
{SOA}2.0.0.127 A 127.0.0.2
2.0.0.127 TXT "test entry"
{dnsbl_query_name(LISTED_IP, "zen.test")}. A 127.0.0.2
{dnsbl_query_name(LISTED_IP, "zen.test")}. A 127.0.0.11
{dnsbl_query_name(LISTED_IP, "zen.test")}. TXT "Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL123"
{dnsbl_query_name(IPV6_IP, "zen.test")}. A 127.0.0.3
""",
        "pub.test": f"""$TTL 300
{SOA}* A 127.255.255.254
""",
        "one.test": f"""$TTL 300
{SOA}2.0.0.127 A 127.0.0.2
* A 127.0.0.1
""",
        "weird.test": f"""$TTL 300
{SOA}2.0.0.127 A 127.0.0.2
* A 10.0.0.1
""",
        "nxprobe.test": f"""$TTL 300
{SOA}ns A 127.0.0.1
""",
        "servfail.test": f"$TTL 300\n{SOA}",
        "refused.test": f"$TTL 300\n{SOA}",
        "drop.test": f"$TTL 300\n{SOA}* A 127.0.0.2\n",
    }
    return zones


@pytest.fixture(scope="session")
def dns_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsEnv]:
    keys = Keys(
        good=pem(rsa.generate_private_key(65537, 2048)),
        other=pem(rsa.generate_private_key(65537, 2048)),
        weak=pem(rsa.generate_private_key(65537, 1024)),
        small=(DATA / "rsa512.pem").read_text(encoding="ascii"),
        ed=pem(ed25519.Ed25519PrivateKey.generate()),
    )
    zone_dir = tmp_path_factory.mktemp("zones")
    for origin, text in build_zones(keys).items():
        (zone_dir / f"{origin}.zone").write_text(text, encoding="ascii")
    server = DnsServer.from_zone_dir(
        zone_dir,
        behaviours={
            "servfail.test": Behaviour(servfail=True),
            "refused.test": Behaviour(refused=True),
            "drop.test": Behaviour(drop=True),
        },
    )
    port = server.start_in_thread()
    try:
        yield DnsEnv(server, port, keys)
    finally:
        server.stop_thread()
