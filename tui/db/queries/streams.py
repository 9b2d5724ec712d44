"""The server clock and the MailStreams: names, sending IPs, DKIM signing domains."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.records import Stream
from tui.errors import NotFoundError
from tui.textsafe import coerce_text

MAX_STREAMS = 10_000


def db_now(conn: Connection) -> datetime:
    """The database server's local time (ListManager stores server-local times)."""
    dialect = conn.dialect.name
    if dialect == "mssql":
        value = conn.exec_driver_sql("SELECT GETDATE()").scalar()
    elif dialect == "postgresql":
        value = conn.exec_driver_sql("SELECT LOCALTIMESTAMP").scalar()
    else:
        value = conn.exec_driver_sql("SELECT datetime('now', 'localtime')").scalar()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=None)


def list_streams(schema: BoundSchema, conn: Connection) -> list[Stream]:
    """Every MailStream, by name."""
    t = schema.t("mailstreams")
    stmt = (
        sa.select(t.c.MailStreamID, t.c.Name, schema.col("mailstreams", "Description"))
        .order_by(t.c.Name, t.c.MailStreamID)
        .limit(MAX_STREAMS)
    )
    return [
        Stream(int(r[0]), str(r[1] if r[1] is not None else ""), r[2]) for r in conn.execute(stmt)
    ]


def find_stream(schema: BoundSchema, conn: Connection, name: str) -> Stream:
    """The stream called ``name`` (case-insensitive), or its numeric id."""
    streams = list_streams(schema, conn)
    for stream in streams:
        if stream.name.lower() == name.strip().lower():
            return stream
    if name.strip().isdigit():
        for stream in streams:
            if stream.id == int(name):
                return stream
    known = ", ".join(s.name for s in streams[:20]) or "none"
    raise NotFoundError(f"no MailStream named {name!r} (streams: {known})")


def stream_ips(schema: BoundSchema, conn: Connection, stream_id: int | None) -> list[str]:
    """The sending IPs of a stream (or of every stream), sorted, without duplicates."""
    if not schema.feature("stream_ips"):
        return []
    na, sha = schema.t("node_addresses"), schema.t("stream_addresses")
    stmt = (
        sa.select(na.c.IPAddress)
        .select_from(sha.join(na, na.c.NodeAddressID == sha.c.NodeAddressID))
        .distinct()
        .order_by(na.c.IPAddress)
        .limit(10_000)
    )
    if stream_id is not None:
        stmt = stmt.where(sha.c.MailStreamID == stream_id)
    return [str(r[0]).strip() for r in conn.execute(stmt) if r[0]]


def dkim_selectors(schema: BoundSchema, conn: Connection) -> dict[str, tuple[str, ...]]:
    """ListManager's DKIM signing domains (lower case) and their selectors, without the keys."""
    if not schema.feature("dkim"):
        return {}
    sel, dom = schema.t("dk_selectors"), schema.t("dk_domains")
    stmt = (
        sa.select(dom.c.Domain, sel.c.Selector)
        .select_from(dom.join(sel, sel.c.SelectorID == dom.c.SelectorID))
        .order_by(dom.c.Domain, sel.c.Selector)
        .limit(1000)
    )
    out: dict[str, list[str]] = {}
    for domain, selector in conn.execute(stmt):
        if domain and selector:
            out.setdefault(coerce_text(domain).strip().lower(), []).append(
                coerce_text(selector).strip()
            )
    return {d: tuple(dict.fromkeys(s)) for d, s in out.items()}


def stream_names(schema: BoundSchema, conn: Connection) -> dict[int, str]:
    """MailStreamID → name."""
    return {s.id: s.name for s in list_streams(schema, conn)}
