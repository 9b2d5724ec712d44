"""The demo database: a realistic ListManager database in the model schema, built from a seed.

:func:`build_demo_database` writes a SQLite file with streams and their sending IPs, receiving
domains (real mailbox providers first, then generated business domains) with MX hosts, IP-pair
and domain blocks with a cause each, the delivery attempts behind them (replies phrased like the
provider's own for that cause), background traffic with per-recipient failures, the per-stream
5-minute tracking series, ListManager's reply classification tables, connection limits and DKIM
selectors. A table ``lmtriage_demo_info`` holds the anchor time the data is built around and a
JSON *manifest* from which the demo DNS zone is built (see :data:`MANIFEST_DOC`).

Same arguments and the same ``now`` give the same database, byte for byte in content: every
choice comes from one ``random.Random(seed)`` drawn in a fixed order, and ``now`` defaults to the
current local time floored to the hour, so two builds within the same hour match too.

Addresses are from the documentation ranges (RFC 5737) for sending IPs and from the benchmarking
range 198.18.0.0/15 (RFC 2544) for MX IPs; none is a real provider's address.

Intended DNS faults (listed in the manifest's ``faults``, and echoed by the replies):

* one sending IP has no PTR and one has a PTR whose name resolves to another address: where the
  receiver checks rDNS, their blocks are PTR policy rejections (Gmail 5.7.25, Comcast, GMX
  "Bad DNS PTR", Mail.ru, AT&T, Postfix "cannot find your hostname");
* one sending IP is listed on zen.spamhaus.org (127.0.0.3) and bl.spamcop.net: its blocks
  name the blocklist ("blocked using zen.spamhaus.org", Yahoo [BL21], ...);
* the DKIM key ListManager holds for tx.example.org (transactional) is not the one in DNS (the
  DNS key was rotated), so that stream sends unsigned and its blocks are mostly
  authentication failures (Gmail 5.7.26, Yahoo 5.7.9, Outlook 5.7.515, iCloud HME1);
* news.example.net (newsletters) publishes DMARC ``p=none`` and signs with a 1024-bit key;
* one provider MX IP that has blocks is no longer an MX of its domain (a stale block).

With fewer than four streams the DKIM mismatch and ``p=none`` move to the last stream's domain.

Speed: the attempt log is written with the stdlib ``sqlite3`` module from generators in one
transaction, with journaling off; rows are produced in time order (AttemptID follows time) and
the indexes are built after loading. Ten million attempts take a few minutes.
"""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from tui.db.model import MODEL_BY_KEY, create_model_metadata
from tui.errors import LmError

GENERATOR_VERSION = "1"
DEMO_INFO_TABLE = "lmtriage_demo_info"
WINDOW = timedelta(days=7)
BUCKET_SECONDS = 300

Progress = Callable[[str, float], None]

MANIFEST_DOC = """\
manifest (JSON in lmtriage_demo_info, key "manifest"), for the demo DNS zone builder:
  version              manifest format version (1)
  streams              {stream name: [sending IPs]}
  stream_sender_domains {stream name: the From/DKIM domain the stream sends as}
  sender_domains       [every sender domain]
  spf                  {sender domain: SPF TXT record to publish}
  dmarc                {sender domain: DMARC TXT record for _dmarc.<domain>}
  dkim                 [{domain, selector, private_key_pem, bits, dns_key, dns_public_key}]
                       dns_key "match": publish the public key of private_key_pem;
                       "mismatch": publish dns_public_key, which is NOT that key's public key.
                       dns_public_key is always the base64 p= value to publish.
  receiving_domains    {domain: {"mx": [[preference, host, ip], ...], "provider": style}} for
                       every mailbox provider and every domain that has a block
  ptr                  {sending IP: hostname | null (publish no PTR) | "mismatch"}
  ptr_mismatch         {IP: {"hostname": h, "resolves_to": other IP}}: publish PTR IP -> h and
                       A h -> other IP, so forward-confirmed rDNS fails
  helo                 {sending IP: the HELO name ListManager uses}
  listed_ips           [sending IPs listed on a blocklist]
  listings             {IP: {blocklist zone: [answers]}} e.g. zen.spamhaus.org -> [127.0.0.3]
  stale_mx_ips         {MX IP: domain}: an MX IP that still has blocks in the database but is
                       no longer an MX of the domain: leave it out of the zone (a stale block)
  faults               [{kind, ...}] the intended faults, in words for people and tests:
                       ptr_missing, ptr_mismatch, dnsbl_listed, dkim_key_mismatch,
                       dkim_weak_key, dmarc_none, stale_mx
"""

# --------------------------------------------------------------------------- fixed data

_STREAM_DEFS: tuple[tuple[str, str, str, float, str], ...] = (
    # name, description, sender domain, volume share, rhythm
    ("default", "Default MailStream", "example.com", 0.15, "office"),
    ("marketing", "Marketing campaigns", "mail.example.com", 0.38, "campaign"),
    ("transactional", "Receipts and password resets", "tx.example.org", 0.14, "smooth"),
    ("newsletters", "Weekly newsletters", "news.example.net", 0.18, "weekly"),
    ("notifications", "Account notifications", "notify.example.com", 0.06, "smooth"),
    ("promotions", "Seasonal promotions", "promo.example.net", 0.05, "campaign"),
    ("alerts", "Security alerts", "alerts.example.org", 0.01, "smooth"),
    ("billing", "Invoices and statements", "billing.example.com", 0.03, "office"),
)

# sender domain -> (selector, key file stem, dns key file stem or None for a match, dmarc policy)
_DKIM_DEFS: dict[str, tuple[str, str, str | None, str]] = {
    "example.com": ("lm1", "example-com", None, "reject"),
    "mail.example.com": ("mkt2025", "mail-example-com", None, "quarantine"),
    # The key in DNS was rotated but ListManager still holds the old private key.
    "tx.example.org": ("tx1", "tx-example-org", "tx-example-org-dns", "reject"),
    # An old 1024-bit key and an unenforced DMARC policy.
    "news.example.net": ("news2019", "news-example-net", None, "none"),
    "notify.example.com": ("ntf1", "notify-example-com", None, "reject"),
    "promo.example.net": ("promo1", "promo-example-net", None, "quarantine"),
    "alerts.example.org": ("alert1", "alerts-example-org", None, "reject"),
    "billing.example.com": ("bill1", "billing-example-com", None, "reject"),
}

_IP_RANGES = ("192.0.2", "198.51.100", "203.0.113")

# domain, reply style, volume share (percent), MX [(preference, host)]
_PROVIDERS: tuple[tuple[str, str, float, tuple[tuple[int, str], ...]], ...] = (
    (
        "gmail.com",
        "google",
        28.0,
        (
            (5, "gmail-smtp-in.l.google.com"),
            (10, "alt1.gmail-smtp-in.l.google.com"),
            (20, "alt2.gmail-smtp-in.l.google.com"),
            (30, "alt3.gmail-smtp-in.l.google.com"),
        ),
    ),
    (
        "yahoo.com",
        "yahoo",
        9.0,
        ((1, "mta5.am0.yahoodns.net"), (1, "mta6.am0.yahoodns.net"), (1, "mta7.am0.yahoodns.net")),
    ),
    ("outlook.com", "microsoft", 4.0, ((5, "outlook-com.olc.protection.outlook.com"),)),
    ("hotmail.com", "microsoft", 6.0, ((2, "hotmail-com.olc.protection.outlook.com"),)),
    ("aol.com", "yahoo", 3.0, ((1, "mx-aol.mail.gm0.yahoodns.net"),)),
    ("icloud.com", "apple", 3.0, ((10, "mx01.mail.icloud.com"), (10, "mx02.mail.icloud.com"))),
    ("comcast.net", "comcast", 2.5, ((5, "mx1.comcast.net"), (5, "mx2.comcast.net"))),
    ("live.com", "microsoft", 1.2, ((2, "live-com.olc.protection.outlook.com"),)),
    (
        "att.net",
        "att",
        1.2,
        (
            (5, "ff-ip4-mx-vip1.prodigy.net"),
            (10, "ff-ip4-mx-vip2.prodigy.net"),
            (20, "al-ip4-mx-vip1.prodigy.net"),
        ),
    ),
    ("googlemail.com", "google", 0.3, ()),  # shares gmail.com's MX hosts
    ("msn.com", "microsoft", 0.6, ((2, "msn-com.olc.protection.outlook.com"),)),
    ("me.com", "apple", 0.6, ()),  # shares icloud.com's MX hosts
    ("sbcglobal.net", "att", 1.0, ()),  # shares att.net's MX hosts
    ("orange.fr", "orange", 1.0, ((10, "smtp-in.orange.fr"),)),
    ("wanadoo.fr", "orange", 0.4, ()),  # shares orange.fr's MX host
    ("gmx.de", "gmx", 1.0, ((10, "mx00.emig.gmx.net"), (10, "mx01.emig.gmx.net"))),
    ("web.de", "gmx", 0.8, ((100, "mx-ha02.web.de"), (100, "mx-ha03.web.de"))),
    ("t-online.de", "tonline", 0.6, ((10, "mx00.t-online.de"), (10, "mx01.t-online.de"))),
    ("mail.ru", "mailru", 0.5, ((10, "mxs.mail.ru"),)),
    ("yandex.ru", "yandex", 0.4, ((10, "mx.yandex.ru"),)),
    ("free.fr", "free", 0.4, ((10, "mx1.free.fr"), (20, "mx2.free.fr"))),
    ("laposte.net", "laposte", 0.3, ((10, "mx1.laposte.net"), (10, "mx2.laposte.net"))),
    ("libero.it", "libero", 0.3, ((10, "smtp-in.libero.it"),)),
    ("btinternet.com", "bt", 0.4, ((10, "mx.bt.lon5.cpcloud.co.uk"),)),
    ("verizon.net", "yahoo", 0.5, ()),  # hosted by AOL/Yahoo: shares aol.com's MX host
    ("cox.net", "cox", 0.5, ((10, "cxr.mx.a.cloudfilter.net"), (10, "cxr.mx.b.cloudfilter.net"))),
    ("charter.net", "cox", 0.4, ((10, "mx01.charter.net"), (10, "mx02.charter.net"))),
    (
        "earthlink.net",
        "earthlink",
        0.2,
        ((10, "mx01.earthlink-vadesecure.net"), (10, "mx02.earthlink-vadesecure.net")),
    ),
    ("protonmail.com", "proton", 0.3, ((10, "mail.protonmail.ch"), (20, "mailsec.protonmail.ch"))),
    ("zoho.com", "zoho", 0.2, ((10, "mx.zoho.com"), (20, "mx2.zoho.com"), (50, "mx3.zoho.com"))),
    ("bellsouth.net", "att", 0.3, ()),
    ("mac.com", "apple", 0.2, ()),
    ("ymail.com", "yahoo", 0.2, ()),
    ("gmx.net", "gmx", 0.4, ()),
)
_SHARED_MX = {
    "googlemail.com": "gmail.com",
    "me.com": "icloud.com",
    "mac.com": "icloud.com",
    "sbcglobal.net": "att.net",
    "bellsouth.net": "att.net",
    "wanadoo.fr": "orange.fr",
    "verizon.net": "aol.com",
    "ymail.com": "yahoo.com",
    "gmx.net": "gmx.de",
}

# Business mail platforms: name, reply style, share.
_PLATFORMS: tuple[tuple[str, str, float], ...] = (
    ("postfix", "postfix", 0.30),
    ("exim", "exim", 0.18),
    ("m365", "m365", 0.20),
    ("workspace", "google", 0.12),
    ("proofpoint", "proofpoint", 0.06),
    ("mimecast", "mimecast", 0.06),
    ("ironport", "ironport", 0.05),
    ("barracuda", "barracuda", 0.03),
)

_WORDS = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "northwind",
    "contoso",
    "fabrikam",
    "tailspin",
    "wingtip",
    "litware",
    "proseware",
    "lucerne",
    "alpine",
    "coho",
    "humongous",
    "woodgrove",
    "southridge",
    "trey",
    "fourthcoffee",
    "blueyonder",
    "adatum",
    "margie",
    "cronos",
    "vandelay",
    "hooli",
    "soylent",
    "tyrell",
    "cyberdyne",
    "oceanic",
    "dunder",
    "sterling",
    "pinnacle",
    "summit",
    "harbor",
    "redwood",
    "ironbridge",
    "silverline",
    "bluepeak",
    "granite",
    "cedar",
    "maple",
    "willow",
    "falcon",
    "eagle",
    "orion",
    "vertex",
    "apex",
    "nova",
    "lumen",
    "quantum",
    "atlas",
    "polaris",
    "meridian",
]
_SUFFIXES = [
    "corp",
    "group",
    "industries",
    "consulting",
    "logistics",
    "partners",
    "systems",
    "labs",
    "holdings",
    "solutions",
    "media",
    "health",
    "bank",
    "insurance",
    "energy",
    "foods",
    "motors",
    "tech",
    "retail",
    "travel",
    "capital",
    "legal",
    "design",
    "clinic",
    "realty",
    "studios",
]
_TLDS = (".com", ".com", ".com", ".net", ".org", ".de", ".co.uk", ".fr", ".io", ".biz", ".nl")
_SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "bu",
    "da",
    "de",
    "di",
    "do",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "ra",
    "re",
    "ri",
    "ro",
    "ru",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
    "vo",
    "za",
    "zo",
    "ex",
    "an",
    "or",
    "en",
    "ix",
    "ar",
    "el",
    "us",
]
_FIRST = [
    "anna",
    "ben",
    "chris",
    "dana",
    "erik",
    "fatima",
    "george",
    "hana",
    "ivan",
    "julia",
    "kai",
    "lena",
    "marco",
    "nora",
    "omar",
]
_LAST = [
    "smith",
    "muller",
    "garcia",
    "rossi",
    "dubois",
    "kowalski",
    "tanaka",
    "silva",
    "novak",
    "berg",
    "weber",
    "moreau",
]
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

