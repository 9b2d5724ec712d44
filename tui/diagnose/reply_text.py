"""The plain facts of one SMTP reply text, before any rule is applied: the examined prefix
(:data:`SCAN_CHARS`), the cleaned and the normalised form, the reply code and enhanced status
code, URLs and IP addresses. :mod:`tui.diagnose.classify` and :mod:`tui.diagnose.signature`
both read a reply through these.

Every regex here is bounded or anchored at the start of a run, so a megabyte of garbage costs
no more than a long reply.
"""

from __future__ import annotations

import ipaddress
import re

SCAN_CHARS = 8192
"""Only this many leading characters of a reply are examined (classification and signature)."""

CACHE_SIZE = 65536
CACHE_TEXT_LIMIT = SCAN_CHARS
"""Longer replies are not cached, so the cache cannot pin megabytes of text."""


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"


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
            url = m.group(0).rstrip(_URL_TRAILING)
            start, end = m.start(), m.start() + len(url)
            if any(a < end and start < b for a, b in taken):
                continue  # overlaps a scheme URL ("0.aa/www.0"): spans must not overlap
            spans.append((start, end))
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


def _coerce(text: object) -> str:
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text).decode("utf-8", errors="replace")
    return str(text)
