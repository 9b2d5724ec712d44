"""The SMTP reply classifier: labelled corpora, judgement calls, field extraction, robustness."""

from __future__ import annotations

import csv
import dataclasses
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.diagnose import classify as C
from tui.diagnose import patterns as P
from tui.diagnose._prefilter import RuleBook, anchors_of, split_alternatives, text_keys
from tui.diagnose.classify import BLOCK_REASONS, CATEGORIES, Classification, classify

DATA = Path(__file__).resolve().parents[1] / "data"


def load(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


SAMPLES = load("smtp-samples.csv")
EXTRAS = load("extra-replies.csv")


def code_of(row: dict[str, str]) -> int | None:
    return int(row["smtp_code"]) if row["smtp_code"] else None


def misses(rows: list[dict[str, str]]) -> list[str]:
    out = []
    for row in rows:
        got = classify(row["response_text"], code_of(row)).category
        if got != row["category"]:
            out.append(f"want {row['category']}, got {got}: {row['response_text'][:140]}")
    return out


# --------------------------------------------------------------------------- corpora


def test_the_labelled_samples_are_classified_right() -> None:
    assert len(SAMPLES) >= 150
    wrong = misses(SAMPLES)
    accuracy = 1 - len(wrong) / len(SAMPLES)
    assert accuracy >= 0.95, f"{accuracy:.1%} right; misses:\n" + "\n".join(wrong)


def test_the_samples_also_classify_without_the_code_argument() -> None:
    """Most replies carry their code in the text; the argument is a hint, not a crutch."""
    wrong = []
    for row in SAMPLES:
        if classify(row["response_text"]).category != row["category"]:
            wrong.append(row["response_text"][:120])
    assert 1 - len(wrong) / len(SAMPLES) >= 0.93, "\n".join(wrong)


def test_our_own_replies_generalise() -> None:
    """Replies written from knowledge of real providers' texts, not taken from the samples."""
    assert len(EXTRAS) >= 200
    per_category: dict[str, int] = {}
    for row in EXTRAS:
        per_category[row["category"]] = per_category.get(row["category"], 0) + 1
    assert all(per_category[c] >= 20 for c in CATEGORIES[:7]), per_category
    wrong = misses(EXTRAS)
    accuracy = 1 - len(wrong) / len(EXTRAS)
    assert accuracy >= 0.95, f"{accuracy:.1%} right; misses:\n" + "\n".join(wrong)


def test_every_category_occurs_in_the_samples() -> None:
    assert {row["category"] for row in SAMPLES} == set(CATEGORIES)


# --------------------------------------------------------------------------- judgement calls


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # An explicit PTR requirement beats the provider rate code beside it.
        (
            "554 5.7.1 Comcast requires that all mail servers must have a PTR record with a "
            "valid Reverse DNS entry. Learn more at "
            "https://postmaster.comcast.net/smtp-error-codes.php#RL000000",
            "policy_block",
        ),
        ("550 5.7.1 <b@example.org>: Recipient address rejected: blocked by policy_marketing", "policy_block"),
        ("554 5.7.1 Blocked by SpamAssassin", "content_spam"),
        ("553 sorry, your mail was administratively denied. (#5.7.1)", "policy_block"),
        # Yahoo TSS04: volume is a rate limit, complaints alone are reputation.
        (
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
            "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
            "rate_limit",
        ),
        (
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user "
            "complaints - 4.16.55.1; see https://help.yahoo.com/kb/postmaster/SLN3434.html",
            "ip_reputation_block",
        ),
        # Gmail: 4.7.28 is a rate limit, 5.7.28 a block, whatever the words.
        (
            "421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating "
            "from your IP address. - gsmtp",
            "rate_limit",
        ),
        (
            "550 5.7.28 Our system has detected an unusual rate of unsolicited mail originating "
            "from your IP address. - gsmtp",
            "ip_reputation_block",
        ),
        (
            "550-5.7.1 [192.0.2.1 1] Our system has detected an unusual rate of unsolicited mail "
            "originating from your IP address. To protect our users from spam, mail sent from "
            "your IP address has been blocked. - gsmtp",
            "ip_reputation_block",
        ),
        # A named blocklist beats "rejected"; "spam" inside a list name is not content.
        ("550 Rejected: 192.0.2.1 listed at zen.spamhaus.org", "dnsbl_listing"),
        ("554 5.7.1 blocked by SpamCop, see www.spamcop.net", "dnsbl_listing"),
        # The sender's domain not existing is policy; the recipient not existing is not.
        (
            "553 5.1.8 Domain of sender address bounce@nowhere.example does not exist",
            "policy_block",
        ),
        ("550 5.1.1 <someone@example.com>: user does not exist", "user_unknown"),
        # The recipient's own block list is policy, not a public blocklist.
        (
            "550 5.7.513 Service unavailable, Client host [192.0.2.1] blocked by example.com "
            "using Customer Block list (AS16012607)",
            "policy_block",
        ),
        # Proofpoint's list is its own reputation system although the URL says dnsbl.
        (
            "554 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.1",
            "ip_reputation_block",
        ),
        # DMARC "policy" is authentication, not policy_block.
        ("550 5.7.1 Email rejected per DMARC policy for example.com", "authentication_failure"),
        # Gmail "rate limited because DKIM didn't pass" is authentication, not a rate limit.
        (
            "421 4.7.30 Your email has been rate limited because DKIM authentication didn't pass",
            "authentication_failure",
        ),
        # Relaying denied is not a block reason.
        ("550 5.7.1 Relay access denied", "other"),
        # Greylisting wins over "recipient address rejected".
        (
            "450 4.2.0 <a@example.com>: Recipient address rejected: Greylisted for 60 seconds",
            "greylisting",
        ),
    ],
)
def test_judgement_calls(text: str, category: str) -> None:
    assert classify(text).category == category


