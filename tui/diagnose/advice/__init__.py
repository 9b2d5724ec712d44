"""Advice for one block: what the replies say, what to do, and when to release.

:func:`advise` classifies every reply group of a block, weighs them by count and recency, and
turns the winning category into a headline, an explanation, ordered steps and a release rule,
using the tables of :mod:`tui.diagnose.playbook`. It is pure: no database, no network, no
terminal. Check results (DNS, blocklists, SPF/DKIM/DMARC) change the advice when the caller ran
them; they are read, never run, here.

Everything that came from outside (reply texts, database strings, check reasons) is passed
through :func:`tui.textsafe.printable` before it is put into a text, so the advice can be shown
or mailed as it is.

The modules, in the order the advice is built:

* ``records``: the facts in (:class:`BlockFacts`), the advice out (:class:`Advice`,
  :class:`ReleaseAdvice`), the unit of evidence (:class:`EvidenceReply`);
* ``evidence``: reply groups merged by signature and weighed by count and recency;
* ``sender``: the From domain and DKIM selector an authentication reply names;
* ``ranking``: which category leads and which comes second;
* ``receiver``: who refuses, and how the headline names it;
* ``categories``: the advice per category (rate limit, authentication, blocklist, reputation,
  policy), reading ``check_results``, proposing ``limits``;
* ``release``: when to release, against ListManager's own retry;
* ``compose``: :func:`advise`, which puts them together;
* ``text``: safe text, times and template filling shared by all of them.

Import from here (``from tui.diagnose.advice import advise``): the modules are its parts.
"""

from __future__ import annotations

from tui.db.records import ConnectionLimit
from tui.diagnose.advice.compose import advise
from tui.diagnose.advice.evidence import (
    EVIDENCE_CHARS,
    EVIDENCE_LINES,
    HALF_LIFE_HOURS,
    MIN_RECENCY,
    evidence_line,
    merge_replies,
)
from tui.diagnose.advice.limits import propose_limit
from tui.diagnose.advice.ranking import HARD_SHARE, MIXED_SHARE
from tui.diagnose.advice.records import (
    Advice,
    BlockFacts,
    Confidence,
    EvidenceReply,
    Kind,
    ReleaseAdvice,
    When,
)
from tui.diagnose.advice.release import release_command
from tui.diagnose.advice.sender import SENDER_SCAN_CHARS, sender_seen
from tui.diagnose.advice.text import fmt_time

__all__ = [
    "EVIDENCE_CHARS",
    "EVIDENCE_LINES",
    "HALF_LIFE_HOURS",
    "HARD_SHARE",
    "MIN_RECENCY",
    "MIXED_SHARE",
    "SENDER_SCAN_CHARS",
    "Advice",
    "BlockFacts",
    "Confidence",
    "ConnectionLimit",
    "EvidenceReply",
    "Kind",
    "ReleaseAdvice",
    "When",
    "advise",
    "evidence_line",
    "fmt_time",
    "merge_replies",
    "propose_limit",
    "release_command",
    "sender_seen",
]
