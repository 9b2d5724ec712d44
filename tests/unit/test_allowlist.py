"""The allowlist request: complete, addressed right, and immune to hostile replies."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.config import SenderContact
from tui.db.records import ReplyGroup
from tui.diagnose.advice import BlockFacts, ConnectionLimit, advise
from tui.diagnose.allowlist import ROLE_ACCOUNTS, allowlist_request, mask_addresses

NOW = datetime(2025, 3, 10, 12, 0)
IPS = ("198.51.100.20", "198.51.100.21", "198.51.100.22")
CONTACT = SenderContact(
    name="Ana Ruiz",
    email="deliverability@news.example.org",
    organization="Example News",
    phone="+1 555 0100",
    website="https://news.example.org",
)
YAHOO = (
    "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user "
    "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"
)
GMAIL = (
    "550-5.7.1 [198.51.100.21] Our system has detected that this message is likely suspicious "
    "due to the very low reputation of the sending IP address. a1si123456qkd.12 - gsmtp"
)
OUTLOOK = (
    "550 5.7.1 Unfortunately, messages from [198.51.100.21] weren't sent. Please contact your "
    "Internet service provider since part of their network is on our block list (S3140)."
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def g(text: str, count: int, first_h: float, last_h: float, mx: str = "mx1") -> ReplyGroup:
    return ReplyGroup(
        text,
        None,
        count,
        NOW - timedelta(hours=first_h),
        NOW - timedelta(hours=last_h),
        [(mx, count)],
    )


def request(domain: str, groups: list[ReplyGroup], **kw: object) -> str:
    args: dict[str, object] = {
        "domain": domain,
        "stream_name": "marketing",
        "ips": IPS,
        "groups": groups,
        "contact": CONTACT,
        "now": NOW,
    }
    args.update(kw)
    return allowlist_request(**args)  # type: ignore[arg-type]


def test_every_ip_every_reply_and_the_contact() -> None:
    groups = [
        g(YAHOO.format(ip="198.51.100.21"), 1500, 30, 2, "mta5.am0.yahoodns.net"),
        g(YAHOO.format(ip="198.51.100.22"), 710, 20, 1, "mta6.am0.yahoodns.net"),  # same kind
        g("550 5.7.9 Message not accepted for policy reasons.", 12, 5, 4, "mta7.am0.yahoodns.net"),
    ]
    text = request("yahoo.com", groups, helo={"198.51.100.21": "mail2.news.example.org"})
    lines = text.splitlines()
    for ip in IPS:
        assert any(line.strip().startswith(ip) for line in lines)
    assert "198.51.100.21  (HELO name mail2.news.example.org)" in text
    # Replies merged by signature: one evidence item with the summed count and widest dates.
    assert (
        "2,210 times, 2025-03-09 06:00 to 2025-03-10 11:00, via mta5.am0.yahoodns.net (1,500)"
        in text
    )
    assert "12 times, 2025-03-10 07:00 to 2025-03-10 08:00, via mta7.am0.yahoodns.net (12)" in text
    assert "[TSS04] Messages from 198.51.100.21" in text
    assert lines[0].startswith("Note: Yahoo does not allowlist")
    assert "To: the web form at https://senders.yahooinc.com/contact" in lines
    subject = next(line for line in lines if line.startswith("Subject: "))
    assert "Example News" in subject and "yahoo.com" in subject
    assert subject.startswith("Subject: Delivery problem")  # Yahoo keeps no allowlist
    assert "allow" not in text.split("Subject:")[1]  # so the message does not ask for one
    for value in (
        "Ana Ruiz",
        "deliverability@news.example.org",
        "+1 555 0100",
        "https://news.example.org",
    ):
        assert value in text
    assert "Please reply to deliverability@news.example.org." in text
    assert "<your" not in text and "[sender]" not in text
    assert text.endswith("2025-03-10\n")


def test_current_limit_and_block_start_are_stated_and_nothing_unverifiable() -> None:
    groups = [g(YAHOO.format(ip="198.51.100.21"), 300, 6, 1)]
    facts = BlockFacts(
        kind="ip",
        domain="yahoo.com",
        stream_name="marketing",
        ip="198.51.100.21",
        mx=None,
        description=None,
        since=None,
        next_retry=None,
        outcomes=None,
        groups=tuple(groups),
        now=NOW,
        stream_ips=IPS,
        connection_limit=ConnectionLimit("yahoo.com", 4, 100, None, False),
    )
    advice = advise(facts)
    assert advice.proposed_limit is not None and advice.proposed_limit.connections != 4
    text = request(
        "yahoo.com",
        groups,
        advice=advice,
        connection_limit=facts.connection_limit,
        blocked_since=NOW - timedelta(hours=50),
    )
    # The limit in force, never the proposal; the block's start from ListManager's record.
    assert (
        "at most 4 connections at a time to each of your MX IPs (100 connections an hour)" in text
    )
    assert f"{advice.proposed_limit.connections} per MX" not in text
    assert "Since 2025-03-08 10:00 your servers have been refusing" in text
    assert "connections or messages per hour" in text
    # No claims lmtriage cannot check: nothing "we have done" or promises about the list.
    for claim in ("We have", "we have", "subscribed", "List-Unsubscribe", "opt-in"):
        assert claim not in text
    assert f"Note: send it once this is fixed: {advice.headline}" in text


def test_checks_that_passed_are_stated_as_checked() -> None:
    from tui.checks.results import CheckResult

    results = [
        CheckResult("fcrdns", "198.51.100.21", "pass", "ok", (), {"ip": "198.51.100.21"}),
        CheckResult("fcrdns", "198.51.100.22", "fail", "no PTR", (), {"ip": "198.51.100.22"}),
        CheckResult("fcrdns", "203.0.113.9", "pass", "ok", (), {"ip": "203.0.113.9"}),
    ]
    text = request("example.net", [g(OUTLOOK, 3, 2, 1)], check_results=results)
    assert "We checked before writing:" in text
    assert "  198.51.100.21: reverse DNS (PTR) resolves back to the IP" in text
    assert "198.51.100.22:" not in text  # a failure is not stated as a fact
    assert "203.0.113.9" not in text  # not an IP of this stream


def test_per_recipient_replies_are_left_out_and_addresses_masked() -> None:
    groups = [
        g(
            "550 5.7.1 <jane.doe@example.net>: Client host [198.51.100.21] blocked using "
            "zen.spamhaus.org",
            9,
            5,
            1,
        ),
        g("550 5.1.1 <bob.smith@example.net>: Recipient address rejected: User unknown", 40, 5, 1),
        g("450 4.2.0 <carol@example.net>: Recipient address rejected: Greylisted", 30, 5, 1),
        g("452 4.2.2 dave99@example.net: mailbox full", 20, 5, 1),
    ]
    text = request("example.net", groups)
    assert "blocked using zen.spamhaus.org" in text and "<j…@example.net>" in text
    for local in ("jane.doe", "bob.smith", "carol", "dave99"):
        assert local not in text
    assert "User unknown" not in text and "Greylisted" not in text and "mailbox full" not in text


def test_gmail_has_no_allowlist_and_says_so() -> None:
    text = request("gmail.com", [g(GMAIL, 40, 10, 1)])
    head = text.split("Subject:")[0]
    assert "Gmail does not allowlist" in head
    assert "https://support.google.com/mail/contact/bulk_send_new" in head
    assert "https://postmaster.google.com/" in head
    assert "Subject: Delivery problem" in text
    assert "allow" not in text.split("Subject:")[1]


def test_microsoft_points_at_its_forms() -> None:
    text = request("hotmail.com", [g(OUTLOOK, 7, 3, 1)])
    head = text.split("Subject:")[0]
    assert "https://olcsupport.office.com/" in head
    assert "https://sender.office.com/" in head


def test_unknown_domain_goes_to_postmaster_and_abuse() -> None:
    text = request("example.net", [g("554 5.7.1 Service unavailable", 3, 2, 1)])
    assert "To: postmaster@example.net, abuse@example.net" in text.splitlines()
    assert "RFC 5321" in text


def test_empty_contact_gets_placeholders() -> None:
    text = request(
        "example.net", [g("554 5.7.1 Service unavailable", 3, 2, 1)], contact=SenderContact()
    )
    first = text.splitlines()[0]
    assert first.startswith("[sender] in the config file fills these in")
    for placeholder in ("<your name>", "<your email address>", "<your organization>"):
        assert placeholder in first
        assert text.count(placeholder) >= 2
    assert "Please reply to <your email address>." in text


def test_any_object_with_the_fields_is_a_contact() -> None:
    class Partial:
        name = "Ana"
        email = "ana@example.org"
        organization = ""

    text = request("example.net", [], contact=Partial())
    assert "<your organization>" in text and "Ana" in text
    assert "<your phone number>" not in text  # optional fields are left out when others exist
    assert "(no reply that explains the block is recorded)" in text


def test_hostile_replies_cannot_inject_lines_or_controls() -> None:
    hostile = [
        g("550 \x1b[31mred\x1b[0m \x1b]0;title\x07 blocked", 2, 3, 2),
        g("550 blocked\r\nBcc: x@evil\r\n\r\nSubject: pwned", 2, 3, 2, mx="mx\r\nTo: x@evil"),
        g("550 nul\x00here \u2028Reply-To: x@evil\u2029", 2, 3, 2),
        g("550 " + "A" * 1_000_000, 1, 3, 2),
    ]
    clean = request("example.net", [])
    text = request(
        "example.net\r\nCc: x@evil",
        hostile,
        stream_name="m\nBcc: y@evil",
        helo={"198.51.100.21": "mail\r\nX-Evil: 1"},
    )
    lines = text.splitlines()
    headers = [line for line in lines if re.match(r"\s*[\w-]+: ", line)]
    assert [h.split(":")[0] for h in headers] == ["Note", "To", "Subject"]
    assert not any("evil" in h for h in headers)
    assert "To: postmaster@<the blocking domain>, abuse@<the blocking domain>" in lines
    assert not _CONTROL.search(text.replace("\n", ""))
    assert "\\x1b[31mred" in text and "\\x00" in text  # shown, escaped
    assert len(text) < 20_000
    assert all(len(line) < 1000 for line in lines)
    # Each reply adds exactly its two lines: the hostile text added none of its own.
    assert len(lines) == len(clean.splitlines()) - 1 + 2 * len(hostile)
    assert "x@evil" not in text and "y@evil" not in text  # even hostile addresses are masked


_SPECIAL = '<>(),;:"@\uff20\ufe6b%'
_LOCAL = st.text(
    alphabet=st.characters(
        blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"), blacklist_characters=_SPECIAL
    ),
    min_size=2,
    max_size=40,
).filter(lambda s: s.strip() == s and not any(c.isspace() for c in s))


@settings(max_examples=300, deadline=None)
@given(
    local=_LOCAL,
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    at=st.sampled_from(["@", "\uff20", "\ufe6b", "%40", " @ "]),
    wrap=st.sampled_from(["{}", "<{}>", "mailto:{}", "rcpt={}", '"{}"', "[{}]", "\x1b[31m{}"]),
)
def test_no_local_part_survives_masking(
    local: str, before: str, after: str, at: str, wrap: str
) -> None:
    if local.lower() in ROLE_ACCOUNTS:
        return
    address = wrap.format(f"{local}{at}aol.com")
    out = mask_addresses(f"{before} {address} {after}")
    assert f"{local}{at}" not in out and f"{local}{at.strip()}" not in out
    assert "…" in out


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("550 <henry.ford@aol.com> user unknown", "550 <h…@aol.com> user unknown"),
        ('550 "john smith"@aol.com refused', '550 "j…"@aol.com refused'),
        # URL characters may stand in a local part: the mask takes the whole run, never less
        ("see https://x.example/?r=jane%40aol.com", "see https:/…%40aol.com"),
        ("write to postmaster@aol.com", "write to postmaster@aol.com"),
        ("a@b@c", "a…@b…@c"),
    ],
)
def test_masking_examples(text: str, masked: str) -> None:
    assert mask_addresses(text) == masked
