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
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tui.diagnose import patterns as P
from tui.diagnose._prefilter import RuleBook, text_keys

SCAN_CHARS = 8192
"""Only this many leading characters of a reply are examined (classification and signature)."""

CACHE_SIZE = 65536
CACHE_TEXT_LIMIT = SCAN_CHARS
"""Longer replies are not cached, so the cache cannot pin megabytes of text."""

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


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
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
_PROVIDER_CODE_TOKEN = re.compile(
    r"(?:S\d{3,5}|TSS?\d{1,3}|PH\d\d|BL\d\d|GL\d\d|IPTS\d\d|HME?\d|(?:BL|RL|IP|DY|RD|SC|LV)\d{6}"
    r"|(?:OFR|LPN|OUK)\d{0,3}[_-]\d{3}|AUP#\w+|(?:RP|SC|DY|OU|SR)-\d{3}|AS\d{3,}|IB\d{3}|ETP\d{3})",
    re.IGNORECASE,
)
"""Provider reason codes: kept as they are by the signature (they carry meaning)."""

# --------------------------------------------------------------------------- text helpers

_SMTP_CODE = re.compile(r"\s*([2-5]\d\d)(?![\d.])")
_ENHANCED = re.compile(r"(?<![\w.])([245])\.([0-7])\.(\d{1,3})(?!\w|\.\d)")
_CONTINUATION = re.compile(r"(?:^|(?<=\s))[2-5]\d\d(?:[ -][245]\.[0-7]\.\d{1,3}(?=\s|$)|-)\s*")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_URL_CHAR = r"(?:<(?:ip|id|n|addr|host|time)>|[^\s<>\"'()\[\]{}|\\^`])"
_URL_SCHEME = re.compile(r"(?:https?://|www\.)" + _URL_CHAR + "+", re.IGNORECASE)
_URL_BARE = re.compile(
    r"(?<![\w.@/:-])(?:" + _LABEL + r"\.){1,12}[a-z]{2,24}/" + _URL_CHAR + "*", re.IGNORECASE
)
_URL_TRAILING = ".,;:!?'\""
_IPV4 = re.compile(
    r"(?<![\w.>])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w<]|\.[\d<])"
)
_IPV4_GATE = re.compile(r"\d\.\d")
_IPV6 = re.compile(
    r"(?<![\w:.>])(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{0,4})(?![\w:<])",
    re.IGNORECASE,
)
_RFC_SECTION = re.compile(r"rfc\s*\d+\s*(?:section\s*)?$", re.IGNORECASE)


def _prefix(text: str) -> str:
    return text if len(text) <= SCAN_CHARS else text[:SCAN_CHARS]


def clean(text: str) -> str:
    """The first :data:`SCAN_CHARS` characters without escape sequences, control characters or
    repeated whitespace: what the signature, URLs and IPs are taken from."""
    head = _prefix(text)
    if "\x1b" in head:
        head = _ANSI.sub(" ", head)
    return " ".join(_CONTROLS.sub(" ", head).split())


def normalise(text: str) -> str:
    """The form the rules of :mod:`tui.diagnose.patterns` are matched against."""
    low = _prefix(text).lower().replace("\u2019", "'").replace("\u2018", "'")
    low = _CONTINUATION.sub(" ", low)
    return " ".join(low.split())


def smtp_code_of(text: str) -> int | None:
    """The three-digit reply code the text starts with, if any."""
    m = _SMTP_CODE.match(text[:16])
    return int(m.group(1)) if m else None


def enhanced_code_of(text: str, smtp_code: int | None = None) -> str | None:
    """The first RFC 3463 status code in the text, preferring one of the reply's class."""
    first = None
    for m in _ENHANCED.finditer(_prefix(text)):
        if smtp_code is None or int(m.group(1)) == smtp_code // 100:
            return m.group(0)
        if first is None:
            first = m.group(0)
    return first