COMPLETION_STATUS: tuple[tuple[int, str], ...] = (
    (300, "Success"),
    (2001, "Invalid user"),
    (2002, "Invalid domain"),
    (3001, "Mailbox full"),
    (4001, "Transient failure"),
    (4002, "Too many connections"),
    (4003, "Greylisted"),
    (5001, "Banned IP"),
    (5002, "Rejected by policy"),
    (6001, "Technical issue"),
    (6002, "TLS required"),
    (8001, "Content filtered"),
    (8002, "Authentication failure"),
    (9001, "MailStream blocked"),
)

# Area (0 incoming, 1 SMTP send), PatternType (0 substring, 1 rooted, 2 regexp), code, status,
# pattern. One regexp is deliberately invalid: real databases have them.
DAO_DEFINITIONS: tuple[tuple[int, int, int | None, int, str], ...] = (
    (1, 0, 550, 2001, "user unknown"),
    (1, 0, None, 2001, "does not exist"),
    (1, 0, None, 2001, "no such user"),
    (1, 0, None, 2001, "mailbox unavailable"),
    (1, 2, None, 2001, r"(unknown|invalid) (user|recipient"),  # invalid: unbalanced "("
    (1, 0, None, 2002, "domain not found"),
    (1, 0, None, 3001, "mailbox full"),
    (1, 0, None, 3001, "over quota"),
    (1, 2, 552, 3001, r"quota (exceeded|violation)"),
    (1, 0, None, 4002, "too many connections"),
    (1, 1, 421, 4001, "421 4.7.0"),
    (1, 0, None, 4001, "try again later"),
    (1, 0, None, 4003, "greylist"),
    (1, 0, None, 5001, "blocked using"),
    (1, 0, None, 5001, "poor reputation"),
    (1, 2, None, 5001, r"\[TSS0[0-9]\]"),
    (1, 2, None, 5001, r"\(S3(140|150)\)"),
    (1, 0, None, 5001, "BL000000"),
    (1, 2, None, 5002, r"(PTR|reverse DNS|rDNS)"),
    (1, 1, 554, 5002, "554 5.7.1"),
    (1, 0, None, 6002, "STARTTLS"),
    (1, 0, None, 8001, "spam"),
    (1, 2, None, 8002, r"5\.7\.(26|27|30|515)"),
    (0, 0, None, 2001, "user unknown"),
)

# domain -> ConnectionLimit_, ConnPerHour_, MaxMsgPerConn_ (others use the default of 10)
CONNECTION_LIMITS: tuple[tuple[str, int | None, int | None, int | None], ...] = (
    ("yahoo.com", 5, 300, 20),
    ("aol.com", 5, 300, 20),
    ("comcast.net", 2, 120, 10),
    ("att.net", 3, None, 25),
    ("orange.fr", 3, 100, 10),
    ("hotmail.com", 8, None, 50),
    ("gmx.de", 5, None, 20),
    ("mail.ru", 4, 200, None),
)

CAUSES = ("reputation", "dnsbl", "rate_limit", "authentication", "policy")
_CAUSE_STATUS = {
    "reputation": 5001,
    "dnsbl": 5001,
    "rate_limit": 4002,
    "authentication": 8002,
    "policy": 5002,
}
_CAUSE_WEIGHT = {
    "reputation": 0.34,
    "rate_limit": 0.32,
    "dnsbl": 0.14,
    "policy": 0.1,
    "authentication": 0.1,
}
_SHORT_REASON = {
    "reputation": "IP reputation",
    "dnsbl": "listed on a DNS blocklist",
    "rate_limit": "too many connections",
    "authentication": "authentication failed",
    "policy": "rejected by policy",
}

# --------------------------------------------------------------------------- small helpers


def _hex(r: random.Random, n: int) -> str:
    return format(r.getrandbits(4 * n), f"0{n}x")


def _alnum(r: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(r.choices(alphabet, k=n))


def _digits(r: random.Random, n: int) -> str:
    return str(r.randrange(10 ** (n - 1), 10**n))


@dataclass(slots=True)
class _Ctx:
    """The variable parts of one reply."""

    ip: str
    mx_host: str
    mx_ip: str
    domain: str
    sender: str
    ts: str  # "YYYY-MM-DD HH:MM:SS"

    def rcpt(self, r: random.Random) -> str:
        """A recipient address at the receiving domain."""
        style = r.random()
        first, last = r.choice(_FIRST), r.choice(_LAST)
        if style < 0.4:
            local = f"{first}.{last}"
        elif style < 0.7:
            local = f"{first[0]}{last}{r.randrange(1, 99)}"
        else:
            local = f"{first}{r.randrange(1950, 2010)}"
        return f"{local}@{self.domain}"

    def iso(self, r: random.Random) -> str:
        return f"{self.ts.replace(' ', 'T')}.{r.randrange(1000):03d}Z"


Reply = tuple[int | None, str]
Template = Callable[[random.Random, _Ctx], Reply]


def _gid(r: random.Random) -> str:
    """A Gmail per-message id (the token before ``- gsmtp``)."""
    if r.random() < 0.5:
        return (
            f"{_hex(r, 13)}-{_hex(r, 11)}si{_digits(r, 7)}{_alnum(r, 2, 'abcdefghijklmnopqrstuvwxyz')}"
            f".{r.randrange(100, 999)}"
        )
    return f"{_alnum(r, 1, 'abcdefghijklmnopqrstuvwxyz')}{r.randrange(1, 99)}si{_digits(r, 7)}{_alnum(r, 3, 'abcdefghijklmnopqrstuvwxyz')}.{r.randrange(1, 999)}"


_WRAPPED: dict[tuple[str, str], str] = {}


def _google_wrap(code: str, body: str, r: random.Random) -> str:
    """Gmail's multi-line reply joined ListManager-style: ``550-5.7.1 ...`` continuation tags."""
    head = _WRAPPED.get((code, body))
    if head is None:
        if len(_WRAPPED) > 20_000:
            _WRAPPED.clear()
        head = _WRAPPED[(code, body)] = _wrap_lines(code, body)
    return f"{head} {_gid(r)} - gsmtp"


def _wrap_lines(code: str, body: str) -> str:
    words = body.split(" ")
    lines: list[str] = []
    line: list[str] = []
    for word in words:
        line.append(word)
        if sum(len(w) + 1 for w in line) > 62:
            lines.append(" ".join(line))
            line = []
    if line:
        lines.append(" ".join(line))
    basic, enhanced = code.split(" ")
    parts = [f"{basic}-{enhanced} {text}" for text in lines[:-1]]
    parts.append(f"{basic} {enhanced} {lines[-1]}")
    return " ".join(parts)


def _eop_host(r: random.Random) -> str:
    pfx = r.choice(("BN8", "DM6", "SN1", "CO1", "MW2", "BY2", "CY4", "SA2", "DS1"))
    n = r.randrange(10, 99)
    return f"{pfx}NAM{n}FT{r.randrange(10, 99):03d}.eop-nam{n}.prod.protection.outlook.com"


def _ms_tail(r: random.Random, c: _Ctx) -> str:
    return f"[{_eop_host(r)} {c.iso(r)} {_hex(r, 16).upper()}]"


def _comcast_host(r: random.Random) -> str:
    site = r.choice(("po", "ch2", "ccx", "sa"))
    return f"resimta-{site}-{r.randrange(10, 40)}v.sys.comcast.net"


def _orange_host(r: random.Random) -> str:
    return f"mwinf{r.randrange(5, 7)}{r.choice('cd')}{r.randrange(10, 99)}"


def _gmx_host(r: random.Random, c: _Ctx) -> str:
    if "web.de" in c.domain:
        return f"web.de (mxweb{r.randrange(100, 120)})"
    return f"gmx.net (mxgmx{r.randrange(100, 120)})"


# --------------------------------------------------------------------------- block replies
# style -> cause -> [(template, probability that a block with it is Permanent)]


def _g_rate(r: random.Random, c: _Ctx) -> Reply:
    body = (
        f"[{c.ip} 15] Our system has detected an unusual rate of unsolicited mail originating "
        "from your IP address. To protect our users from spam, mail sent from your IP address "
        "has been temporarily rate limited. Please visit "
        "https://support.google.com/mail/?p=UnsolicitedRateLimitError to review our Bulk Email "
        "Senders Guidelines."
    )
    return 421, _google_wrap("421 4.7.28", body, r)


def _g_rate_same_id(r: random.Random, c: _Ctx) -> Reply:
    body = (
        "Gmail has detected this message exceeded its quota for sending messages with the same "
        "Message-ID:. To best protect our users, the message has been temporarily rejected. For "
        "more information, go to https://support.google.com/mail/answer/188131"
    )
    return 421, _google_wrap("421 4.7.28", body, r)


def _g_rep(r: random.Random, c: _Ctx) -> Reply:
    body = (
        f"[{c.ip} 12] Our system has detected that this message is likely suspicious due to the "
        "very low reputation of the sending IP address. To best protect our users from spam, the "
        "message has been blocked. Please visit https://support.google.com/mail/answer/188131 "
        "for more information."
    )
    return 550, _google_wrap("550 5.7.1", body, r)


def _g_rep_blocked(r: random.Random, c: _Ctx) -> Reply:
    body = (
        f"[{c.ip} 1] Our system has detected an unusual rate of unsolicited mail originating from "
        "your IP address. To protect our users from spam, mail sent from your IP address has been "
        "blocked. Please visit https://support.google.com/mail/?p=UnsolicitedIPError to review "
        "our Bulk Email Senders Guidelines."
    )
    return 550, _google_wrap("550 5.7.1", body, r)


def _g_auth(r: random.Random, c: _Ctx) -> Reply:
    body = (
        "This mail has been blocked because the sender is unauthenticated. Gmail requires all "
        "senders to authenticate with either SPF or DKIM. Authentication results: DKIM = did not "
        f"pass SPF [{c.sender}] with ip: [{c.ip}] = did not pass For instructions on setting up "
        "authentication, go to https://support.google.com/mail/answer/81126#authentication"
    )
    return 550, _google_wrap("550 5.7.26", body, r)


def _g_auth_dkim(r: random.Random, c: _Ctx) -> Reply:
    body = (
        "Your email has been rate limited because DKIM authentication didn't pass for this "
        "message. Gmail requires all email bulk senders to authenticate their email with DKIM. "
        f"Authentication results: DKIM = did not pass. DKIM domain: {c.sender}. For instructions "
        "on setting up DKIM, go to https://support.google.com/mail/answer/180707"
    )
    return 421, _google_wrap("421 4.7.30", body, r)


def _g_ptr(r: random.Random, c: _Ctx) -> Reply:
    body = (
        f"[{c.ip}] The IP address sending this message does not have a PTR record setup, or the "
        "corresponding forward DNS entry does not point to the sending IP. As a policy, Gmail "
        "does not accept messages from IPs with missing PTR records. Please visit "
        "https://support.google.com/mail/answer/81126#ip-practices for more information."
    )
    return 550, _google_wrap("550 5.7.25", body, r)


def _g_ptr_temp(r: random.Random, c: _Ctx) -> Reply:
    body = (
        f"[{c.ip}] The sending IP does not match the IP address of the hostname specified in the "
        "pointer (PTR) record. To learn more, go to "
        "https://support.google.com/mail/answer/81126#ip-practices"
    )
    return 421, _google_wrap("421 4.7.23", body, r)


def _y_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 4.7.0 [TSS04] Messages from {c.ip} temporarily deferred due to unexpected volume or "
        "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"
    )


def _y_rep(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 4.7.0 [TSS04] Messages from {c.ip} temporarily deferred due to user complaints - "
        "4.16.55.1; see https://postmaster.yahooinc.com/error-codes"
    )


def _y_rep_perm(r: random.Random, c: _Ctx) -> Reply:
    return 553, (
        f"553 5.7.2 [TSS09] All messages from {c.ip} will be permanently deferred; Retrying will "
        "NOT succeed. See https://postmaster.yahooinc.com/error-codes"
    )


def _y_bl(r: random.Random, c: _Ctx) -> Reply:
    return 553, (
        f"553 5.7.1 [BL21] Connections will not be accepted from {c.ip}, because the ip is in "
        "Spamhaus's list; see https://postmaster.yahooinc.com/error-codes"
    )


def _y_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
        "requires all senders to authenticate with either SPF or DKIM."
    )


def _y_auth_policy(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 5.7.9 Message not accepted for policy reasons: {c.sender} fails DKIM and SPF "
        "(unauthenticated). See https://postmaster.yahooinc.com/error-codes"
    )


def _y_policy(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        "421 4.7.0 [PH01] Email not accepted for policy reasons. Please visit "
        "https://postmaster.yahooinc.com/error-codes"
    )


