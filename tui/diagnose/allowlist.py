"""A ready-to-send allowlist / unblock request to the postmaster of a blocking domain.

:func:`allowlist_request` writes plain text: a few ``Note:`` lines for the sender (where to send
it, and whether the receiver allowlists at all), the ``To:`` and ``Subject:`` lines, and the
message: who we are, the stream's sending IPs, our current connection limit for the domain, the
block's start, the evidence (every distinct block reply with its count, dates and MX hosts),
what the checks confirmed, the request and the contact.

It says only what lmtriage can show from the database and the checks that ran: no "we have
fixed …" claims (the sender adds those if true). Per-recipient replies (unknown users, full
mailboxes, greylisting) are left out: they are no reason for the block and would quote
recipients. Recipient addresses are never quoted: every address in outside text has its local
part cut to its first character (``h…@aol.com``), and so are look-alikes (``＠``, ``%40``,
quoted local parts).

Replies come from strangers. Every outside string put into the text passes through
:func:`tui.textsafe.printable` (one line, control characters escaped, cut), so no reply can add
a line or a header to the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tui.diagnose import playbook as PB
from tui.diagnose.advice import Advice, EvidenceReply, fmt_time, merge_replies
from tui.diagnose.patterns import FULL, GREY, USER
from tui.textsafe import printable

if TYPE_CHECKING:
    from tui.checks.results import CheckResult
    from tui.db.records import ConnectionLimit, ReplyGroup
    from tui.diagnose.grouping import SignatureGroup

REPLY_CHARS = 500
"""At most this many characters of each reply are quoted."""
MAX_REPLIES = 10
MAX_IPS = 64
MAX_MX_HOSTS = 4
PER_RECIPIENT = frozenset({USER, FULL, GREY})
"""Categories left out of the evidence: they are about single recipients, not the block."""

PLACEHOLDERS = {
    "name": "<your name>",
    "email": "<your email address>",
    "organization": "<your organization>",
    "phone": "<your phone number>",
    "website": "<your website>",
}
_LINE_SEPARATORS = re.compile("[\u2028\u2029]")
_LIST_OPERATORS = frozenset(
    {"spamhaus", "spamcop", "sorbs", "uceprotect", "barracuda", "cloudmark", "trendmicro"}
)

# --------------------------------------------------------------------------- masking

_AT = re.compile(r"[@\uff20\ufe6b]|%40", re.IGNORECASE)
_LOCAL_STOP = frozenset('<>(),;:"@\uff20\ufe6b')
"""Characters that cannot stand unquoted in a local part (RFC 5322 specials), besides white
space. ``[``, ``]`` and ``\\`` are specials too but are walked over: an escape sequence in a
hostile reply must not shield the start of an address (the mask then covers more, never less)."""
ROLE_ACCOUNTS = frozenset(
    {"postmaster", "abuse", "hostmaster", "mailer-daemon", "noc", "security", "abuse_rbl"}
)
"""Local parts that are a mail domain's role mailboxes, not recipients: kept as they are."""
MASK = "…"


def _local_start(text: str, at: int) -> int:
    """Where the local part that ends at ``at`` starts (``at`` when there is none)."""
    i = at
    if i > 0 and text[i - 1] == '"':  # "john smith"@example.com
        opening = text.rfind('"', 0, i - 1)
        return opening if opening >= 0 else i - 1
    gap = 0
    while i > 0 and gap < 3 and text[i - 1] in " \t":  # "john @ example.com"
        i -= 1
        gap += 1
    end = i
    while i > 0 and text[i - 1] not in _LOCAL_STOP and not text[i - 1].isspace():
        i -= 1
    return i if i < end else at


