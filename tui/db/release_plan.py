"""What "release" means, defined once for the console and the CLI.

ListManager keeps a blocked domain in two places: a row in the blocked-domains table and a row
per blocked (stream IP, MX IP) pair in the blocked-IPs table. While any pair of the domain stays,
the domain stays blocked in practice. So **releasing a domain releases its domain row and every
IP pair of the same stream and domain** ("domain row + N IP pairs"); the user may ask for the
domain row alone (``--domain-row-only``, or ``o`` in the console's dialog). Releasing an IP pair
releases that pair only.

A plan is built from what the user chose (marks, the cursor row, a CLI selection) and lists
every row that would go, each with the identity the user saw (stream, domain, stream IP, MX,
BlockedSince). The release re-checks each row against that identity and releases nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.queries import BlockFilter, block_keys, fetch_blocks, stream_names, table_key
from tui.db.records import Block, BlockIdentity, BlockKey, BlockKind
from tui.db.sqlfuncs import chunks
from tui.domains import domain_spellings
from tui.errors import LmError, NotFoundError

# The most blocks one release may name: a bound on every read a plan makes.
MAX_PLAN_BLOCKS = 1_000_000

CHOSEN = "chosen"
WITH_DOMAIN = "with its domain row"


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block to release: its key and what the user saw of it."""

    key: BlockKey
    identity: BlockIdentity

    @classmethod
    def of(cls, block: Block) -> BlockRef:
        """The ref of a block row as read."""
        return cls(block.key, block.identity)


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One row a release would take, and why it is in the plan."""

    ref: BlockRef
    stream_name: str
    why: str  # CHOSEN or WITH_DOMAIN


@dataclass(slots=True)
class ReleasePlan:
    """Every row a release would take, in the order shown."""

    rows: list[PlannedRow] = field(default_factory=list)
    domain_rows_only: bool = False
    scope: str = "the marked rows"

    @property
    def refs(self) -> list[BlockRef]:
        """The refs to hand to :func:`tui.db.release.release_blocks`."""
        return [r.ref for r in self.rows]

    @property
    def chosen(self) -> list[PlannedRow]:
        """Rows the user chose themselves."""
        return [r for r in self.rows if r.why == CHOSEN]

    @property
    def attached(self) -> list[PlannedRow]:
        """IP pairs that go with a chosen domain row."""
        return [r for r in self.rows if r.why == WITH_DOMAIN]

    def stream_label(self, chosen: str | None = None) -> str:
        """The stream the audit names: the one chosen, else the one every row is in, else
        ``N streams`` (not "all streams" for a release that touched one)."""
        if chosen:
            return chosen
        names = sorted({r.stream_name for r in self.rows})
        if len(names) == 1:
            return names[0]
        return f"{len(names)} streams" if names else "all streams"

    def count(self, kind: BlockKind) -> int:
        """Rows of one kind."""
        return sum(1 for r in self.rows if r.ref.key.kind == kind)

    def headline(self) -> str:
        """``5 blocks: 2 domain rows + 3 IP pairs (3 with their domain rows)``."""
        domains, ips = self.count("domain"), self.count("ip")
        text = f"{len(self.rows):,} block row(s): {domains:,} domain row(s) + {ips:,} IP pair(s)"
        attached = len(self.attached)
        if attached:
            text += f", of which {attached:,} IP pair(s) go with their domain row"
        elif self.domain_rows_only and domains:
            text += "; domain rows only (their IP pairs stay blocked)"
        return text

    def domain_lines(self, limit: int = 12) -> list[str]:
        """Per chosen domain row: ``yahoo.com (stream marketing): domain row + 3 IP pairs``."""
        pairs: dict[tuple[int, str], int] = defaultdict(int)
        for r in self.rows:  # chosen by themselves or with the domain row: all go now
            if r.ref.key.kind != "ip":
                continue
            pairs[(r.ref.identity.stream_id, r.ref.identity.domain.lower())] += 1
        out = []
        for r in self.rows:
            if r.ref.key.kind != "domain":
                continue
            ident = r.ref.identity
            n = pairs.get((ident.stream_id, ident.domain.lower()), 0)
            what = "domain row only" if self.domain_rows_only else f"domain row + {n:,} IP pair(s)"
            out.append(f"{ident.domain} (stream {r.stream_name}): {what}")
        if len(out) > limit:
            out = [*out[:limit], f"… and {len(out) - limit:,} more domain(s)"]
        return out


def _stream_names(
    schema: BoundSchema, conn: Connection, names: dict[int, str] | None
) -> dict[int, str]:
    return names if names is not None else stream_names(schema, conn)


def _pairs_of_domains(
    schema: BoundSchema,
    conn: Connection,
    domains: Iterable[tuple[int, str]],
    names: dict[int, str],
) -> list[Block]:
    """The IP-pair blocks of (stream, domain) pairs; domains compared case-insensitively
    (ListManager on SQL Server uses a case-insensitive collation)."""
    t = schema.t(table_key("ip"))
    by_stream: dict[int, set[str]] = defaultdict(set)
    for stream_id, domain in domains:
        by_stream[stream_id].update(domain_spellings(domain))  # straße.de = xn--strae-oqa.de
    ids: list[int] = []
    for stream_id, wanted in sorted(by_stream.items()):
        for part in chunks(sorted(wanted)):
            stmt = (
                sa.select(t.c.BlockID)
                .where(t.c.MailStreamID == stream_id, sa.func.lower(t.c.Domain).in_(list(part)))
                .order_by(t.c.BlockID)
                .limit(MAX_PLAN_BLOCKS + 1)
            )
            ids += [int(i) for i in conn.execute(stmt).scalars()]
            if len(ids) > MAX_PLAN_BLOCKS:
                raise LmError(
                    f"more than {MAX_PLAN_BLOCKS:,} IP pairs go with these domains; "
                    "release fewer domains at a time",
                    exit_code=2,
                )
    return fetch_blocks(schema, conn, "ip", ids, since=None, names=names)


def plan_release(
    schema: BoundSchema,
    conn: Connection,
    chosen: Sequence[tuple[BlockRef, str]],
    *,
    domain_rows_only: bool = False,
    scope: str = "the marked rows",
    names: dict[int, str] | None = None,
) -> ReleasePlan:
    """A plan for the chosen rows (ref, stream name): each chosen domain row brings the IP
    pairs of its stream and domain, read now (their identity is what the dialog shows),
    unless ``domain_rows_only``. Chosen identities are kept as the user saw them."""
    names = _stream_names(schema, conn, names)
    plan = ReleasePlan(domain_rows_only=domain_rows_only, scope=scope)
    seen: set[BlockKey] = set()
    for ref, stream_name in chosen:
        if ref.key not in seen:
            seen.add(ref.key)
            plan.rows.append(PlannedRow(ref, stream_name, CHOSEN))
    if domain_rows_only:
        return plan
    domains = {
        (ref.identity.stream_id, ref.identity.domain)
        for ref, _name in chosen
        if ref.key.kind == "domain"
    }
    if not domains:
        return plan
    for block in _pairs_of_domains(schema, conn, domains, names):
        if block.key not in seen:
            seen.add(block.key)
            plan.rows.append(PlannedRow(BlockRef.of(block), block.stream_name, WITH_DOMAIN))
    return plan


def plan_from_blocks(
    schema: BoundSchema,
    conn: Connection,
    blocks: Sequence[Block],
    *,
    domain_rows_only: bool = False,
    scope: str = "the marked rows",
    names: dict[int, str] | None = None,
) -> ReleasePlan:
    """A plan for block rows as they were read (and shown)."""
    return plan_release(
        schema,
        conn,
        [(BlockRef.of(b), b.stream_name) for b in blocks],
        domain_rows_only=domain_rows_only,
        scope=scope,
        names=names,
    )


def _blocks_of(
    schema: BoundSchema, conn: Connection, filt: BlockFilter, names: dict[int, str]
) -> list[Block]:
    ids = block_keys(schema, conn, filt, limit=MAX_PLAN_BLOCKS + 1)
    if len(ids) > MAX_PLAN_BLOCKS:
        raise LmError(
            f"more than {MAX_PLAN_BLOCKS:,} blocks match; narrow the selection", exit_code=2
        )
    return fetch_blocks(schema, conn, filt.kind, ids, since=None, names=names)


def plan_for_cli(
    schema: BoundSchema,
    conn: Connection,
    *,
    domains: Sequence[str] = (),
    ips: Sequence[str] = (),
    keys: Sequence[BlockKey] = (),
    everything: bool = False,
    stream_id: int | None = None,
    stream_label: str = "all streams",
    domain_rows_only: bool = False,
) -> ReleasePlan:
    """The plan of ``lmtriage release``: ``--domain D`` (its domain rows, each with its IP
    pairs, and its IP pairs in streams without a domain row: every block of the domain), ``--ip IP`` (the IP pairs of that
    stream IP) or ``--all`` (every block of the stream, or of every stream).

    Blank values are refused: they never mean "everything".
    """
    for value in (*domains, *ips):
        if not value or not value.strip():
            raise LmError("an empty domain or IP was given; nothing was selected", exit_code=2)
    if not (domains or ips or keys or everything):
        raise LmError("nothing selected: give --domain, --ip, --block or --all", exit_code=2)
    names = stream_names(schema, conn)
    where = f" in stream {stream_label}" if stream_id is not None else ""
    chosen: list[Block] = []
    if everything:
        for kind in ("domain", "ip"):
            chosen += _blocks_of(schema, conn, BlockFilter(kind, stream_id=stream_id), names)  # type: ignore[arg-type]
        scope = f"every block of {stream_label}"
    for domain in domains:
        domain = domain.strip().lower()
        rows = _blocks_of(
            schema, conn, BlockFilter("domain", stream_id=stream_id, domain=domain), names
        )
        if domain_rows_only:
            if not rows:
                raise NotFoundError(f"no domain row for {domain}{where}", exit_code=1)
        else:
            # Every IP pair of the domain goes too: those of a stream with a domain row come
            # with it (plan_release), those of a stream without one are the domain's blocks
            # there. Without --stream that is every stream, whether it has a domain row or not.
            with_row = {(b.stream_id, b.domain.lower()) for b in rows}
            pairs = _blocks_of(
                schema, conn, BlockFilter("ip", stream_id=stream_id, domain=domain), names
            )
            rows += [b for b in pairs if (b.stream_id, (b.domain or "").lower()) not in with_row]
            if not rows:
                raise NotFoundError(f"no blocks for domain {domain}{where}", exit_code=1)
        chosen += rows
    for ip in ips:
        rows = _blocks_of(
            schema, conn, BlockFilter("ip", stream_id=stream_id, ip=ip.strip()), names
        )
        if not rows:
            raise NotFoundError(f"no blocks for IP {ip.strip()}{where}", exit_code=1)
        chosen += rows
    for kind in ("domain", "ip"):
        wanted = [k.block_id for k in keys if k.kind == kind]
        found = fetch_blocks(schema, conn, kind, wanted, since=None, names=names)  # type: ignore[arg-type]
        if stream_id is not None:
            found = [b for b in found if b.stream_id == stream_id]
        missing = sorted(set(wanted) - {b.block_id for b in found})
        if missing:
            raise NotFoundError(
                f"no {kind} block {', '.join(f'{kind}:{i}' for i in missing[:5])}{where}",
                exit_code=1,
            )
        chosen += found
    if not everything:
        what = [
            *(d.strip().lower() for d in domains),
            *(i.strip() for i in ips),
            *(str(k) for k in keys),
        ]
        scope = ", ".join(what[:5]) + (f" and {len(what) - 5} more" if len(what) > 5 else "")
        scope += where
    return plan_from_blocks(
        schema, conn, chosen, domain_rows_only=domain_rows_only, scope=scope, names=names
    )


def plan_for_filters(
    schema: BoundSchema,
    conn: Connection,
    filters: Sequence[BlockFilter],
    *,
    scope: str,
    domain_rows_only: bool = False,
) -> ReleasePlan:
    """Every block the given pane filters show (the console's ``A``)."""
    names = stream_names(schema, conn)
    chosen: list[Block] = []
    for filt in filters:
        chosen += _blocks_of(schema, conn, filt, names)
    return plan_from_blocks(
        schema, conn, chosen, domain_rows_only=domain_rows_only, scope=scope, names=names
    )


def identities(
    schema: BoundSchema, conn: Connection, kind: BlockKind, ids: Sequence[int]
) -> dict[int, tuple[BlockIdentity, str]]:
    """Identity and stream name of each block id that exists (for marks)."""
    names = stream_names(schema, conn)
    return {
        b.block_id: (b.identity, b.stream_name)
        for b in fetch_blocks(schema, conn, kind, ids, since=None, names=names)
    }


def refs_for_stream(
    schema: BoundSchema, conn: Connection, stream_id: int | None, *, limit: int = MAX_PLAN_BLOCKS
) -> list[BlockRef]:
    """Every block row of a stream (or of every stream), as it is now."""
    names = stream_names(schema, conn)
    out: list[BlockRef] = []
    for kind in ("domain", "ip"):
        filt = BlockFilter(kind, stream_id=stream_id)  # type: ignore[arg-type]
        ids = block_keys(schema, conn, filt, limit=limit)
        out += [
            BlockRef.of(b)
            for b in fetch_blocks(schema, conn, filt.kind, ids, since=None, names=names)
        ]
    return out