def _url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL, with or without a scheme, trailing punctuation excluded."""
    spans: list[tuple[int, int]] = []
    for m in _URL_SCHEME.finditer(text):
        url = m.group(0).rstrip(_URL_TRAILING)
        spans.append((m.start(), m.start() + len(url)))
    # Scheme-less "host.tld/path" only when a slash is left outside the scheme URLs.
    if text.count("/") > sum(text.count("/", a, b) for a, b in spans):
        taken = list(spans)
        for m in _URL_BARE.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            url = m.group(0).rstrip(_URL_TRAILING)
            spans.append((m.start(), m.start() + len(url)))
        spans.sort()
    return spans


def _urls(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for a, b in spans:
        found.setdefault(text[a:b], None)
    return tuple(found)


def urls_of(text: str) -> tuple[str, ...]:
    """URLs (with or without scheme) in order of appearance, without duplicates."""
    head = clean(text)
    return _urls(head, _url_spans(head))


def _ip_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, address) of every IPv4/IPv6 address, in order."""
    spans: list[tuple[int, int, str]] = []
    if _IPV4_GATE.search(text):
        for m in _IPV4.finditer(text):
            ip = m.group(0)
            before = text[max(0, m.start() - 14) : m.start()]
            if _RFC_SECTION.search(before):
                continue  # "RFC2821 4.1.1.1" is a section number
            if ip.startswith("4.16.") and before.endswith("- "):
                continue  # Yahoo's internal status "- 4.16.55.1;"
            spans.append((m.start(), m.end(), ip))
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            candidate = m.group(0)
            if candidate.count(":") < 2:
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            spans.append((m.start(), m.end(), candidate))
        spans.sort()
    return spans


def ips_of(text: str) -> tuple[str, ...]:
    """IPv4 and IPv6 addresses in order of appearance, without duplicates."""
    found: dict[str, None] = {}
    for _, _, ip in _ip_spans(clean(text)):
        found.setdefault(ip, None)
    return tuple(found)


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


# --------------------------------------------------------------------------- signature

# Every pattern below can only start where a run of its characters starts (look-behind) and has
# bounded repeats, so a hostile 8 KB line costs linear time.
_EMAIL = re.compile(
    r"<?(?<![\w.!#$%&'*+/=?^`{|}~>-])[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}>?"
)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
_DAYS = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}"
_TIME_WORDS = re.compile(
    rf"(?<![\w>])(?:{_DAYS},?\s{{1,3}})?\d{{1,2}}\s{{1,3}}{_MONTHS}\s{{1,3}}\d{{2,4}}"
    r"(?:\s{1,3}\d{1,2}:\d{2}(?::\d{2})?)?(?:\s{0,3}(?:[+-]\d{4}|utc|gmt|[a-z]{1,2}[sd]?t)\b)?"
    r"(?:\s{0,3}\([a-z]{2,5}\))?"
    rf"|(?<![\w>]){_DAYS}\s{{1,3}}{_MONTHS}\s{{1,3}}\d{{1,2}}\s{{1,3}}\d{{1,2}}:\d{{2}}:\d{{2}}(?:\s{{1,3}}\d{{4}})?",
    re.IGNORECASE,
)
_MONTH_GATE = re.compile(rf"\d\s{{1,3}}{_MONTHS}\s", re.IGNORECASE)
_TIME_DIGITS = re.compile(
    r"(?<![\w.:/>-])(?:\d{4}-\d{2}-\d{2}(?:[tT ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
    r"(?:\s?(?:[zZ]|[+-]\d{2}:?\d{2}|UTC|GMT)\b)?"
    r"|\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:\s?(?:[zZ]|[+-]\d{4}|UTC|GMT)\b)?"
    r"|\d{1,4}/\d{1,2}/\d{2,4}(?![\w/]))(?![\w<])"
)
_TIME_RUN = re.compile(r"<time>(?:[ ,T]{1,3}<time>)+")
_TIME_GATE = re.compile(r"\d[:/-]\d")
_HOST = re.compile(
    rf"(?:(?<![\w@.>-])|(?<=[#*]\.)|(?<=\b[2-5]\d\d-))(?![2-5]\d\d-)(?:{_LABEL}\.){{1,12}}[a-z]{{2,24}}(?![\w<-])",
    re.IGNORECASE,
)
_NODE_SUFFIX = re.compile(
    r"(?:^|\.)(?:mx\.google\.com|protection\.outlook\.com|prod\.outlook\.com|yahoodns\.net"
    r"|mail\.[a-z0-9]+\.yahoo\.com|mx\.aol\.com|sys\.comcast\.net|comcast\.net|pphosted\.com"
    r"|ppe-hosted\.com|iphmx\.com|messagelabs\.com)$",
    re.IGNORECASE,
)
_PROTECTED_HOST = re.compile(
    r"(?:^|\.)(?:" + "|".join(re.escape(d) for d in P.DNSBL_DOMAINS) + r")$", re.IGNORECASE
)
_KEYED_GATE = re.compile(r"(?:[iI][dD]|msgid|MSGID|[rR]ef|REF)\s{0,3}[=:]")
_KEYED_ID = re.compile(
    r"\b((?:queue[ -]?)?id|msgid|ref)(\s{0,3}[=:]\s{0,3})([^\s,;)\]]{0,200}\d[^\s,;)\]]{0,200})",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9+/_<>-])(?![2-5]\d\d-)[A-Za-z0-9][A-Za-z0-9+/_-]{6,}[A-Za-z0-9]={0,2}(?![\w<>])"
)
_PORT = re.compile(r"(<ip>\]?):\d{1,5}\b")
_IP_COUNTER = re.compile(r"(\[<ip>)\s{1,12}\d{1,6}(\])")
_LONG_NUMBER = re.compile(r"(?<![\w>])\d{5,}(?![\w<])")
_QUERY_PART = re.compile(r"([?&;=/#])([^?&;=/#]+)")
_SEGMENTS = re.compile(r"[-_]")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8,}")
_DIGIT_RUN = re.compile(r"\d{5,}")
_DIGIT = re.compile(r"\d")


