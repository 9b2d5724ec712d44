"""The advice of :mod:`tui.diagnose.advice` as data: one table per kind of knowledge.

* :data:`PLAYS`: per category, what it means, the ordered steps, and the release rule;
* :data:`PROVIDERS`: per receiver, its pages (postmaster tools, feedback loop, unblock form),
  the domains it serves, and how many connections it tolerates;
* :data:`CODE_NOTES`: per provider reason code or enhanced code, the one-line name used in the
  headline, what it means, extra steps, and the cool-down before a release;
* :data:`BLOCKLISTS`: per public or commercial blocklist, its lookup/removal page and how its
  listings end;
* :data:`POLICY_CAUSES` and :data:`AUTH_RECORDS`: which record or setting a policy or
  authentication reply points at, and how to fix it;
* :data:`COMMITMENTS`: what an allowlist request may say was done, per category.

Why this module is long (about 1,200 lines) and stays whole: it is a data table, not code.
Almost every line is advice text in a row of one of the tables above; the tables refer to
each other (code notes name providers and categories, plays and causes share the template
names below) and are read together when a row is added or reworded. Split into files, the
same texts would only be harder to keep consistent.

Texts may use ``{domain}``, ``{ip}`` (an IP, or "each sending IP"), ``{ip_one}`` (an IP),
``{ip_args}`` (IPs for a command line), ``{stream}``, ``{who}`` (the receiver's name),
``{from_domain}`` and ``{selector}`` (the From domain and DKIM selector, from the replies and
ListManager's DKIM tables, else ``<From domain>`` / ``<selector>``), ``{selector_arg}``
(`` --dkim-selector S`` when the selector is known),
``{blocklist}``, ``{code}``, ``{retry}``, ``{bounce_announce}``, ``{bounce_discussion}``,
``{dcl_key}``, ``{dns_key}``, ``{auth_key}``: :mod:`tui.diagnose.advice` fills
them in (unknown names become empty). Write plain text, no markup: the console, the CLI and
the allowlist mail show it as it is.

To extend: add one row to the right table. A code note for a new provider code, e.g.
``CodeNote(("gmx/web.de",), r"C=POLI", IP_REPUTATION, "GMX's IP policy block (c=poli)", …)``;
``code`` is a regular expression matched in full (case-insensitive) against the reply's provider
code first, then its enhanced status code.
"""

from __future__ import annotations

from typing import NamedTuple

from tui.diagnose.patterns import (
    AUTH,
    CONTENT,
    DNSBL,
    FULL,
    GREY,
    IP_REPUTATION,
    OTHER,
    POLICY,
    RATE,
    TLS,
    USER,
)

# --------------------------------------------------------------------------- ListManager facts

DEFAULT_CONNECTIONS = 10
"""ListManager opens up to 10 connections per receiving IP when a domain has no row."""
MIN_CONNECTIONS = 1
"""The vendor's minimum Domain Connection Limit."""
RETRY_DEFAULT = "30, 720"
"""ListManager's default retry timing, minutes between tries (the server setting is written
``30,720``; values outside 5-1440 are ignored). Shown with a space so it never reads as
thirty thousand."""
BOUNCE_LIMIT_ANNOUNCE = 2
BOUNCE_LIMIT_DISCUSSION = 5

CONSOLE_DCL_KEY = "c"
CONSOLE_RELEASE_KEY = "r"
CONSOLE_DNS_KEY = "d"
CONSOLE_AUTH_KEY = "k"

WHEN_NOW = "now"
WHEN_WAIT = "wait"
WHEN_AFTER_FIX = "after-fix"

# --------------------------------------------------------------------------- categories


class Play(NamedTuple):
    """What to do about one category of reply."""

    title: str  # "rate limit": used in "example.net's rate limit (4.7.0)"
    meaning: str  # what the receiver does ({who} is its name), when no code note says more
    explanation: str  # why it does it, and what that implies (one sentence)
    steps: tuple[str, ...]  # ordered, after the code-specific and check-driven steps
    release: str  # WHEN_NOW / WHEN_WAIT / WHEN_AFTER_FIX
    release_reason: str
    needs_checks: tuple[str, ...] = ()  # "dns" (PTR/HELO/blocklists), "auth" (SPF/DKIM/DMARC)
    cooldown_hours: float | None = None  # for WHEN_WAIT when no code note says otherwise


HYGIENE = (
    "Clean the list: hold members after {bounce_announce} bounces on announcement lists and "
    "{bounce_discussion} on discussion lists (ListManager's defaults), remove addresses that "
    "have not opened or clicked in 6-12 months, and use confirmed opt-in for new members."
)
UNSUBSCRIBE = (
    "Make sure every mailing carries List-Unsubscribe and one-click List-Unsubscribe-Post "
    "(RFC 8058) headers: Gmail and Yahoo require them from bulk senders since 2024."
)
COMPLAINTS = (
    "Keep the complaint (spam-report) rate under 0.1%; Gmail and Yahoo block bulk senders that "
    "reach 0.3%."
)
GENERIC_FEEDBACK_LOOP = (
    "Join {who}'s feedback loop if it has one, and unsubscribe every member who complains "
    "(ListManager logs complaints in lyrMemberComplaintLog)."
)
RUN_AUTH_CHECKS = (
    "Run the DKIM/SPF/DMARC checks ({auth_key} in the console, or lmtriage check "
    "--sender-domain {from_domain}{selector_arg} --ip {ip_args}) to see which record fails."
)
RUN_DNS_CHECKS = (
    "Run the DNS checks ({dns_key} in the console, or lmtriage check --domain {domain} --ip "
    "{ip_args}) to see the PTR, FCrDNS, HELO and blocklist listings of the IPs."
)

