"""Hypothesis against everything that reads DNS or config text in the check engine.

DNS text is hostile: TXT strings may hold any bytes, tags may repeat, keys may be junk. The
parsers must never raise anything but their documented error, must return the documented
shape, and every verdict must be pass/warn/fail/not_tested with a one-line reason free of
control characters. The last test serves generated hostile records from the loopback server
and runs the real checks on them.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.zone
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.checks.block_checks import ERROR_ANSWERS, BlockTarget, interpret_dnsbl
from tui.checks.dkim_keys import KeyRecord, looks_like_key_record, parse_key_record
from tui.checks.dns_server import DnsServer, load_zone_text
from tui.checks.resolver import Lookup, record_text
from tui.checks.results import STATUSES, CheckResult
from tui.checks.runner import run_checks
from tui.checks.sender_checks import (
    DkimSelector,
    SenderTarget,
    _judge_all,
    _judge_record,
    dmarc_verdict,
    parse_dmarc,
)
from tui.checks.settings import CheckSettings, parse_hostport
from tui.checks.spf_walk import COUNTED, _split_term, spf_records
from tui.errors import ConfigError
from tui.textsafe import printable

FUZZ = settings(max_examples=200, deadline=None)


def assert_safe_line(text: str) -> None:
    """One line, and nothing a terminal would act on (printable() leaves it unchanged)."""
    assert isinstance(text, str)
    assert "\n" not in text and "\r" not in text, text
    assert printable(text, max_chars=None) == text, text


# -- strategies --------------------------------------------------------------------------------

NASTY = [
    "\x00", "\x1b[31m", "\x1b]8;;http://x\x07", "\n", "\r\n", "\t", "\x7f", "\x85", "\u202e",
    "\u2028", "\ufeff", "\udcff", "\ud800", ";", "=", ":", "/", "%", "\\", '"', " ", "²", "٣",
    "é", "☃",
]  # fmt: skip
"""Characters that break naive parsing or a terminal."""

HOSTILE_TEXT = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("utf-8", errors="replace")),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=4), max_size=12).map("".join),
)


def _der_keys() -> list[bytes]:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    keys = [
        rsa.generate_private_key(65537, 1024).public_key().public_bytes(der, spki),
        rsa.generate_private_key(65537, 1024)
        .public_key()
        .public_bytes(der, serialization.PublicFormat.PKCS1),
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(der, spki),
        ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(der, spki),
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    ]
    return keys


DER_KEYS = _der_keys()


@st.composite
def mutated_key(draw: st.DrawFn) -> str:
    """Base64 of a real public key with a few bytes changed, cut or grown."""
    data = bytearray(draw(st.sampled_from(DER_KEYS)))
    for _ in range(draw(st.integers(0, 3))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    data += draw(st.binary(max_size=4))
    text = base64.b64encode(bytes(data)).decode("ascii")
    if draw(st.booleans()):  # folding whitespace inside p=, as long records have
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from([" ", "\t", "\r\n ", "  "])) + text[cut:]
    return text


B64_JUNK = st.one_of(
    mutated_key(),
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode("ascii")),
    st.text(alphabet="ABCDEFabcdef0123456789+/=\x00 \t-_!", max_size=120),
)

TAG_NAMES = st.one_of(
    st.sampled_from(["v", "k", "p", "t", "s", "h", "n", "g", "x", "V", "P", " p", "p "]),
    st.text(max_size=4),
)
DKIM_VALUES = st.one_of(
    st.sampled_from(
        ["DKIM1", "DKIM2", "rsa", "RSA", "ed25519", "dsa", "", "y", "s", "y:s", "email", "*",
         "email:*", "sha256", "sha1", "sha1:sha256"]
    ),
    B64_JUNK,
    HOSTILE_TEXT,
    st.tuples(st.sampled_from(["DKIM1", "rsa", "y", "email", "sha256", ""]), st.sampled_from(NASTY))
    .map("".join),
)  # fmt: skip


@st.composite
def tag_soup(draw: st.DrawFn, values: st.SearchStrategy[str] = DKIM_VALUES) -> str:
    tags = draw(
        st.lists(
            st.tuples(TAG_NAMES, st.sampled_from(["=", " = ", "= ", "", "=="]), values),
            max_size=8,
        )
    )
    text = ";".join(f"{k}{eq}{v}" for k, eq, v in tags)
    return text + draw(st.sampled_from(["", ";", "; ", ";;"]))


WELL_FORMED_TAGS = st.dictionaries(
    st.sampled_from(["v", "k", "p", "t", "s", "h", "n", "g"]),
    DKIM_VALUES.filter(lambda v: ";" not in v),
).map(lambda tags: "; ".join(f"{k}={v}" for k, v in tags.items()))
"""A tag list dkimpy accepts, with hostile values."""

KEY_RECORDS = st.one_of(
    HOSTILE_TEXT,
    tag_soup(),
    WELL_FORMED_TAGS,
    st.builds(lambda k, p: f"v=DKIM1; k={k}; p={p}", st.sampled_from(["rsa", "ed25519"]), B64_JUNK),
    st.builds(lambda p: f"v=DKIM1; p={p}", mutated_key()),
    st.just("v=DKIM1; p=" + "A" * 20000),  # huge value
)


# -- DKIM key records ------------------------------------------------------------------------


@FUZZ
@given(KEY_RECORDS, st.sampled_from(["user", "listmanager"]))
def test_parse_key_record_never_raises_and_judges_in_one_line(text: str, source: str) -> None:
    record = parse_key_record(text)
    assert isinstance(record, KeyRecord) and record.raw == text
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in record.tags.items())
    assert isinstance(record.key_type, str) and isinstance(record.summary(), str)
    assert record.error is None or isinstance(record.error, str)
    if record.revoked:
        assert record.public_key is None
    if record.error is None and not record.revoked:
        assert record.public_key is not None and isinstance(record.bits, int) and record.bits > 0
    if record.public_key is not None:
        assert record.error is None
    status, reason = _judge_record(record, DkimSelector("sel", source=source))  # type: ignore[arg-type]
    assert status in STATUSES
    result = CheckResult("dkim-record", "sel._domainkey.example.test", status, reason)
    assert_safe_line(result.reason)
    assert isinstance(looks_like_key_record(text), bool)


def test_parse_key_record_odd_key_algorithms() -> None:
    """Unknown algorithm and curve OIDs made cryptography raise UnsupportedAlgorithm out of
    the parser, crashing the DKIM check. mutated_key() finds it, but needs more examples
    than the 200 run here to hit an OID byte, so the two cases are pinned."""
    spki = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for oid, replacement in (
        (bytes.fromhex("2a8648ce3d0201"), 0x09),
        (bytes.fromhex("2a8648ce3d030107"), 0x55),
    ):
        data = bytearray(spki)
        at = data.find(oid) + len(oid) - 1
        data[at] = replacement
        record = parse_key_record("v=DKIM1; p=" + base64.b64encode(bytes(data)).decode())
        assert record.error and "not an RSA public key" in record.error
        assert record.public_key is None


# -- SPF --------------------------------------------------------------------------------------

DOMAIN = st.from_regex(r"[a-z0-9_]{1,12}(\.[a-z0-9-]{1,12}){0,3}\.[a-z]{2,6}", fullmatch=True)
CIDR = st.sampled_from(["", "/24", "/32", "//64", "/24//64", "/0", "//128"])
QUALIFIER = st.sampled_from(["", "+", "-", "~", "?"])


@st.composite
def spf_term(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """(term, mechanism, target) from the RFC 7208 grammar."""
    qualifier = draw(QUALIFIER)
    kind = draw(st.sampled_from(["a", "mx", "include", "exists", "ip4", "ip6", "all", "ptr",
                                 "redirect", "exp"]))  # fmt: skip
    domain = draw(DOMAIN)
    case = draw(st.sampled_from([str.lower, str.upper]))
    if kind in ("a", "mx"):
        with_domain = draw(st.booleans())
        cidr = draw(CIDR)
        term = f"{qualifier}{case(kind)}{':' + domain if with_domain else ''}{cidr}"
        return term, kind, domain if with_domain else None
    if kind in ("include", "exists"):
        return f"{qualifier}{case(kind)}:{domain}", kind, domain
    if kind == "ip4":
        net = draw(st.ip_addresses(v=4))
        return f"{qualifier}ip4:{net}{draw(CIDR.filter(lambda c: '//' not in c))}", "ip4", None
    if kind == "ip6":
        net = draw(st.ip_addresses(v=6))
        return f"{qualifier}ip6:{net}", "ip6", None
    if kind == "ptr":
        with_domain = draw(st.booleans())
        return (
            f"{qualifier}ptr{':' + domain if with_domain else ''}",
            "ptr",
            domain if with_domain else None,
        )
    if kind in ("redirect", "exp"):
        return f"{case(kind)}={domain}", kind, domain
    return f"{qualifier}{case('all')}", "all", None


@FUZZ
@given(spf_term())
def test_split_term_reads_the_rfc_7208_grammar(term_spec: tuple[str, str, str | None]) -> None:
    term, mechanism, target = term_spec
    name, value = _split_term(term)
    assert name == mechanism
    if mechanism in COUNTED or mechanism == "exp":
        # a:host/24 and mx:host//64 name the host, not "host/24" (the CIDR is not a name).
        assert value == target, term
    if mechanism in ("ip4", "ip6"):
        assert value is not None and value == term.split(":", 1)[1]


@FUZZ
@given(HOSTILE_TEXT)
def test_split_term_never_raises(term: str) -> None:
    name, value = _split_term(term)
    assert isinstance(name, str) and name == name.lower()
    assert value is None or isinstance(value, str)


@FUZZ
@given(
    st.lists(
        st.one_of(
            HOSTILE_TEXT,
            st.lists(spf_term().map(lambda t: t[0]) | HOSTILE_TEXT, max_size=8).map(
                lambda terms: "v=spf1 " + " ".join(terms)
            ),
            st.sampled_from(["v=spf1", "V=SPF1 -all", "v=spf10 -all", "v=spf1\t-all", " v=spf1"]),
        ),
        max_size=4,
    )
)
def test_spf_records_and_the_all_verdict(texts: list[str]) -> None:
    records = spf_records(tuple(texts))
    assert all(r in texts for r in records)
    for record in records:
        assert record.lower() == "v=spf1" or record.lower().startswith("v=spf1 ")
        status, reason = _judge_all(record)
        assert status in STATUSES
        assert_safe_line(reason)
    for text in texts:
        if text not in records:
            assert not text.lower().startswith("v=spf1 ") and text.lower() != "v=spf1"


# -- DMARC ------------------------------------------------------------------------------------

DMARC_VALUES = st.one_of(
    st.sampled_from(
        ["DMARC1", "none", "quarantine", "reject", "REJECT", "", "100", "50", "0", "²", "٣",
         "-5", "1e2", "mailto:d@example.test", "s", "r"]
    ),
    HOSTILE_TEXT,
)  # fmt: skip
DMARC_TAGS = st.sampled_from(["v", "p", "sp", "pct", "rua", "ruf", "adkim", "aspf", "fo", "ri"])


@FUZZ
@given(
    st.one_of(
        HOSTILE_TEXT,
        st.lists(st.tuples(DMARC_TAGS | TAG_NAMES, DMARC_VALUES), max_size=10).map(
            lambda tags: "; ".join(f"{k}={v}" for k, v in tags)
        ),
    ),
    st.one_of(st.none(), st.just("example.test")),
)
def test_dmarc_tags_and_verdict(text: str, inherited_from: str | None) -> None:
    tags = parse_dmarc(text)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    for key, value in tags.items():
        assert key == key.strip().lower() and ";" not in key and ";" not in value
        assert value == value.strip()
    status, reason, policy = dmarc_verdict(tags, inherited_from)
    assert status in STATUSES
    assert_safe_line(reason)
    if status in ("pass", "warn"):
        assert policy in ("none", "quarantine", "reject")


@FUZZ
@given(st.dictionaries(DMARC_TAGS, DMARC_VALUES.map(str.strip).filter(lambda v: ";" not in v)))
def test_dmarc_tags_round_trip(tags: dict[str, str]) -> None:
    text = "; ".join(f"{k}={v}" for k, v in tags.items())
    assert parse_dmarc(text) == tags


def test_dmarc_pct_with_a_unicode_digit() -> None:
    """pct=² passed str.isdigit() and then made int() raise, crashing check_dmarc."""
    assert dmarc_verdict({"v": "DMARC1", "p": "reject", "pct": "²"})[0] == "pass"
    assert dmarc_verdict({"v": "DMARC1", "p": "reject", "pct": "50", "rua": "x"})[:2] == (
        "warn",
        "p=reject applied to only 50% of failing mail",
    )


# -- DNSBL answers ----------------------------------------------------------------------------

DNSBL_ZONES = st.one_of(
    st.sampled_from(
        ["zen.spamhaus.org", "bl.spamcop.net", "dnsbl-2.uceprotect.net", "list.dnswl.org"]
    ),
    HOSTILE_TEXT,
)
DNSBL_ADDRESSES = st.one_of(
    st.sampled_from([*ERROR_ANSWERS, "127.0.0.1", "127.0.0.2", "127.0.0.11", "127.0.1.2"]),
    st.integers(0, 255).map(lambda n: f"127.0.0.{n}"),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.sampled_from(["::1%\x1b[31m", "fe80::1%eth0", "::ffff:127.0.0.2", "127.0.0.2 ", "0x7f.1"]),
    HOSTILE_TEXT,
)


def _usable_listing(address: str) -> bool:
    try:
        value = ipaddress.ip_address(address)
    except ValueError:
        return False
    return (
        value.version == 4
        and value in ipaddress.ip_network("127.0.0.0/8")
        and address not in ERROR_ANSWERS
        and address != "127.0.0.1"
    )


@FUZZ
@given(DNSBL_ZONES, st.lists(DNSBL_ADDRESSES, max_size=6))
def test_interpret_dnsbl_never_lists_an_unusable_answer(zone: str, addresses: list[str]) -> None:
    answer = interpret_dnsbl(zone, addresses)
    assert answer.status in STATUSES
    assert_safe_line(answer.reason)
    assert all(isinstance(m, str) for m in answer.meanings)
    if not addresses:
        assert (answer.status, answer.reason) == ("pass", "not listed")
    elif not all(_usable_listing(a) for a in addresses):
        assert answer.status == "not_tested", (addresses, answer)
    else:
        assert answer.status != "not_tested"
        assert len(answer.meanings) == len(addresses)


# -- HOST[:PORT] ------------------------------------------------------------------------------

HOSTS = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["localhost", "dns.google", "", "1.2.3", "::", "::1", "fe80::1"]),
    HOSTILE_TEXT,
)
PORTS = st.one_of(
    st.integers(-5, 70000).map(str),
    st.sampled_from(["", "53", "053", "²", "٣", "５３", " 53", "53 ", "0x35", "+53"]),
    HOSTILE_TEXT,
)


@st.composite
def hostport(draw: st.DrawFn) -> str:
    host = draw(HOSTS)
    if draw(st.booleans()):
        host += "%" + draw(
            st.sampled_from(["eth0", "1", "", "\x1b[31m", "a b", "\n"]) | HOSTILE_TEXT
        )
    shape = draw(st.sampled_from(["bare", "colon", "bracket", "bracket-port", "junk"]))
    port = draw(PORTS)
    if shape == "bare":
        return host
    if shape == "colon":
        return f"{host}:{port}"
    if shape == "bracket":
        return f"[{host}]"
    if shape == "bracket-port":
        return f"[{host}]:{port}"
    return draw(HOSTILE_TEXT)


@FUZZ
@given(hostport())
def test_parse_hostport_returns_an_address_or_a_config_error(text: str) -> None:
    try:
        host, port = parse_hostport(text, key="checks.nameservers")
    except ConfigError as err:
        message = str(err)
        assert message.startswith("checks.nameservers: ")
        assert_safe_line(message)
        return
    assert str(ipaddress.ip_address(host)) == host
    assert_safe_line(host)
    assert isinstance(port, int) and 1 <= port <= 65535


@pytest.mark.parametrize(
    "text", ["127.0.0.1:²", "127.0.0.1:٣", "[::1]:５３", "::1%\x1b[31m", "\u034f", "a\u00adb"]
)
def test_parse_hostport_odd_digits_and_zone_indexes(text: str) -> None:
    """Unicode digits in the port (ValueError from int(), or port 3 for "٣") and control
    characters in an IPv6 zone index (accepted as part of the address) are config errors."""
    with pytest.raises(ConfigError) as err:
        parse_hostport(text)
    assert_safe_line(str(err.value))  # found by fuzzing: U+034F once reached the message


# -- record to text ---------------------------------------------------------------------------

TXT_STRINGS = st.lists(st.binary(max_size=255), min_size=1, max_size=6)
LABELS = st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=4)


@FUZZ
@given(TXT_STRINGS, st.sampled_from(["TXT", "SPF"]))
def test_record_text_of_hostile_txt(strings: list[bytes], rdtype: str) -> None:
    rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), strings)
    text = record_text(rdata)
    assert text == b"".join(strings).decode("utf-8", errors="replace")  # joined, no spaces
    wire = rdata.to_wire()
    again = dns.rdata.from_wire(dns.rdataclass.IN, rdata.rdtype, wire, 0, len(wire))
    assert record_text(again) == text
    lookup = Lookup("x.example.test", rdtype, "ok", "1 record", (text,), (rdata,))
    for line in lookup.evidence():
        assert_safe_line(printable(line))
    assert_safe_line(printable(text))


@FUZZ
@given(LABELS, st.integers(0, 65535))
def test_record_text_of_hostile_names_is_escaped(labels: list[bytes], preference: int) -> None:
    name = dns.name.Name([*labels, b""])
    mx = dns.rdtypes.ANY.MX.MX(dns.rdataclass.IN, dns.rdatatype.MX, preference, name)
    ptr = dns.rdtypes.ANY.PTR.PTR(dns.rdataclass.IN, dns.rdatatype.PTR, name)
    for rdata in (mx, ptr):
        assert_safe_line(record_text(rdata))  # dnspython escapes as \\DDD


# -- hostile records served by the real server -------------------------------------------------

SOA = "@ SOA ns.h.test. hostmaster.h.test. 1 3600 600 86400 60\n@ NS ns.h.test.\n"
SENDING_IP = "192.0.2.77"


@dataclass
class HostileDns:
    server: DnsServer
    port: int

    def settings(self) -> CheckSettings:
        return CheckSettings(
            nameservers=[("127.0.0.1", self.port)],
            dnsbl_nameservers=[("127.0.0.1", self.port)],
            dnsbl_zones=["zen.hbl.test"],
            timeout=2.0,
            retries=0,
            concurrency=16,
            deadline=20.0,
        )


@pytest.fixture(scope="module")
def hostile_dns() -> Iterator[HostileDns]:
    server = DnsServer([load_zone_text("hostile.test", f"$TTL 60\n{SOA}")])
    port = server.start_in_thread()
    try:
        yield HostileDns(server, port)
    finally:
        server.stop_thread()


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


def _txt(data: bytes) -> dns.rdtypes.ANY.TXT.TXT:
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, _chunks(data))


def _hostile_zones(
    spf: bytes, dmarc: bytes, key: bytes, listing: list[str], reason: bytes
) -> list[dns.zone.Zone]:
    sender = load_zone_text("hostile.test", f"$TTL 60\n{SOA}")
    blocklist = load_zone_text("zen.hbl.test", f"$TTL 60\n{SOA}2.0.0.127 A 127.0.0.2\n")
    listed = dns.name.from_text("77.2.0.192.zen.hbl.test.")
    with sender.writer() as txn:
        txn.add(dns.name.from_text("hostile.test."), 60, _txt(spf))
        txn.add(dns.name.from_text("_dmarc.hostile.test."), 60, _txt(dmarc))
        txn.add(dns.name.from_text("sel._domainkey.hostile.test."), 60, _txt(key))
    with blocklist.writer() as txn:
        for address in listing:
            txn.add(listed, 60, dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, address))
        txn.add(listed, 60, _txt(reason))
    return [sender, blocklist]


NASTY_BYTES = st.one_of(
    st.binary(max_size=40),
    st.lists(st.sampled_from(NASTY), max_size=6).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)
SPF_TERMS = st.one_of(
    spf_term().map(lambda t: t[0].encode()),
    st.sampled_from([b"include:nx.hostile.test", b"a:a..b", b"exists:%{i}.hostile.test",
                     b"redirect=hostile.test", b"include:hostile.test", b"mx:" + b"x" * 70]),
    st.tuples(st.sampled_from([b"include:", b"a:", b"mx:", b"exists:", b"redirect="]), NASTY_BYTES)
    .map(b"".join),
    NASTY_BYTES,
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spf=st.lists(SPF_TERMS, max_size=8).map(lambda terms: b"v=spf1 " + b" ".join(terms)),
    dmarc=st.lists(
        st.tuples(
            DMARC_TAGS.map(str.encode) | NASTY_BYTES,
            DMARC_VALUES.map(lambda v: v.encode("utf-8", "surrogatepass")) | NASTY_BYTES,
        ),
        max_size=6,
    ).map(lambda tags: b"v=DMARC1; " + b"; ".join(k + b"=" + v for k, v in tags)),
    key=st.one_of(WELL_FORMED_TAGS, tag_soup())
    .map(lambda t: t.encode("utf-8", "surrogatepass"))
    .map(lambda k: k if b"p=" in k else k + b"; p=" + base64.b64encode(DER_KEYS[0])),
    listing=st.lists(
        st.sampled_from([*ERROR_ANSWERS, "127.0.0.1", "127.0.0.2", "127.0.0.10", "10.1.2.3"]),
        max_size=3,
        unique=True,
    ),
    reason=st.builds(
        lambda a, b: a + b"https://delist.example/\x1b[31m?" + b, NASTY_BYTES, NASTY_BYTES
    ),
)
def test_checks_on_hostile_records_give_one_line_verdicts(
    hostile_dns: HostileDns, spf: bytes, dmarc: bytes, key: bytes, listing: list[str], reason: bytes
) -> None:
    for zone in _hostile_zones(spf, dmarc, key, listing, reason):
        hostile_dns.server.add_zone(zone)
    results = asyncio.run(
        run_checks(
            [BlockTarget(None, [SENDING_IP])],
            [
                SenderTarget(
                    "hostile.test", [SENDING_IP], [DkimSelector("sel", source="listmanager")]
                )
            ],
            hostile_dns.settings(),
        )
    )
    checks = {r.check for r in results}
    assert {"spf-record", "spf-lookups", "spf", "dmarc", "dkim-record", "dnsbl"} <= checks
    for result in results:
        assert result.check != "internal", result  # no check crashed
        assert result.status in STATUSES
        assert_safe_line(result.reason)
        json.dumps(result.to_json())
    dnsbl = next(r for r in results if r.check == "dnsbl")
    if listing and not all(_usable_listing(a) for a in listing):
        assert dnsbl.status == "not_tested", dnsbl
    assert re.search(r"\x1b", json.dumps([r.reason for r in results], ensure_ascii=False)) is None
