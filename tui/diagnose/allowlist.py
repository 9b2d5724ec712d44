"""A ready-to-send allowlist / unblock request to the postmaster of a blocking domain.

:func:`allowlist_request` writes plain text: a few ``Note:`` lines for the sender (where to send
it: providers with a form, Gmail's lack of an allowlist), the ``To:`` and ``Subject:`` lines,
and the message: who we are, the sending IPs, the evidence (every distinct reply with its count,
dates and MX hosts), what was done, the request and the contact.

Replies come from strangers. Every reply line, and every other string put into the text, passes
through :func:`tui.textsafe.printable` (one line, control characters escaped, cut), so no reply
can add a line or a header to the message.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tui.diagnose import playbook as PB
from tui.diagnose.advice import Advice, fmt_time, merge_replies
from tui.textsafe import printable

if TYPE_CHECKING:
    from tui.db.records import ReplyGroup

REPLY_CHARS = 500
"""At most this many characters of each reply are quoted."""
MAX_REPLIES = 10
MAX_IPS = 64
MAX_MX_HOSTS = 4

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


class ContactLike(Protocol):
    """What the request needs of :class:`tui.config.SenderContact` (any object will do)."""

    name: str
    email: str
    organization: str
    phone: str
    website: str


def _line(value: object, limit: int = 200) -> str:
    """Outside text as one safe line of at most ``limit`` characters (plus a cut note)."""
    text = printable(value, max_chars=limit, one_line=True)
    return _LINE_SEPARATORS.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text).strip()


_HOSTNAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}")


def _hostname(value: object) -> str | None:
    """The domain when it is a plain host name (it goes into addresses), else None."""
    text = str(value or "").strip().lower().rstrip(".")
    return text if _HOSTNAME.fullmatch(text) else None


def _contact_fields(contact: object) -> tuple[dict[str, str], list[str]]:
    """The contact's fields, placeholders for missing ones, and the placeholders used."""
    values = {key: _line(getattr(contact, key, "") or "", 200) for key in PLACEHOLDERS}
    empty = not any(values.values())
    used: list[str] = []
    for key, placeholder in PLACEHOLDERS.items():
        if values[key]:
            continue
        if empty or key in ("name", "email", "organization"):
            values[key] = placeholder
            used.append(placeholder)
    return values, used


def _provider_of(domain: str, groups: Sequence[ReplyGroup], advice: Advice | None) -> str:
    if advice is not None and advice.provider in PB.PROVIDERS:
        return advice.provider
    low = domain.lower().strip(".")
    for key, row in PB.PROVIDERS.items():
        if any(low == d or low.endswith("." + d) for d in row.domains):
            return key
    for reply in merge_replies(groups):
        provider = reply.classification.provider
        if provider in PB.PROVIDERS and provider not in _LIST_OPERATORS:
            return provider
    return "unknown"


def _commitments(advice: Advice | None) -> list[str]:
    lines: list[str] = []
    if advice is not None:
        limit = ""
        if advice.proposed_limit is not None:
            limit = f" (now {advice.proposed_limit.connections} per MX IP)"
        values = {"limit": limit, "blocklist": _line(advice.blocklist or "blocklist", 120)}
        for template in PB.COMMITMENTS.get(advice.category, ()):
            try:
                lines.append(template.format_map(values))
            except (KeyError, ValueError, IndexError):
                lines.append(template)
    lines += PB.COMMON_COMMITMENTS
    return lines


def _mx_text(hosts: Iterable[tuple[str, int]]) -> str:
    hosts = list(hosts)
    shown = [f"{_line(h, 100)} ({n:,})" for h, n in hosts[:MAX_MX_HOSTS]]
    if len(hosts) > MAX_MX_HOSTS:
        shown.append(f"{len(hosts) - MAX_MX_HOSTS} more")
    return ", ".join(shown)


def allowlist_request(
    *,
    domain: str,
    stream_name: str,
    ips: Sequence[str],
    groups: Sequence[ReplyGroup],
    contact: ContactLike | object,
    now: datetime,
    advice: Advice | None = None,
    helo: Mapping[str, str] | None = None,
) -> str:
    """The request as plain text, ``\\n``-separated, ready to paste into a mail or a form.

    ``helo`` maps a sending IP to its PTR/HELO name when known. ``advice`` (from
    :func:`tui.diagnose.advice.advise`) adds what was done for the diagnosed cause.
    """
    dom = _hostname(domain) or "<the blocking domain>"
    stream = _line(stream_name, 100)
    provider_key = _provider_of(dom, groups, advice)
    provider = PB.PROVIDERS.get(provider_key)
    fields, placeholders = _contact_fields(contact)
    org = fields["organization"]
    ip_list = [_line(ip, 64) for ip in list(ips)[:MAX_IPS] if str(ip).strip()]
    replies = merge_replies(groups)
    names = {str(k): v for k, v in (helo or {}).items()}

    out: list[str] = []
    if placeholders:
        out.append(f"[sender] in the config file fills these in: {', '.join(placeholders)}.")
    if provider is not None:
        out.append(f"Note: {provider.contact_note}")
        to = provider.contact or f"postmaster@{dom}"
        out.append(f"To: {to}" if "@" in to else f"To: the web form at {to}")
    else:
        out.append("Note: " + PB.UNKNOWN_CONTACT_NOTE.format(domain=dom))
        out.append(f"To: postmaster@{dom}, abuse@{dom}")
    out.append("Note: keep in 'What we have done' only what is true before sending.")
    n_ips = len(ip_list)
    out.append(
        f"Subject: Unblock request: mail from {org} ({n_ips} sending IP"
        f"{'s' if n_ips != 1 else ''}) to {dom}"
    )
    out.append("")

    greeting = provider.name if provider is not None else dom
    out.append(f"Hello {greeting} postmaster team,")
    out.append("")
    first = None
    for reply in replies:
        if reply.first_seen is not None:
            with contextlib.suppress(TypeError):  # naive against aware: keep the first
                first = reply.first_seen if first is None else min(first, reply.first_seen)
    website = f" ({fields['website']})" if fields["website"] else ""
    out.append(
        f"We are {org}{website}. We send mail that your users subscribed to from a Lyris "
        f"ListManager server (mail stream '{stream}')."
    )
    since = f"Since {fmt_time(first)}, your" if first is not None else "Your"
    out.append(
        f"{since} servers have refused or deferred our mail to {dom}. We have looked into the "
        "cause and ask for your help in getting our mail delivered again."
    )
    out.append("")

    out.append("Our sending IPs:")
    for ip in ip_list or ["<sending IP>"]:
        name = names.get(ip)
        out.append(f"  {ip}" + (f"  (PTR/HELO: {_line(name, 253)})" if name else ""))
    out.append("")

    out.append("Your servers replied (count, first and last seen, your MX hosts):")
    if not replies:
        out.append("  (no reply text is recorded for this block)")
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

    out.append("What we have done:")
    out += [f"  - {line}" for line in _commitments(advice)]
    out.append("")

    out.append("Our request:")
    if provider is not None and not provider.has_allowlist:
        out.append(
            f"  We understand that {provider.name} keeps no allowlist. Please review our sending "
            "IPs' reputation after these changes, and tell us if anything else is needed."
        )
    else:
        out.append(
            "  Please remove the IPs above from your block list, or add them to your allow "
            "list. If the block is deliberate, please tell us the reason so that we can fix it."
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


__all__ = ["PLACEHOLDERS", "ContactLike", "allowlist_request"]
