"""Block checks: MX, stale blocking MX, PTR / FCrDNS / HELO, and blocklists, end to end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tui.checks.block_checks import (
    BlockTarget,
    dnsbl_query_name,
    interpret_dnsbl,
    run_block_checks,
)
from tui.checks.results import CheckResult

if TYPE_CHECKING:
    from tests.checks.conftest import DnsEnv


def by(results: list[CheckResult], check: str, subject: str) -> CheckResult:
    matches = [r for r in results if r.check == check and r.subject == subject]
    assert len(matches) == 1, (check, subject, [(r.check, r.subject) for r in results])
    return matches[0]


async def test_mx_and_blocking_mx(dns_env: DnsEnv) -> None:
    target = BlockTarget("recv.test", [], ["198.51.100.11", "198.51.100.99", "2001:db8:0::11"])
    results = await run_block_checks([target], dns_env.settings())
    mx = by(results, "mx", "recv.test")
    assert mx.status == "pass"
    hosts = mx.details["hosts"]
    assert [h["host"] for h in hosts] == ["mx1.recv.test", "mx2.recv.test"]  # by preference
    assert hosts[1]["addresses"] == ["198.51.100.11", "2001:db8::11"]
    current = by(results, "blocking-mx", "recv.test MX 198.51.100.11")
    assert current.status == "pass" and "mx2.recv.test" in current.reason
    stale = by(results, "blocking-mx", "recv.test MX 198.51.100.99")
    assert stale.status == "warn" and "stale block" in stale.reason
    assert by(results, "blocking-mx", "recv.test MX 2001:db8::11").status == "pass"


async def test_mx_special_cases(dns_env: DnsEnv) -> None:
    targets = [
        BlockTarget("nomx.test"),
        BlockTarget("nullmx.test"),
        BlockTarget("nonexistent.recv.test", blocking_mx_ips=["198.51.100.10"]),
        BlockTarget("refused.test", blocking_mx_ips=["198.51.100.10"]),
    ]
    results = await run_block_checks(targets, dns_env.settings())
    assert by(results, "mx", "nomx.test").status == "warn"
    assert "implicit MX" in by(results, "mx", "nomx.test").reason
    assert by(results, "mx", "nullmx.test").status == "fail"
    assert by(results, "mx", "nonexistent.recv.test").status == "fail"
    refused = by(results, "mx", "refused.test")
    assert refused.status == "not_tested" and "REFUSED" in refused.reason
    assert by(results, "blocking-mx", "refused.test MX 198.51.100.10").status == "not_tested"


async def test_rdns(dns_env: DnsEnv) -> None:
    env = dns_env
    target = BlockTarget(
        None,
        [env.GOOD_IP, env.NO_PTR_IP, env.PTR_MISMATCH_IP, env.IPV6_IP],
        helo={env.GOOD_IP: "mta1.example.test", env.PTR_MISMATCH_IP: "mta3.example.test"},
    )
    results = await run_block_checks([target], env.settings(dnsbl_zones=[]))
    assert by(results, "ptr", env.GOOD_IP).status == "pass"
    assert by(results, "fcrdns", env.GOOD_IP).status == "pass"
    assert by(results, "helo", env.GOOD_IP).status == "pass"

    missing = by(results, "ptr", env.NO_PTR_IP)
    assert missing.status == "fail" and "no PTR" in missing.reason
    assert by(results, "fcrdns", env.NO_PTR_IP).status == "not_tested"
    assert by(results, "helo", env.NO_PTR_IP).status == "not_tested"  # HELO unknown

    assert by(results, "ptr", env.PTR_MISMATCH_IP).status == "pass"
    fcrdns = by(results, "fcrdns", env.PTR_MISMATCH_IP)
    assert fcrdns.status == "fail" and "192.0.2.99" in fcrdns.reason
    helo = by(results, "helo", env.PTR_MISMATCH_IP)
    assert helo.status == "fail" and "192.0.2.99" in helo.reason

    assert by(results, "fcrdns", env.IPV6_IP).status == "pass"


async def test_helo_variants(dns_env: DnsEnv) -> None:
    env = dns_env
    cases = {
        "192.0.2.1": "alias.example.test",  # resolves to the IP but is not the PTR name
    }
    results = await run_block_checks(
        [BlockTarget(None, list(cases), helo=cases)], env.settings(dnsbl_zones=[])
    )
    assert by(results, "helo", "192.0.2.1").status == "warn"
    results = await run_block_checks(
        [BlockTarget(None, ["192.0.2.1"], helo="nothing.example.test")],
        env.settings(dnsbl_zones=[]),
    )
    assert by(results, "helo", "192.0.2.1").status == "fail"
    results = await run_block_checks(
        [BlockTarget(None, ["192.0.2.1"], helo="localhost")], env.settings(dnsbl_zones=[])
    )
    assert "fully-qualified" in by(results, "helo", "192.0.2.1").reason


async def test_dnsbl_listed_with_txt(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_block_checks(
        [BlockTarget(None, [env.GOOD_IP, env.LISTED_IP, env.IPV6_IP])], env.settings()
    )
    assert by(results, "dnsbl-zone", "zen.test").status == "pass"
    assert by(results, "dnsbl", f"{env.GOOD_IP} on zen.test").status == "pass"
    listed = by(results, "dnsbl", f"{env.LISTED_IP} on zen.test")
    assert listed.status == "fail"
    assert "SBL" in listed.reason and "PBL" in listed.reason
    assert listed.details["delist_url"] == "https://check.spamhaus.org/sbl/query/SBL123"
    assert any("Listed by SBL" in line for line in listed.evidence)
    v6 = by(results, "dnsbl", f"{env.IPV6_IP} on zen.test")
    assert v6.status == "fail" and "CSS" in v6.reason


async def test_dnsbl_unusable_answers_are_not_tested(dns_env: DnsEnv) -> None:
    env = dns_env
    zones = ["pub.test", "one.test", "weird.test", "nxprobe.test", "servfail.test", "refused.test"]
    results = await run_block_checks(
        [BlockTarget(None, [env.LISTED_IP])], env.settings(dnsbl_zones=zones)
    )
    expected = {
        "pub.test": "public or open resolver",
        "one.test": "127.0.0.1",
        "weird.test": "not a DNSBL answer",
        "nxprobe.test": "test entry",
        "servfail.test": "SERVFAIL",
        "refused.test": "REFUSED",
    }
    for zone, text in expected.items():
        result = by(results, "dnsbl", f"{env.LISTED_IP} on {zone}")
        assert result.status == "not_tested", zone
        assert text in result.reason, (zone, result.reason)
    assert by(results, "dnsbl-zone", "one.test").status == "pass"
    assert by(results, "dnsbl-zone", "pub.test").status == "not_tested"


async def test_dnsbl_timeout_finishes_within_the_timeout(dns_env: DnsEnv) -> None:
    env = dns_env
    settings = env.settings(dnsbl_zones=["drop.test"], timeout=1.0, retries=1)
    started = time.monotonic()
    results = await run_block_checks([BlockTarget(None, [env.GOOD_IP, env.LISTED_IP])], settings)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.5
    zone = by(results, "dnsbl-zone", "drop.test")
    assert zone.status == "not_tested" and "no answer" in zone.reason
    for ip in (env.GOOD_IP, env.LISTED_IP):
        assert by(results, "dnsbl", f"{ip} on drop.test").status == "not_tested"


async def test_dnsbl_resolver_is_separate(dns_env: DnsEnv) -> None:
    env = dns_env
    # Blocklist resolver is a dead port: the records resolver still answers PTRs.
    settings = env.settings(dnsbl_nameservers=[("127.0.0.1", 9)], timeout=0.5, retries=0)
    results = await run_block_checks([BlockTarget(None, [env.GOOD_IP])], settings)
    assert by(results, "ptr", env.GOOD_IP).status == "pass"
    assert by(results, "dnsbl", f"{env.GOOD_IP} on zen.test").status == "not_tested"


def test_dnsbl_query_names() -> None:
    assert dnsbl_query_name("192.0.2.10", "zen.spamhaus.org") == "10.2.0.192.zen.spamhaus.org"
    name = dnsbl_query_name("2001:db8::1", "zen.spamhaus.org")
    assert name.startswith("1.0.0.0.0.0.0.0.") and name.endswith(
        ".8.b.d.0.1.0.0.2.zen.spamhaus.org"
    )
    assert len(name.split(".")) == 32 + 3
    with pytest.raises(ValueError):
        dnsbl_query_name("nope", "zen.test")


@pytest.mark.parametrize(
    ("zone", "answers", "status", "text"),
    [
        ("zen.spamhaus.org", [], "pass", "not listed"),
        ("zen.spamhaus.org", ["127.0.0.2"], "fail", "SBL"),
        ("zen.spamhaus.org", ["127.0.0.4"], "fail", "XBL"),
        ("zen.spamhaus.org", ["127.0.0.9"], "fail", "DROP"),
        ("zen.spamhaus.org", ["127.0.0.10"], "fail", "PBL"),
        ("zen.spamhaus.org", ["127.255.255.252"], "not_tested", "127.255.255.252"),
        ("zen.spamhaus.org", ["127.255.255.254"], "not_tested", "public"),
        ("zen.spamhaus.org", ["127.255.255.255"], "not_tested", "too many"),
        ("dbl.spamhaus.org", ["127.0.1.255"], "not_tested", "127.0.1.255"),
        ("bl.spamcop.net", ["127.0.0.1"], "not_tested", "127.0.0.1"),
        ("bl.spamcop.net", ["192.0.2.1"], "not_tested", "not a DNSBL answer"),
        ("bl.spamcop.net", ["127.0.0.2"], "fail", "127.0.0.2 listed"),
        ("dnsbl-2.uceprotect.net", ["127.0.0.2"], "warn", "informational"),
        ("list.dnswl.org", ["127.0.10.0"], "pass", "allowlisted"),
    ],
)
def test_interpret_dnsbl(zone: str, answers: list[str], status: str, text: str) -> None:
    answer = interpret_dnsbl(zone, answers)
    assert answer.status == status
    assert text in answer.reason
