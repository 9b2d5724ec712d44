"""Sender-domain checks: SPF (pyspf through our resolver + our lookup walk), DMARC, DKIM."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import dkim
import pytest
import spf

from tui.checks.dkim_keys import load_private_key, parse_key_record, signing_pem
from tui.checks.resolver import Budget, Resolver
from tui.checks.results import CheckResult
from tui.checks.sender_checks import (
    DkimSelector,
    SenderTarget,
    organizational_domain,
    parse_dmarc,
    run_sender_checks,
)
from tui.checks.spf_walk import install_spf_hook, spf_verdict

if TYPE_CHECKING:
    from tests.checks.conftest import DnsEnv


def by(results: list[CheckResult], check: str, subject: str) -> CheckResult:
    matches = [r for r in results if r.check == check and r.subject == subject]
    assert len(matches) == 1, (check, subject, [(r.check, r.subject) for r in results])
    return matches[0]


# -- SPF ----------------------------------------------------------------------------------------


async def test_spf_pass_and_fail(dns_env: DnsEnv) -> None:
    env = dns_env
    target = SenderTarget("example.test", [env.GOOD_IP, env.NO_PTR_IP, env.IPV6_IP])
    results = await run_sender_checks([target], env.settings())
    record = by(results, "spf-record", "example.test")
    assert record.status == "pass" and "-all" in record.reason
    assert any("v=spf1 ip4:192.0.2.1" in line for line in record.evidence)
    assert by(results, "spf", f"example.test for {env.GOOD_IP}").status == "pass"
    failed = by(results, "spf", f"example.test for {env.NO_PTR_IP}")
    assert failed.status == "fail" and failed.details["result"] == "fail"
    assert by(results, "spf", f"example.test for {env.IPV6_IP}").status == "pass"
    lookups = by(results, "spf-lookups", "example.test")
    assert lookups.status == "pass" and lookups.details["lookups"] == 0


async def test_spf_too_many_lookups_names_the_include(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_sender_checks([SenderTarget("toomany.test", [env.GOOD_IP])], env.settings())
    lookups = by(results, "spf-lookups", "toomany.test")
    assert lookups.status == "fail"
    assert lookups.details["lookups"] == 11
    assert lookups.details["by_mechanism"] == {
        "include": 4,
        "a": 3,
        "mx": 3,
        "ptr": 0,
        "exists": 1,
        "redirect": 0,
    }
    assert lookups.details["over_limit_top"] == "include:s3.toomany.test"
    assert lookups.details["over_limit_term"] == "mx"
    assert "include:s3.toomany.test" in lookups.reason
    assert lookups.evidence[0].startswith("[1] include:s1.toomany.test")
    verdict = by(results, "spf", f"toomany.test for {env.GOOD_IP}")
    assert verdict.status == "fail" and verdict.details["result"] == "permerror"


async def test_spf_void_and_multiple_records(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_sender_checks(
        [SenderTarget("void.test", [env.GOOD_IP]), SenderTarget("twospf.test", [env.GOOD_IP])],
        env.settings(),
    )
    void = by(results, "spf-lookups", "void.test")
    assert void.status == "fail" and void.details["void_lookups"] == 3
    assert by(results, "spf", f"void.test for {env.GOOD_IP}").details["result"] == "permerror"
    two = by(results, "spf-record", "twospf.test")
    assert two.status == "fail" and "2 SPF records" in two.reason
    assert by(results, "spf", f"twospf.test for {env.GOOD_IP}").details["result"] == "permerror"


async def test_spf_none_and_softfail(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_sender_checks(
        [SenderTarget("good.test", [env.GOOD_IP]), SenderTarget("nodmarc.test", [env.NO_PTR_IP])],
        env.settings(),
    )
    soft = by(results, "spf", f"nodmarc.test for {env.NO_PTR_IP}")
    assert soft.details["result"] == "softfail" and soft.status == "fail"
    results = await run_sender_checks([SenderTarget("recv.test", [env.GOOD_IP])], env.settings())
    assert by(results, "spf-record", "recv.test").status == "fail"
    assert by(results, "spf", f"recv.test for {env.GOOD_IP}").details["result"] == "none"


async def test_spf_mail_from_domain_is_checked(dns_env: DnsEnv) -> None:
    env = dns_env
    target = SenderTarget("example.test", [env.GOOD_IP], mail_from="bounce@good.test")
    results = await run_sender_checks([target], env.settings())
    assert by(results, "spf", f"good.test for {env.GOOD_IP}").status == "pass"
    assert by(results, "dmarc", "example.test").status == "warn"


async def test_spf_temperror_through_dead_resolver_is_not_tested(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_sender_checks(
        [SenderTarget("x.servfail.test", [env.GOOD_IP])], env.settings(timeout=1.0)
    )
    assert by(results, "spf-record", "x.servfail.test").status == "not_tested"
    assert by(results, "spf", f"x.servfail.test for {env.GOOD_IP}").status == "not_tested"


def test_pyspf_goes_through_our_resolver_and_leaves_others_alone(dns_env: DnsEnv) -> None:
    env = dns_env
    resolver = Resolver([env.nameserver], timeout=2.0)
    result, _exp, trail = spf_verdict(
        resolver, env.GOOD_IP, "x@example.test", "mta1.example.test", Budget(2.0)
    )
    assert result == "pass"
    assert any(line.startswith("example.test TXT") for line in trail)
    # Outside our context pyspf uses its own lookup function again.
    install_spf_hook()
    assert spf.DNSLookup.__name__ == "_dispatch"


def test_pyspf_concurrent_threads_use_their_own_resolver(dns_env: DnsEnv) -> None:
    env = dns_env
    good = Resolver([env.nameserver], timeout=2.0)
    dead = Resolver([("127.0.0.1", 9)], timeout=0.5, retries=0)
    outcomes: dict[str, str] = {}

    def run(name: str, resolver: Resolver) -> None:
        outcomes[name] = spf_verdict(
            resolver, env.GOOD_IP, "x@example.test", "h.example.test", Budget(2.0)
        )[0]

    threads = [threading.Thread(target=run, args=(f"good{i}", good)) for i in range(4)]
    threads += [threading.Thread(target=run, args=(f"dead{i}", dead)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == "pass" for k, v in outcomes.items() if k.startswith("good"))
    assert all(v == "temperror" for k, v in outcomes.items() if k.startswith("dead"))


# -- DMARC ----------------------------------------------------------------------------------


async def test_dmarc(dns_env: DnsEnv) -> None:
    env = dns_env
    targets = [
        SenderTarget("example.test"),
        SenderTarget("sub.good.test"),
        SenderTarget("nodmarc.test", blocked_by=["gmail.com", "yahoo.com"]),
        SenderTarget("void.test"),
        SenderTarget("x.servfail.test"),
    ]
    results = await run_sender_checks(targets, env.settings())
    none = by(results, "dmarc", "example.test")
    assert none.status == "warn" and "p=none" in none.reason
    assert none.details["tags"]["rua"] == "mailto:dmarc@example.test"
    inherited = by(results, "dmarc", "sub.good.test")
    assert inherited.status == "pass" and inherited.details["found_at"] == "good.test"
    assert inherited.details["policy"] == "quarantine"  # sp= applies to subdomains
    missing = by(results, "dmarc", "nodmarc.test")
    assert missing.status == "fail" and "gmail.com, yahoo.com" in missing.reason
    assert by(results, "dmarc", "void.test").status == "warn"
    assert by(results, "dmarc", "x.servfail.test").status == "not_tested"


def test_dmarc_parsing_and_org_domain() -> None:
    tags = parse_dmarc("v=DMARC1; p=reject; pct=50; rua=mailto:a@b.c; adkim=s; aspf=r")
    assert tags == {
        "v": "DMARC1",
        "p": "reject",
        "pct": "50",
        "rua": "mailto:a@b.c",
        "adkim": "s",
        "aspf": "r",
    }
    assert organizational_domain("news.example.com") == "example.com"
    assert organizational_domain("mail.news.example.co.uk") == "example.co.uk"
    assert organizational_domain("example.com") == "example.com"


# -- DKIM -------------------------------------------------------------------------------------


async def test_dkim(dns_env: DnsEnv) -> None:
    env = dns_env
    keys = env.keys
    selectors = [
        DkimSelector("good", keys.good, "listmanager"),
        DkimSelector("testing"),
        DkimSelector("revoked"),
        DkimSelector("small"),
        DkimSelector("weak", keys.weak),
        DkimSelector("mismatch", keys.good, "listmanager"),
        DkimSelector("guess"),
        DkimSelector("configured", source="listmanager"),
        DkimSelector("ed", keys.ed),
    ]
    results = await run_sender_checks([SenderTarget("example.test", [], selectors)], env.settings())
    name = "{}._domainkey.example.test".format

    good = by(results, "dkim-record", name("good"))
    assert good.status == "pass" and good.details["bits"] == 2048
    assert by(results, "dkim-key-match", name("good")).status == "pass"
    verified = by(results, "dkim-sign-verify", name("good"))
    assert verified.status == "pass", verified.reason
    assert any("good._domainkey.example.test TXT" in line for line in verified.evidence)

    testing = by(results, "dkim-record", name("testing"))
    assert testing.status == "warn" and "testing mode" in testing.reason

    revoked = by(results, "dkim-record", name("revoked"))
    assert revoked.status == "fail" and "revoked" in revoked.reason

    small = by(results, "dkim-record", name("small"))
    assert small.status == "fail" and small.details["bits"] == 512

    weak = by(results, "dkim-record", name("weak"))
    assert weak.status == "warn" and "1024" in weak.reason

    mismatch = by(results, "dkim-key-match", name("mismatch"))
    assert mismatch.status == "fail"
    assert (
        "ListManager will send UNSIGNED: the DNS key does not match the private key"
        in mismatch.reason
    )
    assert not [
        r for r in results if r.check == "dkim-sign-verify" and r.subject == name("mismatch")
    ]

    guess = by(results, "dkim-record", name("guess"))
    assert guess.status == "not_tested" and "selector unknown" in guess.reason
    assert "does not mean the domain has no DKIM" in guess.reason
    configured = by(results, "dkim-record", name("configured"))
    assert configured.status == "fail" and "no key published" in configured.reason

    assert by(results, "dkim-record", name("ed")).status == "pass"
    assert by(results, "dkim-key-match", name("ed")).status == "pass"
    assert by(results, "dkim-sign-verify", name("ed")).status in ("pass", "not_tested")


async def test_dkim_unreadable_private_key_and_dns_failure(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_sender_checks(
        [
            SenderTarget("example.test", [], [DkimSelector("good", "not a key")]),
            SenderTarget("x.servfail.test", [], [DkimSelector("s1", env.keys.good)]),
        ],
        env.settings(timeout=1.0),
    )
    unreadable = by(results, "dkim-key-match", "good._domainkey.example.test")
    assert unreadable.status == "fail" and "cannot be read" in unreadable.reason
    assert by(results, "dkim-record", "s1._domainkey.x.servfail.test").status == "not_tested"
    assert by(results, "dkim-key-match", "s1._domainkey.x.servfail.test").status == "not_tested"


async def test_dkim_revoked_with_private_key_says_unsigned(dns_env: DnsEnv) -> None:
    env = dns_env
    results = await run_sender_checks(
        [SenderTarget("example.test", [], [DkimSelector("revoked", env.keys.good)])],
        env.settings(),
    )
    match = by(results, "dkim-key-match", "revoked._domainkey.example.test")
    assert match.status == "fail" and "UNSIGNED" in match.reason and "revoked" in match.reason


def _dnsfunc(env: DnsEnv):  # type: ignore[no-untyped-def]
    resolver = Resolver([env.nameserver], timeout=2.0)

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        lookup = resolver.lookup_sync(name.decode(), "TXT", Budget(2.0))
        return lookup.records[0].encode() if lookup.records else None

    return dnsfunc


def test_dkimpy_ignores_testing_flag_and_reports_empty_p_generically(dns_env: DnsEnv) -> None:
    """Pins what dkimpy 1.1.8 does, which is why we parse the record ourselves."""
    env = dns_env
    message = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: t\r\n\r\nbody\r\n"
    pem = signing_pem(load_private_key(env.keys.good))
    dnsfunc = _dnsfunc(env)
    # t=y: dkimpy verifies as if the flag were absent.
    signed = dkim.sign(message, b"testing", b"example.test", pem) + message
    assert dkim.verify(signed, dnsfunc=dnsfunc) is True
    # empty p=: a generic "could not parse RSA public key" error, not "revoked".
    with pytest.raises(dkim.KeyFormatError, match="could not parse RSA public key"):
        dkim.evaluate_pk(
            b"revoked._domainkey.example.test.", dnsfunc(b"revoked._domainkey.example.test.")
        )
    messages: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.Logger("t")
    logger.addHandler(Capture())
    signed = dkim.sign(message, b"revoked", b"example.test", pem) + message
    assert dkim.verify(signed, logger=logger, dnsfunc=dnsfunc) is False
    assert any("could not parse RSA public key" in m for m in messages)


def test_key_record_parsing() -> None:
    assert parse_key_record("v=DKIM1; k=rsa; p=").revoked
    assert parse_key_record("v=DKIM1; t=y:s; p=").testing
    assert parse_key_record("v=DKIM2; p=abc").error
    assert parse_key_record("v=DKIM1; k=rsa; p=!!!").error
    assert parse_key_record("v=DKIM1; k=dsa; p=QUJD").error
    assert parse_key_record("v=DKIM1; p=a; p=b").error  # duplicate tag
    assert parse_key_record("nonsense").error


def test_private_key_formats(dns_env: DnsEnv) -> None:
    key = load_private_key(dns_env.keys.good)
    traditional = signing_pem(key).decode()
    body = "".join(traditional.splitlines()[1:-1])
    assert load_private_key(traditional).key_size == 2048  # type: ignore[union-attr]
    assert load_private_key(body).key_size == 2048  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        load_private_key("garbage!")
