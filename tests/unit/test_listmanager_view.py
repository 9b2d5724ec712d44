"""ListManager's own classification of a reply from its lyrDAODefinitions rows."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.diagnose.listmanager_view import (
    AREA_INCOMING,
    AREA_SMTP_SEND,
    INPUT_CAP,
    PATTERN_REGEX,
    PATTERN_ROOTED,
    PATTERN_SUBSTRING,
    DaoDefinition,
    DaoMatcher,
    listmanager_status,
)

LABELS = {2001: "Invalid user", 3001: "Mailbox full", 8001: "Content filtered", 9001: "Banned IP"}


def d(
    kind: int, pattern: str, status: int, code: int | None = None, area: int = AREA_SMTP_SEND
) -> DaoDefinition:
    return DaoDefinition(area, kind, code, status, pattern)


def test_substring_rooted_and_regex_rows() -> None:
    matcher = DaoMatcher(
        [
            d(PATTERN_SUBSTRING, "mailbox full", 3001),
            d(PATTERN_ROOTED, "550 5.1.1", 2001),
            d(PATTERN_REGEX, r"blocked using \S+\.spamhaus\.org", 9001),
        ],
        LABELS,
    )
    assert matcher.match("452 4.2.2 Sorry, MAILBOX FULL") == (3001, "Mailbox full")
    assert matcher.match("550 5.1.1 <a@b.c>: no such user") == (2001, "Invalid user")
    assert matcher.match("  550 5.1.1 leading blanks are ignored for rooted rows") == (
        2001,
        "Invalid user",
    )
    assert matcher.match("554 user 550 5.1.1 not at the start") is None
    assert matcher.match("554 Client host [1.2.3.4] Blocked using zen.SPAMHAUS.org") == (
        9001,
        "Banned IP",
    )
    assert matcher.match("250 2.0.0 OK") is None


def test_first_matching_row_wins_in_the_given_order() -> None:
    rows = [d(PATTERN_SUBSTRING, "spam", 8001), d(PATTERN_SUBSTRING, "spamhaus", 9001)]
    assert listmanager_status("blocked using zen.spamhaus.org", rows, LABELS) == (
        8001,
        "Content filtered",
    )
    assert listmanager_status("blocked using zen.spamhaus.org", rows[::-1], LABELS) == (
        9001,
        "Banned IP",
    )


def test_only_smtp_send_rows_apply() -> None:
    rows = [d(PATTERN_SUBSTRING, "user unknown", 2001, area=AREA_INCOMING)]
    matcher = DaoMatcher(rows, LABELS)
    assert len(matcher) == 0
    assert matcher.match("550 user unknown") is None
    assert matcher.problems == ()


def test_smtp_response_code_must_match_when_set() -> None:
    matcher = DaoMatcher(
        [
            d(PATTERN_SUBSTRING, "try later", 9001, code=421),
            d(PATTERN_SUBSTRING, "try later", 3001, code=0),
        ],
        LABELS,
    )
    assert matcher.match("421 4.7.0 try later") == (9001, "Banned IP")
    assert matcher.match("451 4.7.0 try later") == (3001, "Mailbox full")  # code 0 means any code
    assert matcher.match("try later", code=421) == (9001, "Banned IP")
    assert matcher.match("try later") == (3001, "Mailbox full")  # unknown code: coded rows skipped


def test_bad_rows_are_skipped_and_reported_never_raised() -> None:
    rows = [
        d(PATTERN_REGEX, "(unclosed", 8001),
        d(7, "whatever", 8001),
        d(PATTERN_REGEX, "[[:digit:]]{3} spam", 8001),
        d(PATTERN_REGEX, "[[:bogus:]]x", 8001),
        d(PATTERN_SUBSTRING, "user unknown", 2001),
    ]
    matcher = DaoMatcher(rows, LABELS)
    problems = "\n".join(matcher.problems)
    assert "row 1: invalid regular expression" in problems
    assert "row 2: unknown PatternType 7" in problems
    assert "row 4: unknown character class [:bogus:]" in problems
    assert "row 3" not in problems  # POSIX [:digit:] is understood
    assert matcher.match("550 user unknown") == (2001, "Invalid user")
    assert matcher.match("554 123 spam") == (8001, "Content filtered")


def test_a_status_without_label_is_shown_by_number() -> None:
    assert listmanager_status("x user unknown", [d(PATTERN_SUBSTRING, "user unknown", 4242)]) == (
        4242,
        "4242",
    )


def test_rows_from_a_database_are_coerced() -> None:
    row = {
        "Area": "1",
        "PATTERNTYPE": 2,
        "SMTPResponseCode": None,
        "ClassificationCode": "2001",
        "Pattern": b"no such user",
    }
    definition = DaoDefinition.from_row(row)
    assert definition == DaoDefinition(1, 2, None, 2001, "no such user")
    assert DaoMatcher([definition], LABELS).match("550 No Such User") == (2001, "Invalid user")
    odd = DaoDefinition.from_row({"area": "x", "pattern": None})
    assert odd.area == -1 and odd.pattern == ""


def test_input_is_capped() -> None:
    matcher = DaoMatcher(
        [d(PATTERN_SUBSTRING, "needle", 2001), d(PATTERN_REGEX, "haystack$", 8001)], LABELS
    )
    assert matcher.match("x" * (INPUT_CAP + 10) + "needle") is None  # beyond the cap
    assert matcher.match("x" * 10 + "needle") == (2001, "Invalid user")
    assert matcher.match("x" * (INPUT_CAP - 8) + "haystack" + "tail") == (8001, "Content filtered")


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(?:\w*\s?)*x", r"(a|aa)+(b*)*c", r"((ab)+)*"])
def test_regexes_that_can_take_exponential_time_are_skipped(pattern: str) -> None:
    matcher = DaoMatcher([d(PATTERN_REGEX, pattern, 8001)], LABELS)
    assert len(matcher) == 0
    assert "exponential" in matcher.problems[0]
    start = time.perf_counter()
    assert matcher.match("a" * 40 + "!") is None
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    "pattern", [r"\d{3}\s+\w+", r"(?:user|recipient) unknown", r"(ab){2,5}c+", r"x(?:y+z)?"]
)
def test_ordinary_regexes_are_kept(pattern: str) -> None:
    matcher = DaoMatcher([d(PATTERN_REGEX, pattern, 8001)], LABELS)
    assert len(matcher) == 1 and matcher.problems == ()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.one_of(st.none(), st.integers(0, 999)))
def test_matching_never_raises(text: str, code: int | None) -> None:
    matcher = DaoMatcher(
        [
            d(PATTERN_REGEX, r"\d{3}\s+\w+", 8001),
            d(PATTERN_ROOTED, "5", 2001, code=550),
            d(PATTERN_SUBSTRING, "", 3001, code=421),
        ],
        LABELS,
    )
    result = matcher.match(text, code)
    assert result is None or result[0] in LABELS


@pytest.mark.parametrize("value", [None, 12, b"\xff550 user unknown"])
def test_non_text_replies_do_not_crash(value: object) -> None:
    matcher = DaoMatcher([d(PATTERN_SUBSTRING, "user unknown", 2001)], LABELS)
    assert matcher.match(value) in (None, (2001, "Invalid user"))  # type: ignore[arg-type]
