"""The offline demo: zones that match the demo database, served on loopback.

**Names.** The demo serves the *real* names (``zen.spamhaus.org``, ``gmail.com``,
``in-addr.arpa`` ...) but only from the loopback server started by :func:`start_demo_dns`,
and the demo settings point *both* resolvers at that server alone: nothing is asked of real
DNS, the server answers REFUSED for any name outside its zones, and the console shows the same
zone names an admin sees in real rejections. Addresses are documentation ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); sender domains are under example.com/.net.

**What is broken on purpose** (chosen by position, overridable, see :class:`DemoPlan`):

* stream IP #1 is fine (PTR, FCrDNS, not listed); #2 has **no PTR**; #3 has a PTR whose name
  **does not resolve back** to it; #4 (or the last) is **listed on zen.spamhaus.org**
  (127.0.0.2 SBL, with a TXT giving the delisting URL);
* the first DKIM (domain, selector) publishes the **matching key**, the second a **different
  key** (ListManager would send unsigned); a selector without a private key publishes nothing;
* every sender domain has SPF (the first lists the IPs, the others ``include:`` a shared
  record); the second sender domain (the only one if there is one) has **DMARC p=none**, the
  others p=reject;
* each receiving domain gets MX hosts ``mx1``, ``mx2``... at the given IPs; IPs passed in
  ``stale_mx_ips`` are left out, so their blocks read as **stale** (MX moved);
* every default blocklist zone answers its 127.0.0.2 test entry.

The demo database (``tui.demo``) records an explicit *manifest* of every record it wants
published; :func:`zones_from_manifest` renders that exactly, with no choices of its own.

The shipped files in ``tui/checks/demo_zones/`` are ``build_demo_zones`` of the ``DEMO_*``
constants below; regenerate them with ``python -m tui.checks.demo_zone --write DIR``.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import dns.reversename

from tui.checks.block_checks import BlockTarget, dnsbl_query_name
from tui.checks.dkim_keys import dns_record_for, load_private_key
from tui.checks.dns_server import DnsServer, load_zone_text
from tui.checks.sender_checks import DkimSelector, SenderTarget, organizational_domain
from tui.checks.settings import DEFAULT_DNSBL_ZONES, CheckSettings

DkimEntry = tuple[str, str, str | None]
"""(domain, selector, private key PEM or None)."""

DEMO_STREAM_IPS: dict[str, list[str]] = {
    "default": ["192.0.2.10", "192.0.2.11"],
    "marketing": ["198.51.100.20", "198.51.100.21"],
    "transactional": ["203.0.113.30"],
}
DEMO_SENDER_DOMAINS: list[str] = ["example.com", "news.example.com", "example.net"]
DEMO_RECEIVING_DOMAINS: dict[str, list[str]] = {
    "gmail.com": ["192.0.2.101", "192.0.2.102"],
    "yahoo.com": ["198.51.100.111", "198.51.100.112"],
    "outlook.com": ["203.0.113.121"],
    "comcast.net": ["203.0.113.131"],
    "gmx.net": ["198.51.100.141"],
}
DEMO_STALE_MX_IPS: list[str] = ["198.51.100.112"]
"""Recorded as blocking in the demo database but no longer an MX of yahoo.com."""
DEMO_DKIM_SELECTORS: list[tuple[str, str]] = [("example.com", "lm2024"), ("example.net", "lm2023")]

# The public half of a key nobody holds: published where the demo wants a mismatch.
UNRELATED_PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkGeRFQxG/hXMRKYAebJbjmiJoteD8+zIXblwdeUudF4ag"
    "cfForCGYtAQTUkl1mA6HJAEyhpoYcAJ+r6iwSY+BhRMVlAfMI3GMVG5okdiOsZVPsYhygbS4P8Wf2NxAcAKmjOe5iX"
    "gbigrAx+tyZuNVqlc3C6tkmQqUVbg/Ar5XZJ14nZFh4xcS0ovnSmvkWTSl7h0yiGNigpKN54WiiHz6ZKlIsBoUwdDl"
    "Jg8NaQ0T3qd2KhXh7kyWdusu7FmynPkffSaZmedS90RX+vhinM/VGIA6uFvBOeKcb9qdlQobz1eakVzDSMI69brNiv"
    "yFhfmSGCwjB3IKoB5gxO8SpcVJwIDAQAB"
)

_PACKAGE = "tui.checks.demo_zones"
_TTL = 300
_SOA = "{origin}. 3600 IN SOA ns.demo.invalid. hostmaster.demo.invalid. 1 3600 600 86400 60"
_NS = "{origin}. 3600 IN NS ns.demo.invalid."


def demo_dkim_keys() -> list[DkimEntry]:
    """The demo DKIM entries with their shipped private keys (for the demo database)."""
    out: list[DkimEntry] = []
    for domain, selector in DEMO_DKIM_SELECTORS:
        pem = resources.files(_PACKAGE).joinpath(f"{selector}.{domain}.pem").read_text("ascii")
        out.append((domain, selector, pem))
    return out


@dataclass
class DemoPlan:
    """Which demo records are good and which are broken, derived from the inputs."""

    stream_ips: list[str]
    infra_domain: str
    ptr_names: dict[str, str] = field(default_factory=dict)
    missing_ptr: list[str] = field(default_factory=list)
    ptr_mismatch: dict[str, str] = field(default_factory=dict)  # ip -> where its PTR name points
    listed: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # ip -> zone -> codes
    dkim_matching: list[tuple[str, str]] = field(default_factory=list)
    dkim_mismatched: list[tuple[str, str]] = field(default_factory=list)
    dkim_unpublished: list[tuple[str, str]] = field(default_factory=list)
    dmarc: dict[str, str] = field(default_factory=dict)  # domain -> policy
    stale_mx_ips: list[str] = field(default_factory=list)


def plan_demo(
    stream_ips: Mapping[str, Sequence[str]],
    sender_domains: Sequence[str],
    dkim: Sequence[DkimEntry],
    *,
    missing_ptr: Iterable[str] | None = None,
    ptr_mismatch: Iterable[str] | None = None,
    listed: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    dkim_mismatch: Iterable[tuple[str, str]] | None = None,
    stale_mx_ips: Iterable[str] = (),
) -> DemoPlan:
    """Decide the defects (see the module doc); each keyword overrides one choice."""
    ips = list(
        dict.fromkeys(str(ipaddress.ip_address(ip)) for v in stream_ips.values() for ip in v)
    )
    infra = sender_domains[0].lower() if sender_domains else "example.net"
    plan = DemoPlan(ips, infra, stale_mx_ips=list(stale_mx_ips))
    if missing_ptr is None:
        missing_ptr = ips[1:2]
    if ptr_mismatch is None:
        ptr_mismatch = ips[2:3]
    if listed is None:
        victim = ips[3] if len(ips) > 3 else (ips[-1] if ips else None)
        listed = {victim: {"zen.spamhaus.org": ["127.0.0.2"]}} if victim else {}
    plan.missing_ptr = [str(ipaddress.ip_address(ip)) for ip in missing_ptr]
    plan.listed = {
        str(ipaddress.ip_address(ip)): {z: list(c) for z, c in zones.items()}
        for ip, zones in listed.items()
    }
    used = set(ips)
    for number, ip in enumerate(ips, start=1):
        if ip not in plan.missing_ptr:
            plan.ptr_names[ip] = f"mta{number}.{infra}"
    for ip in ptr_mismatch:
        ip = str(ipaddress.ip_address(ip))
        plan.ptr_mismatch[ip] = _free_neighbour(ip, used)
        used.add(plan.ptr_mismatch[ip])
    if dkim_mismatch is None:
        dkim_mismatch = [(d, s) for d, s, pem in dkim[1:2] if pem]
    mismatched = {(d.lower(), s) for d, s in dkim_mismatch}
    for domain, selector, pem in dkim:
        key = (domain.lower(), selector)
        if not pem:
            plan.dkim_unpublished.append(key)
        elif key in mismatched:
            plan.dkim_mismatched.append(key)
        else:
            plan.dkim_matching.append(key)
    domains = [d.lower() for d in sender_domains]
    lax = domains[1] if len(domains) > 1 else (domains[0] if domains else None)
    for domain in domains:
        plan.dmarc[domain] = "none" if domain == lax else "reject"
    return plan


def _free_neighbour(ip: str, used: set[str]) -> str:
    """An address in the same documentation range that no stream uses."""
    address = ipaddress.ip_address(ip)
    net = ipaddress.ip_network(f"{ip}/{24 if address.version == 4 else 120}", strict=False)
    for candidate in reversed(list(net.hosts())):
        if str(candidate) not in used:
            return str(candidate)
    return "192.0.2.254"


class _Zones:
    """Zone texts under construction, one per origin, every name absolute."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}

    def zone(self, origin: str) -> list[str]:
        origin = origin.rstrip(".").lower()
        if origin not in self.lines:
            self.lines[origin] = [
                f"; lmtriage demo zone {origin} (generated by tui.checks.demo_zone)",
                f"$TTL {_TTL}",
                _SOA.format(origin=origin),
                _NS.format(origin=origin),
            ]
        return self.lines[origin]

    def origin_for(self, name: str, fallback: str) -> str:
        """The longest existing origin holding ``name``, else ``fallback`` (created)."""
        return _owner_zone(name, self.lines) or self.zone(fallback) and fallback.rstrip(".").lower()

    def add(self, origin: str, name: str, rtype: str, data: str) -> None:
        self.zone(origin).append(f"{name.rstrip('.')}. IN {rtype} {data}")

    def texts(self) -> dict[str, str]:
        return {origin: "\n".join(lines) + "\n" for origin, lines in sorted(self.lines.items())}


