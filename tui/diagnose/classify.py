"""Classify one SMTP reply: why was it refused, by whom, citing which blocklist.

``classify(text, code)`` is pure and fast:

* results are cached by the exact text and code (a delivery log repeats the same few hundred
  replies over and over);
* on a cache miss the rule tables of :mod:`tui.diagnose.patterns` are not all run: the reply is
  cut into words once and only the rules whose first word occurs are tried
  (:mod:`tui.diagnose._prefilter`), and each masking step of the signature runs only when its
  trigger character is present;
* every step looks at the first :data:`SCAN_CHARS` characters, and every regex here is bounded
  or anchored at the start of a run, so a megabyte of garbage costs no more than a long reply.

The reading of the text (cleaned and normalised form, codes, URLs, IPs) is in
:mod:`tui.diagnose.reply_text` and the signature in :mod:`tui.diagnose.signature`; both are
re-exported here (``classify.normalise``, ``classify.signature`` …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tui.diagnose import patterns as P
from tui.diagnose._prefilter import RuleBook, text_keys
from tui.diagnose.reply_text import (
    _LABEL,
    CACHE_SIZE,
    CACHE_TEXT_LIMIT,
    SCAN_CHARS,
    _coerce,
    _ip_spans,
    _url_spans,
    _urls,
    clean,
    enhanced_code_of,
    ips_of,
    normalise,
    smtp_code_of,
    urls_of,
)
from tui.diagnose.signature import _signature_cached, _signature_of_clean, signature

__all__ = [
    "BLOCK_REASONS",
    "CACHE_SIZE",
    "CACHE_TEXT_LIMIT",
    "CATEGORIES",
    "SCAN_CHARS",
    "Classification",
    "blocklist_of",
    "category_of",
    "classify",
    "clean",
    "clear_cache",
    "enhanced_code_of",
    "ips_of",
    "normalise",
    "provider_code_of",
    "provider_of",
    "signature",
    "smtp_code_of",
    "urls_of",
]


CATEGORIES = P.CATEGORIES
BLOCK_REASONS = P.BLOCK_REASONS


@dataclass(frozen=True, slots=True)
class Classification:
    """What one reply says, as far as its text tells."""

    text: str
    category: str
    provider: str
    enhanced_code: str | None
    smtp_code: int | None
    provider_code: str | None
    blocklist: str | None
    urls: tuple[str, ...]
    ips: tuple[str, ...]
    signature: str

    @property
    def is_block_reason(self) -> bool:
        """True when the reply is a reason a *mailstream* is blocked, not a per-recipient outcome."""
        return self.category in BLOCK_REASONS

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "text": self.text,
            "category": self.category,
            "provider": self.provider,
            "enhanced_code": self.enhanced_code,
            "smtp_code": self.smtp_code,
            "provider_code": self.provider_code,
            "blocklist": self.blocklist,
            "urls": list(self.urls),
            "ips": list(self.ips),
            "signature": self.signature,
        }


# --------------------------------------------------------------------------- compiled tables


def _check_lower_case(pattern: str) -> str:
    """Rules run on lower-cased text: an upper-case literal could never match."""
    literal = re.sub(r"\\.", "", pattern)
    if literal != literal.lower():
        raise ValueError(f"rule pattern must be lower case: {pattern!r}")
    return pattern


def _when(when: str) -> tuple[int | None, int | None]:
    """``"4xx"`` → (4, None); ``"421"`` → (None, 421); ``""`` → (None, None)."""
    if not when:
        return None, None
    if when.endswith("xx"):
        return int(when[0]), None
    return None, int(when)


# A rule's verdict: (priority, table order, category, reply class wanted, exact code wanted)
_Verdict = tuple[int, int, str, int | None, int | None]


def _compile_rules() -> tuple[
    list[tuple[str, _Verdict]], tuple[tuple[re.Pattern[str], _Verdict], ...]
]:
    text: list[tuple[str, _Verdict]] = []
    codes: list[tuple[re.Pattern[str], _Verdict]] = []
    for order, rule in enumerate(P.TEXT_RULES):
        if rule.category not in CATEGORIES:
            raise ValueError(f"unknown category {rule.category!r} in rule {rule.pattern!r}")
        text.append(
            (
                _check_lower_case(rule.pattern),
                (rule.priority, order, rule.category, *_when(rule.when)),
            )
        )
    for order, rule in enumerate(P.CODE_RULES, start=len(P.TEXT_RULES)):
        if rule.category not in CATEGORIES:
            raise ValueError(f"unknown category {rule.category!r} in code rule {rule.pattern!r}")
        codes.append(
            (re.compile(rule.pattern), (rule.priority, order, rule.category, *_when(rule.when)))
        )
    # Highest priority first; on a tie the rule written first.
    text.sort(key=lambda item: (-item[1][0], item[1][1]))
    codes.sort(key=lambda item: (-item[1][0], item[1][1]))
    return text, tuple(codes)


_TEXT_RULES_SOURCE, _CODE_RULES = _compile_rules()
_PROVIDER_HINTS = tuple((re.compile(r.pattern), r.provider) for r in P.PROVIDER_BY_CODE)
_PROVIDER_CODE_REGEXES = tuple(re.compile(p) for p in P.PROVIDER_CODE_PATTERNS)
_BLOCKLIST_NAMES: RuleBook[str] = RuleBook(
    ((_check_lower_case(b.pattern), b.name) for b in P.BLOCKLIST_NAMES), word_start=True
)

# The four tables every reply is checked against, in one book so one pass over the candidate
# rules answers all four: ("rule", verdict), ("provider", name), ("pcode", index), ("gate", True).
_BOOK: RuleBook[tuple[str, Any]] = RuleBook(
    [(pattern, ("rule", verdict)) for pattern, verdict in _TEXT_RULES_SOURCE]
    + [(_check_lower_case(r.pattern), ("provider", r.provider)) for r in P.PROVIDER_RULES]
    + [(_check_lower_case(p), ("pcode", i)) for i, p in enumerate(P.PROVIDER_CODE_PATTERNS)]
    + [(b.pattern, ("gate", True)) for b in P.BLOCKLIST_NAMES]
    + [(re.escape(d), ("gate", True)) for d in P.DNSBL_DOMAINS]
    + [(r"blocked using|listed |black ?list|rbl|dnsbl", ("gate", True))],
    word_start=True,
)


def _group(payload: tuple[str, Any]) -> str:
    return payload[0]


def _scan(norm: str, keys: set[str], klass: int | None, smtp_code: int | None) -> dict[str, Any]:
    """First matching entry of each table: {"rule": verdict, "provider": …, "pcode": …, "gate": …}."""

    def accept(payload: tuple[str, Any]) -> bool:
        if payload[0] != "rule":
            return True
        want_class, want_code = payload[1][3], payload[1][4]
        return (want_class is None or want_class == klass) and (
            want_code is None or want_code == smtp_code
        )

    found = _BOOK.first_per_group(norm, keys, _group, accept)
    return {group: payload[1] for group, payload in found.items()}


_DNSBL_ZONE = re.compile(
    r"(?<![\w.-])((?:"
    + _LABEL
    + r"\.){0,8}(?:"
    + "|".join(re.escape(d) for d in P.DNSBL_DOMAINS)
    + r"))(?![\w-])"
)
_CUED_ZONE = re.compile(
    r"(?:blocked using|listed (?:in|at|on|by)|black ?list(?:ed)? (?:at|in|on|by)|rbl (?:on|at)"
    r"|dnsbl (?:at|:))\s{1,3}((?:" + _LABEL + r"\.){1,8}[a-z]{2,24})\b"
)


def _klass(enhanced: str | None, smtp_code: int | None) -> int | None:
    return smtp_code // 100 if smtp_code else (int(enhanced[0]) if enhanced else None)


def _provider_code(norm: str, index: int | None) -> str | None:
    if index is None:
        return None
    m = _PROVIDER_CODE_REGEXES[index].search(norm)
    if m is None:  # pragma: no cover - the scan said it matches
        return None
    code = next(g for g in m.groups() if g)
    if code.startswith("c="):
        return code  # GMX's explanation code is lower case
    code = code.upper()
    if code.startswith("AS") and "(" not in code:
        code = f"AS({code[2:]})"
    return code


def provider_code_of(norm: str, keys: set[str] | None = None) -> str | None:
    """The provider's own reason code (S3140, TSS04, BL000000, OFR005_104, AS(1430) …)."""
    keys = text_keys(norm) if keys is None else keys
    return _provider_code(norm, _scan(norm, keys, None, None).get("pcode"))


