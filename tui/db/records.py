"""Plain records the queries return: what the console and the CLI render."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

BlockKind = Literal["domain", "ip"]
KINDS: tuple[BlockKind, ...] = ("domain", "ip")


@dataclass(frozen=True, slots=True)
class Stream:
    """A MailStream."""

    id: int
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class BlockKey:
    """Identifies one block row: which table, which primary key."""

    kind: BlockKind
    block_id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.block_id}"


@dataclass(frozen=True, slots=True)
class BlockIdentity:
    """What the user saw of a block, which a release re-checks: a reused BlockID, or a block
    that was released and blocked again (a new BlockedSince) since it was marked, is never
    released on the strength of an old mark."""

    stream_id: int
    domain: str
    ip: str | None = None
    mx: str | None = None
    since: datetime | None = None  # BlockedSince

    def pair_key(self) -> tuple[int, str, str, str]:
        """Stream, domain (case-folded: SQL Server compares case-insensitively), stream IP
        and MX: the same *block*, whenever it was created."""
        return (self.stream_id, self.domain.strip().lower(), self.ip or "", self.mx or "")

    def same_block(self, other: BlockIdentity) -> bool:
        """Same pair and the same BlockedSince: the very block row the user saw."""
        return self.pair_key() == other.pair_key() and _same_time(self.since, other.since)

    def describe(self) -> str:
        """``yahoo.com`` or ``yahoo.com 192.0.2.10 → 203.0.113.5`` (not made safe)."""
        if self.ip is None and self.mx is None:
            return self.domain
        return f"{self.domain} {self.ip or '?'} → {self.mx or '?'}"


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    # SQL Server's datetime keeps 1/300 s; a value read twice is equal, but one written by
    # a driver and read back may differ by that rounding.
    return abs((a - b).total_seconds()) < 0.004


@dataclass(frozen=True, slots=True)
class Outcomes:
    """What became of the attempts behind a block in the evidence window.

    ``attempts`` is every attempt (``count(*)``); ``delivered`` has a 2xx code, ``deferred`` a
    4xx, ``rejected`` a 5xx and ``no_code`` none at all (the connection failed before a reply).
    ``failed`` = deferred + rejected + no_code: the attempts ``SMTPResponseCode >= 400 OR
    SMTPResponseCode IS NULL`` selects, the same ones the drill-down groups.
    """

    attempts: int = 0
    delivered: int = 0
    deferred: int = 0
    rejected: int = 0
    no_code: int = 0

    @property
    def failed(self) -> int:
        """Deferred + rejected + without a code."""
        return self.deferred + self.rejected + self.no_code

    def describe(self) -> str:
        """``474 failed (430 deferred 4xx, 44 rejected 5xx), 12 delivered``."""
        parts = [f"{self.deferred:,} deferred 4xx", f"{self.rejected:,} rejected 5xx"]
        if self.no_code:
            parts.append(f"{self.no_code:,} without a reply code")
        return f"{self.failed:,} failed ({', '.join(parts)}), {self.delivered:,} delivered"

    def to_json(self) -> dict[str, int]:
        """The documented count fields of a block record."""
        return {
            "attempts": self.attempts,
            "failed": self.failed,
            "deferred": self.deferred,
            "rejected": self.rejected,
            "no_code": self.no_code,
            "delivered": self.delivered,
        }


_NO_OUTCOMES: dict[str, None] = dict.fromkeys(Outcomes().to_json())


@dataclass(slots=True)
class Block:
    """A blocked domain or blocked (stream IP, MX IP) pair, with its latest evidence."""

    kind: BlockKind
    block_id: int
    stream_id: int
    stream_name: str
    domain: str
    ip: str | None
    mx: str | None
    description: str | None
    since: datetime | None
    next_retry: datetime | None
    outcomes: Outcomes | None = None  # None until the evidence is read
    latest_reply: str | None = None
    latest_code: int | None = None
    latest_time: datetime | None = None
    latest_mx_host: str | None = None

    @property
    def key(self) -> BlockKey:
        """The block's key."""
        return BlockKey(self.kind, self.block_id)

    @property
    def identity(self) -> BlockIdentity:
        """The columns a release re-checks."""
        return BlockIdentity(self.stream_id, self.domain, self.ip, self.mx, self.since)

    @property
    def attempts(self) -> int | None:
        """Every attempt in the window, delivered ones included (None before the evidence)."""
        return None if self.outcomes is None else self.outcomes.attempts

    @property
    def failed(self) -> int | None:
        """Failed attempts in the window (None before the evidence)."""
        return None if self.outcomes is None else self.outcomes.failed

    @property
    def permanent(self) -> bool:
        """ListManager shows NULL NextRetry as "Permanent" (no more retries)."""
        return self.next_retry is None

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields of ``lmtriage blocks``."""
        return {
            "kind": self.kind,
            "block_id": self.block_id,
            "stream_id": self.stream_id,
            "stream": self.stream_name,
            "domain": self.domain,
            "ip": self.ip,
            "blocking_mx": self.mx,
            "description": self.description,
            "blocked_since": self.since,
            "next_retry": self.next_retry,
            "permanent": self.permanent,
            **(self.outcomes.to_json() if self.outcomes is not None else _NO_OUTCOMES),
            "latest_reply": self.latest_reply,
            "latest_reply_code": self.latest_code,
            "latest_reply_time": self.latest_time,
        }


@dataclass(slots=True)
class ReplyGroup:
    """Attempts behind one block that got the same reply text."""

    text: str
    code: int | None
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    mx_hosts: list[tuple[str, int]] = field(default_factory=list)  # (MX host or IP, attempts)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields of ``lmtriage responses``."""
        return {
            "text": self.text,
            "code": self.code,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "mx_hosts": [{"host": h, "count": n} for h, n in self.mx_hosts],
        }


