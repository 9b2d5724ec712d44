"""The signature of a reply: its text with the variable parts masked (IPs, addresses, times,
queue and message IDs, receiving-node host names, long numbers), so that replies of one kind
group together (:mod:`tui.diagnose.grouping`).

Each masking step runs only when its trigger character is present, and every pattern can only
start where a run of its characters starts, so a hostile 8 KB line costs linear time.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tui.diagnose import patterns as P
from tui.diagnose.reply_text import (
    _IPV4,
    _LABEL,
    CACHE_SIZE,
    CACHE_TEXT_LIMIT,
    _coerce,
    _ip_spans,
    _url_spans,
    clean,
)

_PROVIDER_CODE_TOKEN = re.compile(
    r"(?:S\d{3,5}|TSS?\d{1,3}|PH\d\d|BL\d\d|GL\d\d|IPTS\d\d|HME?\d|(?:BL|RL|IP|DY|RD|SC|LV)\d{6}"
    r"|(?:OFR|LPN|OUK)\d{0,3}[_-]\d{3}|AUP#\w+|(?:RP|SC|DY|OU|SR)-\d{3}|AS\d{3,}|IB\d{3}|ETP\d{3})",
    re.IGNORECASE,
)
"""Provider reason codes: kept as they are by the signature (they carry meaning)."""


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
    r"(?<![A-Za-z0-9+/_<>-])(?![2-5]\d\d-)[A-Za-z0-9][A-Za-z0-9+/_-]{4,}[A-Za-z0-9]={0,2}(?![\w<>])"
)
_PORT = re.compile(r"(<ip>\]?):\d{1,5}\b")
_IP_COUNTER = re.compile(r"(\[<ip>)\s{1,12}\d{1,6}(\])")
_LONG_NUMBER = re.compile(r"(?<![\w>])\d{5,}(?![\w<])")
_QUERY_PART = re.compile(r"([?&;=/#])([^?&;=/#]+)")
_SEGMENTS = re.compile(r"[-_]")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8,}")
_DIGIT_RUN = re.compile(r"\d{5,}")
_DIGIT = re.compile(r"\d")
_SHORT_NODE = re.compile(r"[a-z]{2,5}[0-9]{3,5}")


def _is_id(token: str) -> bool:
    """Queue IDs, hashes, base64: letters and digits mixed inside one ``-``/``_`` segment, at
    least eight characters, two of them digits; and shorter receiving-node names, lower-case
    letters then three or more digits (AT&T's ``flpd101``, ``alph126``). Shorter upper-case
    tokens are codes that carry meaning (``RFC5322``, ``FBLW15``, ``ATTR17``) and stay."""
    if len(token) < 8:
        return _SHORT_NODE.fullmatch(token) is not None
    if _PROVIDER_CODE_TOKEN.fullmatch(token):
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
            if len(word) >= 6:
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
