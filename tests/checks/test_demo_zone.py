"""The offline demo: shipped zones match the generator, and show the planned defects."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tui.checks import run_checks
from tui.checks.block_checks import BlockTarget
from tui.checks.demo_zone import (
    build_demo_zones,
    default_demo_zones,
    demo_settings,
    demo_targets,
    plan_demo,
    shipped_demo_zones,
    start_demo_dns,
)
from tui.checks.dns_server import load_zone_text
from tui.checks.sender_checks import DkimSelector, SenderTarget


def test_shipped_zones_are_the_generated_defaults() -> None:
    assert shipped_demo_zones() == default_demo_zones()
    for origin, text in shipped_demo_zones().items():
        load_zone_text(origin, text)  # every file parses


@pytest.fixture(scope="module")
def demo_dns():  # type: ignore[no-untyped-def]
    host, port, stop = start_demo_dns()
    yield host, port
    stop()


async def test_fixed_demo_shows_every_defect(demo_dns) -> None:  # type: ignore[no-untyped-def]
    host, port = demo_dns
    blocks, senders = demo_targets()
    results = await run_checks(blocks, senders, demo_settings(host, port, timeout=3.0))
    status = {(r.check, r.subject): r.status for r in results}
    assert status[("ptr", "192.0.2.10")] == "pass"
    assert status[("ptr", "192.0.2.11")] == "fail"
    assert status[("fcrdns", "198.51.100.20")] == "fail"
    assert status[("dnsbl", "198.51.100.21 on zen.spamhaus.org")] == "fail"
    assert status[("dnsbl", "192.0.2.10 on zen.spamhaus.org")] == "pass"
    assert all(s == "pass" for (c, _), s in status.items() if c == "dnsbl-zone")
    assert status[("dkim-sign-verify", "lm2024._domainkey.example.com")] == "pass"
    assert status[("dkim-key-match", "lm2023._domainkey.example.net")] == "fail"
    assert status[("dmarc", "news.example.com")] == "warn"
    assert status[("dmarc", "example.com")] == "pass"
    assert status[("spf", "news.example.com for 203.0.113.30")] == "pass"
    assert status[("mx", "gmail.com")] == "pass"
    assert status[("blocking-mx", "yahoo.com MX 198.51.100.112")] == "warn"
    assert status[("blocking-mx", "gmail.com MX 192.0.2.102")] == "pass"


async def test_built_from_other_inputs() -> None:
    pem = (
        rsa.generate_private_key(65537, 2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    streams = {"s1": ["203.0.113.5", "203.0.113.6"], "s2": ["2001:db8::5"]}
    dkim = [("example.org", "sel", pem), ("example.org", "nokey", None)]
    plan = plan_demo(
        streams, ["example.org"], dkim, listed={"2001:db8::5": {"bl.spamcop.net": ["127.0.0.2"]}}
    )
    zones = build_demo_zones(
        streams, ["example.org"], dkim, {"mail.test": ["198.51.100.9"]}, plan=plan
    )
    assert "ip6.arpa" in zones and "mail.test" in zones
    host, port, stop = start_demo_dns(zones)
    try:
        results = await run_checks(
            [
                BlockTarget(
                    "mail.test", ["203.0.113.5", "203.0.113.6", "2001:db8::5"], ["198.51.100.9"]
                )
            ],
            [
                SenderTarget(
                    "example.org",
                    ["203.0.113.5"],
                    [DkimSelector("sel", pem), DkimSelector("nokey", source="listmanager")],
                )
            ],
            demo_settings(host, port, timeout=3.0),
        )
    finally:
        stop()
    status = {(r.check, r.subject): r.status for r in results}
    assert status[("ptr", "203.0.113.5")] == "pass"
    assert status[("ptr", "203.0.113.6")] == "fail"  # the second IP has no PTR
    assert status[("fcrdns", "2001:db8::5")] == "fail"  # the third's PTR does not resolve back
    assert status[("dnsbl", "2001:db8::5 on bl.spamcop.net")] == "fail"
    assert status[("dkim-sign-verify", "sel._domainkey.example.org")] == "pass"
    assert status[("dkim-record", "nokey._domainkey.example.org")] == "fail"
    assert status[("dmarc", "example.org")] == "warn"  # the only domain gets p=none
    assert status[("blocking-mx", "mail.test MX 198.51.100.9")] == "pass"


async def test_zones_from_the_demo_database_manifest() -> None:
    from tui.checks.demo_zone import zones_from_manifest

    good = rsa.generate_private_key(65537, 2048)
    other = rsa.generate_private_key(65537, 2048)
    good_pem = good.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    from tui.checks.dkim_keys import dns_record_for

    other_p = dns_record_for(other).rsplit("p=", 1)[1]
    good_p = dns_record_for(good).rsplit("p=", 1)[1]
    manifest = {
        "version": 1,
        "streams": {"default": ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"]},
        "stream_sender_domains": {"default": "example.com"},
        "sender_domains": ["example.com", "news.example.net"],
        "spf": {
            "example.com": "v=spf1 ip4:192.0.2.0/24 -all",
            "news.example.net": "v=spf1 ip4:192.0.2.10 -all",
        },
        "dmarc": {
            "example.com": "v=DMARC1; p=reject",
            "news.example.net": "v=DMARC1; p=none; rua=mailto:d@news.example.net",
        },
        "dkim": [
            {
                "domain": "example.com",
                "selector": "lm1",
                "private_key_pem": good_pem,
                "bits": 2048,
                "dns_key": "match",
                "dns_public_key": good_p,
            },
            {
                "domain": "news.example.net",
                "selector": "news2019",
                "private_key_pem": good_pem,
                "bits": 2048,
                "dns_key": "mismatch",
                "dns_public_key": other_p,
            },
        ],
        "receiving_domains": {
            "gmail.com": {
                "mx": [
                    [5, "gmail-smtp-in.l.google.com", "198.18.0.5"],
                    [10, "alt1.gmail-smtp-in.l.google.com", "198.18.0.6"],
                ],
                "provider": "google",
            },
            "googlemail.com": {
                "mx": [[5, "gmail-smtp-in.l.google.com", "198.18.0.5"]],
                "provider": "google",
            },
        },
        "ptr": {
            "192.0.2.10": "mta1.example.com",
            "192.0.2.11": None,
            "192.0.2.12": "mismatch",
            "192.0.2.13": "mta4.example.com",
        },
        "ptr_mismatch": {
            "192.0.2.12": {"hostname": "mta3.example.com", "resolves_to": "192.0.2.99"}
        },
        "helo": {"192.0.2.10": "mta1.example.com", "192.0.2.13": "out.example.com"},
        "listed_ips": ["192.0.2.13"],
        "listings": {"192.0.2.13": {"zen.spamhaus.org": "127.0.0.3"}},
        "faults": [],
    }
    zones = zones_from_manifest(manifest)
    assert "google.com" in zones  # MX hosts outside the receiving domain get their own zone
    host, port, stop = start_demo_dns(zones)
    try:
        results = await run_checks(
            [
                BlockTarget(
                    "gmail.com",
                    manifest["streams"]["default"],
                    ["198.18.0.6", "198.18.0.7"],
                    manifest["helo"],
                )
            ],
            [
                SenderTarget(
                    "example.com", ["192.0.2.10"], [DkimSelector("lm1", good_pem, "listmanager")]
                ),
                SenderTarget(
                    "news.example.net",
                    ["192.0.2.11"],
                    [DkimSelector("news2019", good_pem, "listmanager")],
                ),
            ],
            demo_settings(host, port, timeout=3.0),
        )
    finally:
        stop()
    status = {(r.check, r.subject): r.status for r in results}
    assert status[("mx", "gmail.com")] == "pass"
    assert status[("blocking-mx", "gmail.com MX 198.18.0.6")] == "pass"
    assert status[("blocking-mx", "gmail.com MX 198.18.0.7")] == "warn"
    assert status[("ptr", "192.0.2.10")] == "pass" and status[("helo", "192.0.2.10")] == "pass"
    assert status[("ptr", "192.0.2.11")] == "fail"
    assert status[("fcrdns", "192.0.2.12")] == "fail"
    assert status[("helo", "192.0.2.13")] == "warn"  # resolves to the IP, not the PTR name
    assert status[("dnsbl", "192.0.2.13 on zen.spamhaus.org")] == "fail"
    assert status[("dnsbl", "192.0.2.10 on zen.spamhaus.org")] == "pass"
    assert status[("dkim-sign-verify", "lm1._domainkey.example.com")] == "pass"
    assert status[("dkim-key-match", "news2019._domainkey.news.example.net")] == "fail"
    assert status[("dmarc", "news.example.net")] == "warn"
    assert status[("spf", "news.example.net for 192.0.2.11")] == "fail"