def _txt(value: str) -> str:
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def _owner_zone(name: str, origins: Iterable[str]) -> str | None:
    best = None
    for origin in origins:
        if (name == origin or name.endswith("." + origin)) and (
            best is None or len(origin) > len(best)
        ):
            best = origin
    return best


def build_demo_zones(
    stream_ips: Mapping[str, Sequence[str]],
    sender_domains: Sequence[str],
    dkim: Sequence[DkimEntry],
    receiving_domains: Mapping[str, Sequence[str]],
    *,
    dnsbl_zones: Sequence[str] = DEFAULT_DNSBL_ZONES,
    plan: DemoPlan | None = None,
    stale_mx_ips: Iterable[str] = (),
) -> dict[str, str]:
    """Zone-file texts ``{origin: text}`` for the demo.

    ``stream_ips`` maps a MailStream name to its sending IPs, ``sender_domains`` are the
    header-From domains, ``dkim`` the (domain, selector, private key PEM or None) of
    lyrDKSelectors/lyrSiteDKDomains, ``receiving_domains`` maps each blocking domain to the
    MX IPs the database records as BlockingMX. ``plan`` overrides the defects chosen by
    :func:`plan_demo`.
    """
    plan = plan or plan_demo(stream_ips, sender_domains, dkim, stale_mx_ips=stale_mx_ips)
    zones = _Zones()
    domains = list(dict.fromkeys(d.lower().rstrip(".") for d in sender_domains))
    for domain in domains or [plan.infra_domain]:
        zones.zone(domain)
    infra = plan.infra_domain

    # Sending IPs: PTRs in in-addr.arpa / ip6.arpa, forward records under the infra domain.
    for ip in plan.stream_ips:
        reverse = dns.reversename.from_address(ip).to_text()
        rzone = "ip6.arpa" if ":" in ip else "in-addr.arpa"
        zones.zone(rzone)
        name = plan.ptr_names.get(ip)
        if name is None:
            continue
        zones.add(rzone, reverse, "PTR", name + ".")
        forward = plan.ptr_mismatch.get(ip, ip)
        ftype = "AAAA" if ":" in forward else "A"
        zones.add(zones.origin_for(name, infra), name, ftype, forward)

    # SPF: the first domain lists the IPs, the others include a shared record.
    mechanisms = " ".join(("ip6:" if ":" in ip else "ip4:") + ip for ip in plan.stream_ips)
    shared = f"_spf.{infra}"
    zones.add(zones.origin_for(shared, infra), shared, "TXT", _txt(f"v=spf1 {mechanisms} -all"))
    for index, domain in enumerate(domains):
        record = f"v=spf1 {mechanisms} -all" if index == 0 else f"v=spf1 include:{shared} -all"
        zones.add(domain, domain, "TXT", _txt(record))
        policy = plan.dmarc.get(domain, "reject")
        zones.add(
            domain,
            f"_dmarc.{domain}",
            "TXT",
            _txt(f"v=DMARC1; p={policy}; rua=mailto:dmarc-reports@{domain}"),
        )

    # DKIM keys.
    keys = {(d.lower(), s): pem for d, s, pem in dkim}
    for domain, selector in plan.dkim_matching + plan.dkim_mismatched:
        pem = keys[(domain, selector)]
        if (domain, selector) in plan.dkim_matching and pem:
            record = dns_record_for(load_private_key(pem))
        else:
            record = f"v=DKIM1; k=rsa; p={UNRELATED_PUBLIC_KEY}"
        owner = f"{selector}._domainkey.{domain}"
        zones.add(zones.origin_for(owner, domain), owner, "TXT", _txt(record))

    # Receiving domains: MX hosts at the recorded BlockingMX IPs (stale ones left out).
    stale = set(plan.stale_mx_ips)
    for domain, mx_ips in receiving_domains.items():
        domain = domain.lower().rstrip(".")
        zones.zone(domain)
        live = [ip for ip in dict.fromkeys(mx_ips) if ip not in stale] or list(mx_ips)[:1]
        for number, ip in enumerate(live, start=1):
            host = f"mx{number}.{domain}"
            zones.add(domain, domain, "MX", f"{10 * number} {host}.")
            zones.add(domain, host, "AAAA" if ":" in ip else "A", ip)

    # Blocklists: the RFC 5782 test entry, and the planned listings.
    for zone in dnsbl_zones:
        zone = zone.lower().rstrip(".")
        zones.add(zone, f"2.0.0.127.{zone}", "A", "127.0.0.2")
        zones.add(zone, f"2.0.0.127.{zone}", "TXT", _txt("RFC 5782 test entry"))
    for ip, listings in plan.listed.items():
        for zone, codes in listings.items():
            zone = zone.lower().rstrip(".")
            name = dnsbl_query_name(ip, zone)
            for code in codes:
                zones.add(zone, name, "A", code)
            url = f"https://check.spamhaus.org/results/?query={ip}"
            zones.add(zone, name, "TXT", _txt(f"Listed in the lmtriage demo; see {url}"))
    return zones.texts()