@dataclass(frozen=True, slots=True)
class ReplySample:
    """One attempt of a reply group."""

    attempt_id: int
    time: datetime | None
    source_ip: str | None
    mx_host: str | None
    mx_ip: str | None
    code: int | None
    text: str


@dataclass(slots=True)
class DomainStatus:
    """One row of the dashboard's Top Domain Status."""

    domain: str
    attempts: int
    delivered: int
    deferred: int
    failed: int
    blocked_ips: int
    stream_ips: int
    domain_blocked: bool

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "domain": self.domain,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "deferred": self.deferred,
            "failed": self.failed,
            "blocked_ips": self.blocked_ips,
            "stream_ips": self.stream_ips,
            "domain_blocked": self.domain_blocked,
        }


@dataclass(slots=True)
class VolumeSeries:
    """The stream's volume over time, in equal bins."""

    start: datetime
    end: datetime
    bins: list[int]
    failed_bins: list[int]
    source: str  # "tracking" (lyrDAOMailStreamTracking) or "attempts"


@dataclass(slots=True)
class Dashboard:
    """The per-stream dashboard."""

    stream: Stream | None
    window_start: datetime
    now: datetime
    domains: list[DomainStatus]
    domain_blocks: int
    ip_blocks: int
    stream_ips: list[str]
    volume: VolumeSeries | None
    notes: list[str] = field(default_factory=list)


DEFAULT_CONNECTIONS = 10  # ListManager's Domain Connection Limit when a domain has no row


@dataclass(frozen=True, slots=True)
class ConnectionLimit:
    """A receiving domain's Domain Connection Limit (``domainconnectionlimits_``).

    ``connection_limit`` is ConnectionLimit_ (connections per receiving IP), ``per_hour``
    ConnPerHour_ (TCP connections per receiving IP per hour), ``per_connection``
    MaxMsgPerConn_ (messages per connection). ``is_default`` means the domain has no row:
    ListManager then opens up to 10 connections per MX IP, with no hourly or per-connection cap.
    """

    domain: str
    connection_limit: int | None
    per_hour: int | None
    per_connection: int | None
    is_default: bool

    @classmethod
    def default(cls, domain: str) -> ConnectionLimit:
        """The limit of a domain that has no row."""
        return cls(domain, None, None, None, True)

    @classmethod
    def of(cls, value: Any) -> ConnectionLimit:
        """Copy any object with the same attribute names."""
        return cls(
            domain=str(value.domain),
            connection_limit=value.connection_limit,
            per_hour=value.per_hour,
            per_connection=value.per_connection,
            is_default=bool(value.is_default),
        )

    @property
    def connections(self) -> int:
        """The connections per MX IP ListManager will open."""
        limit = self.connection_limit
        return limit if isinstance(limit, int) and limit > 0 else DEFAULT_CONNECTIONS

    def describe(self) -> str:
        """``default 10 connections per MX …`` or ``2 connections per MX, 60 connections an
        hour, 20 messages per connection``."""
        if self.is_default:
            return (
                f"default {DEFAULT_CONNECTIONS} connections per MX (no row), "
                "no hourly or per-connection cap"
            )
        parts = [f"{self.connections} connection{'s' if self.connections != 1 else ''} per MX"]
        parts.append(f"{self.per_hour} connections an hour" if self.per_hour else "no hourly cap")
        parts.append(
            f"{self.per_connection} messages per connection"
            if self.per_connection
            else "no per-connection cap"
        )
        return ", ".join(parts)

    def command(self) -> str:
        """The ``lmtriage dcl`` command line that sets this limit."""
        domain = "".join(c for c in self.domain if c.isprintable())[:253]
        cmd = f"lmtriage dcl --domain {shlex.quote(domain)} --limit {self.connections}"
        if self.per_hour:
            cmd += f" --per-hour {self.per_hour}"
        if self.per_connection:
            cmd += f" --per-connection {self.per_connection}"
        return cmd

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "domain": self.domain,
            "connection_limit": self.connection_limit,
            "per_hour": self.per_hour,
            "per_connection": self.per_connection,
            "is_default": self.is_default,
        }
