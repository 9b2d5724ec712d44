"""Where the checks' targets and resolvers come from: the ListManager database and the config.

The check engine (``tui.checks``) knows nothing of ListManager; this module reads what it needs
from an open :class:`~tui.core.Core`: a stream's sending IPs, the MX IPs recorded as blocking a
domain, the DKIM signing domains and selectors (with their private keys) from
``lyrSiteDKDomains``/``lyrDKSelectors``, ``[checks] sender_domains``, and the sender domains
and selectors the receivers' authentication replies name (a DMARC refusal "of mail.example.com"
gets mail.example.com checked even when nothing else names it). On a demo database it
starts the bundled demo DNS server on loopback (once per process) and points both resolvers at
it, so the checks give real answers with no network.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.checks import BlockTarget, CheckSettings, DkimSelector, SenderTarget
from tui.core import Core
from tui.db import queries
from tui.db.records import Block, Stream
from tui.db.sqlfuncs import chunks, prefix
from tui.errors import ConfigError

_demo_lock = threading.Lock()
_demo_servers: dict[str, tuple[str, int, Callable[[], None]]] = {}


def _demo_manifest(core: Core) -> dict | None:
    text = core.schema.discovery.demo_info.get("manifest")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def demo_dns(core: Core) -> tuple[str, int] | None:
    """The loopback DNS server serving the demo database's zones (started on first use)."""
    manifest = _demo_manifest(core)
    if not core.is_demo or manifest is None:
        return None
    from tui.checks.demo_zone import start_demo_dns, zones_from_manifest

    key = core.schema.discovery.demo_info.get("anchor_time", "") + str(core.engine.url)
    with _demo_lock:
        if key not in _demo_servers:
            host, port, stop = start_demo_dns(zones_from_manifest(manifest))
            _demo_servers[key] = (host, port, stop)
            atexit.register(stop)
        host, port, _ = _demo_servers[key]
    return host, port


def check_settings(core: Core) -> CheckSettings:
    """``[checks]`` from the config; on the demo, both resolvers on the demo server."""
    settings = CheckSettings.from_mapping(core.config.checks)
    server = demo_dns(core)
    if server is not None:
        manifest = _demo_manifest(core) or {}
        helo = {ip: name for ip, name in (manifest.get("helo") or {}).items() if name}
        streams = {
            str(name).lower(): [d] if isinstance(d, str) else list(d)
            for name, d in (manifest.get("stream_sender_domains") or {}).items()
        }
        settings = settings.copy(
            nameservers=[server],
            dnsbl_nameservers=[server],
            helo_by_ip={**helo, **settings.helo_by_ip},
            stream_sender_domains={**streams, **settings.stream_sender_domains},
        )
    return settings


def blocking_mx_ips(core: Core, conn: Connection, stream_id: int | None, domain: str) -> list[str]:
    """MX IPs recorded in the blocked-IP table for (stream, domain)."""
    t = core.schema.t("blocked_ips")
    stmt = (
        sa.select(t.c.BlockingMX)
        .where(sa.func.lower(t.c.Domain) == domain.lower())
        .distinct()
        .order_by(t.c.BlockingMX)
        .limit(200)
    )
    if stream_id is not None:
        stmt = stmt.where(t.c.MailStreamID == stream_id)
    return [str(r[0]).strip() for r in conn.execute(stmt) if r[0]]


def block_target(core: Core, conn: Connection, block: Block) -> BlockTarget:
    """The receiving domain of a block, the stream IPs involved, and the blocking MX IPs."""
    if block.kind == "ip" and block.ip:
        ips = [block.ip]
        mx = [block.mx] if block.mx else []
    else:
        ips = queries.stream_ips(core.schema, conn, block.stream_id)
        mx = blocking_mx_ips(core, conn, block.stream_id, block.domain)
    return BlockTarget(block.domain, ips, mx)


def dkim_from_database(core: Core, conn: Connection) -> dict[str, list[DkimSelector]]:
    """Signing domain → selectors with ListManager's private keys."""
    if not core.schema.feature("dkim"):
        return {}
    sel, dom = core.schema.t("dk_selectors"), core.schema.t("dk_domains")
    stmt = (
        sa.select(dom.c.Domain, sel.c.Selector, core.schema.col("dk_selectors", "PrivateKey"))
        .select_from(dom.join(sel, sel.c.SelectorID == dom.c.SelectorID))
        .order_by(dom.c.Domain, sel.c.Selector)
        .limit(1000)
    )
    out: dict[str, list[DkimSelector]] = {}
    for domain, selector, pem in conn.execute(stmt):
        if not domain or not selector:
            continue
        out.setdefault(str(domain).strip().lower(), []).append(
            DkimSelector(str(selector).strip(), str(pem) if pem else None, "listmanager")
        )
    return out


