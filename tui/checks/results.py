"""The result of one check: what was tested, the verdict, one line of why, and the raw records.

A result is plain data so the console, the CLI and JSON output all show the same thing. The
``reason`` is one line written by us; it may quote DNS text (a tag value, an SPF term, a delist
URL), so it is made safe on creation: whitespace runs become one space, control characters
become visible escapes (:func:`tui.textsafe.printable`) and it is cut at
:data:`REASON_MAX_CHARS`. Raw DNS text (TXT records can hold any bytes) goes into ``evidence``
and must be shown through :func:`tui.textsafe.printable`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tui.textsafe import printable

Status = Literal["pass", "warn", "fail", "not_tested"]

PASS: Status = "pass"
WARN: Status = "warn"
FAIL: Status = "fail"
NOT_TESTED: Status = "not_tested"

STATUSES: tuple[Status, ...] = (PASS, WARN, FAIL, NOT_TESTED)

# Severity used to pick the worst of several findings; not_tested never hides a failure.
_SEVERITY = {PASS: 0, NOT_TESTED: 1, WARN: 2, FAIL: 3}

# The order results are listed in when collected (the engine itself reports as they come).
CHECK_ORDER: tuple[str, ...] = (
    "mx",
    "blocking-mx",
    "ptr",
    "fcrdns",
    "helo",
    "dnsbl-zone",
    "dnsbl",
    "spf-record",
    "spf-lookups",
    "spf",
    "dmarc",
    "dkim-record",
    "dkim-key-match",
    "dkim-sign-verify",
    "internal",
)


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status of ``statuses`` (``pass`` when empty)."""
    result: Status = PASS
    for status in statuses:
        if _SEVERITY[status] > _SEVERITY[result]:
            result = status
    return result


REASON_MAX_CHARS = 2000
"""Longest reason kept (a hostile record could make one of megabytes)."""


def _one_line(text: str) -> str:
    return printable(" ".join(str(text).split()), max_chars=REASON_MAX_CHARS)


@dataclass(frozen=True)
class CheckResult:
    """One verdict.

    ``check`` names the kind of check (see :data:`CHECK_ORDER`), ``subject`` what was checked
    (``"192.0.2.10 on zen.spamhaus.org"``); ``details`` holds structured fields such as
    ``domain``, ``ip``, ``zone`` or ``selector`` so a UI can group results without parsing the
    subject. ``details`` must hold only JSON-compatible values.
    """

    check: str
    subject: str
    status: Status
    reason: str
    evidence: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        object.__setattr__(self, "reason", _one_line(self.reason))
        object.__setattr__(self, "evidence", tuple(str(e) for e in self.evidence))

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``json.dumps`` (print it with ``ensure_ascii``)."""
        return {
            "check": self.check,
            "subject": self.subject,
            "status": self.status,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "details": dict(self.details),
        }

    def sort_key(self) -> tuple[int, str]:
        """Stable listing order: by kind of check, then by subject."""
        try:
            index = CHECK_ORDER.index(self.check)
        except ValueError:
            index = len(CHECK_ORDER)
        return (index, self.subject)


def summarize(results: Iterable[CheckResult]) -> dict[str, int]:
    """Count results per status: ``{"pass": n, "warn": n, "fail": n, "not_tested": n}``."""
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return counts