def mask_addresses(text: str) -> str:
    """``text`` with every address's local part cut to its first character: ``h…@aol.com``.

    Works on any string (a hostile one too): every at-sign (``@``, ``＠``, ``﹫``, ``%40``) has
    the run of characters before it that could be a local part replaced; role mailboxes
    (postmaster@, abuse@ …) are kept.
    """
    if not isinstance(text, str):
        text = str(text)
    out: list[str] = []
    pos = 0
    for m in _AT.finditer(text):
        at = m.start()
        if at < pos:
            continue
        start = _local_start(text, at)
        if start < pos:
            start = pos
        local = text[start:at].strip(' \t"')
        out.append(text[pos:start])
        if local and local.lower() not in ROLE_ACCOUNTS:
            quote = '"' if text[start:at].startswith('"') else ""
            out.append(f"{quote}{local[0]}{MASK}{quote}")
        else:
            out.append(text[start:at])
        pos = at
    out.append(text[pos:])
    return "".join(out)


class ContactLike(Protocol):
    """What the request needs of :class:`tui.config.SenderContact` (any object will do)."""

    name: str
    email: str
    organization: str
    phone: str
    website: str


def _line(value: object, limit: int = 200) -> str:
    """Outside text as one safe line of at most ``limit`` characters (plus a cut note), with
    every address masked."""
    text = printable(mask_addresses(str(value)), max_chars=limit, one_line=True)
    return _LINE_SEPARATORS.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text).strip()


def _own(value: object, limit: int = 200) -> str:
    """The sender's own text (their contact): one safe line, not masked."""
    text = printable(value, max_chars=limit, one_line=True)
    return _LINE_SEPARATORS.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text).strip()


_HOSTNAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}")


def _hostname(value: object) -> str | None:
    """The domain when it is a plain host name (it goes into addresses), else None."""
    text = str(value or "").strip().lower().rstrip(".")
    return text if _HOSTNAME.fullmatch(text) else None


def _contact_fields(contact: object) -> tuple[dict[str, str], list[str]]:
    """The contact's fields, placeholders for missing ones, and the placeholders used."""
    values = {key: _own(getattr(contact, key, "") or "", 200) for key in PLACEHOLDERS}
    empty = not any(values.values())
    used: list[str] = []
    for key, placeholder in PLACEHOLDERS.items():
        if values[key]:
            continue
        if empty or key in ("name", "email", "organization"):
            values[key] = placeholder
            used.append(placeholder)
    return values, used


def _provider_of(
    domain: str, replies: Sequence[EvidenceReply], advice: Advice | None
) -> tuple[str, bool]:
    """(provider key, hosted): the receiver whose channel applies; ``hosted`` when the domain
    is an organization whose mail a big provider only hosts (Microsoft 365, Google Workspace)."""
    low = domain.lower().strip(".")
    for key, row in PB.PROVIDERS.items():
        if any(low == d or low.endswith("." + d) for d in row.domains):
            return key, False
    key = advice.provider if advice is not None and advice.provider in PB.PROVIDERS else None
    if key is None:
        for reply in replies:
            provider = reply.classification.provider
            if provider in PB.PROVIDERS and provider not in _LIST_OPERATORS:
                key = provider
                break
    if key is None:
        return "unknown", False
    return key, key in PB.HOSTED_CONTACT_NOTES


def _mx_text(hosts: Iterable[tuple[str, int]]) -> str:
    hosts = list(hosts)
    shown = [f"{_line(h, 100)} ({n:,})" for h, n in hosts[:MAX_MX_HOSTS]]
    if len(hosts) > MAX_MX_HOSTS:
        shown.append(f"{len(hosts) - MAX_MX_HOSTS} more")
    return ", ".join(shown)


def evidence_replies(groups: Sequence[ReplyGroup | SignatureGroup]) -> list[EvidenceReply]:
    """The replies the request quotes: all but the per-recipient ones."""
    return [r for r in merge_replies(groups) if r.classification.category not in PER_RECIPIENT]


def _listing_note(advice: Advice | None) -> str | None:
    """Where to delist first when the replies cite a public or commercial blocklist."""
    if advice is None or advice.category != "dnsbl_listing" or not advice.blocklist:
        return None
    url = next(iter(advice.delisting_urls), "the list's lookup page")
    return PB.BLOCKLIST_NOTE.format(blocklist=_line(advice.blocklist, 120), url=_line(url, 300))


