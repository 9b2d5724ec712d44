"""The advice layer: realistic block evidence in, concrete advice out."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.checks.results import CheckResult
from tui.db.records import Outcomes, ReplyGroup
from tui.diagnose.advice import (
    Advice,
    BlockFacts,
    ConnectionLimit,
    advise,
    merge_replies,
    propose_limit,
)
from tui.diagnose.classify import CATEGORIES

NOW = datetime(2025, 3, 10, 12, 0)
IP = "198.51.100.21"
STREAM_IPS = ("198.51.100.20", IP, "198.51.100.22")

GMAIL_RATE = (
    "421-4.7.28 [198.51.100.21] Our system has detected an unusual rate of unsolicited mail "
    "originating from your IP address. To protect our users from spam, mail sent from your IP "
    "address has been temporarily rate limited. Please visit "
    "https://support.google.com/mail/?p=UnsolicitedRateLimitError to review our Bulk Email "
    "Senders Guidelines. a1si123456qkd.12 - gsmtp"
)
GMAIL_AUTH = (
    "550-5.7.26 This mail has been blocked because the sender is unauthenticated. 550-5.7.26 "
    "Gmail requires all senders to authenticate with either SPF or DKIM. 550-5.7.26 "
    "Authentication results: 550-5.7.26 DKIM = did not pass 550-5.7.26 SPF [news.example.org] "
    "with ip: [198.51.100.21] = did not pass 550-5.7.26 For instructions on setting up "
    "authentication, go to 550 5.7.26 https://support.google.com/mail/answer/81126"
    "#authentication c2si1.127 - gsmtp"
)
OUTLOOK_S3140 = (
    "550 5.7.1 Unfortunately, messages from [198.51.100.21] weren't sent. Please contact your "
    "Internet service provider since part of their network is on our block list (S3140). You "
    "can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. "
    "[DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]"
)
YAHOO_VOLUME = (
    "421 4.7.0 [TSS04] Messages from 198.51.100.21 temporarily deferred due to unexpected volume "
    "or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"
)
YAHOO_COMPLAINTS = (
    "421 4.7.0 [TSS04] Messages from 198.51.100.21 temporarily deferred due to user complaints "
    "- 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"
)
YAHOO_AUTH = (
    "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires "
    "all senders to authenticate with either SPF or DKIM."
)
SPAMHAUS = (
    "554 5.7.1 Service unavailable; Client host [198.51.100.21] blocked using zen.spamhaus.org; "
    "https://www.spamhaus.org/query/ip/198.51.100.21"
)
COMCAST_BL = (
    "554 resimta-po-33v.sys.comcast.net comcast 198.51.100.21 Comcast block for spam.  Please "
    "see http://postmaster.comcast.net/smtp-error-codes.php#BL000000"
)
COMCAST_CSI = (
    "452 resimta-po-24v.sys.comcast.net comcast 198.51.100.21 found on one or more DNSBLs, see "
    "http://postmaster.comcast.net/smtp-error-codes.php#BL000010"
)
GMAIL_PTR = (
    "550 5.7.25 [198.51.100.21] The IP address sending this message does not have a PTR record "
    "setup, or the corresponding forward DNS entry does not point to the sending IP. As a policy, "
    "Gmail does not accept messages from IPs with missing PTR records. - gsmtp"
)
EOP_CUSTOMER = (
    "550 5.7.1 Service unavailable, Client host [198.51.100.21] blocked by contoso.com using "
    "Customer Block list (AS16012607)"
)
USER_UNKNOWN = (
    "550 5.1.1 The email account that you tried to reach does not exist. Please try "
    "double-checking the recipient's email address for typos or unnecessary spaces. - gsmtp"
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def group(
    text: str,
    code: int | None,
    count: int,
    *,
    hours_ago: float = 1,
    span: float = 6,
    mx: str = "mx.example.net",
) -> ReplyGroup:
    last = NOW - timedelta(hours=hours_ago)
    return ReplyGroup(text, code, count, last - timedelta(hours=span), last, [(mx, count)])


def facts(domain: str, groups: list[ReplyGroup], **kw: object) -> BlockFacts:
    base: dict[str, object] = {
        "kind": "ip",
        "domain": domain,
        "stream_name": "marketing",
        "ip": IP,
        "mx": "203.0.113.5",
        "description": None,
        "since": NOW - timedelta(hours=8),
        "next_retry": NOW + timedelta(minutes=40),
        "outcomes": None,
        "groups": tuple(groups),
        "now": NOW,
        "stream_ips": STREAM_IPS,
        "blocked_ips": 1,
    }
    base.update(kw)
    return BlockFacts(**base)  # type: ignore[arg-type]


def check(name: str, status: str, reason: str = "", **details: object) -> CheckResult:
    subject = str(details.get("subject", name))
    return CheckResult(name, subject, status, reason or status, (), details)  # type: ignore[arg-type]


def text_of(advice: Advice) -> str:
    return "\n".join([advice.headline, advice.explanation, *advice.steps, advice.release.reason])


# --------------------------------------------------------------------------- rate limits


def test_gmail_rate_limit_proposes_a_lower_limit_and_waits() -> None:
    a = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 840, mx="gmail-smtp-in.l.google.com")]))
    assert a.category == "rate_limit"
    assert a.provider == "gmail"
    assert "Gmail" in a.headline and "4.7.28" in a.headline and IP in a.headline
    assert a.confidence == "high" and not a.mixed
    limit = a.proposed_limit
    assert limit is not None and not limit.is_default
    assert limit.connections < 10  # the default when the domain has no row
    assert limit.per_hour and limit.per_connection  # caps for a volume throttle
    assert any(
        f"lmtriage dcl --domain gmail.com --limit {limit.connections} --per-hour" in s
        for s in a.steps
    )
    assert any("default 10 connections per MX" in s for s in a.steps)
    assert any("press c" in s for s in a.steps)
    assert a.release.when == "wait"
    last_seen = NOW - timedelta(hours=1)
    assert a.release.not_before is not None and a.release.not_before > last_seen
    assert any("re-blocks" in s for s in a.steps)
    assert "re-blocks" in a.release.reason
    assert any("Postmaster Tools" in s for s in a.steps)


GMAIL_SAME_ID = (
    "421-4.7.28 Gmail has detected this message exceeded its quota for sending 421-4.7.28 "
    "messages with the same Message-ID:. To best protect our users, 421-4.7.28 the message has "
    "been temporarily rejected. For more information, 421 4.7.28 go to "
    "https://support.google.com/mail/answer/188131 a1si123qkd.12 - gsmtp"
)


def test_gmail_same_message_id_is_not_the_unsolicited_rate_limit() -> None:
    """The same code 4.7.28, another meaning: the fix is the Message-ID, not fewer
    connections (it was advised as the unsolicited-mail limit with a lower DCL)."""
    a = advise(facts("gmail.com", [group(GMAIL_SAME_ID, 421, 60, mx="gmail-smtp-in.l.google.com")]))
    assert a.category == "rate_limit" and "duplicate Message-ID" in a.headline
    assert "unsolicited" not in a.headline
    assert "Message-ID" in a.steps[0]
    assert a.proposed_limit is None
    assert not any("Domain Connection Limit" in s for s in a.steps)


def test_yahoo_volume_deferral_respects_a_configured_limit() -> None:
    current = ConnectionLimit("yahoo.com", 5, None, None, False)
    a = advise(facts("yahoo.com", [group(YAHOO_VOLUME, 421, 2210)], connection_limit=current))
    assert a.category == "rate_limit" and a.provider == "yahoo" and a.provider_code == "TSS04"
    assert "TSS04" in a.headline and "volume" in a.headline
    assert a.proposed_limit is not None
    assert a.proposed_limit.connections < 5
    assert "5 connections per MX" in text_of(a)  # the current limit is shown
    # A few hours of cool-down for Yahoo's deferral, from the last deferral.
    assert a.release.when == "wait"
    assert a.release.not_before == NOW - timedelta(hours=1) + timedelta(hours=4)
    assert "very few connections" in a.explanation


def test_rate_limit_cool_down_already_over_means_release_now() -> None:
    a = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 50, hours_ago=30)]))
    assert a.category == "rate_limit"
    assert a.release.when == "now"
    assert "cool-down" in a.release.reason
    # A time already past is not printed as "now (not before …)".
    assert a.release.not_before is not None and a.release.not_before_text() == ""
    waiting = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 50, hours_ago=0.5)]))
    assert waiting.release.when == "wait"
    assert waiting.release.not_before_text().startswith(" (not before ")


def test_propose_limit_halves_and_floors() -> None:
    default = ConnectionLimit.default("example.net")
    assert propose_limit(default).connections == 5  # type: ignore[union-attr]
    low = ConnectionLimit("example.net", 2, None, None, False)
    assert propose_limit(low).connections == 1  # type: ignore[union-attr]
    floor = ConnectionLimit("comcast.net", 1, 10, 5, False)
    assert propose_limit(floor, "comcast") is not None  # the hourly cap still halves
    assert propose_limit(ConnectionLimit("x", 1, 1, 5, False)) is None  # nothing lower left
    orange = propose_limit(default, "orange", volume=True)
    assert orange is not None and orange.connections <= 2 and orange.per_hour


# --------------------------------------------------------------------------- authentication


def test_gmail_unauthenticated_is_fixed_before_release() -> None:
    a = advise(facts("gmail.com", [group(GMAIL_AUTH, 550, 312)]))
    assert a.category == "authentication_failure"
    assert "5.7.26" in a.headline and "Gmail" in a.headline
    assert a.needs_checks == ("auth",)
    assert a.release.when == "after-fix"
    assert a.proposed_limit is None
    joined = text_of(a)
    assert "DKIM" in joined and "SPF" in joined and "DMARC" in joined
    # The command names the sender domain the reply shows; no selector is known here.
    run = next(s for s in a.steps if "lmtriage check" in s)
    assert "--sender-domain news.example.org --ip 198.51.100.21" in run and "<" not in run
    known = advise(
        facts(
            "gmail.com",
            [group(GMAIL_AUTH, 550, 312)],
            dkim_selectors={"news.example.org": ("lm1",), "other.example": ("x1",)},
        )
    )
    run = next(s for s in known.steps if "lmtriage check" in s)
    assert "--sender-domain news.example.org --dkim-selector lm1 --ip" in run
    assert any("lm1._domainkey.news.example.org" in s for s in known.steps)
    assert not any("<selector>" in s or "<From domain>" in s for s in known.steps)
    assert not any("Feedback-ID" in s for s in a.steps)  # Gmail's loop is off-topic here
    yahoo = advise(facts("yahoo.com", [group(YAHOO_AUTH, 550, 20)]))
    assert any("Complaint Feedback Loop" in s for s in yahoo.steps)


def test_dkim_key_mismatch_from_the_checks_is_named() -> None:
    results = (
        check(
            "dkim-key-match",
            "fail",
            "ListManager will send UNSIGNED: the DNS key does not match the private key",
            domain="news.example.org",
            selector="lm1",
        ),
        check("spf", "pass", domain="news.example.org", ip=IP),
    )
    a = advise(facts("gmail.com", [group(GMAIL_AUTH, 550, 312)], check_results=results))
    assert "DKIM key mismatch for selector lm1" in a.explanation
    first = a.steps[0]
    assert "UNSIGNED" in first and "lm1._domainkey.news.example.org" in first
    assert "re-import the private key" in first
    assert a.release.when == "after-fix"
    assert "DKIM key mismatch" in a.release.reason
    # the generic "run the checks" step is gone once checks ran
    assert not any("lmtriage check" in s for s in a.steps)


def test_auth_checks_all_passing_allow_a_release_now() -> None:
    results = (
        check("dkim-key-match", "pass", domain="news.example.org", selector="lm1"),
        check("spf", "pass", domain="news.example.org", ip=IP),
        check("dmarc", "pass", domain="news.example.org"),
    )
    a = advise(facts("gmail.com", [group(GMAIL_AUTH, 550, 312)], check_results=results))
    assert a.release.when == "now"
    assert "pass now" in a.release.reason


def test_outlook_515_is_the_bulk_sender_rule() -> None:
    text = (
        "550 5.7.515 Access denied, sending domain news.example.org doesn't meet the required "
        "authentication level."
    )
    a = advise(facts("outlook.com", [group(text, 550, 40)]))
    assert a.category == "authentication_failure" and a.provider == "microsoft"
    assert "5.7.515" in a.headline
    assert "5,000" in a.explanation


# --------------------------------------------------------------------------- reputation


def test_outlook_s3140_points_at_microsofts_form() -> None:
    a = advise(
        facts("hotmail.com", [group(OUTLOOK_S3140, 550, 77)], next_retry=None, block_id=204)
    )
    assert a.category == "ip_reputation_block"
    assert a.provider == "microsoft" and a.provider_code == "S3140"
    assert a.headline.startswith("Outlook's IP block list (S3140)")
    assert IP in a.headline
    assert "https://olcsupport.office.com/" in a.delisting_urls
    joined = text_of(a)
    assert "JMRP" in joined and "SNDS" in joined
    assert "2 bounces" in joined and "5 on discussion" in joined
    assert a.release.when == "after-fix"
    assert any(
        "Permanent" in s and "lmtriage release --block ip:204 (this pair only)" in s
        for s in a.steps
    )
    assert "Permanent" in a.release.reason


def test_yahoo_complaints_wait_a_day_and_join_the_feedback_loop() -> None:
    a = advise(facts("yahoo.com", [group(YAHOO_COMPLAINTS, 421, 400)]))
    assert a.category == "ip_reputation_block" and a.provider_code == "TSS04"
    assert "complaint" in a.headline
    assert a.release.when == "wait"
    assert a.release.not_before == NOW - timedelta(hours=1) + timedelta(days=1)
    assert any("Complaint Feedback Loop" in s and "DKIM" in s for s in a.steps)
    assert "0.3%" in text_of(a)


def test_comcast_bl000000_is_comcasts_own_list() -> None:
    a = advise(facts("comcast.net", [group(COMCAST_BL, 554, 60)], next_retry=None))
    assert a.category == "ip_reputation_block"
    assert a.provider == "comcast" and a.provider_code == "BL000000"
    assert "Comcast" in a.headline and "BL000000" in a.headline
    assert "https://spa.xfinity.com/report" in a.delisting_urls
    assert a.release.when == "after-fix"


def test_comcast_code_names_the_public_list() -> None:
    a = advise(facts("comcast.net", [group(COMCAST_CSI, 452, 12)]))
    assert a.category == "dnsbl_listing"
    assert a.blocklist == "Cloudmark CSI"
    assert "https://csi.cloudmark.com/en/reset/" in a.delisting_urls
    assert "not a public DNS list" in a.explanation


# --------------------------------------------------------------------------- blocklists


def test_spamhaus_listing_with_its_url() -> None:
    a = advise(facts("example.net", [group(SPAMHAUS, 554, 25)]))
    assert a.category == "dnsbl_listing"
    assert a.blocklist == "zen.spamhaus.org"
    assert IP in a.headline and "Spamhaus" in a.headline
    assert a.delisting_urls[0] == "https://www.spamhaus.org/query/ip/198.51.100.21"
    assert "https://check.spamhaus.org/" in a.delisting_urls
    assert a.needs_checks == ("dns",)
    assert a.release.when == "after-fix"
    assert any("spam traps" in s for s in a.steps)


def test_dnsbl_check_finding_no_listing_means_release_now() -> None:
    results = (
        check("dnsbl", "pass", "not listed", ip=IP, zone="zen.spamhaus.org"),
        check("dnsbl", "pass", "not listed", ip=IP, zone="bl.spamcop.net"),
    )
    a = advise(facts("example.net", [group(SPAMHAUS, 554, 25)], check_results=results))
    assert a.release.when == "now"
    assert "not listed on zen.spamhaus.org" in a.release.reason
    assert "NOT listed" in a.explanation
    assert any("release the block now" in s for s in a.steps)


def test_dnsbl_check_confirming_the_listing_keeps_after_fix() -> None:
    results = (
        check(
            "dnsbl",
            "fail",
            "listed: 127.0.0.3 SBL CSS",
            subject=f"{IP} on zen.spamhaus.org",
            ip=IP,
            zone="zen.spamhaus.org",
            delist_url="https://check.spamhaus.org/listed/?searchterm=198.51.100.21",
        ),
    )
    a = advise(facts("example.net", [group(SPAMHAUS, 554, 25)], check_results=results))
    assert a.release.when == "after-fix"
    assert "confirms the listing" in a.explanation
    assert "https://check.spamhaus.org/listed/?searchterm=198.51.100.21" in a.delisting_urls


def test_uceprotect_level_2_is_informational() -> None:
    text = (
        "550 5.7.1 Service unavailable; Client host [198.51.100.21] blocked using "
        "dnsbl-2.uceprotect.net; Your network is listed (level 2)"
    )
    a = advise(facts("example.net", [group(text, 550, 9)]))
    assert a.category == "dnsbl_listing"
    assert "informational" in a.explanation
    assert "https://www.uceprotect.net/en/rblcheck.php" in a.delisting_urls


# --------------------------------------------------------------------------- policy


def test_gmail_ptr_rule_needs_a_matching_ptr() -> None:
    a = advise(
        facts("gmail.com", [group(GMAIL_PTR, 550, 90)], kind="domain", ip=None, blocked_ips=3)
    )
    assert a.category == "policy_block"
    assert "5.7.25" in a.headline and "stream 'marketing'" in a.headline
    assert a.needs_checks == ("dns",)
    assert a.release.when == "after-fix"
    assert "PTR" in a.steps[0] and IP in a.steps[0]  # the IP named in the reply
    assert any("HELO" in s for s in a.steps)
    assert any("All 3 IPs of the stream are blocked" in s for s in a.steps)


def test_ptr_checks_change_the_release() -> None:
    failing = (check("fcrdns", "fail", "mail2.example.org does not resolve back", ip=IP),)
    a = advise(facts("gmail.com", [group(GMAIL_PTR, 550, 90)], check_results=failing))
    assert a.release.when == "after-fix" and "still fails" in a.release.reason
    assert "does not resolve back" in a.explanation
    passing = (
        check("ptr", "pass", ip=IP),
        check("fcrdns", "pass", ip=IP),
        check("helo", "pass", ip=IP),
    )
    b = advise(facts("gmail.com", [group(GMAIL_PTR, 550, 90)], check_results=passing))
    assert b.release.when == "now"


def test_a_ptr_that_does_not_resolve_back_asks_for_the_forward_record() -> None:
    """The PTR exists (the check passes) but its name's A record points elsewhere: the step
    is to fix that record, not "publish a PTR record" (what the advice said after d)."""
    results = (
        check("ptr", "pass", "PTR mta1.news.example.net", ip=IP),
        check(
            "fcrdns", "fail",
            f"PTR name does not resolve back to {IP}: mta1.news.example.net resolves to 192.0.2.248",
            ip=IP,
        ),
    )  # fmt: skip
    a = advise(facts("gmail.com", [group(GMAIL_PTR, 550, 90)], check_results=results))
    assert a.steps[0].startswith(f"{IP} has a PTR record, but PTR name does not resolve back")
    assert "A record point at" in a.steps[0] and "192.0.2.248" in a.steps[0]
    assert not any(s.startswith("Publish a PTR record") for s in a.steps)
    missing = (check("ptr", "fail", "no PTR record", ip=IP),)
    b = advise(facts("gmail.com", [group(GMAIL_PTR, 550, 90)], check_results=missing))
    assert any(s.startswith(f"Publish a PTR record for {IP}") for s in b.steps)


def test_customer_block_list_only_the_recipient_can_lift() -> None:
    a = advise(facts("contoso.com", [group(EOP_CUSTOMER, 550, 14)]))
    assert a.category == "policy_block"
    assert "own block list" in a.explanation
    assert "administrators" in a.release.reason
    assert a.needs_checks == ()


@pytest.mark.parametrize(
    ("text", "code", "category", "when", "phrase"),
    [
        (
            "554 5.7.1 Message rejected because of unacceptable content. Incident ID 1234.",
            554,
            "content_spam",
            "now",
            "campaign",
        ),
        (
            "450 4.7.1 <user@example.net>: Recipient address rejected: Greylisted, see "
            "http://postgrey.schweikert.ch/help/example.net.html",
            450,
            "greylisting",
            "now",
            "retry",
        ),
        (
            "421 4.7.29 Your email has been rate limited because this message wasn't sent over "
            "a TLS connection. - gsmtp",
            421,
            "tls_required",
            "after-fix",
            "STARTTLS",
        ),
    ],
)
def test_non_block_outcomes(text: str, code: int, category: str, when: str, phrase: str) -> None:
    a = advise(facts("example.net", [group(text, code, 30)]))
    assert a.category == category
    assert a.release.when == when
    assert phrase in text_of(a)
    assert a.confidence == "low"


def test_gmail_reputation_has_no_delisting() -> None:
    text = (
        "550-5.7.1 [198.51.100.21] Our system has detected that this message is likely "
        "suspicious due to the very low reputation of the sending IP address. a1si - gsmtp"
    )
    a = advise(facts("gmail.com", [group(text, 550, 50)]))
    assert a.category == "ip_reputation_block" and a.provider == "gmail"
    assert a.delisting_urls == ()
    assert any("no allowlist or delisting" in s for s in a.steps)
    assert any("Postmaster Tools" in s for s in a.steps)


# --------------------------------------------------------------------------- weak evidence


def test_only_user_unknown_evidence_is_not_the_cause() -> None:
    a = advise(facts("example.org", [group(USER_UNKNOWN, 550, 900)]))
    assert a.category == "user_unknown"
    assert a.confidence == "low"
    assert "likely NOT caused" in a.explanation
    assert "mis-recorded" in a.explanation
    assert "per-recipient" in a.headline
    assert a.release.when == "now"


def test_user_unknown_noise_does_not_hide_a_block_reply() -> None:
    a = advise(facts("hotmail.com", [group(USER_UNKNOWN, 550, 900), group(OUTLOOK_S3140, 550, 20)]))
    assert a.category == "ip_reputation_block"
    assert a.confidence == "medium"
    assert "per-recipient" in a.explanation


def test_description_rescues_when_no_reply_is_a_block_reason() -> None:
    a = advise(
        facts(
            "example.org",
            [group(USER_UNKNOWN, 550, 10)],
            description="554 5.7.1 Client host [198.51.100.21] blocked using bl.spamcop.net",
        )
    )
    assert a.category == "dnsbl_listing"
    assert a.confidence == "low"
    assert "likely NOT caused" in a.explanation
    assert "https://www.spamcop.net/bl.shtml" in a.delisting_urls


def test_no_evidence_falls_back_to_the_description() -> None:
    a = advise(facts("example.org", [], description=SPAMHAUS))
    assert a.category == "dnsbl_listing"
    assert a.confidence == "low"
    assert "Description" in a.explanation
    assert a.evidence and "554 5.7.1" in a.evidence[0]


def test_no_evidence_falls_back_to_the_latest_reply() -> None:
    a = advise(facts("yahoo.com", [], latest_reply=YAHOO_VOLUME, latest_code=421))
    assert a.category == "rate_limit" and a.confidence == "low"
    assert "latest reply" in a.explanation


def test_nothing_at_all() -> None:
    a = advise(facts("example.org", []))
    assert a.category == "other" and a.confidence == "low"
    assert "no reply says why" in a.headline
    assert a.evidence == ()


def test_mixed_evidence_reports_both_causes() -> None:
    a = advise(
        facts(
            "yahoo.com",
            [
                group(YAHOO_VOLUME, 421, 300),
                group(YAHOO_AUTH, 550, 200),
                group(USER_UNKNOWN, 550, 50),
            ],
        )
    )
    # Authentication is a hard, fixable cause: it leads although the throttle weighs more.
    assert a.category == "authentication_failure"
    assert a.mixed and a.confidence == "medium"
    assert "Mixed evidence" in a.explanation and "TSS04" in a.explanation
    assert "come first although the rate limit replies weigh more" in a.explanation
    assert any(
        s.startswith("Also (Yahoo's volume and complaint deferral (TSS04))") for s in a.steps
    )
    assert "auth" in a.needs_checks
    assert a.release.when == "after-fix"  # the stricter of wait and after-fix


def test_recent_replies_outweigh_old_ones() -> None:
    a = advise(
        facts(
            "gmail.com",
            [group(GMAIL_RATE, 421, 100, hours_ago=144), group(GMAIL_AUTH, 550, 30, hours_ago=1)],
        )
    )
    assert a.category == "authentication_failure"


def test_same_reply_kind_is_merged_by_signature() -> None:
    other_ip = GMAIL_RATE.replace("198.51.100.21", "198.51.100.22").replace("a1si", "b7zz")
    merged = merge_replies(
        [group(GMAIL_RATE, 421, 10, hours_ago=1), group(other_ip, 421, 5, hours_ago=3)]
    )
    assert len(merged) == 1 and merged[0].count == 15
    assert merged[0].last_seen == NOW - timedelta(hours=1)
    assert merged[0].first_seen == NOW - timedelta(hours=9)


def test_partial_ip_block_warns_about_concentration() -> None:
    a = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 840)], blocked_ips=1))
    step = next(s for s in a.steps if s.startswith("Only 1 of the stream's 3 IPs"))
    assert "1.5×" in step and "Domain Connection Limit" in step


def test_evidence_lines_carry_counts_and_dates() -> None:
    a = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 1234)]))
    assert a.evidence[0].startswith("1,234× 2025-03-10 05:00 – 2025-03-10 11:00 rate_limit: 421")
    assert "mx.example.net ×1,234" in a.evidence[0]


def test_hostile_reply_cannot_reach_the_advice_text() -> None:
    hostile = "550 \x1b[2J\x1b]0;owned\x07 blocked\r\nBcc: x@evil\x00 \u2028 " + "A" * 1_000_000
    a = advise(facts("example.org", [group(hostile, 550, 3)], stream_name="m\x1b[31m\n"))
    for line in (*a.evidence, a.headline, a.explanation, *a.steps, a.release.reason):
        assert not _CONTROL.search(line)
        assert len(line) < 5000


def test_to_json_is_plain_data() -> None:
    a = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 840)]))
    data = json.loads(json.dumps(a.to_json()))
    assert data["category"] == "rate_limit"
    assert data["release"]["when"] == "wait"
    assert data["release"]["not_before"] == "2025-03-10T13:00:00"
    assert data["proposed_limit"]["connection_limit"] == 5


def test_connection_limit_of_copies_a_data_layer_limit() -> None:
    class DomainLimit:
        domain = "yahoo.com"
        connection_limit = 3
        per_hour = 100
        per_connection = None
        is_default = False

    limit = ConnectionLimit.of(DomainLimit())
    assert limit == ConnectionLimit("yahoo.com", 3, 100, None, False)
    assert limit.describe() == (
        "3 connections per MX, 100 connections an hour, no per-connection cap"
    )


# --------------------------------------------------------------------------- never raises

_TEXTS = st.one_of(
    st.text(max_size=300),
    st.sampled_from([GMAIL_RATE, GMAIL_AUTH, OUTLOOK_S3140, SPAMHAUS, COMCAST_BL, USER_UNKNOWN]),
    st.builds(lambda a, b: a + b, st.sampled_from([YAHOO_VOLUME, GMAIL_PTR]), st.text(max_size=50)),
)
_TIMES = st.one_of(
    st.none(), st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
)
_GROUPS = st.lists(
    st.builds(
        ReplyGroup,
        text=_TEXTS,
        code=st.one_of(st.none(), st.integers(-10, 1000)),
        count=st.integers(-5, 10**15),
        first_seen=_TIMES,
        last_seen=_TIMES,
        mx_hosts=st.lists(st.tuples(st.text(max_size=20), st.integers(-3, 10**6)), max_size=3),
    ),
    max_size=5,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=_GROUPS,
    description=st.one_of(st.none(), _TEXTS),
    next_retry=_TIMES,
    blocked=st.one_of(st.none(), st.integers(-2, 5)),
    kind=st.sampled_from(["domain", "ip"]),
)
def test_advise_never_raises(
    groups: list[ReplyGroup],
    description: str | None,
    next_retry: datetime | None,
    blocked: int | None,
    kind: str,
) -> None:
    a = advise(
        facts(
            "example.org",
            groups,
            description=description,
            next_retry=next_retry,
            blocked_ips=blocked,
            kind=kind,
        )
    )
    assert a.category in CATEGORIES
    assert a.release.when in ("now", "wait", "after-fix")
    assert a.confidence in ("high", "medium", "low")
    assert a.headline and a.steps
    json.dumps(a.to_json())


@pytest.mark.parametrize("now", [datetime(2025, 3, 10, 12, 0).astimezone(), datetime.max])
def test_odd_clocks_do_not_raise(now: datetime) -> None:
    a = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 5)], now=now))
    assert a.category == "rate_limit"


# --------------------------------------------------------------------------- issue 12

PTR_4725 = "450 4.7.25 Client host rejected: cannot find your hostname, [198.51.100.21]"
POSTFIX_RATE = "421 4.7.0 mx1.alpine.example Error: too many connections from 198.51.100.22"
DMARC_NONE = (
    "550 5.7.26 <julia.rossi@bido.example>: Recipient address rejected: Message rejected due "
    "to DMARC policy of mail.example.com (SPF fail, DKIM none)"
)


def alpine(**kw: object) -> Advice:
    """alpineconsulting.com in the demo: half throttles, half 4.7.25 'cannot find your hostname'."""
    groups = [group(POSTFIX_RATE, 421, 45), group(PTR_4725, 450, 44)]
    return advise(facts("alpine.example", groups, kind="domain", ip=None, **kw))


def test_a_fixable_hard_cause_outranks_a_heavier_throttle() -> None:
    a = alpine()
    assert a.category == "policy_block"
    assert "reverse DNS (PTR) check (4.7.25)" in a.headline
    assert a.steps[0].startswith("Publish a PTR record for 198.51.100.21")
    assert "come first although the rate limit replies weigh more" in a.explanation
    assert any(s.startswith("Also (alpine.example's rate limit") for s in a.steps)
    assert a.proposed_limit is None  # the throttle is not the headline
    # A throttle with only a trace of a hard cause stays first.
    small = advise(facts("alpine.example", [group(POSTFIX_RATE, 421, 90), group(PTR_4725, 450, 5)]))
    assert small.category == "rate_limit"


def test_failing_checks_confirm_a_cause_and_reorder_the_steps() -> None:
    fcrdns = check("fcrdns", "fail", "no PTR record", ip=IP, subject=IP)
    # The check confirms the lighter PTR replies: they lead even without the hard-cause rule.
    groups = [group(POSTFIX_RATE, 421, 300), group(PTR_4725, 450, 20)]
    plain = advise(facts("alpine.example", groups))
    checked = advise(facts("alpine.example", groups, check_results=(fcrdns,)))
    assert plain.category == "rate_limit" and checked.category == "policy_block"
    assert "The DNS checks confirm it: fcrdns" in checked.explanation
    # A failing check of a cause no reply names is put first.
    rate_only = advise(
        facts("alpine.example", [group(POSTFIX_RATE, 421, 300)], check_results=(fcrdns,))
    )
    assert rate_only.category == "rate_limit"
    assert rate_only.steps[0].startswith("Fix what the checks found first (fcrdns")
    assert "The checks (d) also found: fcrdns" in rate_only.explanation
    # A check of another IP than the block's says nothing about it.
    other = check("fcrdns", "fail", "no PTR record", ip="203.0.113.99")
    unrelated = advise(facts("alpine.example", groups, check_results=(other,)))
    assert unrelated.category == "rate_limit"


def test_ratios_are_over_failed_attempts_only() -> None:
    out = Outcomes(attempts=4309, delivered=4138, deferred=120, rejected=51, no_code=0)
    a = advise(facts("hotmail.com", [group(OUTLOOK_S3140, 550, 51), group(YAHOO_VOLUME, 421, 120)],
                     outcomes=out))  # fmt: skip
    assert (
        "of the 171 failed attempts in the window (120 deferred, 51 rejected; 4,138 delivered"
        in (a.explanation)
    )
    assert "4,309" not in a.explanation


def test_yahoo_tss04_names_complaints_and_the_feedback_loop() -> None:
    a = advise(facts("yahoo.com", [group(YAHOO_VOLUME, 421, 200)]))
    text = text_of(a)
    assert a.category == "rate_limit" and "volume or user complaints" in a.explanation
    assert "Complaint Feedback Loop" in text and "complaint rate" in text


def test_dmarc_reply_is_reconciled_with_the_checks_and_carries_real_values() -> None:
    selectors = {"mail.example.com": ("mkt2025",)}
    plain = advise(facts("bido.example", [group(DMARC_NONE, 550, 101)], dkim_selectors=selectors))
    run = next(s for s in plain.steps if "lmtriage check" in s)
    assert "--sender-domain mail.example.com --dkim-selector mkt2025" in run
    assert any("mkt2025._domainkey.mail.example.com" in s for s in plain.steps)
    assert "_dmarc.mail.example.com" in text_of(plain)
    assert not re.search(r"<(?:selector|From domain|IP)>", text_of(plain))
    passing = tuple(
        check(name, "pass", domain="mail.example.com", selector="mkt2025", ip=IP)
        for name in ("dkim-record", "dkim-key-match", "dkim-sign-verify", "spf", "dmarc")
    )
    k = advise(
        facts(
            "bido.example",
            [group(DMARC_NONE, 550, 101)],
            dkim_selectors=selectors,
            check_results=passing,
        )
    )
    assert "found no valid DKIM signature" in k.explanation
    assert "the refused mail was not signed for mail.example.com" in k.explanation
    assert "SPF is judged on the bounce (envelope sender) domain" in k.explanation
    assert any(
        s.startswith("If the replies after the release still say DKIM none") for s in k.steps
    )
    # Checks of another sender domain do not speak for mail.example.com.
    elsewhere = tuple(check(name, "pass", domain="tx.example.org") for name in ("spf", "dmarc"))
    other = advise(facts("bido.example", [group(DMARC_NONE, 550, 101)], check_results=elsewhere))
    assert "did not cover mail.example.com" in other.explanation
    # ListManager has no DKIM key for the domain the reply names: it sends unsigned.
    unsigned = advise(
        facts("bido.example", [group(DMARC_NONE, 550, 10)], dkim_selectors={"example.com": ("a",)})
    )
    assert "ListManager has no DKIM selector for mail.example.com" in unsigned.explanation


def test_retry_wording_and_overdue_times() -> None:
    grey = advise(facts("example.org", [group("451 4.7.1 Greylisting in action", 451, 3)]))
    assert any("30, 720" in s for s in grey.steps)
    rate = advise(facts("example.org", [group(POSTFIX_RATE, 421, 30)]))
    joined = text_of(rate)
    assert "30, 720" in joined and "30,720" not in joined
    past = advise(
        facts("example.org", [group(SPAMHAUS, 554, 9)], next_retry=NOW - timedelta(hours=2))
    )
    retry = next(s for s in past.steps if "retry" in s and "2025-03-10 10:00" in s)
    assert "was due at 2025-03-10 10:00 and is overdue" in retry
    assert "will" not in retry and "rather than wait" not in retry


def test_postmaster_tools_and_snds_are_named_where_they_apply() -> None:
    gmail = advise(facts("gmail.com", [group(GMAIL_RATE, 421, 50)]))
    assert "Google Postmaster Tools" in text_of(gmail)
    outlook = advise(facts("hotmail.com", [group(OUTLOOK_S3140, 550, 50)]))
    assert "SNDS" in text_of(outlook) and "JMRP" in text_of(outlook)
    auth = advise(facts("gmail.com", [group(GMAIL_AUTH, 550, 50)]))
    assert "Postmaster Tools" in text_of(auth)


def test_auth_checks_of_other_sender_domains_do_not_take_over() -> None:
    # k on "All streams" fails for another stream's domain: not this block's problem.
    mismatch = check("dkim-key-match", "fail", "mismatch", domain="tx.example.org", selector="tx1")
    rate = advise(
        facts("alpine.example", [group(POSTFIX_RATE, 421, 300)], check_results=(mismatch,))
    )
    assert not rate.steps[0].startswith("Fix what the checks found first")
    dmarc = advise(facts("bido.example", [group(DMARC_NONE, 550, 40)], check_results=(mismatch,)))
    assert "DKIM key mismatch" not in dmarc.explanation  # the replies name mail.example.com


def test_a_retry_in_the_cool_downs_last_minute_is_not_called_earlier() -> None:
    a = advise(
        facts(
            "gmail.com",
            [group(GMAIL_RATE, 421, 50, hours_ago=1)],
            next_retry=NOW + timedelta(hours=1, seconds=-20),
        )
    )
    assert a.release.when == "wait"
    assert not any("comes before the cool-down ends" in s for s in a.steps)
    assert any("as the cool-down ends" in s for s in a.steps)