def _ms_rep(r: random.Random, c: _Ctx) -> Reply:
    code = r.choice(("S3140", "S3140", "S3150"))
    return 550, (
        f"550 5.7.1 Unfortunately, messages from [{c.ip}] weren't sent. Please contact your "
        "Internet service provider since part of their network is on our block list "
        f"({code}). You can also refer your provider to "
        f"http://mail.live.com/mail/troubleshooting.aspx#errors. {_ms_tail(r, c)}"
    )


def _ms_banned(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.606 Access denied, banned sending IP [{c.ip}]. To request removal from this "
        "list please visit https://sender.office.com/ and follow the directions. For more "
        f"information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) "
        f"{_ms_tail(r, c)}"
    )


def _ms_rate(r: random.Random, c: _Ctx) -> Reply:
    return 451, (
        f"451 4.7.652 The mail server [{c.ip}] has exceeded the maximum number of connections. "
        f"(S3115) {_ms_tail(r, c)}"
    )


def _ms_rate_busy(r: random.Random, c: _Ctx) -> Reply:
    return 451, (
        f"451 4.7.500 Server busy. Please try again later from [{c.ip}]. (S77714) {_ms_tail(r, c)}"
    )


def _ms_bl(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.1 Service unavailable, Client host [{c.ip}] blocked using Spamhaus. To request "
        f"removal from this list see https://www.spamhaus.org/query/ip/{c.ip} (AS3130) "
        f"{_ms_tail(r, c)}"
    )


def _ms_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.515 Access denied, sending domain [{c.sender.upper()}] does not meet the "
        "required authentication level. The sender's domain in the 5322.From address doesn't "
        "meet the authentication requirements defined for the sender. To learn more about "
        "requirements for high volume senders, visit https://aka.ms/LearnMoreAboutSenderRequirements. "
        f"{_ms_tail(r, c)}"
    )


def _ms_policy_tenant(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.513 Service unavailable, Client host [{c.ip}] blocked by {c.domain} using "
        f"Customer Block list (AS16012607) {_ms_tail(r, c)}"
    )


def _ms_policy(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.25 Access denied, the sending IP address [{c.ip}] must have a reverse DNS "
        f"record {_ms_tail(r, c)}"
    )


def _apple_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 4.7.1 Messages to {c.rcpt(r)} deferred due to excessive volume. Try again later - "
        "https://support.apple.com/en-us/HT204137"
    )


def _apple_rep(r: random.Random, c: _Ctx) -> Reply:
    return 550, f"550 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip={c.ip}"


def _apple_auth(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        "554 5.7.1 [HME1] This message was blocked for failing both SPF and DKIM authentication "
        "checks. See https://support.apple.com/en-us/HT204137 for mailing best practices"
    )


def _apple_policy(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        "550 5.7.1 [CS01] Message rejected due to local policy. Please visit "
        "https://support.apple.com/en-us/HT204137"
    )


def _cc_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 {_comcast_host(r)} comcast {c.ip} Comcast block for spam. Please see "
        "http://postmaster.comcast.net/smtp-error-codes.php#BL000000"
    )


def _cc_bl(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 {_comcast_host(r)} comcast {c.ip} found on one or more DNSBLs (Spamhaus). Please see "
        "http://postmaster.comcast.net/smtp-error-codes.php#BL000001"
    )


def _cc_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 {_comcast_host(r)} comcast {c.ip} Too many sessions opened from your IP. Please see "
        "http://postmaster.comcast.net/smtp-error-codes.php#RL000001"
    )


def _cc_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 {_comcast_host(r)} comcast {c.ip} Comcast requires that all mail servers must have a "
        "PTR record with a valid Reverse DNS entry. Currently your mail server does not fill "
        "that requirement. For more information, refer to: "
        "http://postmaster.comcast.net/smtp-error-codes.php#554"
    )


def _cc_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.2.0 {_comcast_host(r)} comcast {c.sender} DMARC/DKIM authentication failed. "
        "Please see http://postmaster.comcast.net/smtp-error-codes.php#DM000001"
    )


def _att_bl(r: random.Random, c: _Ctx) -> Reply:
    return 553, (
        f"553 5.3.0 flpd{r.randrange(100, 700)} DNSBL:ATTRBL 521< {c.ip} >_is_blocked.For assistance "
        "forward this error to abuse_rbl@abuse-att.net"
    )


def _att_rate(r: random.Random, c: _Ctx) -> Reply:
    return (
        421,
        f"421 4.3.2 alph{r.randrange(100, 900)} Connection limit exceeded for {c.ip}, try again later",
    )


def _att_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        "550 5.7.1 Connections not accepted from servers without a valid sender domain."
        f"flph{r.randrange(100, 900)} Fix reverse DNS for {c.ip}"
    )


def _or_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 {_orange_host(r)} ME Trop de connexions, veuillez verifier votre configuration. "
        "Too many connections, slow down. OFR005_104 [104]"
    )


def _or_rep(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 {_orange_host(r)} ME Service refuse. Veuillez essayer plus tard. Service refused, "
        "please try later. OFR004_104 [104]"
    )


def _or_bl(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.1 {_orange_host(r)} ME Adresse IP source bloquee pour incident de spam. Client "
        f"host blocked for spamming issues. OFR006_102 Ref http://csi.cloudmark.com/reset-request/?ip={c.ip} [102]"
    )


def _or_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.1 {_orange_host(r)} ME Adresse IP source sans reverse DNS valide. Client host "
        "without valid reverse DNS. OFR001_108 [108]"
    )


def _gmx_rep(r: random.Random, c: _Ctx) -> Reply:
    host = _gmx_host(r, c)
    return 554, (
        f"554-{host} Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is "
        f"block listed. 554 For explanation visit https://postmaster.gmx.net/en/case?c=hi&i=ip&v={c.ip}"
        f"&r={_alnum(r, 20, _B62)}"
    )


def _gmx_ptr(r: random.Random, c: _Ctx) -> Reply:
    host = _gmx_host(r, c)
    return 554, (
        f"554-{host} Nemesis ESMTP Service not available 554-No SMTP service 554-Bad DNS PTR "
        f"resource record. 554 For explanation visit http://postmaster.gmx.com/en/error-messages?ip={c.ip}&c=rdns"
    )


def _gmx_rate(r: random.Random, c: _Ctx) -> Reply:
    host = _gmx_host(r, c)
    return 421, (
        f"421-{host} Nemesis ESMTP Service not available 421-Service unavailable 421-Reject due to "
        f"too many connections from {c.ip}. 421 For explanation visit "
        f"http://postmaster.gmx.com/en/error-messages?ip={c.ip}&c=irlimit"
    )


def _to_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 IP={c.ip} - A problem occurred. (Ask your postmaster for help or to contact "
        "tosa@rx.t-online.de to clarify.) (BL)"
    )


def _to_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 IP={c.ip} - A problem occurred. (Ask your postmaster for help or to contact "
        "tosa@rx.t-online.de to clarify.) (RDNS)"
    )


def _mr_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        "550 Sorry, we do not accept mail from hosts with dynamic IP or generic DNS PTR-records. "
        f"Please get a custom reverse DNS name from your ISP for your host {c.ip} or contact "
        "abuse@corp.mail.ru in case of error"
    )


def _mr_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, f"421 4.7.1 Too many connections from your IP {c.ip}. Please try again later. (RL)"


def _ya_rate(r: random.Random, c: _Ctx) -> Reply:
    return 451, (
        "451 4.7.1 Sorry, the service is currently unavailable. Please come back later. "
        f"{_alnum(r, 10, _B62)}-{_alnum(r, 8, _B62)}"
    )


def _ya_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.1 Email rejected per DMARC policy for {c.sender} "
        f"{_alnum(r, 10, _B62)}-{_alnum(r, 8, _B62)}"
    )


def _free_rep(r: random.Random, c: _Ctx) -> Reply:
    return 421, f"421 Too many spams from your IP ({c.ip}), please visit http://postmaster.free.fr/"


def _free_rate(r: random.Random, c: _Ctx) -> Reply:
    return (
        421,
        f"421 4.7.0 Too many connections from {c.ip}, try again later. http://postmaster.free.fr/",
    )


def _lp_rate(r: random.Random, c: _Ctx) -> Reply:
    return (
        421,
        f"421 4.7.0 [{c.ip}] Trop de connexions simultanees. Too many concurrent connections.",
    )


def _lp_rep(r: random.Random, c: _Ctx) -> Reply:
    return (
        550,
        f"550 5.7.1 [{c.ip}] Votre IP est bloquee. Your IP has a poor reputation. LPN007_510",
    )


def _lib_rep(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 smtp-{r.randrange(10, 40)}.iol.local smtp-in.libero.it {c.ip} Service not available. "
        "Messages from your IP address are blocked due to poor reputation. (RBL)"
    )


def _bt_bl(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 5.7.1 [{c.ip}] blocked using sp.bt.com (Spamhaus). Refer to "
        "https://www.bt.com/help/email/sender-blocked"
    )


def _bt_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, f"421 4.7.0 [{c.ip}] Rate limit exceeded. Please try again later. (BT_RL2)"


def _cox_rep(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.1.0 <bounce@{c.sender}> sender rejected. Refer to Error Codes section at "
        "https://www.cox.com/residential/support/email-error-codes.html for more information. "
        "AUP#CDRBL"
    )


def _cox_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, (
        f"421 cxr.mx.a.cloudfilter.net cmsmtp {c.ip} blocked. Refer to Error Codes section at "
        "https://www.cox.com/residential/support/email-error-codes.html for more information. "
        "AUP#CXCNCT"
    )


def _el_rep(r: random.Random, c: _Ctx) -> Reply:
    return 550, f"550 IP {c.ip} is blocked by EarthLink. Go to earthlink.net/block for details."


def _pm_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, f"421 4.7.0 Too many messages from {c.ip}, try again later"


def _pm_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, f"554 5.7.1 Service unavailable; Client host [{c.ip}] rejected: poor reputation"


def _zoho_bl(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 5.7.1 : Sender's IP {c.ip} blocked using zen.spamhaus.org. "
        "https://www.zoho.com/mail/help/adminconsole/spam-control.html"
    )


def _zoho_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, f"550 5.7.1 Email rejected per DMARC policy for {c.sender}"


_ZONES = (
    ("zen.spamhaus.org", "https://check.spamhaus.org/query/ip/{ip}"),
    ("bl.spamcop.net", "https://www.spamcop.net/bl.shtml?{ip}"),
    (
        "b.barracudacentral.org",
        "https://www.barracudacentral.org/lookups/lookup-reputation?ip={ip}",
    ),
)


def _pf_bl(r: random.Random, c: _Ctx) -> Reply:
    zone, url = _ZONES[0] if r.random() < 0.7 else r.choice(_ZONES[1:])
    return 554, (
        f"554 5.7.1 Service unavailable; Client host [{c.ip}] blocked using {zone}; "
        + url.format(ip=c.ip)
    )


def _pf_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, f"421 4.7.0 {c.mx_host} Error: too many connections from {c.ip}"


def _pf_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 450, f"450 4.7.25 Client host rejected: cannot find your hostname, [{c.ip}]"


def _pf_ptr_rev(r: random.Random, c: _Ctx) -> Reply:
    return 450, f"450 4.7.1 Client host rejected: cannot find your reverse hostname, [{c.ip}]"


def _pf_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.26 <{c.rcpt(r)}>: Recipient address rejected: Message rejected due to DMARC "
        f"policy of {c.sender} (SPF fail, DKIM none)"
    )


def _pf_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 5.7.1 Service unavailable; Client host [{c.ip}] blocked using "
        "Cloudmark Sender Intelligence (Visit http://csi.cloudmark.com/reset-request/ if you "
        "feel this is in error)"
    )


def _ex_bl(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 rejected because {c.ip} is in a black list at zen.spamhaus.org Listed by CSS, see "
        f"https://check.spamhaus.org/query/ip/{c.ip}"
    )


def _ex_rate(r: random.Random, c: _Ctx) -> Reply:
    return (
        421,
        "421 Too many concurrent SMTP connections from this IP address; please try again later.",
    )


def _ex_ptr(r: random.Random, c: _Ctx) -> Reply:
    return 550, f"550 Fix reverse DNS for {c.ip}"


def _ex_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, f"550 SPF check failed: {c.ip} is not allowed to send mail from {c.sender}"


def _ex_rep(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f'550-"JunkMail rejected - {c.ip} is in an RBL 550-on csi.cloudmark.com/reset-request/?ip={c.ip} '
        '550 , see Poor Reputation Sender"'
    )


def _pp_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, f"554 Blocked - see https://ipcheck.proofpoint.com/?ip={c.ip}"


def _pp_bl(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 5.7.1 Service unavailable; client [{c.ip}] blocked using Cloudmark Sender "
        "Intelligence (Visit http://csi.cloudmark.com/reset-request/ if you feel this is in error)"
    )


def _pp_auth(r: random.Random, c: _Ctx) -> Reply:
    return 550, "550 5.7.0 Email rejected per sender's DMARC policy"


def _pp_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, f"421 4.7.0 [{c.ip}] Too many connections; try again later ({_hex(r, 8)})"