def test_text_cues_override_generic_codes() -> None:
    assert classify("550 5.7.1 Mailbox full", 550).category == "mailbox_full"
    assert (
        classify("550 5.1.1 - 192.0.2.1 has sent to too many recipients this hour").category
        == "rate_limit"
    )
    assert (
        classify("552 5.1.1 Boite du destinataire pleine. Recipient overquota").category
        == "mailbox_full"
    )
    assert (
        classify(
            "554 5.0.0 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net"
        ).category
        == "dnsbl_listing"
    )


def test_specific_enhanced_codes_decide_when_the_words_do_not() -> None:
    assert classify("550 5.7.26 rejected").category == "authentication_failure"
    assert classify("550 5.2.2 rejected").category == "mailbox_full"
    assert classify("550 5.1.1 rejected").category == "user_unknown"
    assert classify("451 4.7.28 rejected").category == "rate_limit"
    assert classify("550 5.7.606 rejected").category == "ip_reputation_block"
    assert classify("550 5.7.1 rejected").category == "other"


def test_the_reply_class_matters_for_bare_421() -> None:
    assert classify("421 Service not available").category == "rate_limit"
    assert classify("Service not available", 421).category == "rate_limit"
    assert classify("450 4.2.1 Please try again later").category == "other"


def test_block_reasons_are_the_first_five_categories() -> None:
    assert frozenset(CATEGORIES[:5]) == BLOCK_REASONS
    assert classify("554 Client host blocked using zen.spamhaus.org").is_block_reason
    assert not classify("550 5.1.1 User unknown").is_block_reason
    assert not classify("452 4.2.2 Over quota").is_block_reason


# --------------------------------------------------------------------------- extracted fields


@pytest.mark.parametrize(
    ("needle", "provider", "enhanced", "provider_code"),
    [
        ("[TSS09] All messages from 192.0.2.25", "yahoo", "5.7.2", "TSS09"),
        ("[TS01] Messages from 50.57.111.177", "yahoo", "4.7.0", "TS01"),
        ("banned sending IP [185.234.72.45]", "microsoft", "5.7.606", "AS(1430)"),
        ("traffic not accepted from this IP", "microsoft", "5.7.708", "AS(7171)"),
        ("Customer Block list", "microsoft", None, "AS(16012607)"),
        ("MailFrom domain is listed in Spamhaus", "microsoft", "5.7.1", "S8002"),
        ("OFR_999", "orange", None, "OFR_999"),
        ("Boite du destinataire pleine", "orange", "5.1.1", "OFR_417"),
        ("AUP#CDRBL", "cox", "5.1.0", "AUP#CDRBL"),
        (
            "very low reputation of the sending domain. To best protect our users from spam, the message has been blocked. Please visit https://support.google.com/mail/answer/188131 for more information. - gsmtp",
            "gmail",
            None,
            None,
        ),
        ("[HME1] This message was blocked", "apple", "5.7.1", "HME1"),
        ("Comcast requires that all mail servers", "comcast", None, None),
        ("IB607", "godaddy", "5.1.1", "IB607"),
        ("ETP205 DMARC Failure", "unknown", "5.7.26", "ETP205"),
    ],
)
def test_fields_of_sample_replies(
    needle: str, provider: str, enhanced: str | None, provider_code: str | None
) -> None:
    row = next(r for r in SAMPLES if needle in r["response_text"])
    result = classify(row["response_text"])
    assert result.provider == provider
    if enhanced is not None:
        assert result.enhanced_code == enhanced
    assert result.provider_code == provider_code


