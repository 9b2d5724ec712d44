"""Settings of the check engine: resolvers, blocklist zones, time limits, DKIM keys.

They come from the ``[checks]`` table of the config file (:meth:`CheckSettings.from_mapping`)
and are overridden by command-line flags. Wrong values raise :class:`tui.errors.ConfigError`
naming the key, e.g. ``checks.timeout: must be a number of seconds > 0``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui.errors import ConfigError
from tui.textsafe import printable

Nameserver = tuple[str, int]


@dataclass(frozen=True)
class DnsblZone:
    """A public DNS blocklist zone and what we last found out about it.

    ``status`` is ``active`` (queried by default), ``restricted`` (works only from resolvers
    the operator allows: queried by default, *not tested* when refused) or ``closed`` (never
    queried by default: it answers nothing or nonsense); ``checked`` is the date the status was
    last verified (from the operator's or a trade press page, ``source``), not by a live
    query.
    """

    zone: str
    name: str
    status: str
    checked: str
    note: str
    source: str


DNSBL_ZONES: tuple[DnsblZone, ...] = (
    DnsblZone(
        "zen.spamhaus.org",
        "Spamhaus ZEN",
        "restricted",
        "2026-12-04",
        "refuses queries through public resolvers (8.8.8.8, 1.1.1.1 …): use your own "
        "resolver (dnsbl_nameservers) or a Spamhaus DQS key",
        "https://www.spamhaus.com/resource-center/help-for-spamhaus-projects-legacy-blocklist-users",
    ),
    DnsblZone(
        "bl.spamcop.net",
        "SpamCop",
        "active",
        "2026-12-04",
        "listings expire about 24 hours after the last report",
        "https://www.spamcop.net/bl.shtml",
    ),
    DnsblZone(
        "b.barracudacentral.org",
        "Barracuda BRBL",
        "restricted",
        "2026-12-04",
        "answers only resolvers whose IPs are registered with Barracuda (free)",
        "https://www.barracudacentral.org/rbl/how-to-use",
    ),
    DnsblZone(
        "psbl.surriel.com",
        "PSBL",
        "active",
        "2026-12-04",
        "spam-trap based; self-service removal",
        "https://psbl.org/",
    ),
    DnsblZone(
        "bl.mailspike.net",
        "Mailspike",
        "active",
        "2026-12-04",
        "reputation list; listings decay when the traps stop seeing the IP",
        "https://mailspike.org/",
    ),
    DnsblZone(
        "dnsbl-1.uceprotect.net",
        "UCEPROTECT level 1",
        "active",
        "2026-12-04",
        "single IPs, expire 7 days after the last trap hit; levels 2/3 "
        "(dnsbl-2/dnsbl-3.uceprotect.net) list whole networks and are reported as warnings only",
        "https://www.uceprotect.net/en/rblcheck.php",
    ),
    DnsblZone(
        "dnsbl.sorbs.net",
        "SORBS",
        "closed",
        "2026-12-04",
        "decommissioned by its owner Proofpoint on 2024-06-05; its zones hold no data",
        "https://www.techzine.eu/news/security/120916/proofpoint-discontinues-anti-spam-service-sorbs/",
    ),
    DnsblZone(
        "ix.dnsbl.manitu.net",
        "NiX Spam",
        "closed",
        "2026-12-04",
        "lists nothing since 2025-01-16 (shut down following RFC 6471: it answers 'not "
        "listed' for every IP)",
        "https://heise.de/-10248714",
    ),
)
"""Every blocklist zone lmtriage knows, with its status as last checked (review the dates
before a release: lists close, and a closed list that still answers "listed" for everything
would make every IP look blocked)."""

DEFAULT_DNSBL_ZONES: tuple[str, ...] = tuple(z.zone for z in DNSBL_ZONES if z.status != "closed")
"""Zones queried when none are configured: every zone of :data:`DNSBL_ZONES` not closed."""

CLOSED_DNSBL_ZONES: frozenset[str] = frozenset(z.zone for z in DNSBL_ZONES if z.status == "closed")


RESOLV_CONF = "/etc/resolv.conf"

MAX_SECONDS = 86400.0
"""Longest ``timeout`` or ``deadline`` accepted (larger values overflow socket timeouts)."""

_ZONE_INDEX = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""An IPv6 zone index: an interface name or number (``fe80::1%eth0``)."""


def parse_hostport(text: str, *, key: str = "nameserver", default_port: int = 53) -> Nameserver:
    """Parse ``HOST[:PORT]`` where HOST is an IP address; IPv6 with a port needs ``[brackets]``.

    ``"127.0.0.1:5353"`` → ``("127.0.0.1", 5353)``, ``"[::1]:53"`` → ``("::1", 53)``, a bare
    ``"::1"`` is an IPv6 address on port 53. A host name is rejected: a resolver is needed to
    find a resolver.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{key}: expected HOST[:PORT], got {text!r}")
    raw = text.strip()
    port_text: str | None = None
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise ConfigError(f"{key}: missing ']' in {raw!r}")
        host, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"{key}: expected [IPv6]:PORT, got {raw!r}")
            port_text = rest[1:]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    else:
        host = raw
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"{key}: {host!r} is not an IP address (use HOST[:PORT])") from None
    scope = getattr(address, "scope_id", None)
    if scope is not None and not _ZONE_INDEX.fullmatch(scope):
        raise ConfigError(f"{key}: {host!r} has an odd zone index (want e.g. fe80::1%eth0)")
    port = default_port
    if port_text is not None:
        # ASCII digits only: "²" and "٣" are digits to str.isdigit().
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ConfigError(f"{key}: port must be 1-65535, got {port_text!r}")
        port = int(port_text)
    return (str(address), port)


def system_nameservers(path: str = RESOLV_CONF) -> list[Nameserver]:
    """The ``nameserver`` lines of ``resolv.conf`` (port 53); empty when there are none."""
    servers: list[Nameserver] = []
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return servers
    for line in lines:
        parts = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            host = parts[1].split("%", 1)[0]  # drop an IPv6 zone index
            try:
                servers.append((str(ipaddress.ip_address(host)), 53))
            except ValueError:
                continue
    return servers


@dataclass
class CheckSettings:
    """Everything the check engine needs besides the targets.

    Empty ``nameservers`` means the system's ``/etc/resolv.conf``; empty ``dnsbl_nameservers``
    means the same as ``nameservers``. ``timeout`` is the time budget of one check (all its
    lookups, retries included); ``deadline`` caps a whole run.
    """

    nameservers: list[Nameserver] = field(default_factory=list)
    dnsbl_nameservers: list[Nameserver] = field(default_factory=list)
    dnsbl_zones: list[str] = field(default_factory=lambda: list(DEFAULT_DNSBL_ZONES))
    timeout: float = 5.0
    retries: int = 1
    concurrency: int = 64
    deadline: float = 120.0
    helo_default: str | None = None
    helo_by_ip: dict[str, str] = field(default_factory=dict)
    sender_domains: list[str] = field(default_factory=list)
    dkim_selectors: list[str] = field(default_factory=list)
    dkim_keys: dict[str, str] = field(default_factory=dict)
    mail_from: str | None = None
    stream_sender_domains: dict[str, list[str]] = field(default_factory=dict)

    KEYS = (
        "nameservers",
        "dnsbl_nameservers",
        "dnsbl_zones",
        "timeout",
        "retries",
        "concurrency",
        "deadline",
        "helo",
        "sender_domains",
        "dkim_selectors",
        "dkim_keys",
        "mail_from",
        "stream_sender_domains",
    )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> CheckSettings:
        """Build settings from the ``[checks]`` table of the TOML config.

        Keys (all optional)::

            [checks]
            nameservers = ["127.0.0.1", "[::1]:5353"]   # HOST[:PORT]; default /etc/resolv.conf
            dnsbl_nameservers = ["127.0.0.1:53"]        # default: same as nameservers
            dnsbl_zones = ["zen.spamhaus.org", ...]     # default: DEFAULT_DNSBL_ZONES
            timeout = 5.0        # seconds one check may take, retries included
            retries = 1          # extra tries after a timeout or SERVFAIL
            concurrency = 64     # lookups in flight at once
            deadline = 120.0     # seconds a whole run may take
            helo = "mta.example.com"                    # one HELO name for every IP, or
            # helo = { "192.0.2.10" = "mta1.example.com" }  # one per stream IP
            sender_domains = ["example.com"]
            dkim_selectors = ["lm2024"]
            dkim_keys = { "lm2024:example.com" = "/etc/lm/dkim.pem", "lm2023" = "key.pem" }
            mail_from = "bounce@example.com"           # MAIL FROM used for the SPF test
            # Which From domains each MailStream sends for (SPF is judged per stream IP):
            stream_sender_domains = { marketing = ["mail.example.com"] }

        Unknown keys and wrong types raise :class:`ConfigError` ``checks.<key>: ...``.
        """
        settings = cls()
        if data is None:
            return settings
        if not isinstance(data, Mapping):
            raise ConfigError("checks: must be a table")
        for key in data:
            if key not in cls.KEYS:
                raise ConfigError(
                    f"checks.{_shown(key)}: unknown key (known: {', '.join(cls.KEYS)})"
                )
        if "nameservers" in data:
            settings.nameservers = _nameservers(data["nameservers"], "checks.nameservers")
        if "dnsbl_nameservers" in data:
            settings.dnsbl_nameservers = _nameservers(
                data["dnsbl_nameservers"], "checks.dnsbl_nameservers"
            )
        if "dnsbl_zones" in data:
            zones = _str_list(data["dnsbl_zones"], "checks.dnsbl_zones")
            settings.dnsbl_zones = [_domain(z, "checks.dnsbl_zones") for z in zones]
        if "timeout" in data:
            settings.timeout = _seconds(data["timeout"], "checks.timeout")
        if "deadline" in data:
            settings.deadline = _seconds(data["deadline"], "checks.deadline")
        if "retries" in data:
            settings.retries = _int(data["retries"], "checks.retries", 0, 10)
        if "concurrency" in data:
            settings.concurrency = _int(data["concurrency"], "checks.concurrency", 1, 1024)
        if "helo" in data:
            helo = data["helo"]
            if isinstance(helo, str):
                settings.helo_default = _domain(helo, "checks.helo")
            elif isinstance(helo, Mapping):
                by_ip: dict[str, str] = {}
                for ip, name in helo.items():
                    where = f"checks.helo.{_shown(ip)}"
                    ip_text = _ip(ip, where)
                    if not isinstance(name, str):
                        raise ConfigError(f"{where}: must be a host name string")
                    by_ip[ip_text] = _domain(name, where)
                settings.helo_by_ip = by_ip
            else:
                raise ConfigError("checks.helo: must be a host name or a table IP = name")
        if "sender_domains" in data:
            domains = _str_list(data["sender_domains"], "checks.sender_domains")
            settings.sender_domains = [_domain(d, "checks.sender_domains") for d in domains]
        if "dkim_selectors" in data:
            settings.dkim_selectors = _str_list(data["dkim_selectors"], "checks.dkim_selectors")
        if "dkim_keys" in data:
            keys = data["dkim_keys"]
            if not isinstance(keys, Mapping):
                raise ConfigError('checks.dkim_keys: must be a table "selector[:domain]" = path')
            parsed: dict[str, str] = {}
            for name, path in keys.items():
                if not isinstance(path, str) or not path:
                    raise ConfigError(
                        f"checks.dkim_keys.{_shown(name)}: must be a file path string"
                    )
                parsed[str(name).lower()] = path
            settings.dkim_keys = parsed
        if "mail_from" in data:
            value = data["mail_from"]
            if not isinstance(value, str) or "@" not in value:
                raise ConfigError("checks.mail_from: must be an address like bounce@example.com")
            settings.mail_from = value
        if "stream_sender_domains" in data:
            table = data["stream_sender_domains"]
            if not isinstance(table, Mapping):
                raise ConfigError(
                    "checks.stream_sender_domains: must be a table stream = [domains]"
                )
            settings.stream_sender_domains = {
                str(stream).lower(): [
                    _domain(d, f"checks.stream_sender_domains.{_shown(stream)}")
                    for d in _str_list(domains, f"checks.stream_sender_domains.{_shown(stream)}")
                ]
                for stream, domains in table.items()
            }
        return settings

    def copy(self, **changes: Any) -> CheckSettings:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def resolved_nameservers(self) -> list[Nameserver]:
        """``nameservers``, else the system's; raises :class:`ConfigError` when there are none."""
        servers = list(self.nameservers) or system_nameservers()
        if not servers:
            raise ConfigError(
                f"checks.nameservers: none configured and none found in {RESOLV_CONF}"
            )
        return servers

    def resolved_dnsbl_nameservers(self) -> list[Nameserver]:
        """``dnsbl_nameservers``, else the ordinary ones."""
        return list(self.dnsbl_nameservers) or self.resolved_nameservers()

    def helo_for(self, ip: str) -> str | None:
        """The configured HELO name for ``ip``, else the default."""
        return self.helo_by_ip.get(ip) or self.helo_default

    def dkim_key_path(self, selector: str, domain: str) -> str | None:
        """The private-key file for ``selector`` at ``domain`` ("sel:domain", then "sel")."""
        selector, domain = selector.lower(), domain.lower().rstrip(".")
        return self.dkim_keys.get(f"{selector}:{domain}") or self.dkim_keys.get(selector)


def _nameservers(value: Any, key: str) -> list[Nameserver]:
    if isinstance(value, str):
        value = [value]
    items = _str_list(value, key)
    return [parse_hostport(item, key=key) for item in items]


def _str_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ConfigError(f"{key}: must be a list of strings")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{key}: every item must be a non-empty string, got {item!r}")
        out.append(item.strip())
    return out


def _shown(key: Any) -> str:
    """A table key as shown in a message: one line, no control characters, not huge."""
    return printable(str(key), max_chars=80)


def _seconds(value: Any, key: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_SECONDS
    ):
        raise ConfigError(
            f"{key}: must be a number of seconds > 0 and at most {MAX_SECONDS:g}, got {value!r}"
        )
    return float(value)


def _int(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{key}: must be a whole number from {low} to {high}, got {value!r}")
    return value


def _ip(value: Any, key: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not an IP address") from None


def _domain(value: str, key: str) -> str:
    name = value.strip().rstrip(".").lower()
    labels = name.split(".")
    if not name or len(name) > 253 or any(not 0 < len(label) < 64 for label in labels):
        raise ConfigError(f"{key}: {value!r} is not a domain name")
    if any(ch.isspace() or ch in "/@:" or not ch.isprintable() for ch in name):
        raise ConfigError(f"{key}: {value!r} is not a domain name")
    return name


def normalize_domain(value: str, key: str = "domain") -> str:
    """Lower-case ``value`` without a trailing dot; :class:`ConfigError` if it is no name."""
    return _domain(value, key)


def normalize_ip(value: str, key: str = "ip") -> str:
    """``value`` as a canonical IP address text; :class:`ConfigError` if it is none."""
    return _ip(value, key)