def _mc_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        "554 Host network not allowed - https://community.mimecast.com/docs/DOC-1369#554 "
        f"[{_alnum(r, 22, _B62)}.{r.choice(('us', 'uk', 'de'))}{r.randrange(100, 999)}]"
    )


def _mc_rate(r: random.Random, c: _Ctx) -> Reply:
    return 451, (
        "451 Rate limited - https://community.mimecast.com/docs/DOC-1369#451 "
        f"[{_alnum(r, 22, _B62)}.{r.choice(('us', 'uk', 'de'))}{r.randrange(100, 999)}]"
    )


def _mc_bl(r: random.Random, c: _Ctx) -> Reply:
    return 550, (
        f"550 {c.ip} blocked using zen.spamhaus.org - https://community.mimecast.com/docs/DOC-1369#550 "
        f"[{_alnum(r, 22, _B62)}.{r.choice(('us', 'uk', 'de'))}{r.randrange(100, 999)}]"
    )


def _ip_rep(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554-{c.mx_host} 554 your access to this mail system has been rejected due to the sending "
        "MTA's poor reputation. If you believe that this failure is in error please contact the "
        "intended recipient via alternate means. 554-554 https://www.talosintelligence.com/reputation_center"
    )


def _ip_bl(r: random.Random, c: _Ctx) -> Reply:
    return 554, f"554 5.7.1 Service unavailable; Client host [{c.ip}] blocked using bl.spamcop.net"


def _bc_bl(r: random.Random, c: _Ctx) -> Reply:
    return 554, (
        f"554 Service unavailable; Client host [{c.ip}] blocked using Barracuda Reputation; "
        f"http://www.barracudanetworks.com/reputation/?pr=1&ip={c.ip}"
    )


def _bc_rate(r: random.Random, c: _Ctx) -> Reply:
    return 421, "421 4.7.0 Too many concurrent connections from your IP; try again later"


BLOCK_TEMPLATES: dict[str, dict[str, list[tuple[Template, float]]]] = {
    "google": {
        "rate_limit": [(_g_rate, 0.0), (_g_rate_same_id, 0.0)],
        "reputation": [(_g_rep, 0.05), (_g_rep_blocked, 0.1)],
        "authentication": [(_g_auth, 0.05), (_g_auth_dkim, 0.0)],
        "policy": [(_g_ptr, 0.1), (_g_ptr_temp, 0.0)],
    },
    "yahoo": {
        "rate_limit": [(_y_rate, 0.0)],
        "reputation": [(_y_rep, 0.0), (_y_rep_perm, 0.8)],
        "dnsbl": [(_y_bl, 0.1)],
        "authentication": [(_y_auth, 0.05), (_y_auth_policy, 0.05)],
        "policy": [(_y_policy, 0.0)],
    },
    "microsoft": {
        "reputation": [(_ms_rep, 0.05), (_ms_banned, 0.6)],
        "rate_limit": [(_ms_rate, 0.0), (_ms_rate_busy, 0.0)],
        "dnsbl": [(_ms_bl, 0.1)],
        "authentication": [(_ms_auth, 0.05)],
        "policy": [(_ms_policy, 0.1)],
    },
    "m365": {
        "reputation": [(_ms_banned, 0.5)],
        "rate_limit": [(_ms_rate, 0.0), (_ms_rate_busy, 0.0)],
        "dnsbl": [(_ms_bl, 0.1)],
        "authentication": [(_ms_auth, 0.05)],
        "policy": [(_ms_policy_tenant, 0.3), (_ms_policy, 0.1)],
    },
    "apple": {
        "rate_limit": [(_apple_rate, 0.0)],
        "reputation": [(_apple_rep, 0.1)],
        "authentication": [(_apple_auth, 0.05)],
        "policy": [(_apple_policy, 0.05)],
    },
    "comcast": {
        "reputation": [(_cc_rep, 0.1)],
        "dnsbl": [(_cc_bl, 0.1)],
        "rate_limit": [(_cc_rate, 0.0)],
        "policy": [(_cc_ptr, 0.1)],
        "authentication": [(_cc_auth, 0.05)],
    },
    "att": {
        "dnsbl": [(_att_bl, 0.1)],
        "rate_limit": [(_att_rate, 0.0)],
        "policy": [(_att_ptr, 0.1)],
    },
    "orange": {
        "rate_limit": [(_or_rate, 0.0)],
        "reputation": [(_or_rep, 0.0)],
        "dnsbl": [(_or_bl, 0.1)],
        "policy": [(_or_ptr, 0.1)],
    },
    "gmx": {
        "reputation": [(_gmx_rep, 0.1)],
        "policy": [(_gmx_ptr, 0.1)],
        "rate_limit": [(_gmx_rate, 0.0)],
    },
    "tonline": {"reputation": [(_to_rep, 0.1)], "policy": [(_to_ptr, 0.1)]},
    "mailru": {"policy": [(_mr_ptr, 0.1)], "rate_limit": [(_mr_rate, 0.0)]},
    "yandex": {"rate_limit": [(_ya_rate, 0.0)], "authentication": [(_ya_auth, 0.05)]},
    "free": {"reputation": [(_free_rep, 0.0)], "rate_limit": [(_free_rate, 0.0)]},
    "laposte": {"rate_limit": [(_lp_rate, 0.0)], "reputation": [(_lp_rep, 0.1)]},
    "libero": {"reputation": [(_lib_rep, 0.1)]},
    "bt": {"dnsbl": [(_bt_bl, 0.1)], "rate_limit": [(_bt_rate, 0.0)]},
    "cox": {"reputation": [(_cox_rep, 0.1)], "rate_limit": [(_cox_rate, 0.0)]},
    "earthlink": {"reputation": [(_el_rep, 0.1)]},
    "proton": {"rate_limit": [(_pm_rate, 0.0)], "reputation": [(_pm_rep, 0.1)]},
    "zoho": {"dnsbl": [(_zoho_bl, 0.1)], "authentication": [(_zoho_auth, 0.05)]},
    "postfix": {
        "dnsbl": [(_pf_bl, 0.1)],
        "rate_limit": [(_pf_rate, 0.0)],
        "policy": [(_pf_ptr, 0.05), (_pf_ptr_rev, 0.05)],
        "authentication": [(_pf_auth, 0.05)],
        "reputation": [(_pf_rep, 0.1)],
    },
    "exim": {
        "dnsbl": [(_ex_bl, 0.1)],
        "rate_limit": [(_ex_rate, 0.0)],
        "policy": [(_ex_ptr, 0.1)],
        "authentication": [(_ex_auth, 0.05)],
        "reputation": [(_ex_rep, 0.1)],
    },
    "proofpoint": {
        "reputation": [(_pp_rep, 0.1)],
        "dnsbl": [(_pp_bl, 0.1)],
        "authentication": [(_pp_auth, 0.05)],
        "rate_limit": [(_pp_rate, 0.0)],
    },
    "mimecast": {
        "reputation": [(_mc_rep, 0.1)],
        "rate_limit": [(_mc_rate, 0.0)],
        "dnsbl": [(_mc_bl, 0.1)],
    },
    "ironport": {
        "reputation": [(_ip_rep, 0.1)],
        "dnsbl": [(_ip_bl, 0.1)],
        "rate_limit": [(_pf_rate, 0.0)],
    },
    "barracuda": {"dnsbl": [(_bc_bl, 0.1)], "rate_limit": [(_bc_rate, 0.0)]},
}


# --------------------------------------------------------------------------- background replies


def _success(style: str, r: random.Random, sender: str, epoch: int) -> str:
    if style == "google":
        return f"250 2.0.0 OK  {epoch} {_gid(r)} - gsmtp"
    if style == "yahoo":
        return "250 ok dirdel"
    if style in ("microsoft", "m365"):
        n = r.randrange(10, 99)
        host = f"{r.choice(('BY5', 'SJ0', 'DM4', 'PH7', 'CH3'))}PR{n}MB{r.randrange(1000, 9999)}.namprd{n}.prod.outlook.com"
        size = r.randrange(9000, 90000)
        secs = r.uniform(0.05, 0.9)
        return (
            f"250 2.6.0 <{_alnum(r, 16)}.{epoch}@{sender}> [InternalId={r.randrange(10**11, 10**13)}, "
            f"Hostname={host}] {size} bytes in {secs:.3f}, {size / 1024 / secs:.3f} KB/sec Queued mail for delivery"
        )
    if style in ("comcast", "orange", "cox", "att"):
        return f"250 2.0.0 {_alnum(r, 22, _B62)} mail accepted for delivery"
    if style == "gmx":
        return f"250 Requested mail action okay, completed: id={_alnum(r, 6, _B62)}-{_alnum(r, 10, _B62)}-{_alnum(r, 6, _B62)}"
    if style == "tonline":
        return f"250 2.0.0 Message accepted ({_alnum(r, 16, _B62)})"
    if style == "mailru":
        return f"250 OK id=1{_alnum(r, 5, _B62)}-{_alnum(r, 6, _B62)}-{_alnum(r, 2, _B62)}"
    if style == "yandex":
        return (
            f"250 2.0.0 Ok: queued on mail-nwsmtp-mxfront-production-main-{r.randrange(10, 99)}.iva.yp-c.yandex.net "
            f"{epoch}-{_alnum(r, 8, _B62)}"
        )
    if style == "exim":
        return f"250 OK id={_alnum(r, 6, _B62)}-{_alnum(r, 6, _B62)}-{_alnum(r, 2, _B62)}"
    if style == "proofpoint":
        return f"250 2.0.0 {_alnum(r, 10)}-{r.randrange(1, 9)} Message accepted for delivery"
    if style == "ironport":
        return f"250 ok:  Message {r.randrange(10**7, 10**9)} accepted"
    if style == "mimecast":
        return f"250 2.0.0 Ok {epoch}-{_alnum(r, 16, _B62)} Accepted"
    if style == "zoho":
        return "250 Message received"
    return f"250 2.0.0 Ok: queued as {_alnum(r, 12, 'BCDFGHJKLMNPQRSTVWXYZ0123456789')}"


def _user_unknown(style: str, r: random.Random, c: _Ctx) -> Reply:
    rcpt = c.rcpt(r)
    if style == "google":
        body = (
            "The email account that you tried to reach does not exist. Please try double-checking "
            "the recipient's email address for typos or unnecessary spaces. For more information, "
            "go to https://support.google.com/mail/?p=NoSuchUser"
        )
        return 550, _google_wrap("550 5.1.1", body, r)
    if style == "yahoo":
        return (
            554,
            f"554 delivery error: dd {rcpt} is no longer valid. [-20] - mta{r.randrange(1000, 9999)}.mail.bf1.yahoo.com",
        )
    if style == "microsoft":
        return 550, f"550 5.5.0 Requested action not taken: mailbox unavailable. {_ms_tail(r, c)}"
    if style == "m365":
        return 550, (
            f"550 5.4.1 Recipient address rejected: Access denied. For more information see "
            f"https://aka.ms/EXOSmtpErrors {_ms_tail(r, c)}"
        )
    if style == "apple":
        return 550, f"550 5.1.1 <{rcpt}>: user does not exist"
    if style == "orange":
        return (
            550,
            "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]",
        )
    if style == "att":
        return 550, f"550 5.2.1 <{rcpt.upper()}>... Addressee unknown, relay=[{c.ip}]"
    if style == "gmx":
        return 550, "550 Requested action not taken: mailbox unavailable"
    if style == "exim":
        return 550, f"550 {rcpt}: no such user here"
    if style == "proofpoint":
        return 550, f"550 5.1.1 <{rcpt}>: Recipient address rejected: user unknown"
    return (
        550,
        f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
    )


def _mailbox_full(style: str, r: random.Random, c: _Ctx) -> Reply:
    rcpt = c.rcpt(r)
    if style == "google":
        body = (
            "The recipient's inbox is out of storage space. Please direct the recipient to "
            "https://support.google.com/mail/?p=OverQuotaTemp"
        )
        return 452, _google_wrap("452 4.2.2", body, r)
    if style == "comcast":
        return 552, f"552 5.1.1 <{rcpt}> recipient rejected - extended quota violation"
    if style == "orange":
        return 552, "552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]"
    if style == "gmx":
        return (
            552,
            f"552 <{rcpt}>: Requested mail action aborted: exceeded storage allocation, Quota exceeded",
        )
    if style in ("microsoft", "m365"):
        return 552, f"552 5.2.2 {rcpt}: mailbox full {_ms_tail(r, c)}"
    return 552, f"552 5.2.2 <{rcpt}>: Recipient address rejected: Mailbox full"


def _greylist(style: str, r: random.Random, c: _Ctx) -> Reply:
    if r.random() < 0.5:
        return (
            450,
            f"450 4.2.0 <{c.rcpt(r)}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/{c.domain}.html",
        )
    return 451, f"451 4.7.1 Greylisting in action, please come back in 00:0{r.randrange(1, 9)}:00"


def _tls_required(style: str, r: random.Random, c: _Ctx) -> Reply:
    if style == "google":
        body = (
            "TLS required for RCPT domain, closing connection. For more information, go to "
            "https://support.google.com/mail/answer/6330403"
        )
        return 421, _google_wrap("421 4.7.0", body, r)
    if r.random() < 0.5:
        return 530, "530 5.7.0 Must issue a STARTTLS command first"
    return 450, "450 4.7.1 Session encryption is required"