def _is_id(token: str) -> bool:
    """Queue IDs, hashes, base64: letters and digits mixed inside one ``-``/``_`` segment."""
    if len(token) < 8 or _PROVIDER_CODE_TOKEN.fullmatch(token):
        return False
    if sum(c.isdigit() for c in token) < 2:
        return False
    if _HEX_ID.fullmatch(token) and not token.isdigit():
        return True
    return any(
        any(c.isdigit() for c in seg) and any(c.isalpha() for c in seg)
        for seg in _SEGMENTS.split(token)
    )


def _mask_token(m: re.Match[str]) -> str:
    return "<id>" if _is_id(m.group(0)) else m.group(0)


def _mask_host(m: re.Match[str]) -> str:
    host = m.group(0)
    if _PROTECTED_HOST.search(host):
        return host
    first = host.split(".", 1)[0]
    if any(c.isdigit() for c in first) or _NODE_SUFFIX.search(host):
        return "<host>"
    return host


def _mask_url_part(m: re.Match[str]) -> str:
    sep, value = m.group(1), m.group(2)
    if value.startswith("<") and value.endswith(">"):
        return m.group(0)
    if _IPV4.fullmatch(value):
        return sep + "<ip>"
    if "@" in value:
        return sep + "<addr>"
    if _PROVIDER_CODE_TOKEN.fullmatch(value):
        return m.group(0)
    if sep in "=?" and sum(c.isdigit() for c in value) >= 3:
        return sep + "<id>"
    if _DIGIT_RUN.search(value) or (len(value) >= 12 and _HEX_ID.fullmatch(value)):
        return sep + "<id>"
    return m.group(0)