PLAYS: dict[str, Play] = {
    RATE: Play(
        title="rate limit",
        meaning="{who} accepts only so many connections or messages from one IP in a given time "
        "and defers the rest.",
        explanation="It is a throttle, not a verdict on the IP, but pushing on while throttled "
        "prolongs it and can turn it into a reputation block.",
        steps=(
            "Spread large mailings to {domain} over several hours instead of one burst; "
            "volume throttles count messages per hour per IP.",
            "Keep ListManager's retry timing at its default, {retry} (minutes between tries: "
            "a retry 30 minutes after the first try, the next 720 minutes later), or slower, so "
            "deferred mail does not hammer the receiver.",
        ),
        release=WHEN_WAIT,
        release_reason="a release into an active rate limit only re-blocks the stream",
        cooldown_hours=1.0,
    ),
    AUTH: Play(
        title="sender-authentication check",
        meaning="{who} refuses mail that does not pass SPF, DKIM or DMARC for its From domain.",
        explanation="ListManager sends UNSIGNED when its DKIM private key does not match the key "
        "published in DNS, the most common cause of these refusals.",
        steps=(),
        release=WHEN_AFTER_FIX,
        release_reason="every message is refused until the record is fixed",
        needs_checks=("auth",),
    ),
    DNSBL: Play(
        title="blocklist check",
        meaning="{who} looks the sending IP up in a blocklist and refuses it while it is listed.",
        explanation="Listings usually come from spam-trap hits, complaints, or a compromised "
        "host or script sending through the server.",
        steps=(
            "Find out why the IP was listed (the list's lookup page shows the reason): spam "
            "traps point at old or purchased addresses, complaints at unwanted mail, an XBL/CBL "
            "listing at an infected host or a hijacked web form.",
            HYGIENE,
            "Request removal only after the cause is fixed: most lists relist quickly and make "
            "the next removal harder.",
        ),
        release=WHEN_AFTER_FIX,
        release_reason="the receiver refuses the IP while it is listed: delist first",
        needs_checks=("dns",),
    ),
    IP_REPUTATION: Play(
        title="reputation filter",
        meaning="{who}'s own reputation system has judged the IP (or the sending domain) a likely "
        "spam source.",
        explanation="Its inputs are complaints, spam-trap hits, unknown-user rates and sudden "
        "volume; it is internal to the receiver, so a clean public blocklist check does not "
        "mean the IP is fine.",
        steps=(
            HYGIENE,
            COMPLAINTS,
            UNSUBSCRIBE,
            "Lower the volume to {domain} for a while (a lower Domain Connection Limit: "
            "{dcl_key} in the console) and warm back up slowly, sending to the most engaged "
            "members first.",
        ),
        release=WHEN_AFTER_FIX,
        release_reason="the receiver keeps refusing the IP until its reputation recovers",
        needs_checks=("dns", "auth"),
        cooldown_hours=24.0,
    ),
    POLICY: Play(
        title="policy check",
        meaning="{who} refuses mail that breaks one of its rules about the sending server or the "
        "sender domain.",
        explanation="The rule is checked on every connection, so nothing changes until it is met.",
        steps=(RUN_DNS_CHECKS,),
        release=WHEN_AFTER_FIX,
        release_reason="the rule is checked on every connection: fix it first",
        needs_checks=("dns",),
    ),
    CONTENT: Play(
        title="spam filter",
        meaning="{who} refused the message for its content (text, links, attachments or the "
        "reputation of the URLs in it), not for the IP.",
        explanation="It judges each message, so other mailings still get through; the block is "
        "content-driven.",
        steps=(
            "Look at the campaign that was refused: check its links' domains against URL "
            "blocklists (Spamhaus DBL, SURBL, URIBL), drop URL shorteners, and send a test "
            "to a seed account.",
            HYGIENE,
            UNSUBSCRIBE,
        ),
        release=WHEN_NOW,
        release_reason="the block is content-driven: release, but fix the campaign first",
    ),
    USER: Play(
        title="recipient check",
        meaning="{who} says recipient addresses do not exist.",
        explanation="That is per recipient, no reason for a stream block; ListManager's bounce "
        "handling holds those members by itself.",
        steps=(
            "Make sure bounce handling holds members after {bounce_announce} bounces "
            "(announcement) / {bounce_discussion} (discussion); a high unknown-user rate hurts "
            "reputation.",
        ),
        release=WHEN_NOW,
        release_reason="unknown-user replies do not block a stream",
    ),
    FULL: Play(
        title="mailbox quota",
        meaning="{who} says recipients' mailboxes are full.",
        explanation="That is per recipient and temporary, no reason for a stream block.",
        steps=(
            "Let bounce handling hold members whose mailboxes stay full; they are usually "
            "abandoned.",
        ),
        release=WHEN_NOW,
        release_reason="mailbox-full replies do not block a stream",
    ),
    GREY: Play(
        title="greylisting",
        meaning="{who} greylists: it defers the first attempt from an unknown sender and accepts "
        "a retry a few minutes later.",
        explanation="That is a test of retry behaviour, not a block.",
        steps=(
            "Keep retries on (the default retry timing, {retry}, passes greylisting); mail "
            "goes through on the next try.",
        ),
        release=WHEN_NOW,
        release_reason="greylisting lets the next retry through",
    ),
    TLS: Play(
        title="TLS requirement",
        meaning="{who} requires the connection to be encrypted with STARTTLS.",
        explanation="Clear-text mail is refused for every recipient of the domain, so it looks "
        "like a block although it is a setting on our side.",
        steps=(
            "Turn on outbound STARTTLS in ListManager (or the MTA it relays through) with a "
            "current TLS version (1.2 or later) and test a delivery to {domain}.",
        ),
        release=WHEN_AFTER_FIX,
        release_reason="every clear-text delivery is refused until TLS is on",
    ),
    OTHER: Play(
        title="server",
        meaning="{who}'s reply is a server error, a relaying or size refusal, or a text lmtriage "
        "does not recognise.",
        explanation="None of these is a known reason to block a stream.",
        steps=(
            "Read the full reply text (Enter in the console) and the receiver's postmaster "
            "page for it.",
        ),
        release=WHEN_NOW,
        release_reason="nothing in the reply says the receiver refuses the stream; watch the "
        "next replies",
    ),
}

# --------------------------------------------------------------------------- providers


class Provider(NamedTuple):
    """One receiver (mailbox provider or filtering gateway)."""

    name: str  # "Gmail"
    domains: tuple[str, ...]  # receiving domains it serves
    postmaster: str | None  # the provider's sender / postmaster page
    contact: str | None  # where an unblock or allowlist request goes
    contact_note: str  # the header note of the allowlist request
    has_allowlist: bool = True
    feedback_loop: str | None = None
    monitoring: str | None = None
    max_connections: int | None = None  # ceiling for a proposed Domain Connection Limit
    per_hour: int = 60  # ConnPerHour_ proposed for a volume throttle when unset
    per_connection: int = 20  # MaxMsgPerConn_ proposed for a volume throttle when unset