def zones_from_manifest(
    manifest: Mapping[str, Any], *, dnsbl_zones: Sequence[str] = DEFAULT_DNSBL_ZONES
) -> dict[str, str]:
    """Zone texts for the demo database's manifest (``tui.demo.MANIFEST_DOC``, version 1).

    Unlike :func:`build_demo_zones`, nothing is decided here: the manifest names every PTR,
    SPF, DMARC and DKIM record, each receiving domain's MX hosts and addresses, and each
    blocklist answer. HELO names without a record of their own get an address record
    pointing at their IP. Hosts outside the sender domains (``gmail-smtp-in.l.google.com``)
    get a zone for their organizational domain.
    """
    zones = _Zones()
    for domain in manifest.get("sender_domains", []):
        zones.zone(domain)

    def add_host(host: str, ip: str) -> None:
        host = host.rstrip(".").lower()
        zones.add(zones.origin_for(host, organizational_domain(host)), host, _addr_type(ip), ip)

    named: set[str] = set()
    mismatch = manifest.get("ptr_mismatch", {})
    for ips in manifest.get("streams", {}).values():
        for ip in ips:
            rzone = "ip6.arpa" if ":" in ip else "in-addr.arpa"
            zones.zone(rzone)
            ptr = manifest.get("ptr", {}).get(ip)
            if ptr is None:
                continue
            if ptr == "mismatch" or ip in mismatch:
                host, target = mismatch[ip]["hostname"], mismatch[ip]["resolves_to"]
            else:
                host, target = ptr, ip
            reverse = dns.reversename.from_address(ip).to_text()
            zones.add(rzone, reverse, "PTR", host.rstrip(".") + ".")
            if host.lower() not in named:
                add_host(host, target)
                named.add(host.lower())
    for ip, helo in manifest.get("helo", {}).items():
        if helo and helo.lower() not in named:
            add_host(helo, ip)
            named.add(helo.lower())
    for domain, record in manifest.get("spf", {}).items():
        zones.add(zones.origin_for(domain, domain), domain, "TXT", _txt(record))
    for domain, record in manifest.get("dmarc", {}).items():
        owner = f"_dmarc.{domain}"
        zones.add(zones.origin_for(owner, domain), owner, "TXT", _txt(record))
    for entry in manifest.get("dkim", []):
        owner = f"{entry['selector']}._domainkey.{entry['domain']}"
        if entry.get("dns_public_key"):
            record = f"v=DKIM1; k=rsa; p={entry['dns_public_key']}"
        elif entry.get("private_key_pem"):
            record = dns_record_for(load_private_key(entry["private_key_pem"]))
        else:
            continue
        zones.add(zones.origin_for(owner, entry["domain"]), owner, "TXT", _txt(record))
    hosts_done: set[str] = set()
    for domain, info in manifest.get("receiving_domains", {}).items():
        zones.zone(domain)
        for preference, host, ip in info.get("mx", []):
            zones.add(
                zones.origin_for(domain, domain),
                domain,
                "MX",
                f"{int(preference)} {host.rstrip('.')}.",
            )
            key = f"{host.lower()} {ip}"
            if key not in hosts_done:
                hosts_done.add(key)
                add_host(host, ip)
    listings = manifest.get("listings", {})
    all_zones = list(dict.fromkeys([*dnsbl_zones, *(z for v in listings.values() for z in v)]))
    for zone in all_zones:
        zone = zone.lower().rstrip(".")
        zones.add(zone, f"2.0.0.127.{zone}", "A", "127.0.0.2")
        zones.add(zone, f"2.0.0.127.{zone}", "TXT", _txt("RFC 5782 test entry"))
    for ip, answers in listings.items():
        for zone, answer in answers.items():
            name = dnsbl_query_name(ip, zone)
            codes = [answer] if isinstance(answer, str) else list(answer)
            for code in codes:
                zones.add(zone, name, "A", code)
            url = f"https://check.spamhaus.org/results/?query={ip}"
            zones.add(zone, name, "TXT", _txt(f"Listed in the lmtriage demo; see {url}"))
    return zones.texts()


