"""Reading the check results (DNS, blocklists, SPF/DKIM/DMARC) the caller ran: which bear on
a block, and how a failing authentication check is put as a step."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from tui.diagnose.advice.records import BlockFacts
from tui.diagnose.advice.text import _safe

if TYPE_CHECKING:
    from tui.checks.results import CheckResult


# --------------------------------------------------------------------------- check results


def _checks(facts: BlockFacts, names: Iterable[str]) -> list[CheckResult]:
    wanted = set(names)
    return [r for r in facts.check_results if getattr(r, "check", None) in wanted]


def _detail(result: CheckResult, key: str) -> str:
    details = getattr(result, "details", None)
    value = details.get(key) if isinstance(details, dict) else None
    return _safe(value, 253) if value not in (None, "") else ""


def _reason(result: CheckResult) -> str:
    return _safe(getattr(result, "reason", ""), 300)


def _auth_check_step(result: CheckResult, fill: Mapping[str, str] | None = None) -> str:
    """One step naming a failing authentication check."""
    known = fill or {}
    domain = _detail(result, "domain") or "the From domain"
    selector = _detail(result, "selector")
    reason = _reason(result)
    check = result.check
    if check == "dkim-key-match":
        sel = selector or known.get("selector") or "<selector>"
        domain = _detail(result, "domain") or known.get("from_domain") or "<From domain>"
        return (
            f"ListManager is sending UNSIGNED mail for {domain}: publish at "
            f"{sel}._domainkey.{domain} the public key that matches ListManager's private key "
            f"for selector {sel}, or re-import the private key that matches the published one "
            f"(check: {reason})."
        )
    if check == "dkim-record":
        return f"DKIM key record {_safe(result.subject, 300)}: {reason}; publish a valid key."
    if check == "dkim-sign-verify":
        return f"A test message signed with selector {selector or '?'} does not verify: {reason}."
    if check == "spf":
        ip = _detail(result, "ip") or "the sending IP"
        mech = "ip6" if ":" in ip else "ip4"
        return (
            f"SPF of {domain} does not authorize {ip}: {reason}; add {mech}:{ip} (or an "
            "include that covers it)."
        )
    if check == "spf-lookups":
        return f"SPF of {domain} needs too many DNS lookups: {reason}; flatten or drop includes."
    if check == "spf-record":
        return f"SPF record of {domain}: {reason}."
    if check == "dmarc":
        return (
            f"DMARC of {domain}: {reason}; publish v=DMARC1; p=none; rua=mailto:… at "
            f"_dmarc.{domain} at least."
        )
    return f"{_safe(check, 40)} {_safe(result.subject, 200)}: {reason}."


_AUTH_CHECK_ORDER = ("dkim-key-match", "dkim-record", "dkim-sign-verify", "spf", "spf-record",
                     "spf-lookups", "dmarc")  # fmt: skip


def _failing_label(result: CheckResult) -> str:
    selector = _detail(result, "selector")
    return {
        "dkim-key-match": f"DKIM key mismatch{f' for selector {selector}' if selector else ''} "
        "(ListManager sends unsigned)",
        "dkim-record": f"DKIM record{f' of selector {selector}' if selector else ''}",
        "dkim-sign-verify": "DKIM signature verification",
        "spf": "SPF for the sending IP",
        "spf-record": "the SPF record",
        "spf-lookups": "SPF lookup count",
        "dmarc": "DMARC",
    }.get(result.check, _safe(result.check, 40))
