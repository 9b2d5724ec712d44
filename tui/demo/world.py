"""The demo world: streams and their IPs, receiving domains and MX hosts, blocks and when
their failing attempts happen.

:class:`World` makes every choice from one ``random.Random(seed)``, its steps always run in
the same order (:meth:`World.generate`), so the same arguments give the same world. The
attempt rows are produced from it by :mod:`tui.demo.attempts`; the tables are written by
:mod:`tui.demo.build` (SQLite) and :mod:`tui.demo.server` (any SQLAlchemy database).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tui.demo.replies import Reply, Template, failure_rates
from tui.demo.tables import (
    CAUSES,
    DKIM,
    IP_RANGES,
    PLATFORMS,
    PROVIDERS,
    STREAMS,
    SUFFIXES,
    SYLLABLES,
    TLDS,
    WORDS,
    DkimDef,
)
from tui.errors import LmError

WINDOW = timedelta(days=7)
BUCKET_SECONDS = 300

Progress = Callable[[str, float], None]
MX = tuple[int, str, str]  # (preference, host, ip)


@dataclass(slots=True)
class Stream:
    """A MailStream and its sending IPs."""

    id: int
    name: str
    description: str
    sender: str
    share: float
    rhythm: str
    ips: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Domain:
    """A receiving domain: its reply style, volume, MX records and failure rates."""

    name: str
    style: str
    provider: bool
    weight: float
    mx: list[MX]  # (pref, host, ip), by preference
    owns_all: bool = True  # no MX IP shared with an earlier domain
    failures: list[tuple[float, str]] = field(default_factory=list)
    fail_total: float = 0.0  # random() at or above this: a success
    risky: list[bool] = field(default_factory=list)  # per stream: a block to steer around
    pools: list[list[str]] = field(default_factory=list)  # per stream: success replies


@dataclass(slots=True)
class Evidence:
    """One block and how its failing attempts are produced."""

    kind: str  # "ip" or "domain"
    stream: int  # index into streams
    domain: int  # index into domains
    ip: str | None  # stream IP (ip blocks)
    mx: MX | None  # the blocking MX (ip blocks)
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


class World:
    """Holds the generated world; its steps run in a fixed order (determinism)."""

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
        self.n_streams = max(1, min(int(streams), len(STREAMS)))
        self.now = now
        self.start = now - WINDOW
        # A 5-minute grid aligned to the clock, covering [start, now).
        grid = self.start.replace(second=0)
        self.grid_start = grid - timedelta(minutes=grid.minute % 5)
        self.total_secs = int((now - self.grid_start).total_seconds())
        self.start_sec = int((self.start - self.grid_start).total_seconds())
        self.n_buckets = max(1, -(-self.total_secs // BUCKET_SECONDS))
        self.progress = progress
        self.streams: list[Stream] = []
        self.dkim: dict[str, DkimDef] = {}
        self.domains: list[Domain] = []
        self.ip_faults: dict[str, str] = {}
        self.ptr: dict[str, str | None] = {}
        self.ptr_mismatch: dict[str, dict[str, str]] = {}
        self.helo: dict[str, str] = {}
        self.listed: dict[str, dict[str, list[str]]] = {}
        self.stale_mx: dict[str, str] = {}  # MX IP -> domain: in the database, not in DNS
        self.ip_blocks: list[Evidence] = []
        self.domain_blocks: list[Evidence] = []
        self.domain_only: list[int] = []
        self.mx_users: dict[str, list[int]] = {}
        self.everything: list[Evidence] = []
        self.ev_block: list[int] = []
        self.ev_flags: list[int] = []  # 1: the reply that made the block, 2: the latest
        self.events: list[list[int]] = []
        self.blocked_pairs: dict[tuple[str, str], int] = {}
        self.blocked_domains: dict[tuple[int, int], int] = {}
        self.counts: dict[str, int] = {}
        self.tracking: list[tuple[int, int, int, str, str]] = []
        self._mx_pool: list[int] = []
        self._mx_next = 0
        self.minutes: list[str] = []  # "YYYY-MM-DD HH:MM" of every minute of the grid

    def tick(self, stage: str, fraction: float) -> None:
        """Report progress, if anyone listens."""
        if self.progress is not None:
            self.progress(stage, max(0.0, min(1.0, fraction)))

    def make_timeline(self) -> None:
        """The minutes of the grid and the failing attempts of every block (after the blocks:
        :func:`tui.demo.blocks.make_blocks`)."""
        self.minutes = [
            (self.grid_start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M")
            for m in range(self.total_secs // 60 + 2)
        ]
        self.make_events()

    def scale(self) -> dict[str, int]:
        """The arguments the world was made with."""
        return {
            "attempts": self.n_attempts,
            "blocks": self.n_blocks,
            "domains": self.n_domains,
            "streams": self.n_streams,
        }

    def by_cause(self) -> dict[str, int]:
        """IP blocks per cause."""
        out = {c: 0 for c in CAUSES}
        for ev in self.ip_blocks:
            out[ev.cause] += 1
        return out

    def by_provider(self) -> dict[str, int]:
        """IP blocks per mailbox provider (business domains per reply style), most first."""
        out: dict[str, int] = {}
        for ev in self.ip_blocks:
            dom = self.domains[ev.domain]
            key = dom.name if dom.provider else f"business ({dom.style})"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    # ----------------------------------------------------------------- streams and IPs

    def make_streams(self) -> None:
        r = self.r
        used: set[str] = set()
        for i in range(self.n_streams):
            d = STREAMS[i]
            stream = Stream(i + 1, d.name, d.description, d.sender, d.share, d.rhythm)
            count = r.choices((2, 3, 4, 5, 6), weights=(25, 30, 22, 13, 10))[0]
            prefix = IP_RANGES[i % len(IP_RANGES)]
            slot = i // len(IP_RANGES)
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
            self.dkim[sender] = DKIM[sender]
        if not any(v.dns_key for v in self.dkim.values()):
            self.dkim[senders[-1]] = self.dkim[senders[-1]].with_(dns_key="tx-example-org-dns")
        if not any(v.dmarc == "none" for v in self.dkim.values()):
            self.dkim[senders[-1]] = self.dkim[senders[-1]].with_(dmarc="none")
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
                    f"{r.choice(WORDS)}-{r.choice(SUFFIXES)}"
                    if r.random() < 0.4
                    else f"{r.choice(WORDS)}{r.choice(SUFFIXES)}"
                )
            else:
                n = r.choice((2, 2, 3, 3, 4))
                base = "".join(r.choice(SYLLABLES) for _ in range(n))
                if r.random() < 0.35:
                    base += r.choice(SUFFIXES)
            name = base + r.choice(TLDS)
            if name not in taken:
                return name
        raise LmError("the demo generator could not invent enough distinct domain names")

    def make_domains(self) -> None:
        r = self.r
        by_name: dict[str, Domain] = {}
        taken: set[str] = set()
        host_ip: dict[str, str] = {}
        for provider in PROVIDERS[: self.n_domains]:
            name, style, share, mx = provider.domain, provider.style, provider.share, provider.mx
            if not mx:
                owner = by_name.get(provider.mx_of or "")
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
            dom = Domain(name, style, True, share / 100.0, records, owns_all)
            by_name[name] = dom
            taken.add(name)
            self.domains.append(dom)
        business = self.n_domains - len(self.domains)
        shared_hosts: dict[str, list[MX]] = {}
        platform_names = [p.name for p in PLATFORMS]
        platform_w = [p.share for p in PLATFORMS]
        platform_style = {p.name: p.style for p in PLATFORMS}
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
            dom = Domain(name, platform_style[platform], False, weight, list(records), owns_all)
            self.domains.append(dom)
        for dom in self.domains:
            dom.failures = failure_rates(dom.style, dom.provider)
            dom.fail_total = dom.failures[-1][0] if dom.failures else 0.0
            dom.risky = [False] * len(self.streams)
        # Which domains use each MX IP (shared hosts: blocks only at the first, the owner).
        for index, dom in enumerate(self.domains):
            for _, _, ip in dom.mx:
                self.mx_users.setdefault(ip, []).append(index)

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
