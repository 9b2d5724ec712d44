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