def _transient(style: str, r: random.Random, c: _Ctx) -> Reply:
    if style == "google":
        return 451, f"451 4.3.0 Mail server temporarily rejected message. {_gid(r)} - gsmtp"
    if style == "yahoo":
        return 451, "451 4.3.2 Internal server error"
    if r.random() < 0.3:
        return None, f"Connection to {c.mx_host} [{c.mx_ip}] timed out after 60 seconds"
    return 451, "451 4.3.0 Error: queue file write error"


def _content(style: str, r: random.Random, c: _Ctx) -> Reply:
    if style == "google":
        body = (
            f"[{c.ip} 12] Gmail has detected that this message is likely unsolicited mail. To "
            "reduce the amount of spam sent to Gmail, this message has been blocked. For more "
            "information, go to https://support.google.com/mail/?p=UnsolicitedMessageError"
        )
        return 550, _google_wrap("550 5.7.1", body, r)
    if style == "mailru":
        return 550, (
            f"550 spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c={_alnum(r, 40, _B62)} "
            f"or report details to abuse@corp.mail.ru. Error code: {_hex(r, 32).upper()}. ID: {_hex(r, 24).upper()}."
        )
    if style == "yandex":
        return (
            554,
            f"554 5.7.1 [1] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc {_alnum(r, 10, _B62)}",
        )
    return 554, f"554 5.7.0 Reject, id={r.randrange(10000, 99999)}-{r.randrange(1, 20):02d} - SPAM"


# kind, status, generator; probabilities per style group
_FAILURES: dict[str, tuple[Callable[[str, random.Random, _Ctx], Reply], int]] = {
    "user_unknown": (_user_unknown, 2001),
    "mailbox_full": (_mailbox_full, 3001),
    "greylisting": (_greylist, 4003),
    "tls_required": (_tls_required, 6002),
    "transient": (_transient, 4001),
    "content": (_content, 8001),
}


def _failure_rates(style: str, provider: bool) -> list[tuple[float, str]]:
    """Cumulative thresholds over ``random()`` for the per-recipient failures of a domain."""
    rates = {
        "user_unknown": 0.012 if provider else 0.025,
        "mailbox_full": 0.003 if provider else 0.002,
        "greylisting": 0.0 if provider else (0.01 if style in ("postfix", "exim") else 0.0),
        "tls_required": 0.0005 if style in ("google", "postfix") else 0.0,
        "transient": 0.002,
        "content": 0.001 if style in ("google", "mailru", "yandex", "postfix") else 0.0,
    }
    out: list[tuple[float, str]] = []
    acc = 0.0
    for kind, p in rates.items():
        if p > 0:
            acc += p
            out.append((acc, kind))
    return out


# --------------------------------------------------------------------------- model objects


@dataclass(slots=True)
class _Stream:
    id: int
    name: str
    description: str
    sender: str
    share: float
    rhythm: str
    ips: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Domain:
    name: str
    style: str
    provider: bool
    weight: float
    mx: list[tuple[int, str, str]]  # (pref, host, ip), by preference
    owns_all: bool = True  # no MX IP shared with an earlier domain
    failures: list[tuple[float, str]] = field(default_factory=list)
    fail_total: float = 0.0  # random() at or above this: a success
    risky: list[bool] = field(default_factory=list)  # per stream: a block to steer around
    pools: list[list[str]] = field(default_factory=list)  # per stream: success replies


@dataclass(slots=True)
class _Evidence:
    """One block and how its failing attempts are produced."""

    kind: str  # "ip" or "domain"
    stream: int  # index into streams
    domain: int  # index into domains
    ip: str | None  # stream IP (ip blocks)
    mx: tuple[int, str, str] | None  # the blocking MX (ip blocks)
    cause: str
    templates: list[tuple[Template, float]]
    primary: int = 0  # the template of the first reply (and of most of the others)
    since: int = 0  # seconds from the grid start
    next_retry: int | None = None
    n_events: int = 0
    hostile: str | None = None
    trigger: Reply | None = None
    trigger_mx: str = ""
    short_description: bool = False
    pair_blocks: list[int] = field(default_factory=list)  # domain blocks: their IP blocks


@dataclass
class DemoSummary:
    """What :func:`build_demo_database` wrote."""

    path: Path
    counts: dict[str, int]
    anchor_time: datetime
    seconds: float
    seed: int = 0
    version: str = GENERATOR_VERSION
    scale: dict[str, int] = field(default_factory=dict)
    blocks_by_cause: dict[str, int] = field(default_factory=dict)
    blocks_by_provider: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "path": str(self.path),
            "counts": self.counts,
            "anchor_time": self.anchor_time.isoformat(sep=" "),
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "version": self.version,
            "scale": self.scale,
            "blocks_by_cause": self.blocks_by_cause,
            "blocks_by_provider": self.blocks_by_provider,
            "size_bytes": self.size_bytes,
        }


# --------------------------------------------------------------------------- the builder


def _default_now() -> datetime:
    return datetime.now().replace(minute=0, second=0, microsecond=0)


def _normalise_now(now: datetime | None) -> datetime:
    if now is None:
        return _default_now()
    if now.tzinfo is not None:
        now = now.astimezone().replace(tzinfo=None)
    return now.replace(microsecond=0)


def _dkim_pem(stem: str) -> str:
    return resources.files("tui.db.demo_data").joinpath(f"dkim-{stem}.pem").read_text("ascii")