PROVIDERS: dict[str, Provider] = {
    "gmail": Provider(
        name="Gmail",
        domains=("gmail.com", "googlemail.com"),
        postmaster="https://postmaster.google.com/",
        contact="https://support.google.com/mail/contact/bulk_send_new",
        contact_note=(
            "Gmail does not allowlist senders and does not answer mail to postmaster@: once the "
            "cause is fixed, report the problem through Google's bulk sender contact form "
            "(https://support.google.com/mail/contact/bulk_send_new; the text below fits its "
            "description field), and follow the IP and domain reputation in Google Postmaster "
            "Tools (https://postmaster.google.com/)."
        ),
        has_allowlist=False,
        feedback_loop=(
            "Gmail's feedback loop only reports mail carrying a Feedback-ID header, which "
            "ListManager does not add: follow the spam rate in Postmaster Tools instead and "
            "remove members who stop opening."
        ),
        monitoring=(
            "Watch IP and domain reputation, spam rate and authentication in Google Postmaster "
            "Tools (https://postmaster.google.com/); verify the From domain there."
        ),
        per_hour=120,
        per_connection=50,
    ),
    "microsoft": Provider(
        name="Outlook",
        domains=("outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "live.fr"),
        postmaster="https://sendersupport.olc.protection.outlook.com/pm/",
        contact="https://olcsupport.office.com/",
        contact_note=(
            "Outlook.com (hotmail, outlook, live, msn) blocks: submit this through Microsoft's "
            "sender support form https://olcsupport.office.com/. Microsoft 365 blocks "
            "(5.7.606-5.7.649 'banned sending IP'): use the self-service delist portal "
            "https://sender.office.com/ first."
        ),
        feedback_loop=(
            "Join Microsoft's Junk Mail Reporting Program (JMRP, "
            "https://sendersupport.olc.protection.outlook.com/snds/JMRP.aspx)."
        ),
        monitoring=(
            "Register the IPs in Microsoft SNDS "
            "(https://sendersupport.olc.protection.outlook.com/snds/) to see their complaint "
            "rate and spam-trap hits."
        ),
        per_hour=60,
        per_connection=30,
    ),
    "yahoo": Provider(
        name="Yahoo",
        domains=("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr"),
        postmaster="https://senders.yahooinc.com/",
        contact="https://senders.yahooinc.com/contact",
        contact_note=(
            "Yahoo does not allowlist senders and takes no requests by mail: report the "
            "problem through its sender support form https://senders.yahooinc.com/contact "
            "(the delivery-issue request); the text below fits its description field."
        ),
        has_allowlist=False,
        feedback_loop=(
            "Join Yahoo's Complaint Feedback Loop "
            "(https://senders.yahooinc.com/complaint-feedback-loop/); it reports by DKIM "
            "domain, so it only works when ListManager actually signs."
        ),
        max_connections=3,
        per_hour=60,
        per_connection=20,
    ),
    "aol": Provider(
        name="AOL",
        domains=("aol.com", "aim.com", "verizon.net"),
        postmaster="https://senders.yahooinc.com/",
        contact="https://senders.yahooinc.com/contact",
        contact_note=(
            "AOL mail runs on Yahoo's platform, which does not allowlist senders: report the "
            "problem through Yahoo's sender support form https://senders.yahooinc.com/contact "
            "(the delivery-issue request); the text below fits its description field."
        ),
        has_allowlist=False,
        feedback_loop=(
            "Join Yahoo's Complaint Feedback Loop (it covers AOL: "
            "https://senders.yahooinc.com/complaint-feedback-loop/); it needs DKIM-signed mail."
        ),
        max_connections=3,
        per_hour=60,
        per_connection=20,
    ),
    "comcast": Provider(
        name="Comcast",
        domains=("comcast.net",),
        postmaster="https://postmaster.comcast.net/",
        contact="https://spa.xfinity.com/report",
        contact_note=(
            "Comcast lifts its own blocks (BL000000) through its blocklist removal request "
            "(https://spa.xfinity.com/report, see https://postmaster.comcast.net/); blocks for "
            "a public list (BL000001 and up) need that list's delisting first."
        ),
        feedback_loop="Join Comcast's feedback loop (see https://postmaster.comcast.net/).",
        max_connections=2,
        per_hour=30,
        per_connection=20,
    ),
    "orange": Provider(
        name="Orange",
        domains=("orange.fr", "wanadoo.fr"),
        postmaster="https://postmaster.orange.fr/",
        contact="https://postmaster.orange.fr/",
        contact_note=(
            "Orange handles unblock requests through its postmaster site "
            "https://postmaster.orange.fr/ (the form there, in French or English)."
        ),
        max_connections=2,
        per_hour=30,
        per_connection=20,
    ),
    "apple": Provider(
        name="Apple iCloud",
        domains=("icloud.com", "me.com", "mac.com"),
        postmaster="https://support.apple.com/en-us/HT204137",
        contact="icloudadmin@apple.com",
        contact_note=(
            "Apple's postmaster page (https://support.apple.com/en-us/HT204137) asks senders "
            "who believe they are blocked in error to write to icloudadmin@apple.com."
        ),
    ),
    "att": Provider(
        name="AT&T",
        domains=("att.net", "sbcglobal.net", "bellsouth.net"),
        postmaster=None,
        contact="abuse_rbl@abuse-att.net",
        contact_note=(
            "AT&T takes removal requests from its own blocklist (ATTRBL) by mail to "
            "abuse_rbl@abuse-att.net; give the IPs and the full reply."
        ),
    ),
    "proofpoint": Provider(
        name="Proofpoint",
        domains=(),
        postmaster="https://ipcheck.proofpoint.com/",
        contact="https://ipcheck.proofpoint.com/",
        contact_note=(
            "The receiving domain filters mail through Proofpoint: request a reputation "
            "review at https://ipcheck.proofpoint.com/; allowlisting is up to the receiving "
            "domain's own administrators."
        ),
    ),
    "mimecast": Provider(
        name="Mimecast",
        domains=(),
        postmaster=None,
        contact=None,
        contact_note=(
            "The receiving domain filters mail through Mimecast: only its administrators can "
            "allowlist you in their Mimecast policies, so send this to them."
        ),
    ),
    "cisco": Provider(
        name="Cisco Secure Email",
        domains=(),
        postmaster="https://talosintelligence.com/reputation_center",
        contact="https://talosintelligence.com/reputation_center",
        contact_note=(
            "The receiving domain filters mail through Cisco Secure Email (IronPort), which "
            "uses Talos reputation: look the IP up and open a dispute at "
            "https://talosintelligence.com/reputation_center."
        ),
    ),
}

HOSTED_CONTACT_NOTES: dict[str, str] = {
    "microsoft": (
        "{domain} receives its mail through Microsoft 365 (Exchange Online): only its own "
        "administrators can allow your IPs (their tenant's allow list), so write to them. If "
        "Microsoft itself bans the IP (5.7.606-5.7.649 'banned sending IP'), delist it first "
        "at https://sender.office.com/."
    ),
    "gmail": (
        "{domain} receives its mail through Google Workspace: its administrators can allow "
        "your IPs in their Gmail settings (Admin console), so write to them; Gmail's own "
        "reputation filter is followed in Google Postmaster Tools (https://postmaster.google.com/)."
    ),
}
"""Where a request goes when the receiving domain is an organization hosted on a big provider
(its mail is not the provider's consumer mail): the organization, not the provider's form."""

HOSTED_NAMES: dict[str, str] = {"microsoft": "Microsoft 365", "gmail": "Google Workspace"}
"""How a hosted organization's receiver is named: ``anra.com (Microsoft 365)``."""

BLOCKLIST_NOTE = (
    "The replies cite {blocklist}: get the IP delisted there first ({url}); until then a "
    "receiver using the list can only exempt you by its own allow list."
)

UNKNOWN_CONTACT_NOTE = (
    "No public sender form is known for {domain}: RFC 5321 requires every mail domain to accept "
    "mail to postmaster@{domain}; abuse@{domain} is the usual second address."
)

# --------------------------------------------------------------------------- reason codes


class CodeNote(NamedTuple):
    """What one provider reason code or enhanced status code means."""

    providers: tuple[str, ...]  # classifier provider names; () = any provider
    code: str  # regex, full match, case-insensitive, on the provider code then enhanced code
    category: str | None  # only for replies of this category (None = any)
    name: str  # headline subject: "Outlook's IP block list (S3140)"
    meaning: str  # what the code says the receiver is doing (one or two sentences)
    steps: tuple[str, ...] = ()
    cooldown_hours: float | None = None  # before a release (wait), for temporary codes
    volume: bool = False  # a volume throttle: propose hourly / per-connection caps
    url: str | None = None  # the page to act on (delist / unblock form)
    auth: tuple[str, ...] = ()  # for auth codes: the records at fault ("spf", "dkim", ...)
    text: str | None = None  # regex the reply text must contain too (one code, two meanings)
    no_limit: bool = False  # about the messages, not the connections: no Connection Limit step


_YAHOO = ("yahoo", "aol")

CODE_NOTES: tuple[CodeNote, ...] = (
    # --- Gmail -------------------------------------------------------------------------------
    CodeNote(
        ("gmail",),
        r"4\.7\.28",
        RATE,
        "Gmail's duplicate Message-ID limit (4.7.28)",
        "Gmail received too many messages with one and the same Message-ID and defers the rest; "
        "this limit is about the message, not the IP's reputation, so a lower connection limit "
        "does not lift it.",
        steps=(
            "Give every message its own Message-ID: look at the Message-ID header of a few "
            "messages to this domain; duplicates come from a resend of the same message, a test "
            "or autoresponder loop, or a relay in front of ListManager that rewrites the header.",
        ),
        cooldown_hours=1.0,
        text=r"same message-?id",
        no_limit=True,
    ),
    CodeNote(
        ("gmail",),
        r"4\.7\.28",
        RATE,
        "Gmail's unsolicited-mail rate limit (4.7.28)",
        "Gmail saw an unusual rate of unsolicited mail from the IP and accepts only a trickle "
        "for now; the limit follows the IP's spam rate, so it lifts as volume drops and fewer "
        "recipients mark the mail as spam.",
        steps=(
            "Check the IP's reputation and the domain's spam rate in Google Postmaster Tools "
            "(https://postmaster.google.com/): keep the spam rate under 0.1%, never 0.3%.",
        ),
        cooldown_hours=2.0,
        volume=True,
    ),
    CodeNote(
        ("gmail",),
        r"5\.7\.28",
        None,
        "Gmail's unsolicited-mail block (5.7.28)",
        "Gmail blocked the IP after an unusual rate of unsolicited mail; unlike 4.7.28 this "
        "refuses outright.",
        url="https://support.google.com/mail/contact/bulk_send_new",
    ),
    CodeNote(
        ("gmail",),
        r"[45]\.7\.26",
        AUTH,
        "Gmail's sender-authentication rule ({code})",
        "Gmail refuses mail that passes neither SPF nor DKIM (or fails the From domain's DMARC "
        "policy); since 2024 it requires SPF, DKIM and DMARC from bulk senders.",
        auth=("dkim", "spf", "dmarc"),
    ),
    CodeNote(
        ("gmail",),
        r"[45]\.7\.27",
        AUTH,
        "Gmail's SPF check ({code})",
        "Gmail says the message did not pass SPF: the sender domain's SPF record does not "
        "authorize the sending IP.",
        auth=("spf",),
    ),
    CodeNote(
        ("gmail",),
        r"[45]\.7\.30",
        AUTH,
        "Gmail's DKIM check ({code})",
        "Gmail says the message did not pass DKIM: it is unsigned, or the signature does not "
        "verify against the key in DNS.",
        auth=("dkim",),
    ),
    CodeNote(
        ("gmail",),
        r"[45]\.7\.32",
        AUTH,
        "Gmail's DMARC alignment check ({code})",
        "Gmail says the From: domain is aligned with neither the SPF domain (bounce address) "
        "nor the DKIM d= domain, which DMARC requires.",
        auth=("alignment",),
    ),
    CodeNote(
        ("gmail",),
        r"[45]\.7\.2[35]",
        POLICY,
        "Gmail's reverse-DNS rule ({code})",
        "Gmail refuses IPs without a PTR record, or whose PTR name does not resolve back to "
        "the same IP (forward-confirmed reverse DNS).",
    ),
    CodeNote(
        ("gmail",),
        r"[45]\.7\.1|[45]\.7\.0",
        IP_REPUTATION,
        "Gmail's reputation filter ({code})",
        "Gmail refuses the mail because of the low reputation of the sending IP or domain; "
        "this is Gmail's internal reputation, not a public blocklist, and Gmail has no "
        "delisting form.",
    ),
    # --- Yahoo / AOL ---------------------------------------------------------------------------
    CodeNote(
        _YAHOO,
        r"TSS04",
        RATE,
        "Yahoo's volume and complaint deferral (TSS04)",
        "Yahoo temporarily defers mail from the IP because of unexpected volume or user "
        "complaints (TSS04 covers both); it lifts by itself after a few hours of lower volume "
        "and fewer spam reports, and pushing on prolongs it.",
        steps=(
            "Find out whether complaints drive it: join Yahoo's Complaint Feedback Loop "
            "(https://senders.yahooinc.com/complaint-feedback-loop/; it reports by DKIM domain, "
            "so ListManager must sign), unsubscribe every member who reports the mail as spam, "
            "and keep the complaint rate under 0.1% (Yahoo defers bulk senders long before "
            "0.3%).",
        ),
        cooldown_hours=4.0,
        volume=True,
    ),
    CodeNote(
        _YAHOO,
        r"TSS04|TS0?[12]",
        IP_REPUTATION,
        "Yahoo's complaint deferral ({code})",
        "Yahoo temporarily defers mail from the IP because its users report it as spam; it "
        "lifts when complaints drop, usually within a day.",
        cooldown_hours=24.0,
    ),
    CodeNote(
        _YAHOO,
        r"TS0?3|TSS09|TSS1\d",
        IP_REPUTATION,
        "Yahoo's permanent deferral ({code})",
        "Yahoo has stopped accepting mail from the IP for poor reputation; retrying will not "
        "help, only a request through Yahoo's sender form after the cause is fixed.",
        url="https://senders.yahooinc.com/contact",
    ),
    CodeNote(
        _YAHOO,
        r"GL0?1",
        None,
        "Yahoo's new-sender deferral ({code})",
        "Yahoo defers mail from IPs or domains with little or irregular sending history; a "
        "slow, steady warm-up lifts it.",
        cooldown_hours=4.0,
        volume=True,
    ),
    CodeNote(
        _YAHOO,
        r"PH0\d",
        None,
        "Yahoo's policy refusal ({code})",
        "Yahoo refuses the mail for policy reasons (URLs or content on its block lists, or "
        "the sender's history).",
        url="https://senders.yahooinc.com/contact",
    ),
    CodeNote(
        _YAHOO,
        r"BL2\d",
        None,
        "Yahoo's Spamhaus check ({code})",
        "Yahoo refuses the IP because Spamhaus lists it.",
    ),
    CodeNote(
        _YAHOO,
        r"5\.7\.9|4\.7\.9",
        AUTH,
        "Yahoo's sender-authentication rule ({code})",
        "Yahoo refuses unauthenticated mail: since 2024 bulk senders need SPF and DKIM, a "
        "DMARC record (at least p=none) and alignment with the From domain.",
        auth=("dkim", "spf", "dmarc"),
    ),
    # --- Microsoft -----------------------------------------------------------------------------
    CodeNote(
        ("microsoft",),
        r"S3140",
        None,
        "Outlook's IP block list (S3140)",
        "Outlook.com has put the IP on its own block list, usually for complaints, spam-trap "
        "hits or a sudden volume change; only Microsoft removes it, through its sender "
        "support form.",
        url="https://olcsupport.office.com/",
    ),
    CodeNote(
        ("microsoft",),
        r"S3150",
        None,
        "Outlook's network block list (S3150)",
        "Outlook.com blocks the network range the IP belongs to; the owner of the range (or "
        "you, for your own IPs) must ask Microsoft through its sender support form.",
        url="https://olcsupport.office.com/",
    ),
    CodeNote(
        ("microsoft",),
        r"S3115|4\.7\.652",
        RATE,
        "Outlook's connection limit ({code})",
        "Outlook.com accepts only so many connections and messages from one IP at a time, and "
        "the IP went over it.",
        cooldown_hours=1.0,
        volume=True,
    ),
    CodeNote(
        ("microsoft",),
        r"S775|4\.7\.650",
        RATE,
        "Outlook's reputation throttle ({code})",
        "Outlook.com rate-limits the IP because of its reputation; the throttle eases as the "
        "reputation improves and volume stays moderate.",
        steps=(
            "Register the IP in Microsoft SNDS "
            "(https://sendersupport.olc.protection.outlook.com/snds/) to see its complaint "
            "rate and trap hits.",
        ),
        cooldown_hours=1.0,
        volume=True,
    ),
    CodeNote(
        ("microsoft",),
        r"5\.7\.(?:50[1-3]|511|6[0-4]\d|70[5-9])",
        None,
        "Microsoft 365's banned-sender list ({code})",
        "Microsoft 365 (Exchange Online Protection) refuses the IP as a banned sender; the "
        "sender can ask for removal at the self-service delist portal.",
        steps=(
            "Delist the IP at https://sender.office.com/ (enter the IP and an address to get "
            "the confirmation link); removal can take several hours to apply.",
        ),
        url="https://sender.office.com/",
    ),
    CodeNote(
        ("microsoft",),
        r"AS\(\d+\)",
        POLICY,
        "{domain}'s own block list on Microsoft 365 ({code})",
        "{domain}'s administrators block the IP (or the sender) in their own Microsoft 365 "
        "tenant; Microsoft does not lift this, only they can.",
    ),
    CodeNote(
        ("microsoft",),
        r"5\.7\.509",
        AUTH,
        "Microsoft's DMARC check (5.7.509)",
        "The sending domain fails DMARC and publishes p=reject, so Microsoft refuses the mail.",
        auth=("dmarc", "alignment"),
    ),
    CodeNote(
        ("microsoft",),
        r"5\.7\.515",
        AUTH,
        "Outlook's bulk-sender authentication rule (5.7.515)",
        "Since May 2025 Outlook.com requires SPF, DKIM and DMARC (at least p=none, aligned "
        "with one of them) from domains sending more than 5,000 messages a day.",
        auth=("dkim", "spf", "dmarc"),
    ),
    # --- Comcast -------------------------------------------------------------------------------
    CodeNote(
        ("comcast",),
        r"BL000000",
        None,
        "Comcast's own block list (BL000000)",
        "Comcast saw mail from the IP in patterns characteristic of spam and blocks it on "
        "its own list (not a public one); Comcast lifts it on request once the cause is fixed.",
        url="https://spa.xfinity.com/report",
    ),
    CodeNote(
        ("comcast",),
        r"BL0{3}[01]{3}",
        None,
        "Comcast's blocklist check ({code})",
        "Comcast refuses the IP because a public list it uses lists it.",
    ),
    CodeNote(
        ("comcast",),
        r"RL\d{6}",
        None,
        "Comcast's rate limit ({code})",
        "Comcast limits the connections and messages it takes from one IP, and the IP went "
        "over it.",
        cooldown_hours=1.0,
        volume=True,
    ),
    # --- Orange ------------------------------------------------------------------------------
    CodeNote(
        ("orange", "laposte"),
        r"(?:OFR|LPN|OUK)\d{0,3}[_-]104",
        None,
        "Orange's connection limit ({code})",
        "Orange refuses the connection because the IP has too many open at once; Orange "
        "tolerates very few simultaneous connections per IP.",
        cooldown_hours=1.0,
        volume=True,
    ),
    CodeNote(
        ("orange", "laposte"),
        r"(?:OFR|LPN|OUK)\d{0,3}[_-](?:102|103|510|999)",
        None,
        "Orange's reputation block ({code})",
        "Orange refuses mail from the IP for its reputation; it is lifted on request at "
        "https://postmaster.orange.fr/ once the cause is fixed.",
        url="https://postmaster.orange.fr/",
    ),
    # --- gateways ----------------------------------------------------------------------------
    CodeNote(
        ("cisco",),
        r".*",
        IP_REPUTATION,
        "Cisco Talos reputation ({code})",
        "The receiver's Cisco Secure Email gateway refuses the IP for its Talos (SenderBase) "
        "reputation.",
        url="https://talosintelligence.com/reputation_center",
    ),
    CodeNote(
        ("proofpoint",),
        r".*",
        IP_REPUTATION,
        "Proofpoint's IP reputation list ({code})",
        "The receiver's Proofpoint gateway refuses the IP for its reputation in Proofpoint's "
        "own list (not a public DNS blocklist).",
        url="https://ipcheck.proofpoint.com/",
    ),
)

# --------------------------------------------------------------------------- blocklists


class Blocklist(NamedTuple):
    """A public or commercial blocklist."""

    pattern: str  # regex searched in the lower-cased list name, zone or URL host
    name: str
    url: str | None  # lookup / removal page
    note: str  # how its listings end
    public: bool  # queryable in DNS by the blocklist checks
    zone_hint: str | None = None  # substring of the DNS zones of this list


BLOCKLISTS: tuple[Blocklist, ...] = (
    Blocklist(
        r"spamhaus|\bzen\b|\b[sxp]bl\b|\bdbl\b|abuseat|\bcbl\b|\bcss\b",
        "Spamhaus",
        "https://check.spamhaus.org/",
        "Look the IP up at https://check.spamhaus.org/: SBL listings need a ticket with "
        "Spamhaus, XBL/CBL and CSS listings can be removed there once the cause is gone, and a "
        "PBL listing (the range is marked as end-user space) must be removed by the IP's owner.",
        True,
        "spamhaus",
    ),
    Blocklist(
        r"spamcop",
        "SpamCop",
        "https://www.spamcop.net/bl.shtml",
        "SpamCop listings expire by themselves about 24 hours after the last spam report; "
        "there is nothing to request, only the source to stop.",
        True,
        "spamcop",
    ),
    Blocklist(
        r"barracuda|\bbrbl\b",
        "Barracuda",
        "https://www.barracudacentral.org/lookups",
        "Barracuda removes listings on request through the form linked from "
        "https://www.barracudacentral.org/lookups.",
        True,
        "barracudacentral",
    ),
    Blocklist(
        r"uceprotect",
        "UCEPROTECT",
        "https://www.uceprotect.net/en/rblcheck.php",
        "UCEPROTECT level 1 lists the IP and expires 7 days after the last spam-trap hit "
        "(express delisting is paid); levels 2 and 3 list the whole network or provider for "
        "its neighbours and are informational: nothing you do on your IP removes them, so ask "
        "the receiver not to block on them.",
        True,
        "uceprotect",
    ),
    Blocklist(
        r"\bsorbs\b",
        "SORBS",
        None,
        "SORBS was shut down by its owner (Proofpoint) in 2024; a receiver still citing it "
        "runs an outdated configuration: tell its postmaster.",
        True,
        "sorbs",
    ),
    Blocklist(
        r"cloudmark",
        "Cloudmark CSI",
        "https://csi.cloudmark.com/en/reset/",
        "Cloudmark Sender Intelligence is not a public DNS list: request a reset at "
        "https://csi.cloudmark.com/en/reset/.",
        False,
    ),
    Blocklist(
        r"proofpoint",
        "Proofpoint",
        "https://ipcheck.proofpoint.com/",
        "Proofpoint's list is not public: request removal at https://ipcheck.proofpoint.com/.",
        False,
    ),
    Blocklist(
        r"trend ?micro|mail-abuse",
        "Trend Micro ERS",
        "https://servicecentral.trendmicro.com/en-US/ers/ip-lookup/",
        "Trend Micro's Email Reputation Service is not public: look the IP up and request "
        "removal at https://servicecentral.trendmicro.com/en-US/ers/ip-lookup/.",
        False,
    ),
    Blocklist(
        r"mimecast",
        "Mimecast",
        None,
        "Mimecast's lists are not public: ask the recipient organization's administrators, "
        "or Mimecast's sender feedback form, to review the block.",
        False,
    ),
    Blocklist(
        r"microsoft|office\.com|outlook",
        "Microsoft",
        "https://sender.office.com/",
        "Microsoft's list is not public: delist at https://sender.office.com/.",
        False,
    ),
    Blocklist(
        r"attrbl|abuse-att|\bat&t\b",
        "AT&T ATTRBL",
        "mailto:abuse_rbl@abuse-att.net",
        "AT&T's list is not public: ask for removal by mail to abuse_rbl@abuse-att.net.",
        False,
    ),
    Blocklist(
        r"senderscore",
        "SenderScore",
        "https://senderscore.org/",
        "SenderScore (Validity) is a reputation list: look the IP up at "
        "https://senderscore.org/; it recovers with lower complaint and unknown-user rates.",
        True,
        "senderscore",
    ),
    Blocklist(
        r"mailspike",
        "Mailspike",
        "https://mailspike.org/",
        "Mailspike listings decay as the IP stops hitting its traps; see https://mailspike.org/.",
        True,
        "mailspike",
    ),
    Blocklist(
        r"\bpsbl\b|surriel",
        "PSBL",
        "https://psbl.org/",
        "PSBL lists IPs that hit its traps; remove the IP yourself at https://psbl.org/.",
        True,
        "surriel",
    ),
    Blocklist(
        r"spamrats|\brats-",
        "SpamRATS",
        "https://www.spamrats.com/",
        "SpamRATS lists by behaviour (no PTR, dynamic-looking names, spam); see "
        "https://www.spamrats.com/.",
        True,
        "spamrats",
    ),
    Blocklist(
        r"invaluement|\bivm",
        "Invaluement",
        "https://www.invaluement.com/",
        "Invaluement is a commercial list used by many receivers; see "
        "https://www.invaluement.com/.",
        False,
    ),
)

SPAMHAUS_SUBLISTS: dict[str, str] = {
    "sbl": "An SBL listing is a manual listing of a spam source: it is removed by Spamhaus "
    "through its ticket, after the cause is shown to be fixed.",
    "css": "A CSS listing (part of the SBL) is automatic, for low-reputation bulk sending; it "
    "expires once the spam stops, and can be removed at https://check.spamhaus.org/ after "
    "the fix.",
    "xbl": "An XBL listing means an infected or exploited host sends through the IP (a bot, "
    "an open proxy, a hijacked web form): clean it, then remove the IP at "
    "https://check.spamhaus.org/.",
    "cbl": "A CBL (XBL) listing means an infected or exploited host sends through the IP: "
    "clean it, then remove the IP at https://check.spamhaus.org/.",
    "pbl": "A PBL listing says the range is end-user space that should not send directly: "
    "only the owner of the IP range can remove it (or the IP's user, at "
    "https://check.spamhaus.org/).",
}
"""What a Spamhaus sub-list named in a reply means, and how it ends."""

COMCAST_BL_LISTS: dict[str, str] = {
    "BL000001": "Spamhaus ZEN",
    "BL000010": "Cloudmark CSI",
    "BL000011": "Spamhaus ZEN and Cloudmark CSI",
    "BL000100": "SenderScore",
    "BL000101": "Spamhaus ZEN and SenderScore",
    "BL000110": "SenderScore and Cloudmark CSI",
    "BL000111": "Spamhaus ZEN, SenderScore and Cloudmark CSI",
}
"""Comcast's codes for the public lists it blocks on (from its postmaster error-code page)."""

PROVIDER_CODE_LISTS: dict[str, str] = {
    "BL21": "Spamhaus",
    "BL22": "Spamhaus",
    "BL23": "Spamhaus",
    **COMCAST_BL_LISTS,
}

DELIST_HOSTS: tuple[str, ...] = (
    "sender.office.com",
    "olcsupport.office.com",
    "ipcheck.proofpoint.com",
    "csi.cloudmark.com",
    "talosintelligence.com",
    "servicecentral.trendmicro.com",
    "spa.xfinity.com",
    "postmaster.orange.fr",
    "senders.yahooinc.com",
)
"""Hosts whose URLs in a reputation reply are removal pages worth listing as delisting URLs."""

# --------------------------------------------------------------------------- policy and auth


class PolicyCause(NamedTuple):
    """One kind of policy refusal, recognised by a regex on the normalised reply."""

    key: str
    pattern: str
    title: str  # "reverse DNS (PTR)"
    steps: tuple[str, ...]
    checks: tuple[str, ...] = ()  # check names (tui.checks) that test it
    allowlist_only: bool = False  # only the receiver's admin can lift it


POLICY_CAUSES: tuple[PolicyCause, ...] = (
    PolicyCause(
        "customer",
        r"customer block ?list|(?:tenant|organi[sz]ation|domain|user|recipient)(?:'s)? "
        r"(?:custom )?(?:block|black|deny) ?list|local (?:block|black|deny) ?list|"
        r"\b(?:user|admin|administrator|policy) entry\b|rejected by (?:the )?recipient|"
        r"blocked by (?:the )?recipient",
        "the recipient organization's own block list",
        (
            "Only {domain}'s own mail administrators can lift this: send them the allowlist "
            "request asking to remove {ip} from their block list (or to allow it).",
        ),
        allowlist_only=True,
    ),
    PolicyCause(
        "dynamic",
        r"dynamic|residential|dial-?up|generic (?:dns|host)|\bpbl\b",
        "a PTR name that looks dynamic or residential",
        (
            "Ask the owner of {ip}'s range for a PTR name that looks static and names the mail "
            "function (e.g. mail1.example.org rather than 203-0-113-5.pool.isp.net), resolving "
            "back to the same IP.",
        ),
        ("ptr", "fcrdns"),
    ),
    PolicyCause(
        "ptr",
        r"\bptr\b|reverse|\brdns\b|fcrdns|forward[- ]confirmed|pointer record|does(?: not|n't) "
        r"resolve|cannot (?:find|resolve) your|possibly forged|(?:unknown|unresolvable|invalid) "
        r"(?:client )?host ?name|name lookup failed",
        "reverse DNS (PTR)",
        (
            "Publish a PTR record for {ip} (ask whoever owns the IP range, usually the hosting "
            "provider) whose name resolves back to the same IP (forward-confirmed reverse DNS).",
            "Make ListManager's HELO/EHLO name that same host name.",
        ),
        ("ptr", "fcrdns", "helo"),
    ),
    PolicyCause(
        "helo",
        r"\b(?:helo|ehlo)\b|fully[- ]qualified|\bfqdn\b",
        "the HELO/EHLO name",
        (
            "Set ListManager's HELO/EHLO name (the server's host name) to a fully-qualified "
            "name that resolves to the sending IP and is that IP's PTR name.",
        ),
        ("helo", "ptr"),
    ),
    PolicyCause(
        "ipv6",
        r"ipv6",
        "sending over IPv6",
        (
            "Send to {domain} over IPv4, or give the IPv6 address a PTR and an SPF entry and "
            "sign with DKIM (IPv6 receivers demand both).",
        ),
        ("ptr", "fcrdns"),
    ),
    PolicyCause(
        "sender_domain",
        r"sender (?:address |domain )?(?:rejected|denied|refused)|sender domain|domain of sender"
        r"|mail ?from domain|return[- ]path|envelope sender|unresolvable|sender verif|verify "
        r"sender|unverified sender|invalid sender|bad sender|unknown sender|domain (?:does not|"
        r"doesn't) exist",
        "the sender (bounce) domain",
        (
            "Make sure the envelope sender (bounce address) domain of the mailings exists in "
            "DNS with an MX or A record and accepts bounces: ListManager's bounce address must "
            "be a working mail domain.",
        ),
        ("spf-record",),
    ),
    PolicyCause(
        "headers",
        r"rfc ?(?:5322|2822|822)|headers?|from: header|spoof|impersonat",
        "the message headers",
        (
            "Check a sample message: exactly one valid From: header, a Date and a Message-ID, "
            "and a From domain that the sender controls (no look-alike or spoofed domain).",
        ),
    ),
)

POLICY_GENERIC = PolicyCause(
    "generic",
    r"",
    "an unnamed policy",
    (
        "The reply names no rule: ask {domain}'s postmaster which policy the mail breaks (the "
        "allowlist request asks for the reason).",
    ),
    ("ptr", "fcrdns", "helo"),
)


class AuthRecord(NamedTuple):
    """One authentication record a reply can point at."""

    key: str  # "spf", "dkim", "dmarc", "alignment"
    label: str
    pattern: str  # regex on the normalised reply that names this record
    checks: tuple[str, ...]  # check names (tui.checks) that test it
    step: str


AUTH_RECORDS: tuple[AuthRecord, ...] = (
    AuthRecord(
        "dkim",
        "DKIM",
        r"\bdkim\b|domain ?keys|not signed|unsigned|signature",
        ("dkim-record", "dkim-key-match", "dkim-sign-verify"),
        "DKIM: make sure ListManager signs. It sends UNSIGNED when the public key at "
        "{selector}._domainkey.{from_domain} does not match its private key, so compare them "
        "(the k checks do) and publish the matching key or re-import the private key; use a "
        "2048-bit key.",
    ),
    AuthRecord(
        "spf",
        "SPF",
        r"\bspf\b|sender policy framework",
        ("spf-record", "spf-lookups", "spf"),
        "SPF: the bounce (envelope sender) domain's SPF record must authorize every sending IP "
        "(e.g. ip4:{ip_one}) and stay within 10 DNS lookups.",
    ),
    AuthRecord(
        "dmarc",
        "DMARC",
        r"\bdmarc\b",
        ("dmarc",),
        "DMARC: publish one record at _dmarc.{from_domain}, at least v=DMARC1; p=none; with a "
        "rua= address to receive reports.",
    ),
    AuthRecord(
        "alignment",
        "DMARC alignment",
        r"align",
        ("dmarc", "dkim-key-match"),
        "Alignment: sign with d={from_domain} (or a subdomain of it) and use a bounce address "
        "under the From domain, so SPF or DKIM aligns with the From: header.",
    ),
)

_DOMAIN = r"([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)"

SENDER_DOMAIN_PATTERNS: tuple[str, ...] = (
    rf"dmarc policy (?:of|for) {_DOMAIN}",
    rf"dkim domain:? {_DOMAIN}",
    rf"\bspf \[{_DOMAIN}\]",
    rf"sending domain \[?{_DOMAIN}",
    rf"(?:^|[\s:]){_DOMAIN} fails (?:dkim|spf|dmarc)",
    rf"comcast {_DOMAIN} dmarc",
    rf"send mail from {_DOMAIN}",
    rf"header\.from={_DOMAIN}",
    rf"(?:^|[\s;(]){_DOMAIN} (?:does not|doesn't) (?:pass|meet|have)",
    rf"\bd={_DOMAIN}",
)
"""Where an authentication reply names the sender (From, DKIM d= or SPF) domain (regexes on
the normalised reply; group 1 is the domain)."""
DKIM_SELECTOR_PATTERN = r"\bs=([a-z0-9][a-z0-9._-]{0,62})"
"""A DKIM selector named in a reply (``s=mkt2025``)."""

# --------------------------------------------------------------------------- allowlist request

COMMITMENTS: dict[str, tuple[str, ...]] = {
    RATE: (
        "We have lowered the number of simultaneous connections to your servers{limit} and "
        "spread our mailings over more hours.",
    ),
    AUTH: (
        "Our mail is authenticated with SPF and DKIM, and the From domain publishes DMARC; we "
        "have corrected the record your reply pointed at.",
    ),
    DNSBL: (
        "We have found and removed the cause of the {blocklist} listing and requested removal "
        "from the list.",
    ),
    IP_REPUTATION: (
        "We have joined the feedback loops available to us and unsubscribe every member who "
        "reports our mail as spam.",
        "We have reduced our volume to your users and send first to the most engaged members.",
    ),
    POLICY: (
        "Each sending IP has a PTR record that resolves back to it, and our HELO name is that "
        "host name.",
    ),
    CONTENT: ("We have reviewed the refused campaign's content and links.",),
    TLS: ("We have turned on STARTTLS for our outbound mail.",),
}

COMMON_COMMITMENTS: tuple[str, ...] = (
    "We send only to subscribers who asked for our mail, and every message has a working "
    "unsubscribe link and List-Unsubscribe header.",
    "Addresses that bounce are held automatically, and inactive members are removed.",
)
