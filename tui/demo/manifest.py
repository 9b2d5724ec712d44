"""The demo's manifest: every DNS record the demo database wants published, for the demo zone.

:func:`manifest` is stored as JSON in ``lmtriage_demo_info`` (key ``manifest``);
:mod:`tui.checks.demo_zone` builds the demo DNS zone from it. Its format is
:data:`MANIFEST_DOC`.
"""

from __future__ import annotations

from typing import Any

from tui.demo.tables import dkim_pem
from tui.demo.world import World

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


def dkim_public_b64(pem: str) -> tuple[str, int]:
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


def manifest(w: World) -> dict[str, Any]:
    """The manifest (see :data:`MANIFEST_DOC`) of a generated world."""
    dkim = []
    spf: dict[str, str] = {}
    dmarc: dict[str, str] = {}
    faults: list[dict[str, Any]] = []
    for stream in w.streams:
        dk = w.dkim[stream.sender]
        selector, dns_stem, policy = dk.selector, dk.dns_key, dk.dmarc
        pem = dkim_pem(dk.key)
        own_key, bits = dkim_public_b64(pem)
        dns_key = own_key if dns_stem is None else dkim_public_b64(dkim_pem(dns_stem))[0]
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
    for ip, domain in w.stale_mx.items():
        faults.append({"kind": "stale_mx", "domain": domain, "ip": ip})
    for ip, kind in w.ip_faults.items():
        item: dict[str, Any] = {"kind": kind, "ip": ip}
        if kind == "ptr_mismatch":
            item.update(w.ptr_mismatch[ip])
        if kind == "dnsbl_listed":
            item["zones"] = sorted(w.listed[ip])
        faults.append(item)
    blocked = {ev.domain for ev in w.ip_blocks} | {ev.domain for ev in w.domain_blocks}
    receiving: dict[str, Any] = {}
    for index, dom in enumerate(w.domains):
        if dom.provider or index in blocked:
            receiving[dom.name] = {"mx": [list(m) for m in dom.mx], "provider": dom.style}
    return {
        "version": 1,
        "streams": {s.name: list(s.ips) for s in w.streams},
        "stream_sender_domains": {s.name: s.sender for s in w.streams},
        "sender_domains": [s.sender for s in w.streams],
        "spf": spf,
        "dmarc": dmarc,
        "dkim": dkim,
        "receiving_domains": receiving,
        "ptr": dict(w.ptr),
        "ptr_mismatch": w.ptr_mismatch,
        "helo": dict(w.helo),
        "listed_ips": sorted(w.listed),
        "listings": w.listed,
        "stale_mx_ips": w.stale_mx,
        "faults": faults,
    }
