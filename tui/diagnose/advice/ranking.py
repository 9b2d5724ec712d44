"""Which category leads the advice and which comes second: the weights of the replies, the
causes the checks confirm, and hard, fixable causes before throttles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from tui.diagnose import playbook as PB
from tui.diagnose.advice.categories import _policy_cause
from tui.diagnose.advice.check_results import _AUTH_CHECK_ORDER, _checks, _detail, _reason
from tui.diagnose.advice.evidence import _Scored
from tui.diagnose.advice.records import BlockFacts
from tui.diagnose.advice.text import _safe
from tui.diagnose.classify import BLOCK_REASONS
from tui.diagnose.patterns import AUTH, CONTENT, DNSBL, IP_REPUTATION, OTHER, POLICY, RATE

if TYPE_CHECKING:
    from tui.checks.results import CheckResult


MIXED_SHARE = 0.25
"""A second block reason is reported (``mixed``) when it weighs this much of the first."""


def _scores(scored: Sequence[_Scored]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for s in scored:
        totals[s.cls.category] = totals.get(s.cls.category, 0.0) + s.weight
    return totals


def _tier(category: str) -> int:
    if category in BLOCK_REASONS:
        return 2
    if category in (CONTENT, OTHER):
        return 1
    return 0


HARD_SHARE = 0.25
"""A hard, fixable cause leads once it weighs this much of a throttle's replies."""
_SOFT = frozenset({RATE, IP_REPUTATION})
_HARD = frozenset({AUTH, POLICY, DNSBL})
_CHECKS_OF: dict[str, tuple[str, ...]] = {
    POLICY: ("ptr", "fcrdns", "helo"),
    AUTH: _AUTH_CHECK_ORDER,
    DNSBL: ("dnsbl",),
}


def _fixable(category: str, pool: Sequence[_Scored]) -> bool:
    """A hard cause the sender can fix (a recipient's own block list is not one)."""
    if category not in _HARD:
        return False
    if category == POLICY:
        cause = _policy_cause(s for s in pool if s.cls.category == POLICY)
        return cause is None or not cause.allowlist_only
    return True


def _ips_of(facts: BlockFacts) -> set[str]:
    return {facts.ip} if facts.kind == "ip" and facts.ip else set(facts.stream_ips)


def _failing_checks(facts: BlockFacts, category: str, sender: str = "") -> list[CheckResult]:
    """Failed checks that bear on ``category``: DNS checks of this block's IPs, authentication
    checks of ``sender`` (the From domain the replies name) when it is known."""
    names = _CHECKS_OF.get(category, ())
    ips = _ips_of(facts)
    out = []
    for r in _checks(facts, names):
        if r.status != "fail":
            continue
        ip = _detail(r, "ip")
        if category in (POLICY, DNSBL) and ip and ips and ip not in ips:
            continue
        if category == AUTH and sender and _detail(r, "domain").lower() != sender:
            continue
        out.append(r)
    return out


def _confirmed_by_checks(
    facts: BlockFacts, pool: Sequence[_Scored], sender: str
) -> dict[str, list[CheckResult]]:
    """Block-reason categories of the replies that the checks the user ran confirm."""
    present = {s.cls.category for s in pool}
    out: dict[str, list[CheckResult]] = {}
    for category in _CHECKS_OF:
        if category in present:
            failing = _failing_checks(facts, category, sender)
            if failing:
                out[category] = failing
    return out


def _rank(
    pool: Sequence[_Scored], totals: dict[str, float], confirmed: Mapping[str, object]
) -> tuple[str, str | None, str]:
    """(primary, secondary, why the order differs from the weights).

    Block reasons before the rest; among them a cause the checks confirm first, then the
    heaviest; but a hard, fixable cause (authentication, a policy such as reverse DNS, a
    blocklist) leads a throttle or reputation deferral once it has :data:`HARD_SHARE` of its
    weight: it refuses mail by itself, throttles often follow from it, and no connection limit
    fixes it.
    """
    category = max(totals, key=lambda c: (_tier(c), c in confirmed, totals[c]))
    why = ""
    if category in _SOFT:
        hard = sorted(
            (c for c in totals if _fixable(c, pool) and totals[c] >= HARD_SHARE * totals[category]),
            key=lambda c: (c in confirmed, totals[c]),
            reverse=True,
        )
        if hard:
            soft = category
            category = hard[0]
            why = (
                f"The {PB.PLAYS[category].title} replies come first although the "
                f"{PB.PLAYS[soft].title} replies weigh more: they point at a cause you can fix, "
                "which refuses mail by itself and often brings the throttling with it."
            )
    elif category in confirmed and category not in _SOFT:
        top = max(totals, key=lambda c: (_tier(c), totals[c]))
        if top != category:
            why = (
                f"The {PB.PLAYS[category].title} replies come first: the checks confirm them "
                "(see below)."
            )
    secondary = None
    if category in BLOCK_REASONS:
        rivals = sorted(
            ((c, w) for c, w in totals.items() if c in BLOCK_REASONS and c != category),
            key=lambda cw: -cw[1],
        )
        if rivals and (rivals[0][1] >= MIXED_SHARE * totals[category] or why):
            secondary = rivals[0][0]
    return category, secondary, why


def _unconfirmed_findings(
    facts: BlockFacts, category: str, secondary: str | None, sentences: list[str], sender: str
) -> list[str]:
    """Steps for checks that failed on a cause no reply names: they go first. Authentication
    checks count only for the sender domain the replies name (``k`` checks every sending
    domain of the stream, most of them not this block's)."""
    steps: list[str] = []
    for other in (POLICY, AUTH, DNSBL):
        if other in (category, secondary) or (other == AUTH and not sender):
            continue
        failing = _failing_checks(facts, other, sender)
        if not failing:
            continue
        found = "; ".join(
            f"{_safe(r.check, 20)} {_safe(r.subject, 80)}: {_reason(r)}" for r in failing[:3]
        )
        key = PB.CONSOLE_AUTH_KEY if other == AUTH else PB.CONSOLE_DNS_KEY
        sentences.append(f"The checks ({key}) also found: {found}.")
        steps.append(
            f"Fix what the checks found first ({found}): receivers throttle or refuse mail "
            "for it, so the other steps cannot work while it fails."
        )
    return steps
