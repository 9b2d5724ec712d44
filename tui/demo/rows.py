"""The demo's table rows, for any database: a generated world as tuples per model table.

Rows are plain tuples in each model table's column order (the physical names are the model's
defaults); times are text ``YYYY-MM-DD HH:MM:SS.ffffff`` as SQLite stores them
(:func:`as_datetime` turns them into ``datetime`` for a server). The SQLite writer
(:mod:`tui.demo.build`) and the server loader (:mod:`tui.demo.server`) share them, so both
hold the same data.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tui.db.model import MODEL_BY_KEY
from tui.demo.manifest import manifest
from tui.demo.tables import (
    CAUSE_DEFS,
    COMPLETION_STATUS,
    CONNECTION_LIMITS,
    DAO_DEFINITIONS,
    dkim_pem,
)
from tui.demo.world import WINDOW, Evidence, World

GENERATOR_VERSION = "1"
DEMO_INFO_TABLE = "lmtriage_demo_info"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

Row = tuple[Any, ...]


def table_names() -> dict[str, str]:
    """Model table key → the default physical name the demo uses."""
    return {key: spec.default_name for key, spec in MODEL_BY_KEY.items()}


def as_datetime(text: str | None) -> datetime | None:
    """A demo time text as a ``datetime`` (None stays None)."""
    return None if text is None else datetime.strptime(text, TIME_FORMAT)


def static_rows(w: World) -> dict[str, list[Row]]:
    """Rows of the small tables, by model key, in the order they are written."""
    node_rows, link_rows = [], []
    address_id = 0
    for i, stream in enumerate(w.streams):
        for ip in stream.ips:
            address_id += 1
            node_rows.append((address_id, 1 + i % 2, ip))
            link_rows.append((stream.id, address_id))
    present = {d.name for d in w.domains}
    selectors, dk_domains = [], []
    for i, stream in enumerate(w.streams, 1):
        dk = w.dkim[stream.sender]
        selectors.append((i, dk.selector, dkim_pem(dk.key)))
        dk_domains.append((stream.sender, i))
    return {
        "mailstreams": [(s.id, s.name, s.description) for s in w.streams],
        "node_addresses": node_rows,
        "stream_addresses": link_rows,
        "completion_status": list(COMPLETION_STATUS),
        "dao_definitions": list(DAO_DEFINITIONS),
        "connection_limits": [row for row in CONNECTION_LIMITS if row[0] in present],
        "dk_selectors": selectors,
        "dk_domains": dk_domains,
    }


def _fmt(w: World, sec: int | None) -> str | None:
    if sec is None:
        return None
    return (w.grid_start + timedelta(seconds=sec)).strftime("%Y-%m-%d %H:%M:%S.000000")


def _describe(w: World, ev: Evidence) -> str:
    code, text = ev.trigger or (None, "")
    flat = " ".join(text.split())
    if ev.kind == "ip":
        if ev.short_description:
            mx = ev.mx[2] if ev.mx else ""
            reason = CAUSE_DEFS[ev.cause].short_reason
            return f"Rejected by {mx} ({code if code else 'no reply'}): {reason}"
        return f"Blocked by MX {ev.trigger_mx}: {flat}"[:1000]
    stream = w.streams[ev.stream].name
    if ev.pair_blocks:
        n = len(ev.pair_blocks)
        return f"All {n} MX/IP pairs of MailStream '{stream}' blocked: {flat}"[:1000]
    return f"Domain blocked for MailStream '{stream}': {flat}"[:1000]


def block_rows(w: World) -> dict[str, list[Row]]:
    """The block tables' rows. Only after the attempts: descriptions quote the triggering
    reply. Records the domain-only blocks in ``w.domain_only``."""
    ip_rows = []
    for i, ev in enumerate(w.ip_blocks, 1):
        assert ev.ip is not None and ev.mx is not None
        ip_rows.append(
            (
                i,
                w.streams[ev.stream].id,
                ev.ip,
                w.domains[ev.domain].name,
                ev.mx[2],
                _describe(w, ev),
                _fmt(w, ev.since),
                _fmt(w, ev.next_retry),
            )
        )
    domain_rows = []
    w.domain_only.clear()
    for i, dev in enumerate(w.domain_blocks, 1):
        if dev.pair_blocks:
            last = max((w.ip_blocks[k] for k in dev.pair_blocks), key=lambda b: b.since)
            dev.trigger, dev.trigger_mx = last.trigger, last.trigger_mx
        else:
            w.domain_only.append(i)
        domain_rows.append(
            (
                i,
                w.streams[dev.stream].id,
                w.domains[dev.domain].name,
                _describe(w, dev),
                _fmt(w, dev.since),
                _fmt(w, dev.next_retry),
            )
        )
    return {"blocked_ips": ip_rows, "blocked_domains": domain_rows}


def info_rows(w: World) -> list[tuple[str, str]]:
    """``lmtriage_demo_info`` (key, value) rows, sorted by key (after :func:`block_rows`)."""
    info = {
        "anchor_time": w.now.isoformat(),
        "seed": str(w.seed),
        "version": GENERATOR_VERSION,
        "scale": json.dumps(w.scale(), sort_keys=True),
        "window_days": str(WINDOW.days),
        "manifest": json.dumps(manifest(w)),
        "blocks_by_cause": json.dumps(w.by_cause(), sort_keys=True),
        "blocks_by_provider": json.dumps(w.by_provider()),
        "domain_only_blocks": json.dumps(w.domain_only),
        "generator": "lmtriage demo",
    }
    return sorted(info.items())