def test_smtp_code_comes_from_the_argument_or_the_text() -> None:
    assert classify("550 5.1.1 User unknown").smtp_code == 550
    assert classify("550-5.7.1 [1.2.3.4] blocked").smtp_code == 550
    assert classify("User unknown", 550).smtp_code == 550
    assert classify("550 User unknown", 551).smtp_code == 551
    assert classify("User unknown").smtp_code is None
    assert classify("user unknown", "garbage").smtp_code is None  # type: ignore[arg-type]


def test_enhanced_code_comes_from_the_text_else_from_the_code_argument() -> None:
    assert classify("550 5.7.1 Relay access denied").enhanced_code == "5.7.1"
    assert classify("Relay access denied", 550).enhanced_code == "5.0.0"
    assert classify("Relay access denied").enhanced_code is None
    # An IP, a Yahoo status or an RFC section number is not an enhanced code.
    assert classify("421 Messages from 4.16.55.1 deferred").enhanced_code is None
    assert classify("550 Invalid HELO name (See RFC2821 4.1.1.1)").enhanced_code is None
    # The code of the reply's own class is preferred.
    assert classify("550 Bad thing 2.0.0 then 5.7.1 more").enhanced_code == "5.7.1"


def test_blocklists_are_named_by_zone_or_by_name() -> None:
    assert (
        classify("554 Client host [1.2.3.4] blocked using zen.spamhaus.org").blocklist
        == "zen.spamhaus.org"
    )
    assert (
        classify(
            "550 MailFrom domain is listed in Spamhaus. See https://www.spamhaus.org/x"
        ).blocklist
        == "Spamhaus"
    )
    assert (
        classify("550 Blacklisted in dnsbl-1.uceprotect.net").blocklist == "dnsbl-1.uceprotect.net"
    )
    assert classify("550 blocked using Cloudmark Sender Intelligence").blocklist == "Cloudmark CSI"
    # Mimecast's own reputation list: not queryable in DNS, so the name is what there is.
    mimecast = classify(
        "550 Local CT IP Reputation - (reject) - https://community.mimecast.com/docs/DOC-1369#550"
    )
    assert (mimecast.blocklist, mimecast.provider) == ("Mimecast", "mimecast")
    assert mimecast.category == "ip_reputation_block"
    assert (
        classify("550 blocked using Trend Micro RBL+. See http://www.mail-abuse.com/x").blocklist
        == "Trend Micro"
    )
    assert (
        classify("553 Blocked. See http://cbl.abuseat.org/lookup.cgi?ip=1.2.3.4").blocklist
        == "cbl.abuseat.org"
    )
    assert classify("550 5.1.1 User unknown").blocklist is None


def test_urls_and_ips_are_listed_in_order_without_duplicates() -> None:
    result = classify(
        "554 5.7.1 Client host [198.61.254.16] blocked using bl.spamcop.net; "
        "see http://www.spamcop.net/bl.shtml?198.61.254.16, earthlink.net/block and "
        "http://www.spamcop.net/bl.shtml?198.61.254.16. From [2a01:111:f200:2004::240]."
    )
    assert result.urls == ("http://www.spamcop.net/bl.shtml?198.61.254.16", "earthlink.net/block")
    assert result.ips == ("198.61.254.16", "2a01:111:f200:2004::240")


def test_classification_is_a_frozen_slotted_dataclass_with_json() -> None:
    result = classify("550 5.7.1 blocked using zen.spamhaus.org")
    assert dataclasses.is_dataclass(result) and not hasattr(result, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.category = "other"  # type: ignore[misc]
    data = result.to_json()
    assert list(data) == [
        "text", "category", "provider", "enhanced_code", "smtp_code",
        "provider_code", "blocklist", "urls", "ips", "signature",
    ]  # fmt: skip
    assert data["category"] == "dnsbl_listing" and isinstance(data["urls"], list)


# --------------------------------------------------------------------------- rule tables


def test_rule_tables_are_well_formed() -> None:
    for rule in P.TEXT_RULES:
        assert rule.category in CATEGORIES, rule
        literal = re.sub(r"\\.", "", rule.pattern)
        assert literal == literal.lower(), f"upper case in {rule.pattern!r}"
        re.compile(rule.pattern)
    for code_rule in P.CODE_RULES:
        assert code_rule.category in CATEGORIES
        re.compile(code_rule.pattern)
    for provider_rule in P.PROVIDER_RULES:
        re.compile(provider_rule.pattern)
    # The rule books compile each alternative on first use: every one of them must compile.
    for book in (C._BOOK, C._BLOCKLIST_NAMES):
        for pid, pattern in enumerate(book._pattern):
            book._search(pid, "")
            assert book._regex[pid] is not None and book._regex[pid].pattern == pattern


def test_an_upper_case_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="lower case"):
        C._check_lower_case(r"Spamhaus\b")


