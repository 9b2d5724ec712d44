"""The sender side an authentication reply names: the From domain and DKIM selector, from
the replies, else ListManager's DKIM tables."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from tui.diagnose import playbook as PB
from tui.diagnose.advice.evidence import _Scored
from tui.diagnose.advice.records import BlockFacts
from tui.diagnose.advice.text import _Fill, _safe
from tui.diagnose.classify import normalise
from tui.diagnose.patterns import AUTH, POLICY

_SENDER_DOMAIN = tuple(re.compile(p) for p in PB.SENDER_DOMAIN_PATTERNS)
_SELECTOR = re.compile(PB.DKIM_SELECTOR_PATTERN)
SENDER_SCAN_CHARS = 2000


def sender_seen(text: str) -> tuple[list[str], list[str]]:
    """(sender domains, DKIM selectors) an authentication reply names, in order."""
    norm = normalise(text if isinstance(text, str) else str(text))[:SENDER_SCAN_CHARS]
    domains: list[str] = []
    for regex in _SENDER_DOMAIN:
        for m in regex.finditer(norm):
            domains.append(m.group(1).strip(".-"))
    selectors = [m.group(1).strip(".-") for m in _SELECTOR.finditer(norm)]
    return list(dict.fromkeys(d for d in domains if "." in d)), list(dict.fromkeys(selectors))


def _fill_sender(fill: _Fill, facts: BlockFacts, pool: Sequence[_Scored]) -> None:
    """``{from_domain}``, ``{selector}`` and ``{selector_arg}``: from the authentication
    replies, else ListManager's only DKIM domain; ``<From domain>``/``<selector>`` only when
    neither tells."""
    domains: list[str] = []
    selectors: list[str] = []
    for s in sorted(pool, key=lambda s: s.cls.category != AUTH):
        if s.cls.category not in (AUTH, POLICY):
            continue
        d, sel = sender_seen(s.reply.text)
        domains += d
        selectors += sel
    known = {k.lower(): v for k, v in facts.dkim_selectors.items()}
    domain = next((d for d in domains if d in known), domains[0] if domains else "")
    if not domain and len(known) == 1:
        domain = next(iter(known))
    listed = list(known.get(domain, ())) if domain else []
    selector = (listed or selectors or [""])[0]
    fill["from_known"] = _safe(domain, 253)
    fill["from_domain"] = fill["from_known"] or "<From domain>"
    fill["selector"] = _safe(selector, 63) or "<selector>"
    fill["selector_arg"] = (
        f" --dkim-selector {shlex.quote(_safe(selector, 63))}" if selector else ""
    )