def _addr_type(ip: str) -> str:
    return "AAAA" if ":" in ip else "A"


def default_demo_zones() -> dict[str, str]:
    """``build_demo_zones`` of the ``DEMO_*`` constants and the shipped keys."""
    return build_demo_zones(
        DEMO_STREAM_IPS,
        DEMO_SENDER_DOMAINS,
        demo_dkim_keys(),
        DEMO_RECEIVING_DOMAINS,
        stale_mx_ips=DEMO_STALE_MX_IPS,
    )


def shipped_demo_zones() -> dict[str, str]:
    """The zone files shipped as package data, ``{origin: text}``."""
    out: dict[str, str] = {}
    for entry in resources.files(_PACKAGE).iterdir():
        if entry.name.endswith(".zone"):
            out[entry.name[: -len(".zone")]] = entry.read_text("ascii")
    return dict(sorted(out.items()))


def start_demo_dns(
    zones: Mapping[str, str] | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, int, Callable[[], None]]:
    """Serve ``zones`` (default: the shipped demo) on loopback in a background thread.

    Returns ``(host, port, stop)``; call ``stop()`` when done (it is idempotent).
    """
    texts = shipped_demo_zones() if zones is None else dict(zones)
    server = DnsServer(
        [load_zone_text(origin, text) for origin, text in texts.items()], host=host, port=port
    )
    bound = server.start_in_thread()
    return host, bound, server.stop_thread