def _provider(name: str | None, enhanced: str | None) -> str:
    if name is not None:
        return name
    if enhanced:
        for pattern, hint in _PROVIDER_HINTS:
            if pattern.fullmatch(enhanced):
                return hint
    return "unknown"


def provider_of(norm: str, enhanced: str | None = None, keys: set[str] | None = None) -> str:
    """The receiver, from text cues in the normalised reply, else from a provider-only code."""
    keys = text_keys(norm) if keys is None else keys
    return _provider(_scan(norm, keys, None, None).get("provider"), enhanced)


def _blocklist(norm: str, keys: set[str]) -> str | None:
    spans = _url_spans(norm)
    bare = norm
    for a, b in reversed(spans):
        bare = bare[:a] + " " + bare[b:]
    found = [(m.start(1), m.group(1)) for m in _DNSBL_ZONE.finditer(bare)]
    found += [(m.start(1), m.group(1)) for m in _CUED_ZONE.finditer(bare)]
    zones = [(pos, z) for pos, z in found if not z.startswith("www.") and "cloudmark" not in z]
    if zones:
        return min(zones)[1]
    name = _BLOCKLIST_NAMES.first(bare)
    if name is not None:
        return name
    for a, b in spans:
        host = norm[a:b].split("://", 1)[-1].split("/", 1)[0]
        if _DNSBL_ZONE.fullmatch(host) and not host.startswith("www.") and "cloudmark" not in host:
            return host
    return _BLOCKLIST_NAMES.first(norm, keys)