def test_the_prefilter_finds_exactly_what_plain_search_finds() -> None:
    """The word index is an optimisation: on every corpus reply it must agree with brute force."""
    book = C._BOOK
    for row in SAMPLES + EXTRAS + load("dev-replies.csv") + load("heldout-replies.csv"):
        norm = C.normalise(C.clean(row["response_text"]))
        assert list(book.matches(norm, text_keys(norm))) == list(book.search_all(norm)), norm


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["spam", "spamhaus", "blocked", "using", "zen.spamhaus.org", "ptr", "user", "unknown",
             "too", "many", "connections", "ofr_999", "[tss04]", "rate", "limited", "5.7.1", "(s3140)",
             "bl000000", "greylisted", "tls", "required", "quota", "x", "-", ".", ";", "antivirus",
             "reverse", "dns", "helo", "reputation", "sender", "address", "rejected", "no", "such"]
        )
        | st.text(max_size=8),
        max_size=25,
    )
)  # fmt: skip
def test_the_prefilter_agrees_with_plain_search_on_random_texts(words: list[str]) -> None:
    text = " ".join(words).lower()
    assert list(C._BOOK.matches(text)) == list(C._BOOK.search_all(text))


def test_split_alternatives_and_anchors() -> None:
    assert split_alternatives(r"a|b(c|d)|[|]|\|x") == ["a", "b(c|d)", "[|]", r"\|x"]
    anchors = anchors_of(r"gr[ea]y ?list", word_start=True)
    assert anchors is not None
    assert {a[0] for a in anchors} == {"greylist", "graylist", "grey list", "gray list"}
    assert anchors_of(r"\d+") is None


def test_rulebook_keeps_entry_order() -> None:
    book = RuleBook([(r"b", "second"), (r"a|b", "first-or-second"), (r"zzz", "never")])
    assert list(book.matches("a b")) == ["second", "first-or-second"]
    assert book.first("a") == "first-or-second"
    assert book.first("q") is None


# --------------------------------------------------------------------------- robustness


ODD_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")),
    st.lists(
        st.sampled_from(
            ["[bold]", "[/x]", "[@click=app.quit]", "\x1b[31m", "\x1b]8;;http://x\x07", "\x1b]0;t",
             "\x00", "\r\n", "\u202e", "550", "5.7.1", "-", "blocked using", "zen.spamhaus.org",
             "1.2.3.4", "::1", "a@b.co", "http://x.y/?q=1", "\udcff", "٣", "\t", "gsmtp", " - gsmtp"]
        ),
        max_size=40,
    ).map("".join),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(ODD_TEXT, st.one_of(st.none(), st.integers(-1000, 1000)))
def test_classify_never_raises_and_always_answers(text: str, code: int | None) -> None:
    result = classify(text, code)
    assert isinstance(result, Classification)
    assert result.category in CATEGORIES
    assert isinstance(result.signature, str) and isinstance(result.provider, str)
    assert all(isinstance(u, str) for u in result.urls)
    assert result.text == text


def test_a_megabyte_line_is_cheap_and_not_cached() -> None:
    for line in ("x" * 1_000_000, "a.a" * 400_000, "1:" * 500_000, "a@" * 500_000, "[" * 1_000_000):
        start = time.perf_counter()
        result = classify(line)
        assert time.perf_counter() - start < 2.0
        assert result.category in CATEGORIES
        assert len(result.signature) <= C.SCAN_CHARS * 2
    before = C._classify_cached.cache_info().currsize
    classify("y" * (C.CACHE_TEXT_LIMIT + 1))
    assert C._classify_cached.cache_info().currsize == before


def test_results_are_cached_by_text_and_code() -> None:
    C.clear_cache()
    first = classify("550 5.1.1 User unknown here", 550)
    assert classify("550 5.1.1 User unknown here", 550) is first
    assert classify("550 5.1.1 User unknown here", 551) is not first
    C.clear_cache()
    assert classify("550 5.1.1 User unknown here", 550) is not first


def test_bytes_are_decoded_not_rejected() -> None:
    result = classify(b"550 5.1.1 User unknown \xff\xfe")  # type: ignore[arg-type]
    assert result.category == "user_unknown"
    assert "\ufffd" in result.text