def demo_settings(host: str, port: int, **changes: object) -> CheckSettings:
    """Settings whose two resolvers both point at the demo server only."""
    server = [(host, port)]
    return CheckSettings(nameservers=server, dnsbl_nameservers=server).copy(**changes)


def demo_targets() -> tuple[list[BlockTarget], list[SenderTarget]]:
    """Targets covering the fixed demo: every receiving domain blocking every stream IP."""
    ips = [ip for v in DEMO_STREAM_IPS.values() for ip in v]
    blocks = [BlockTarget(d, ips, list(mx)) for d, mx in DEMO_RECEIVING_DOMAINS.items()]
    keys = {(d, s): pem for d, s, pem in demo_dkim_keys()}
    senders = []
    for domain in DEMO_SENDER_DOMAINS:
        selectors = [DkimSelector(s, keys[(d, s)], "listmanager") for d, s in keys if d == domain]
        senders.append(
            SenderTarget(domain, ips, selectors, blocked_by=list(DEMO_RECEIVING_DOMAINS))
        )
    return blocks, senders


def main(argv: list[str] | None = None) -> int:
    """Write the default demo zone files to a directory."""
    parser = argparse.ArgumentParser(prog="python -m tui.checks.demo_zone")
    parser.add_argument("--write", metavar="DIR", required=True)
    args = parser.parse_args(argv)
    target = Path(args.write)
    target.mkdir(parents=True, exist_ok=True)
    for origin, text in default_demo_zones().items():
        (target / f"{origin}.zone").write_text(text, encoding="ascii")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