def _key_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="ascii", errors="replace")
    except OSError as err:
        raise ConfigError(f"checks.dkim_keys: cannot read {path}: {err.strerror or err}") from None


AUTH_WORDS = ("dmarc", "dkim", "spf", "authenticat")
"""A failed reply is read for sender domains when it holds one of these."""


def reply_senders(
    core: Core,
    conn: Connection,
    stream_id: int | None,
    domains: list[str],
    *,
    limit: int = 500,
) -> dict[str, list[str]]:
    """Sender domains (with any DKIM selectors) that the authentication replies of the
    window name, for the stream's mail to ``domains``: at most ``limit`` distinct replies per
    chunk of domains are read."""
    if not domains or not core.schema.has("attempts"):
        return {}
    from tui.diagnose.advice import sender_seen

    a = core.schema.t("attempts")
    text = prefix(a.c.SMTPResponseText, queries.REPLY_CHARS)
    low = sa.func.lower(text)
    auth = sa.or_(*(low.like(f"%{word}%") for word in AUTH_WORDS))
    where = [a.c.AttemptTime >= core.since(), queries.failure(core.schema), auth]
    if stream_id is not None:
        where.append(a.c.MailStreamID == stream_id)
    out: dict[str, list[str]] = {}
    for part in chunks(sorted(set(domains))):
        stmt = sa.select(text).where(*where, a.c.Domain.in_(part)).group_by(text).limit(limit)
        for (reply,) in conn.execute(stmt):
            found, selectors = sender_seen(reply or "")
            for domain in found:
                out.setdefault(domain, []).extend(selectors)
    return {d: list(dict.fromkeys(s)) for d, s in out.items()}


def sender_targets(
    core: Core,
    conn: Connection,
    stream: Stream | None,
    settings: CheckSettings,
    *,
    blocked_by: list[str] | None = None,
) -> list[SenderTarget]:
    """The From domains to check: ListManager's DKIM domains plus ``[checks] sender_domains``.

    SPF is judged for the IPs that send for a domain: with ``stream_sender_domains`` known, a
    stream's IPs go with its own domains only (the whole table for All); without it, every
    domain is checked against the stream's IPs.
    """
    selectors = dkim_from_database(core, conn)
    for domain in settings.sender_domains:
        found = selectors.setdefault(domain.lower(), [])
        for name in settings.dkim_selectors:
            if any(s.selector.lower() == name.lower() for s in found):
                continue
            path = settings.dkim_key_path(name, domain)
            found.append(
                DkimSelector(name, _key_file(path) if path else None, "config" if path else "user")
            )
    # The sender domains and selectors the receivers' authentication replies name.
    seen = reply_senders(core, conn, stream.id if stream else None, list(blocked_by or []))
    for domain, names in seen.items():
        found = selectors.setdefault(domain, [])
        for name in names:
            if not any(s.selector.lower() == name.lower() for s in found):
                found.append(DkimSelector(name, None, "user"))
    mapping = settings.stream_sender_domains
    streams = {s.name.lower(): s for s in queries.list_streams(core.schema, conn)}
    ips_of: dict[str, list[str]] = {}
    if mapping:
        chosen = [stream.name.lower()] if stream else list(mapping)
        for name in chosen:
            s = streams.get(name)
            if s is None:
                continue
            ips = queries.stream_ips(core.schema, conn, s.id)
            for domain in mapping.get(name, []):
                ips_of.setdefault(domain.lower(), []).extend(ips)
    if not ips_of:
        ips = queries.stream_ips(core.schema, conn, stream.id if stream else None)
        ips_of = {domain: ips for domain in selectors}
    elif seen:
        ips = queries.stream_ips(core.schema, conn, stream.id if stream else None)
        for domain in seen:
            ips_of.setdefault(domain, list(ips))
    for domain in ips_of:
        selectors.setdefault(domain, [])
    return [
        SenderTarget(
            domain,
            list(dict.fromkeys(ips)),
            selectors.get(domain, []),
            settings.mail_from,
            blocked_by=list(blocked_by or []),
        )
        for domain, ips in ips_of.items()
    ]


def blocked_domains_of_stream(
    core: Core, conn: Connection, stream_id: int | None, limit: int = 500
) -> list[str]:
    """Receiving domains with any block (domain or IP pair) in the stream."""
    out: list[str] = []
    for key in ("blocked_domains", "blocked_ips"):
        t = core.schema.t(key)
        stmt = (
            sa.select(sa.func.lower(t.c.Domain))
            .distinct()
            .order_by(sa.func.lower(t.c.Domain))
            .limit(limit)
        )
        if stream_id is not None:
            stmt = stmt.where(t.c.MailStreamID == stream_id)
        out += [str(r[0]) for r in conn.execute(stmt) if r[0]]
    return list(dict.fromkeys(out))[:limit]