def _limit_sentence(limit: ConnectionLimit | None, domain: str) -> str | None:
    if limit is None:
        return None
    n = limit.connections
    text = f"We currently open at most {n} connection{'s' if n != 1 else ''} at a time to each of your MX IPs"
    caps = []
    if limit.per_hour:
        caps.append(f"{limit.per_hour} connections an hour")
    if limit.per_connection:
        caps.append(f"{limit.per_connection} messages per connection")
    if caps:
        text += " (" + ", ".join(caps) + ")"
    source = "ListManager's default" if limit.is_default else f"our connection limit for {domain}"
    return f"{text}: {source}."


_VERIFIED = {
    "fcrdns": "reverse DNS (PTR) resolves back to the IP",
    "helo": "HELO name is the PTR name",
    "spf": "SPF authorizes it",
}


def _verified_lines(results: Sequence[CheckResult], ips: Sequence[str]) -> list[str]:
    """What the checks that ran confirm (passes only), per IP and per sender domain."""
    by_ip: dict[str, list[str]] = {}
    domains: dict[str, list[str]] = {}
    for r in results:
        if getattr(r, "status", None) != "pass":
            continue
        details = r.details if isinstance(r.details, dict) else {}
        ip = str(details.get("ip") or "")
        if r.check in _VERIFIED and ip in ips:
            what = _VERIFIED[r.check]
            if r.check == "spf":
                what = f"SPF of {_line(details.get('domain', ''), 100)} authorizes it"
            by_ip.setdefault(ip, []).append(what)
        elif r.check in ("dkim-sign-verify", "dmarc"):
            domain = _line(details.get("domain", ""), 100)
            label = "DKIM signatures verify" if r.check == "dkim-sign-verify" else "DMARC published"
            if domain:
                domains.setdefault(domain, []).append(label)
    lines = [f"  {ip}: {', '.join(dict.fromkeys(v))}" for ip, v in by_ip.items()]
    lines += [f"  {d}: {', '.join(dict.fromkeys(v))}" for d, v in domains.items()]
    return lines