def _mask_url(url: str) -> str:
    """Keep scheme, host and meaningful path; mask query values and ID-like path segments."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, slash, path = rest.partition("/")
    if not slash:
        host, qmark, path = rest.partition("?")
        if not qmark:
            return url
        return f"{scheme}{sep}{host}" + _QUERY_PART.sub(_mask_url_part, "?" + path)
    return f"{scheme}{sep}{host}" + _QUERY_PART.sub(_mask_url_part, "/" + path)


def _mask_gsmtp(text: str) -> str:
    """Gmail ends replies with a per-message ID: ``… a1si123456qkd.12 - gsmtp``."""
    pieces = text.split(" - gsmtp")
    for i in range(len(pieces) - 1):
        head, _, last = pieces[i].rpartition(" ")
        if last and not last.startswith("<") and _DIGIT.search(last):
            pieces[i] = f"{head} <id>" if head else "<id>"
    return " - gsmtp".join(pieces)


def _mask_plain(text: str) -> str:
    """Mask the variable parts of text outside URLs; each step only runs when it can apply."""
    if "@" in text:
        text = _EMAIL.sub("<addr>", text)
    if _DIGIT.search(text) is None:
        return _HOST.sub(_mask_host, text) if "." in text else text
    if _MONTH_GATE.search(text):
        text = _TIME_WORDS.sub("<time>", text)
    if _TIME_GATE.search(text):
        text = _TIME_DIGITS.sub("<time>", text)
    if "<time>" in text:
        text = _TIME_RUN.sub("<time>", text)
    if " - gsmtp" in text:
        text = _mask_gsmtp(text)
    if _KEYED_GATE.search(text):
        text = _KEYED_ID.sub(r"\1\2<id>", text)
    words = text.split(" ")
    for i, word in enumerate(words):
        if word.isalpha() or len(word) < 4:
            continue
        if "." in word:
            word = _HOST.sub(_mask_host, word)
        if len(word) >= 5 and _DIGIT.search(word):
            if len(word) >= 8:
                word = _TOKEN.sub(_mask_token, word)
            word = _LONG_NUMBER.sub("<n>", word)
        words[i] = word
    text = " ".join(words)
    if "<ip>" in text:
        text = _PORT.sub(r"\1:<n>", text)
        text = _IP_COUNTER.sub(r"\1 <n>\2", text)
    return text


def _plain(head: str, lo: int, hi: int, ip_spans: list[tuple[int, int, str]]) -> str:
    """``head[lo:hi]`` (text between URLs) with its IPs, then everything else, masked."""
    out: list[str] = []
    pos = lo
    for a, b, _ in ip_spans:
        if a >= lo and b <= hi and a >= pos:
            out.append(head[pos:a])
            out.append("<ip>")
            pos = b
    out.append(head[pos:hi])
    return _mask_plain("".join(out))


def _signature_of_clean(
    head: str, spans: list[tuple[int, int]], ip_spans: list[tuple[int, int, str]]
) -> str:
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(_plain(head, pos, a, ip_spans))
        out.append(_mask_url(head[a:b]))
        pos = b
    out.append(_plain(head, pos, len(head), ip_spans))
    return " ".join("".join(out).split())


def _signature(text: str) -> str:
    head = clean(text)
    return _signature_of_clean(head, _url_spans(head), _ip_spans(head))


@lru_cache(maxsize=CACHE_SIZE)
def _signature_cached(text: str) -> str:
    return _signature(text)


def signature(text: str) -> str:
    """The reply with its variable parts masked, so that replies of one kind group together.

    IPs become ``<ip>``, addresses ``<addr>``, dates and times ``<time>``, queue/message IDs and
    hex/base64 tokens ``<id>``, receiving-node host names ``<host>``, long numbers and ports
    ``<n>``; URL query values and ID-like path segments are masked too. The SMTP code, the
    enhanced code and provider reason codes (S3140, TSS04, BL000000 …) are kept; case is kept;
    whitespace is collapsed; escape and control characters become spaces. Only the first
    :data:`SCAN_CHARS` characters are used. ``signature(signature(x)) == signature(x)``.
    """
    text = _coerce(text)
    if len(text) > CACHE_TEXT_LIMIT:
        return _signature(text)
    return _signature_cached(text)


# --------------------------------------------------------------------------- classify


def _coerce(text: object) -> str:
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text).decode("utf-8", errors="replace")
    return str(text)


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