def blocklist_of(norm: str, keys: set[str] | None = None) -> str | None:
    """The DNS zone or named list the reply cites; zones outside URLs first."""
    keys = text_keys(norm) if keys is None else keys
    if "gate" not in _scan(norm, keys, None, None):
        return None
    return _blocklist(norm, keys)


def _category(verdict: _Verdict | None, enhanced: str | None, smtp_code: int | None) -> str:
    """The text rule's verdict unless an enhanced-code rule of higher priority holds."""
    if enhanced is not None:
        klass = _klass(enhanced, smtp_code)
        for regex, code_verdict in _CODE_RULES:
            if verdict is not None and (code_verdict[0], -code_verdict[1]) <= (
                verdict[0],
                -verdict[1],
            ):
                break
            want_class, want_code = code_verdict[3], code_verdict[4]
            applies = (want_class is None or want_class == klass) and (
                want_code is None or want_code == smtp_code
            )
            if applies and regex.fullmatch(enhanced):
                verdict = code_verdict
                break
    return verdict[2] if verdict is not None else P.OTHER


def category_of(
    norm: str, enhanced: str | None, smtp_code: int | None, keys: set[str] | None = None
) -> str:
    """The category of the highest-priority rule that holds (text rule or enhanced-code rule)."""
    keys = text_keys(norm) if keys is None else keys
    found = _scan(norm, keys, _klass(enhanced, smtp_code), smtp_code)
    return _category(found.get("rule"), enhanced, smtp_code)


def _code_arg(code: object) -> int | None:
    if code is None or isinstance(code, bool):
        return None
    try:
        value = int(code)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 100 <= value <= 599 else None


def _classify(text: str, code: int | None) -> Classification:
    head = clean(text)
    smtp_code = code if code is not None else smtp_code_of(head)
    enhanced = enhanced_code_of(head, smtp_code)
    norm = normalise(head)
    keys = text_keys(norm)
    if enhanced is None and code is not None and 2 <= code // 100 <= 5:
        reported = f"{code // 100}.0.0"  # derived from the code the caller gave
    else:
        reported = enhanced
    found = _scan(norm, keys, _klass(enhanced, smtp_code), smtp_code)
    spans = _url_spans(head)
    ip_spans = _ip_spans(head)
    return Classification(
        text=text,
        category=_category(found.get("rule"), enhanced, smtp_code),
        provider=_provider(found.get("provider"), enhanced),
        enhanced_code=reported,
        smtp_code=smtp_code,
        provider_code=_provider_code(norm, found.get("pcode")),
        blocklist=_blocklist(norm, keys) if "gate" in found else None,
        urls=_urls(head, spans),
        ips=tuple(dict.fromkeys(ip for _, _, ip in ip_spans)),
        signature=_signature_of_clean(head, spans, ip_spans),
    )


@lru_cache(maxsize=CACHE_SIZE)
def _classify_cached(text: str, code: int | None) -> Classification:
    return _classify(text, code)


def classify(text: str, code: int | None = None) -> Classification:
    """Classify one SMTP reply; ``code`` is the reply code when the caller knows it.

    Never raises on odd input: any text (control characters, markup, invalid UTF-8 decoded with
    replacement, megabytes) gives one of :data:`CATEGORIES`. Results are cached by
    ``(text, code)``; replies longer than :data:`CACHE_TEXT_LIMIT` are not cached.
    """
    if type(text) is str and len(text) <= CACHE_TEXT_LIMIT:  # the common case, kept short
        if code is None:
            return _classify_cached(text, None)
        if type(code) is int and 100 <= code <= 599:
            return _classify_cached(text, code)
    text = _coerce(text)
    smtp = _code_arg(code)
    if len(text) > CACHE_TEXT_LIMIT:
        return _classify(text, smtp)
    return _classify_cached(text, smtp)


def clear_cache() -> None:
    """Forget every cached result (benchmarks, tests)."""
    _classify_cached.cache_clear()
    _signature_cached.cache_clear()