def _dkim_public_b64(pem: str) -> tuple[str, int]:
    """The DNS ``p=`` value (base64 SubjectPublicKeyInfo) and the key size of a private key."""
    import base64

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(
        pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii"), int(key.key_size)  # type: ignore[union-attr]


class _Builder:
    """Holds the generated world; methods run in a fixed order (determinism)."""

    def __init__(
        self,
        *,
        attempts: int,
        blocks: int,
        domains: int,
        streams: int,
        seed: int,
        now: datetime,
        progress: Progress | None,
    ) -> None:
        self.r = random.Random(seed)
        self.seed = seed
        self.n_attempts = max(0, int(attempts))
        self.n_blocks = max(0, int(blocks))
        self.n_domains = max(1, int(domains))
        self.n_streams = max(1, min(int(streams), len(_STREAM_DEFS)))
        self.now = now
        self.start = now - WINDOW
        # A 5-minute grid aligned to the clock, covering [start, now).
        grid = self.start.replace(second=0)
        self.grid_start = grid - timedelta(minutes=grid.minute % 5)
        self.total_secs = int((now - self.grid_start).total_seconds())
        self.start_sec = int((self.start - self.grid_start).total_seconds())
        self.n_buckets = max(1, -(-self.total_secs // BUCKET_SECONDS))
        self.progress = progress
        self.streams: list[_Stream] = []
        self.dkim: dict[str, tuple[str, str, str | None, str]] = {}
        self.domains: list[_Domain] = []
        self.ip_faults: dict[str, str] = {}
        self.ptr: dict[str, str | None] = {}
        self.ptr_mismatch: dict[str, dict[str, str]] = {}
        self.helo: dict[str, str] = {}
        self.listed: dict[str, dict[str, list[str]]] = {}
        self.stale_mx: dict[str, str] = {}  # MX IP -> domain: in the database, not in DNS
        self.ip_blocks: list[_Evidence] = []
        self.domain_blocks: list[_Evidence] = []
        self.domain_only: list[int] = []
        self.mx_users: dict[str, list[int]] = {}
        self.everything: list[_Evidence] = []
        self.ev_block: list[int] = []
        self.ev_flags: list[int] = []  # 1: the reply that made the block, 2: the latest
        self.events: list[list[int]] = []
        self.blocked_pairs: dict[tuple[str, str], int] = {}
        self.blocked_domains: dict[tuple[int, int], int] = {}
        self.counts: dict[str, int] = {}
        self.tracking: list[tuple[int, int, int, str, str]] = []
        self._mx_pool: list[int] = []
        self._mx_next = 0
        self._minute: list[str] = []

    # ----------------------------------------------------------------- progress

    def tick(self, stage: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(stage, max(0.0, min(1.0, fraction)))

    # ----------------------------------------------------------------- streams and IPs

    def make_streams(self) -> None:
        r = self.r
        used: set[str] = set()
        for i in range(self.n_streams):
            name, desc, sender, share, rhythm = _STREAM_DEFS[i]
            stream = _Stream(i + 1, name, desc, sender, share, rhythm)
            count = r.choices((2, 3, 4, 5, 6), weights=(25, 30, 22, 13, 10))[0]
            prefix = _IP_RANGES[i % 3]
            slot = i // 3
            base = 10 + slot * 70 + r.randrange(0, 45)
            for k in range(count):
                ip = f"{prefix}.{base + k}"
                if ip in used:  # cannot happen with the slot layout; keep it safe anyway
                    continue
                used.add(ip)
                stream.ips.append(ip)
            self.streams.append(stream)
        for stream in self.streams:
            short = stream.sender.split(".")[0] if stream.sender != "example.com" else "mta"
            for k, ip in enumerate(stream.ips, 1):
                host = f"mta{k}.{stream.sender}" if short != "mta" else f"mta{k}.lists.example.com"
                self.ptr[ip] = host
                self.helo[ip] = host
        # DKIM and DMARC per sender domain. With fewer than four streams the mismatched key and
        # p=none move to the last sender domain, so every demo has both faults.
        senders = [s.sender for s in self.streams]
        for sender in senders:
            self.dkim[sender] = _DKIM_DEFS[sender]
        if not any(v[2] for v in self.dkim.values()):
            selector, stem, _, policy = self.dkim[senders[-1]]
            self.dkim[senders[-1]] = (selector, stem, "tx-example-org-dns", policy)
        if not any(v[3] == "none" for v in self.dkim.values()):
            selector, stem, dns_stem, _ = self.dkim[senders[-1]]
            self.dkim[senders[-1]] = (selector, stem, dns_stem, "none")
        # Intended DNS faults on three distinct sending IPs.
        all_ips = [ip for s in self.streams for ip in s.ips]
        picks = r.sample(all_ips, min(3, len(all_ips)))
        kinds = ("ptr_missing", "ptr_mismatch", "dnsbl_listed")
        for ip, kind in zip(picks, kinds, strict=False):
            self.ip_faults[ip] = kind
            if kind == "ptr_missing":
                self.ptr[ip] = None
            elif kind == "ptr_mismatch":
                host = self.ptr[ip] or f"mta.{ip}"
                self.ptr[ip] = "mismatch"
                last = int(ip.rsplit(".", 1)[1])
                other = f"{ip.rsplit('.', 1)[0]}.{250 - (last % 5)}"
                self.ptr_mismatch[ip] = {"hostname": host, "resolves_to": other}
            else:
                self.listed[ip] = {
                    "zen.spamhaus.org": ["127.0.0.3"],
                    "bl.spamcop.net": ["127.0.0.2"],
                }

    # ----------------------------------------------------------------- domains and MX

    def _mx_ip(self) -> str:
        """The next unused address of 198.18.0.0/15, in a scrambled but fixed order.

        An affine map with an odd factor, xor-shifts and a second odd factor, all modulo
        2**17: each step is a bijection, so every address comes up exactly once.
        """
        if not self._mx_pool:
            r = self.r
            self._mx_pool = [
                r.randrange(1, 1 << 17, 2),
                r.randrange(1 << 17),
                r.randrange(1, 1 << 17, 2),
            ]
        a, b, c = self._mx_pool
        while True:
            if self._mx_next >= 1 << 17:
                raise LmError("the demo generator ran out of MX addresses in 198.18.0.0/15")
            n = (a * self._mx_next + b) & 0x1FFFF
            n ^= n >> 9
            n = (n * c) & 0x1FFFF
            n ^= n >> 7
            self._mx_next += 1
            if n & 0xFF not in (0, 255):
                break
        return f"198.{18 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"

    def _business_name(self, taken: set[str]) -> str:
        r = self.r
        for attempt in range(1000):
            roll = r.random()
            if roll < 0.45 and attempt < 20:
                base = (
                    f"{r.choice(_WORDS)}-{r.choice(_SUFFIXES)}"
                    if r.random() < 0.4
                    else f"{r.choice(_WORDS)}{r.choice(_SUFFIXES)}"
                )
            else:
                n = r.choice((2, 2, 3, 3, 4))
                base = "".join(r.choice(_SYLLABLES) for _ in range(n))
                if r.random() < 0.35:
                    base += r.choice(_SUFFIXES)
            name = base + r.choice(_TLDS)
            if name not in taken:
                return name
        raise LmError("the demo generator could not invent enough distinct domain names")

    def make_domains(self) -> None:
        r = self.r
        by_name: dict[str, _Domain] = {}
        taken: set[str] = set()
        host_ip: dict[str, str] = {}
        providers = _PROVIDERS[: self.n_domains]
        for name, style, share, mx in providers:
            if not mx:
                owner = by_name.get(_SHARED_MX.get(name, ""))
                records = list(owner.mx) if owner else []
                owns_all = False
            else:
                records = []
                for pref, host in mx:
                    if host not in host_ip:
                        host_ip[host] = self._mx_ip()
                    records.append((pref, host, host_ip[host]))
                owns_all = True
            if not records:  # the sharing owner was cut off by a small --domains
                records = [(10, f"mx1.{name}", self._mx_ip())]
                owns_all = True
            dom = _Domain(name, style, True, share / 100.0, records, owns_all)
            by_name[name] = dom
            taken.add(name)
            self.domains.append(dom)
        business = self.n_domains - len(self.domains)
        shared_hosts: dict[str, list[tuple[int, str, str]]] = {}
        platform_names = [p[0] for p in _PLATFORMS]
        platform_w = [p[2] for p in _PLATFORMS]
        platform_style = {p[0]: p[1] for p in _PLATFORMS}
        provider_total = sum(d.weight for d in self.domains)
        business_total = max(0.0, 1.0 - provider_total) if self.domains else 1.0
        zipf = [1.0 / (i + 8) ** 1.05 for i in range(business)]
        zsum = sum(zipf) or 1.0
        for i in range(business):
            name = self._business_name(taken)
            taken.add(name)
            platform = r.choices(platform_names, weights=platform_w)[0]
            owns_all = True
            if platform == "workspace":
                key = "workspace"
                if key not in shared_hosts:
                    shared_hosts[key] = [
                        (1, "aspmx.l.google.com", self._mx_ip()),
                        (5, "alt1.aspmx.l.google.com", self._mx_ip()),
                        (5, "alt2.aspmx.l.google.com", self._mx_ip()),
                        (10, "alt3.aspmx.l.google.com", self._mx_ip()),
                    ]
                    records = shared_hosts[key]
                else:
                    records, owns_all = shared_hosts[key], False
            elif platform == "mimecast":
                region = r.choice(("eu", "us"))
                key = f"mimecast-{region}"
                if key not in shared_hosts:
                    shared_hosts[key] = [
                        (10, f"{region}-smtp-inbound-1.mimecast.com", self._mx_ip()),
                        (10, f"{region}-smtp-inbound-2.mimecast.com", self._mx_ip()),
                    ]
                    records = shared_hosts[key]
                else:
                    records, owns_all = shared_hosts[key], False
            elif platform == "m365":
                records = [
                    (0, f"{name.replace('.', '-')}.mail.protection.outlook.com", self._mx_ip())
                ]
            elif platform == "proofpoint":
                n = r.randrange(100000, 999999)
                records = [
                    (10, f"mx0a-00{n}.pphosted.com", self._mx_ip()),
                    (10, f"mx0b-00{n}.pphosted.com", self._mx_ip()),
                ]
            elif platform == "ironport":
                records = [
                    (
                        10,
                        f"mx1.hc{r.randrange(1000, 9999)}-{r.randrange(10, 99)}.iphmx.com",
                        self._mx_ip(),
                    )
                ]
            elif platform == "barracuda":
                records = [
                    (10, f"d{r.randrange(10000, 99999)}a.ess.barracudanetworks.com", self._mx_ip())
                ]
            elif platform == "exim":
                records = [(10, f"mail.{name}", self._mx_ip())]
                if r.random() < 0.3:
                    records.append((20, f"mail2.{name}", self._mx_ip()))
            else:
                count = r.choices((1, 2, 3), weights=(50, 40, 10))[0]
                records = [(10 * k, f"mx{k}.{name}", self._mx_ip()) for k in range(1, count + 1)]
            weight = business_total * zipf[i] / zsum
            dom = _Domain(name, platform_style[platform], False, weight, list(records), owns_all)
            self.domains.append(dom)
        for dom in self.domains:
            dom.failures = _failure_rates(dom.style, dom.provider)
            dom.fail_total = dom.failures[-1][0] if dom.failures else 0.0
            dom.risky = [False] * len(self.streams)
        # Which domains use each MX IP (shared hosts: blocks only at the first, the owner).
        for index, dom in enumerate(self.domains):
            for _, _, ip in dom.mx:
                self.mx_users.setdefault(ip, []).append(index)

    # ----------------------------------------------------------------- blocks

    def _cause_for(self, stream: _Stream, ip: str | None, style: str, base: str) -> str:
        """The cause of one pair: the IP's DNS fault wins where the receiver checks it."""
        r = self.r
        available = BLOCK_TEMPLATES[style]
        fault = self.ip_faults.get(ip or "")
        if fault in ("ptr_missing", "ptr_mismatch") and "policy" in available and r.random() < 0.85:
            return "policy"
        if fault == "dnsbl_listed" and "dnsbl" in available and r.random() < 0.85:
            return "dnsbl"
        return base

    def _combo_cause(self, stream: _Stream, style: str) -> str:
        r = self.r
        available = [c for c in CAUSES if c in BLOCK_TEMPLATES[style]]
        weights = []
        for cause in available:
            w = _CAUSE_WEIGHT[cause]
            # The stream whose DKIM key does not match DNS sends unsigned: auth failures.
            if cause == "authentication" and self.dkim[stream.sender][2]:
                w *= 12
            weights.append(w)
        return r.choices(available, weights=weights)[0]

    def _new_ip_block(
        self, s: int, d: int, ip: str, mx: tuple[int, str, str], cause: str
    ) -> _Evidence:
        style = self.domains[d].style
        cause = self._cause_for(self.streams[s], ip, style, cause)
        if cause not in BLOCK_TEMPLATES[style]:
            cause = next(c for c in CAUSES if c in BLOCK_TEMPLATES[style])
        ev = _Evidence("ip", s, d, ip, mx, cause, BLOCK_TEMPLATES[style][cause])
        self.ip_blocks.append(ev)
        return ev

    def _add_combo(
        self, s: int, d: int, pairs: list[tuple[str, tuple[int, str, str]]], full: bool
    ) -> None:
        stream, dom = self.streams[s], self.domains[d]
        cause = self._combo_cause(stream, dom.style)
        made = [self._new_ip_block(s, d, ip, mx, cause) for ip, mx in pairs]
        if full:
            dev = _Evidence("domain", s, d, None, None, made[-1].cause, made[-1].templates)
            dev.pair_blocks = list(range(len(self.ip_blocks) - len(made), len(self.ip_blocks)))
            self.domain_blocks.append(dev)

    def _partial_pairs(self, s: int, d: int, limit: int) -> list[tuple[str, tuple[int, str, str]]]:
        """A proper, non-empty subset of the (IP, MX) pairs: IP-wise, as reputation is per IP."""
        r = self.r
        ips, mxs = self.streams[s].ips, self.domains[d].mx
        k = r.randint(1, len(ips))
        chosen_ips = sorted(r.sample(range(len(ips)), k))
        pairs: list[tuple[str, tuple[int, str, str]]] = []
        for i in chosen_ips:
            if r.random() < 0.6 or len(mxs) == 1:
                sub = list(range(len(mxs)))
            else:
                sub = sorted(r.sample(range(len(mxs)), r.randint(1, len(mxs))))
            pairs += [(ips[i], mxs[j]) for j in sub]
        total = len(ips) * len(mxs)
        if len(pairs) >= total:
            pairs.pop(r.randrange(len(pairs)))
        return pairs[: max(1, limit)]

    def make_blocks(self) -> None:
        r = self.r
        budget = self.n_blocks
        if budget <= 0:
            return
        target_domain = max(1, round(budget / 5))
        n_domain_only = max(2, target_domain // 25) if budget >= 10 else 1
        full_target = max(0, target_domain - n_domain_only)
        used: set[tuple[int, int]] = set()
        eligible = [i for i, d in enumerate(self.domains) if d.owns_all]
        providers = [i for i in eligible if self.domains[i].provider]
        business = [i for i in eligible if not self.domains[i].provider]
        count = 0
        full_count = 0

        # Phase 1: the mailbox providers, about 40% of the pairs, shared out by volume so
        # Gmail, Yahoo and Microsoft carry most of them.
        provider_budget = min(budget, round(budget * 0.4))
        pw = [self.domains[d].weight ** 0.6 for d in providers]
        psum = sum(pw) or 1.0
        for rank, d in enumerate(providers):
            target = max(1, round(provider_budget * pw[rank] / psum))
            got = 0
            order = list(range(len(self.streams)))
            r.shuffle(order)
            for s in order:
                room = min(target - got, provider_budget - count)
                if room <= 0:
                    break
                if rank >= 3 and r.random() < 0.3:
                    continue
                ips, mxs = self.streams[s].ips, self.domains[d].mx
                cost = len(ips) * len(mxs)
                if r.random() < 0.15 and cost <= room and full_count < full_target:
                    pairs = [(ip, mx) for ip in ips for mx in mxs]
                    self._add_combo(s, d, pairs, True)
                    full_count += 1
                else:
                    pairs = self._partial_pairs(s, d, room)
                    if not pairs:
                        continue
                    self._add_combo(s, d, pairs, False)
                count += len(pairs)
                got += len(pairs)
                used.add((s, d))

        # Phase 2: business domains, weighted towards the busy ones.
        combos = [(s, d) for d in business for s in range(len(self.streams))]
        keyed = []
        for s, d in combos:
            w = math.sqrt(self.domains[d].weight) * (0.5 + self.streams[s].share)
            keyed.append((math.log(r.random() or 1e-300) / max(w, 1e-12), s, d))
        keyed.sort(reverse=True)
        order = [(s, d) for _, s, d in keyed]
        leftover: list[tuple[int, int]] = []
        for s, d in order:
            if count >= budget:
                break
            cost = len(self.streams[s].ips) * len(self.domains[d].mx)
            need = full_target - full_count
            remaining = budget - count
            if need > 0:
                allowed = max(2.0, (remaining * 0.85) / need)
                if cost <= allowed and cost <= remaining:
                    pairs = [(ip, mx) for ip in self.streams[s].ips for mx in self.domains[d].mx]
                    self._add_combo(s, d, pairs, True)
                    full_count += 1
                    count += cost
                    used.add((s, d))
                    continue
            leftover.append((s, d))
        for s, d in leftover:
            if count >= budget:
                break
            if len(self.streams[s].ips) * len(self.domains[d].mx) < 2:
                continue
            if full_count >= full_target and r.random() < 0.35:
                continue  # leave room for more domains in the partial list
            pairs = self._partial_pairs(s, d, budget - count)
            if pairs:
                self._add_combo(s, d, pairs, False)
                count += len(pairs)
                used.add((s, d))
        # Top up from anything left (small or odd scales).
        if count < budget:
            for s, d in [(s, d) for d in eligible for s in range(len(self.streams))]:
                if count >= budget:
                    break
                if (s, d) in used:
                    continue
                pairs = self._partial_pairs(s, d, budget - count)
                if len(pairs) == len(self.streams[s].ips) * len(self.domains[d].mx):
                    self._add_combo(s, d, pairs, True)
                else:
                    self._add_combo(s, d, pairs, False)
                count += len(pairs)
                used.add((s, d))

        # Domain-only blocks: on the domain page only (ListManager shows those).
        free = [(s, d) for s, d in order if (s, d) not in used]
        free += [(s, d) for d in providers for s in range(len(self.streams)) if (s, d) not in used]
        for s, d in free[:n_domain_only]:
            style = self.domains[d].style
            cause = self._combo_cause(self.streams[s], style)
            dev = _Evidence("domain", s, d, None, None, cause, BLOCK_TEMPLATES[style][cause])
            self.domain_blocks.append(dev)
            used.add((s, d))

        # Times, retries, evidence sizes.
        total_blocks = len(self.ip_blocks) + sum(1 for b in self.domain_blocks if not b.pair_blocks)
        per_block = self.n_attempts * 0.12 / max(1, total_blocks)
        per_block = max(2.0, min(40.0, per_block))
        # Full combos share a base time; pairs get blocked within a few hours of each other.
        combo_base: dict[tuple[int, int], int] = {}
        for ev in self.ip_blocks + [b for b in self.domain_blocks if not b.pair_blocks]:
            key = (ev.stream, ev.domain)
            if key not in combo_base:
                combo_base[key] = self._since()
            base = combo_base[key]
            ev.since = max(self.start_sec + 3600, base - r.randrange(0, 3 * 3600))
            ev.primary = r.randrange(len(ev.templates))
            perm = r.random() < ev.templates[ev.primary][1]
            ev.next_retry = None if perm else self._next_retry(ev.since)
            ev.n_events = max(1, int(per_block * r.uniform(0.5, 1.5)))
            ev.short_description = r.random() < 0.25
        for dev in self.domain_blocks:
            if dev.pair_blocks:
                pairs = [self.ip_blocks[i] for i in dev.pair_blocks]
                last = max(pairs, key=lambda b: b.since)
                dev.since = last.since
                dev.cause, dev.templates, dev.primary = last.cause, last.templates, last.primary
                retries = [b.next_retry for b in pairs if b.next_retry is not None]
                dev.next_retry = min(retries) if retries else None
        for ev in self.ip_blocks:
            assert ev.ip is not None and ev.mx is not None
            self.blocked_pairs[(ev.ip, ev.mx[2])] = ev.since
            for index in self.mx_users.get(ev.mx[2], ()):
                self.domains[index].risky[ev.stream] = True
        for dev in self.domain_blocks:
            key = (dev.stream, dev.domain)
            self.blocked_domains[key] = min(self.blocked_domains.get(key, dev.since), dev.since)
            self.domains[dev.domain].risky[dev.stream] = True
        # One stale block: a provider MX IP with blocks that DNS no longer lists (MX moved).
        multi = [
            ev
            for ev in self.ip_blocks
            if self.domains[ev.domain].provider and len(self.domains[ev.domain].mx) > 1
        ]
        if multi:
            ev = multi[r.randrange(len(multi))]
            assert ev.mx is not None
            self.stale_mx[ev.mx[2]] = self.domains[ev.domain].name
        # Hostile replies: on business blocks when there are any (their replies vary most).
        candidates = (
            [
                ev
                for ev in self.ip_blocks
                if ev.next_retry is not None and not self.domains[ev.domain].provider
            ]
            or [ev for ev in self.ip_blocks if ev.next_retry is not None]
            or list(self.ip_blocks)
        )
        if candidates:
            picks = r.sample(range(len(candidates)), min(3, len(candidates)))
            for kind, index in zip(("markup", "ansi", "long"), picks, strict=False):
                candidates[index].hostile = kind

    def _since(self) -> int:
        """When a block started: mostly in the last day, some up to six days back."""
        r = self.r
        roll = r.random()
        if roll < 0.5:
            back = r.uniform(0.25, 24) * 3600
        elif roll < 0.85:
            back = r.uniform(24, 72) * 3600
        else:
            back = r.uniform(72, 156) * 3600
        return max(self.start_sec + 3600, int(self.total_secs - back))

    def _next_retry(self, since: int) -> int:
        """Hourly re-probes from BlockedSince: the next one is within the coming hour."""
        hours = (self.total_secs - since) // 3600 + 1
        return since + hours * 3600

    # ----------------------------------------------------------------- attempts

    def make_events(self) -> None:
        """Per bucket, the blocks' failing attempts as ints ``(sec << 24) | event index``.

        Each block fails first in the hours before BlockedSince (ever more often), then at
        BlockedSince (the reply that made it), then at the hourly re-probes up to now unless it
        is Permanent.
        """
        r = self.r
        buckets: list[list[int]] = [[] for _ in range(self.n_buckets)]
        everything = self.ip_blocks + [b for b in self.domain_blocks if not b.pair_blocks]
        for block_index, ev in enumerate(everything):
            times: list[int] = []
            since = ev.since
            times.append(since)
            n = ev.n_events
            if ev.next_retry is not None:
                probes = (self.total_secs - since - 1) // 3600
                after = min(probes, max(0, n // 2))
                first = probes - after + 1
                for k in range(first, probes + 1):
                    t = since + k * 3600 + r.randrange(0, 90)
                    if t < self.total_secs:
                        times.append(t)
            before = max(0, n - len(times))
            for _ in range(before):
                t = since - int(6 * 3600 * r.random() ** 2) - 1
                if t >= self.start_sec:
                    times.append(t)
            times.sort()
            latest = times[-1]
            for t in times:
                flag = (1 if t == since else 0) | (2 if t == latest else 0)
                idx = len(self.ev_block)
                self.ev_block.append(block_index)
                self.ev_flags.append(flag)
                buckets[min(self.n_buckets - 1, t // BUCKET_SECONDS)].append((t << 24) | idx)
        self.everything = everything
        self.events = buckets

    def _rhythm(self) -> list[list[float]]:
        """Per stream, a weight per bucket: office hours, weekends, campaign bursts."""
        r = self.r
        hour_w = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.0, 1.1, 1.1, 1.0,
                  0.9, 0.95, 1.0, 0.95, 0.85, 0.75, 0.65, 0.6, 0.5, 0.4, 0.3, 0.2]  # fmt: skip
        out: list[list[float]] = []
        days = (self.total_secs // 86400) + 2
        for stream in self.streams:
            bursts: list[tuple[int, float, float]] = []
            if stream.rhythm in ("campaign", "weekly"):
                for day in range(days):
                    if stream.rhythm == "weekly" and r.random() > 0.3:
                        continue
                    if stream.rhythm == "campaign" and r.random() > 0.7:
                        continue
                    hour = r.uniform(8, 11)
                    bursts.append((day, hour, r.uniform(4, 9)))
            weights = []
            for b in range(self.n_buckets):
                when = self.grid_start + timedelta(seconds=b * BUCKET_SECONDS)
                h = when.hour + when.minute / 60
                w = hour_w[when.hour]
                if stream.rhythm == "smooth":
                    w = 0.5 + 0.5 * w
                if when.weekday() >= 5:
                    w *= 0.55
                day = (b * BUCKET_SECONDS) // 86400
                for bd, bh, amp in bursts:
                    if bd == day and bh <= h < bh + 4:
                        w += amp * math.exp(-(h - bh) / 1.2)
                length = min(BUCKET_SECONDS, self.total_secs - b * BUCKET_SECONDS)
                if b * BUCKET_SECONDS + length <= self.start_sec:
                    w = 0.0
                elif b * BUCKET_SECONDS < self.start_sec:
                    length = b * BUCKET_SECONDS + length - self.start_sec
                weights.append(max(0.0, w) * length / BUCKET_SECONDS)
            out.append(weights)
        return out

    def _bucket_counts(self, total: int) -> list[list[int]]:
        """Background attempts per stream per bucket, summing exactly to ``total``."""
        rhythm = self._rhythm()
        shares = [s.share for s in self.streams]
        ssum = sum(shares)
        counts: list[list[int]] = []
        remaining = total
        for i, weights in enumerate(rhythm):
            n = round(total * shares[i] / ssum) if i < len(rhythm) - 1 else remaining
            n = max(0, min(n, remaining))
            remaining -= n
            wsum = sum(weights) or 1.0
            acc = 0.0
            prev = 0
            row = []
            for w in weights:
                acc += w
                cur = round(n * acc / wsum)
                row.append(cur - prev)
                prev = cur
            row[-1] += n - prev
            counts.append(row)
        return counts

    def _success_pools(self) -> dict[tuple[str, int], list[str]]:
        r = self.r
        pools: dict[tuple[str, int], list[str]] = {}
        styles = sorted({d.style for d in self.domains})
        # Naive times read as UTC here: the local time zone must not change the content.
        base_epoch = int((self.start - datetime(1970, 1, 1)).total_seconds())
        for style in styles:
            size = 1 if style in ("yahoo", "zoho") else 64
            for s, stream in enumerate(self.streams):
                pools[(style, s)] = [
                    _success(style, r, stream.sender, base_epoch + r.randrange(0, 7 * 86400))
                    for _ in range(size)
                ]
        return pools

    def _hostile(self, ev: _Evidence, code: int | None, text: str, latest: bool) -> str:
        if ev.hostile == "markup":
            return f"{text} [bold]Reference:[/bold] [rbl] [link=http://198.18.0.1/]details[/link]"
        if ev.hostile == "ansi":
            head, _, rest = text.partition(" ")
            return f"{head} \x1b[31m{rest}\x1b[0m"
        if ev.hostile == "long" and latest:
            c = code or 550
            line = (
                f"{c}-5.7.1 Your message was rejected by the local policy engine of this site; the "
                f"sending host {ev.ip} is not permitted to relay mail for this domain at this time."
            )
            parts = [text]
            size = len(text)
            k = 0
            while size < 50_000:
                k += 1
                piece = f"{line} (rule {k:04d})"
                parts.append(piece)
                size += len(piece) + 1
            return " ".join(parts)
        return text

    def attempt_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every attempt row, in time order, with the tracking aggregation on the side."""
        r = self.r
        rnd = r.random
        n_block_events = len(self.ev_block)
        total_bg = max(0, self.n_attempts - n_block_events)
        counts = self._bucket_counts(total_bg)
        pools = self._success_pools()
        minute = self._minute
        secs = [f":{s:02d}.000000" for s in range(60)]
        doms = self.domains
        dom_idx = list(range(len(doms)))
        cum: list[float] = []
        acc = 0.0
        for d in doms:
            acc += d.weight
            cum.append(acc)
        safe = [i for i, d in enumerate(doms) if not any(d.risky)] or dom_idx
        for dom in doms:
            dom.pools = [pools[(dom.style, s)] for s in range(len(self.streams))]
        pair_since = self.blocked_pairs
        domain_since = self.blocked_domains
        stream_ids = [s.id for s in self.streams]
        stream_ips = [s.ips for s in self.streams]
        stream_sender = [s.sender for s in self.streams]
        recipient = 10_000_000
        mailing_base = 40_000 + self.r.randrange(0, 5000)
        status_of = {k: v[1] for k, v in _FAILURES.items()}
        everything = self.everything
        ev_block, ev_flags = self.ev_block, self.ev_flags
        total_rows = max(1, total_bg + n_block_events)
        emitted = 0
        n_streams = len(self.streams)
        for b, blk in enumerate(self.events):
            tally: dict[tuple[int, int], int] = {}
            succ = [0] * n_streams
            bg: list[int] = []
            base = b * BUCKET_SECONDS
            length = min(BUCKET_SECONDS, self.total_secs - base)
            lo = max(0, self.start_sec - base)
            for s in range(n_streams):
                n = counts[s][b]
                if n:
                    span = length - lo
                    flag = (1 << 23) | s
                    bg.extend(((base + lo + int(rnd() * span)) << 24) | flag for _ in range(n))
            evs = bg + blk
            evs.sort()
            n_bg = len(bg)
            picks = r.choices(dom_idx, cum_weights=cum, k=n_bg) if n_bg else []
            pi = 0
            day_mailing = mailing_base + (base // 86400) * 16
            for ev in evs:
                sec = ev >> 24
                ts = minute[sec // 60] + secs[sec % 60]
                recipient += 1
                if ev & (1 << 23):
                    s = ev & 0xFF
                    d = picks[pi]
                    pi += 1
                    dom = doms[d]
                    ips = stream_ips[s]
                    src = ips[int(rnd() * len(ips))]
                    mxs = dom.mx
                    mx = mxs[0] if (len(mxs) == 1 or rnd() < 0.75) else mxs[int(rnd() * len(mxs))]
                    if dom.risky[s]:
                        # No mail goes over a blocked pair, nor to a blocked domain, after
                        # BlockedSince: take another pair, or another recipient's domain.
                        t = pair_since.get((src, mx[2]))
                        t2 = domain_since.get((s, d))
                        if (t is not None and sec >= t) or (t2 is not None and sec >= t2):
                            ok = self._unblocked(s, d, src, mx, sec)
                            if ok is None:
                                d = safe[int(rnd() * len(safe))]
                                dom = doms[d]
                                mx = dom.mx[0]
                                ok = self._unblocked(s, d, src, mx, sec)
                            if ok is not None:
                                src, mx = ok
                    roll = rnd()
                    if roll >= dom.fail_total:
                        pool = dom.pools[s]
                        text = pool[int(rnd() * len(pool))]
                        yield (ts, stream_ids[s], src, dom.name, mx[1], mx[2], 250, text, 300,
                               day_mailing + s, recipient)  # fmt: skip
                        succ[s] += 1
                    else:
                        failures = dom.failures
                        kind = failures[0][1]
                        for threshold, name in failures:
                            if roll < threshold:
                                kind = name
                                break
                        ctx = _Ctx(src, mx[1], mx[2], dom.name, stream_sender[s], ts[:19])
                        code, text = _FAILURES[kind][0](dom.style, r, ctx)
                        status = status_of[kind]
                        tally[(s, status)] = tally.get((s, status), 0) + 1
                        yield (ts, stream_ids[s], src, dom.name, mx[1], mx[2], code, text, status,
                               day_mailing + s, recipient)  # fmt: skip
                else:
                    idx = ev & 0x7FFFFF
                    blk_ev = everything[ev_block[idx]]
                    flags = ev_flags[idx]
                    s = blk_ev.stream
                    dom = doms[blk_ev.domain]
                    if blk_ev.ip is not None and blk_ev.mx is not None:
                        src, mx = blk_ev.ip, blk_ev.mx
                    else:
                        ips = stream_ips[s]
                        src = ips[int(rnd() * len(ips))]
                        mx = dom.mx[int(rnd() * len(dom.mx))]
                    ctx = _Ctx(src, mx[1], mx[2], dom.name, stream_sender[s], ts[:19])
                    templates = blk_ev.templates
                    if flags & 1 or len(templates) == 1 or rnd() < 0.8:
                        template = templates[blk_ev.primary][0]
                    else:
                        template = templates[int(rnd() * len(templates))][0]
                    code, text = template(r, ctx)
                    if blk_ev.hostile:
                        text = self._hostile(blk_ev, code, text, bool(flags & 2))
                    if flags & 1 and blk_ev.trigger is None:
                        blk_ev.trigger = (code, text)
                        blk_ev.trigger_mx = mx[2]
                    status = _CAUSE_STATUS[blk_ev.cause]
                    row = (
                        ts,
                        stream_ids[s],
                        src,
                        dom.name,
                        mx[1],
                        mx[2],
                        code,
                        text,
                        status,
                        day_mailing + s,
                        recipient,
                    )
                    tally[(s, status)] = tally.get((s, status), 0) + 1
                    yield row
                emitted += 1
                if emitted % 200_000 == 0:
                    self.tick("attempts", 0.05 + 0.8 * emitted / total_rows)
            start_text = (self.grid_start + timedelta(seconds=base)).strftime(
                "%Y-%m-%d %H:%M:%S.000000"
            )
            end_text = (self.grid_start + timedelta(seconds=base + BUCKET_SECONDS)).strftime(
                "%Y-%m-%d %H:%M:%S.000000"
            )
            if base + length <= self.start_sec:
                continue
            for s in range(n_streams):
                self.tracking.append((stream_ids[s], 300, succ[s], start_text, end_text))
            for (s, status), n in sorted(tally.items()):
                if status != 300:
                    self.tracking.append((stream_ids[s], status, n, start_text, end_text))

    def _unblocked(
        self, s: int, d: int, src: str, mx: tuple[int, str, str], sec: int
    ) -> tuple[str, tuple[int, str, str]] | None:
        """A (source IP, MX) that is not blocked at ``sec``, preferring the given ones."""
        since = self.blocked_domains.get((s, d))
        if since is not None and sec >= since:
            return None
        pairs = self.blocked_pairs
        t = pairs.get((src, mx[2]))
        if t is None or sec < t:
            return src, mx
        for ip in [src] + self.streams[s].ips:
            for cand in self.domains[d].mx:
                t = pairs.get((ip, cand[2]))
                if t is None or sec < t:
                    return ip, cand
        return None

    # ----------------------------------------------------------------- write

    def write(self, path: Path) -> None:
        self.tick("streams", 0.0)
        self.make_streams()
        self.make_domains()
        self.tick("blocks", 0.02)
        self.make_blocks()
        self._minute = [
            (self.grid_start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M")
            for m in range(self.total_secs // 60 + 2)
        ]
        self.make_events()
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("PRAGMA page_size=8192")  # before anything is written
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-1000000")
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            metadata = create_model_metadata()
            dialect = sqlite_dialect.dialect()
            conn.execute("BEGIN")
            for table in metadata.sorted_tables:
                conn.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect)))
            conn.execute(f'CREATE TABLE {DEMO_INFO_TABLE} ("key" TEXT PRIMARY KEY, "value" TEXT)')
            self._write_static(conn)
            self.tick("attempts", 0.05)
            names = _names()
            conn.executemany(
                f'INSERT INTO "{names["attempts"]}" ("AttemptTime", "MailStreamID", "SourceIP", '
                '"Domain", "MXHost", "MXIP", "SMTPResponseCode", "SMTPResponseText", '
                '"CompletionStatusID", "MailingID", "RecipientID") VALUES (?,?,?,?,?,?,?,?,?,?,?)',
                self.attempt_rows(),
            )
            self.tick("blocks", 0.85)
            self._write_blocks(conn)
            conn.executemany(
                f'INSERT INTO "{names["stream_tracking"]}" ("MailStreamID", "CompletionStatusID", '
                '"Count", "IntervalStart", "IntervalEnd") VALUES (?,?,?,?,?)',
                self.tracking,
            )
            self.tick("indexes", 0.88)
            for table in metadata.sorted_tables:
                for index in sorted(table.indexes, key=lambda i: i.name or ""):
                    conn.execute(str(sa.schema.CreateIndex(index).compile(dialect=dialect)))
            self._write_info(conn)
            conn.execute("COMMIT")
            self.tick("analyze", 0.97)
            conn.execute("PRAGMA analysis_limit=1000")
            conn.execute("ANALYZE")
            for key in sorted(MODEL_BY_KEY):
                name = names[key]
                self.counts[name] = int(
                    conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                )
        finally:
            conn.close()

    def _write_static(self, conn: sqlite3.Connection) -> None:
        names = _names()
        conn.executemany(
            f'INSERT INTO "{names["mailstreams"]}" VALUES (?,?,?)',
            [(s.id, s.name, s.description) for s in self.streams],
        )
        node_rows, link_rows = [], []
        address_id = 0
        for i, stream in enumerate(self.streams):
            for ip in stream.ips:
                address_id += 1
                node_rows.append((address_id, 1 + i % 2, ip))
                link_rows.append((stream.id, address_id))
        conn.executemany(f'INSERT INTO "{names["node_addresses"]}" VALUES (?,?,?)', node_rows)
        conn.executemany(f'INSERT INTO "{names["stream_addresses"]}" VALUES (?,?)', link_rows)
        conn.executemany(
            f'INSERT INTO "{names["completion_status"]}" VALUES (?,?)', COMPLETION_STATUS
        )
        conn.executemany(
            f'INSERT INTO "{names["dao_definitions"]}" VALUES (?,?,?,?,?)', DAO_DEFINITIONS
        )
        present = {d.name for d in self.domains}
        conn.executemany(
            f'INSERT INTO "{names["connection_limits"]}" VALUES (?,?,?,?)',
            [row for row in CONNECTION_LIMITS if row[0] in present],
        )
        selectors, dk_domains = [], []
        for i, stream in enumerate(self.streams, 1):
            selector, stem, _, _ = self.dkim[stream.sender]
            selectors.append((i, selector, _dkim_pem(stem)))
            dk_domains.append((stream.sender, i))
        conn.executemany(f'INSERT INTO "{names["dk_selectors"]}" VALUES (?,?,?)', selectors)
        conn.executemany(f'INSERT INTO "{names["dk_domains"]}" VALUES (?,?)', dk_domains)

    def _fmt(self, sec: int | None) -> str | None:
        if sec is None:
            return None
        return (self.grid_start + timedelta(seconds=sec)).strftime("%Y-%m-%d %H:%M:%S.000000")

    def _describe(self, ev: _Evidence) -> str:
        code, text = ev.trigger or (None, "")
        flat = " ".join(text.split())
        if ev.kind == "ip":
            if ev.short_description:
                return f"Rejected by {ev.mx[2] if ev.mx else ''} ({code if code else 'no reply'}): {_SHORT_REASON[ev.cause]}"
            return f"Blocked by MX {ev.trigger_mx}: {flat}"[:1000]
        stream = self.streams[ev.stream].name
        if ev.pair_blocks:
            n = len(ev.pair_blocks)
            return f"All {n} MX/IP pairs of MailStream '{stream}' blocked: {flat}"[:1000]
        return f"Domain blocked for MailStream '{stream}': {flat}"[:1000]

    def _write_blocks(self, conn: sqlite3.Connection) -> None:
        names = _names()
        rows = []
        for i, ev in enumerate(self.ip_blocks, 1):
            assert ev.ip is not None and ev.mx is not None
            rows.append(
                (
                    i,
                    self.streams[ev.stream].id,
                    ev.ip,
                    self.domains[ev.domain].name,
                    ev.mx[2],
                    self._describe(ev),
                    self._fmt(ev.since),
                    self._fmt(ev.next_retry),
                )
            )
        conn.executemany(f'INSERT INTO "{names["blocked_ips"]}" VALUES (?,?,?,?,?,?,?,?)', rows)
        rows = []
        for i, dev in enumerate(self.domain_blocks, 1):
            if dev.pair_blocks:
                last = max((self.ip_blocks[k] for k in dev.pair_blocks), key=lambda b: b.since)
                dev.trigger, dev.trigger_mx = last.trigger, last.trigger_mx
            else:
                self.domain_only.append(i)
            rows.append(
                (
                    i,
                    self.streams[dev.stream].id,
                    self.domains[dev.domain].name,
                    self._describe(dev),
                    self._fmt(dev.since),
                    self._fmt(dev.next_retry),
                )
            )
        conn.executemany(f'INSERT INTO "{names["blocked_domains"]}" VALUES (?,?,?,?,?,?)', rows)

    # ----------------------------------------------------------------- info and manifest

    def by_cause(self) -> dict[str, int]:
        out = {c: 0 for c in CAUSES}
        for ev in self.ip_blocks:
            out[ev.cause] += 1
        return out

    def by_provider(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ev in self.ip_blocks:
            dom = self.domains[ev.domain]
            key = dom.name if dom.provider else f"business ({dom.style})"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def manifest(self) -> dict[str, Any]:
        dkim = []
        spf: dict[str, str] = {}
        dmarc: dict[str, str] = {}
        faults: list[dict[str, Any]] = []
        for stream in self.streams:
            selector, stem, dns_stem, policy = self.dkim[stream.sender]
            pem = _dkim_pem(stem)
            own_key, bits = _dkim_public_b64(pem)
            dns_key = own_key if dns_stem is None else _dkim_public_b64(_dkim_pem(dns_stem))[0]
            dkim.append(
                {
                    "domain": stream.sender,
                    "selector": selector,
                    "private_key_pem": pem,
                    "bits": bits,
                    "dns_key": "match" if dns_stem is None else "mismatch",
                    "dns_public_key": dns_key,
                }
            )
            if dns_stem is not None:
                faults.append(
                    {"kind": "dkim_key_mismatch", "domain": stream.sender, "selector": selector}
                )
            if bits < 2048:
                faults.append(
                    {
                        "kind": "dkim_weak_key",
                        "domain": stream.sender,
                        "selector": selector,
                        "bits": bits,
                    }
                )
            ips = " ".join(f"ip4:{ip}" for ip in stream.ips)
            spf[stream.sender] = f"v=spf1 {ips} -all"
            dmarc[stream.sender] = f"v=DMARC1; p={policy}; rua=mailto:dmarc-reports@{stream.sender}"
            if policy == "none":
                faults.append({"kind": "dmarc_none", "domain": stream.sender})
        for ip, domain in self.stale_mx.items():
            faults.append({"kind": "stale_mx", "domain": domain, "ip": ip})
        for ip, kind in self.ip_faults.items():
            item: dict[str, Any] = {"kind": kind, "ip": ip}
            if kind == "ptr_mismatch":
                item.update(self.ptr_mismatch[ip])
            if kind == "dnsbl_listed":
                item["zones"] = sorted(self.listed[ip])
            faults.append(item)
        blocked = {ev.domain for ev in self.ip_blocks} | {ev.domain for ev in self.domain_blocks}
        receiving: dict[str, Any] = {}
        for index, dom in enumerate(self.domains):
            if dom.provider or index in blocked:
                receiving[dom.name] = {"mx": [list(m) for m in dom.mx], "provider": dom.style}
        return {
            "version": 1,
            "streams": {s.name: list(s.ips) for s in self.streams},
            "stream_sender_domains": {s.name: s.sender for s in self.streams},
            "sender_domains": [s.sender for s in self.streams],
            "spf": spf,
            "dmarc": dmarc,
            "dkim": dkim,
            "receiving_domains": receiving,
            "ptr": dict(self.ptr),
            "ptr_mismatch": self.ptr_mismatch,
            "helo": dict(self.helo),
            "listed_ips": sorted(self.listed),
            "listings": self.listed,
            "stale_mx_ips": self.stale_mx,
            "faults": faults,
        }

    def scale(self) -> dict[str, int]:
        return {
            "attempts": self.n_attempts,
            "blocks": self.n_blocks,
            "domains": self.n_domains,
            "streams": self.n_streams,
        }

    def _write_info(self, conn: sqlite3.Connection) -> None:
        info = {
            "anchor_time": self.now.isoformat(),
            "seed": str(self.seed),
            "version": GENERATOR_VERSION,
            "scale": json.dumps(self.scale(), sort_keys=True),
            "window_days": str(WINDOW.days),
            "manifest": json.dumps(self.manifest()),
            "blocks_by_cause": json.dumps(self.by_cause(), sort_keys=True),
            "blocks_by_provider": json.dumps(self.by_provider()),
            "domain_only_blocks": json.dumps(self.domain_only),
            "generator": "lmtriage demo",
        }
        conn.executemany(f"INSERT INTO {DEMO_INFO_TABLE} VALUES (?, ?)", sorted(info.items()))


def _names() -> dict[str, str]:
    return {key: spec.default_name for key, spec in MODEL_BY_KEY.items()}


# --------------------------------------------------------------------------- public API


def build_demo_database(
    path: Path,
    *,
    attempts: int = 200_000,
    blocks: int = 400,
    domains: int = 300,
    streams: int = 4,
    seed: int = 7,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write the demo database at ``path`` (replacing it atomically) and say what is in it.

    ``now`` is the anchor the data is built around (naive local time; default: now, floored to
    the hour). The same arguments and ``now`` give identical content.
    """
    started = time.perf_counter()
    path = Path(path)
    anchor = _normalise_now(now)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    builder = _Builder(
        attempts=attempts,
        blocks=blocks,
        domains=domains,
        streams=streams,
        seed=seed,
        now=anchor,
        progress=progress,
    )
    try:
        builder.write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress("done", 1.0)
    return DemoSummary(
        path=path,
        counts=dict(builder.counts),
        anchor_time=anchor,
        seconds=time.perf_counter() - started,
        seed=seed,
        scale=builder.scale(),
        blocks_by_cause=builder.by_cause(),
        blocks_by_provider=builder.by_provider(),
        size_bytes=path.stat().st_size,
    )


def read_demo_info(path: Path) -> dict[str, str] | None:
    """The ``lmtriage_demo_info`` rows of a file, or None when it is not a demo database."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute(f'SELECT "key", "value" FROM {DEMO_INFO_TABLE}').fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return {str(k): str(v) for k, v in rows}


def ensure_demo_database(path: Path, **kwargs: Any) -> Path:
    """The demo database at ``path``, built first when missing or from another generator version.

    A file there that is not a demo database is never overwritten.
    """
    path = Path(path)
    if path.exists():
        info = read_demo_info(path)
        if info is None:
            raise LmError(
                f"{path} exists and is not an lmtriage demo database; move it away or set "
                "[ui] demo_path in the config file"
            )
        if info.get("version") == GENERATOR_VERSION:
            return path
    build_demo_database(path, **kwargs)
    return path