def allowlist_request(
    *,
    domain: str,
    stream_name: str,
    ips: Sequence[str],
    groups: Sequence[ReplyGroup | SignatureGroup],
    contact: ContactLike | object,
    now: datetime,
    advice: Advice | None = None,
    helo: Mapping[str, str] | None = None,
    blocked_since: datetime | None = None,
    connection_limit: ConnectionLimit | None = None,
    window_start: datetime | None = None,
    check_results: Sequence[CheckResult] = (),
) -> str:
    """The request as plain text, ``\\n``-separated, ready to paste into a mail or a form.

    ``ips`` are the sending IPs of the stream the request is about, ``helo`` maps them to
    their HELO names when known, ``blocked_since`` is when ListManager recorded the block,
    ``connection_limit`` the current Domain Connection Limit, ``check_results`` checks that
    ran (only what they confirm is stated). ``advice`` tells the receiver's channel and adds a
    note on what to fix first.
    """
    dom = _hostname(domain) or "<the blocking domain>"
    stream = _line(stream_name, 100)
    replies = evidence_replies(groups)
    provider_key, hosted = _provider_of(dom, replies, advice)
    provider = None if hosted else PB.PROVIDERS.get(provider_key)
    asks = provider is None or provider.has_allowlist
    fields, placeholders = _contact_fields(contact)
    org = fields["organization"]
    ip_list = [_line(ip, 64) for ip in list(ips)[:MAX_IPS] if str(ip).strip()]
    names = {str(k): v for k, v in (helo or {}).items()}

    out: list[str] = []
    if placeholders:
        out.append(f"[sender] in the config file fills these in: {', '.join(placeholders)}.")
    if provider is not None:
        out.append(f"Note: {provider.contact_note}")
        to = provider.contact or f"postmaster@{dom}"
        out.append(f"To: {to}" if "@" in to else f"To: the web form at {to}")
    else:
        note = PB.HOSTED_CONTACT_NOTES.get(provider_key) if hosted else None
        out.append("Note: " + (note or PB.UNKNOWN_CONTACT_NOTE).format(domain=dom))
        out.append(f"To: postmaster@{dom}, abuse@{dom}")
    listing = _listing_note(advice)
    if listing:
        out.append(f"Note: {listing}")
    if advice is not None:
        out.append(f"Note: send it once this is fixed: {_line(advice.headline, 300)}.")
    n_ips = len(ip_list)
    what = "Unblock request" if asks else "Delivery problem"
    out.append(
        f"Subject: {what}: mail from {org} ({n_ips} sending IP{'s' if n_ips != 1 else ''}) to {dom}"
    )
    out.append("")

    greeting = provider.name if provider is not None else dom
    out.append(f"Hello {greeting} postmaster team,")
    out.append("")
    website = f" ({fields['website']})" if fields["website"] else ""
    out.append(
        f"We are {org}{website}. Our list mail to {dom} leaves a Lyris ListManager server from "
        f"the IPs below (mail stream '{stream}')."
    )
    if blocked_since is not None:
        start = f"Since {fmt_time(blocked_since)} your servers have been refusing or deferring it"
    else:
        start = "Your servers are refusing or deferring it"
    out.append(f"{start}, and we ask for your help in getting it delivered again.")
    out.append("")

    out.append("Our sending IPs:")
    for ip in ip_list or ["(no sending IP is recorded for the stream)"]:
        name = names.get(ip)
        out.append(f"  {ip}" + (f"  (HELO name {_line(name, 253)})" if name else ""))
    limit = _limit_sentence(connection_limit, dom)
    if limit:
        out.append(limit)
    out.append("")

    verified = _verified_lines(check_results, ip_list)
    if verified:
        out.append("We checked before writing:")
        out += verified
        out.append("")

    since = f" since {fmt_time(window_start)}" if window_start is not None else ""
    out.append(f"Your servers replied{since} (count, first and last seen, your MX hosts):")
    if not replies:
        out.append("  (no reply that explains the block is recorded)")
    for i, reply in enumerate(replies[:MAX_REPLIES], 1):
        mx = _mx_text(reply.mx_hosts)
        out.append(
            f"  {i}. {reply.count:,} time{'s' if reply.count != 1 else ''}, "
            f"{fmt_time(reply.first_seen)} to {fmt_time(reply.last_seen)}"
            + (f", via {mx}" if mx else "")
        )
        out.append(f"     {_line(reply.text, REPLY_CHARS)}")
    if len(replies) > MAX_REPLIES:
        rest = sum(r.count for r in replies[MAX_REPLIES:])
        out.append(f"  … and {len(replies) - MAX_REPLIES} other replies ({rest:,} attempts).")
    out.append("")

    out.append("Our request:")
    if asks:
        out.append(
            "  Please remove the IPs above from your block list, or allow them. If the block is "
            "deliberate, please tell us the reason so that we can fix it."
        )
    else:
        out.append(
            f"  Please look into the refusals above. If {provider.name if provider else dom} "
            "needs anything changed on our side, please tell us what."
        )
    if advice is not None and advice.category == "rate_limit":
        out.append(
            "  If you expect a particular number of connections or messages per hour from us, "
            "please tell us and we will keep to it."
        )
    out.append(f"  Please reply to {fields['email']}.")
    out.append("")

    out.append("Thank you,")
    for key in ("name", "organization", "email", "phone", "website"):
        if fields[key]:
            out.append(fields[key])
    out.append(fmt_time(now)[:10])
    return "\n".join(out) + "\n"


__all__ = [
    "PLACEHOLDERS",
    "ContactLike",
    "allowlist_request",
    "evidence_replies",
    "mask_addresses",
]
