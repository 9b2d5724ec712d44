"""The benchmark harness: every figure measured beside its reference, in one run.

    python -m tests.benchmarks.run [--scale S|L|both] [--backend sqlite|postgresql|both]
                                   [--pg-url URL] [--cache DIR] [--skip-serial-dns]
    python -m tests.benchmarks.run --long-session [--scale …] [--backend …] [--cycles N]

Builds (or reuses, see :mod:`tests.benchmarks.databases`) the demo at two scales — S, the
default demo, and L: 10,000,000 attempts, 100,000 IP blocks, 20,000 domain blocks, 50,000
receiving domains, 8 streams — on SQLite and on PostgreSQL, then measures on each:

1. console cold start to the first block rows painted vs the fair floor (a bare Textual app
   that also imports SQLAlchemy and reads one page of the same table) and a bare Textual app;
2. drill-down into the busiest block: lmtriage's query vs hand-written SQL, same connection;
3. page-down through the IP pane: time per page, and the process's peak RSS with the DB open;
4. the dashboard for All streams vs the least any exact per-domain figure needs (counting the
   window's attempts), and again with nothing changed;
5. one refresh cycle of an idle console with nothing changed;
6. release of 10,000 marked blocks with the audit vs a bare DELETE of the same rows;
7. classification throughput and the DNS-check scenario (once, no database);
8. time to build each database.

``--long-session`` runs only the long-session step: the console auto-refreshing 1,000
times (after 50 to warm up), with the growth of its resident set beside the 20 MB target.

Not part of the test suite: it takes minutes (the L builds about 4 minutes each, 4 GB each).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.benchmarks.databases import BACKENDS, PG_ADMIN, SCALES, BenchDb, build_or_reuse  # noqa: E402
from tests.benchmarks.standalone import classification, dns_checks  # noqa: E402
from tests.benchmarks.table import Row, fmt_s, print_table, verdict  # noqa: E402
from tui.config import load_config  # noqa: E402
from tui.core import open_core  # noqa: E402
from tui.db.audit import AuditStore  # noqa: E402
from tui.db.queries import ReplyScope, dashboard  # noqa: E402
from tui.db.release import BlockRef, release_blocks, undo_release  # noqa: E402


def time_to_line(
    args: list[str],
    needle: str = '"painted"',
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> float:
    """Seconds from launching a process to it printing a line containing ``needle``, or to
    the wall-clock time ``at`` that line gives (the moment the probe's frame was composed)."""
    launched = time.time()
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if needle in line:
                at = json.loads(line).get("at")
                return time.perf_counter() - started if at is None else at - launched
        raise RuntimeError(f"{args} ended without printing {needle}")
    finally:
        proc.kill()
        proc.wait(timeout)


def cold_start(db: BenchDb, runs: int = 5) -> list[Row]:
    """Console start to first rows painted vs the fair floor and a bare Textual app.

    All as installed: byte code cached. PYTHONDONTWRITEBYTECODE (set on some machines) is
    cleared for the probes and each runs once first, so none compiles source in the timed
    runs (pip has already compiled Textual's; lmtriage's own, installed editable, would
    otherwise be compiled on every start). The three alternate, run by run.
    """
    probe = [sys.executable, "-m", "tests.benchmarks.probe"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    kinds = {"start": [*probe, "start", db.url], "floor": [*probe, "floor", db.url]}
    kinds["bare"] = [*probe, "bare"]
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for args in kinds.values():
        time_to_line(args, env=env)  # byte code and the OS file cache, every side
    for _ in range(runs):
        for kind, args in kinds.items():
            times[kind].append(time_to_line(args, env=env))
    ours, floor, bare = (statistics.median(times[k]) for k in ("start", "floor", "bare"))
    return [
        Row(
            db.scale,
            db.label,
            "cold start to first block rows, vs the fair floor: a bare Textual app that imports "
            f"SQLAlchemy and shows one page of the same table (median of {runs})",
            fmt_s(ours),
            f"floor {fmt_s(floor)}",
            f"{ours / floor:.2f}×",
            "≤ 1.3×",
            verdict(ours / floor <= 1.3),
        ),
        Row(
            db.scale,
            db.label,
            "cold start to first block rows, vs a bare Textual app (no database)",
            fmt_s(ours),
            f"bare Textual app {fmt_s(bare)}",
            f"{ours / bare:.2f}×",
            "≤ 1.5 s",
            verdict(ours <= 1.5),
        ),
    ]


def open_bench_core(db: BenchDb):  # noqa: ANN201 - Core
    """A core on the benchmark database (no config file, no environment)."""
    return open_core(load_config(db=db.url, env={}))


def busiest_domain_block(core, conn) -> tuple[int, str]:  # noqa: ANN001
    """(stream id, domain) of the domain block with the most failed attempts in the window."""
    a, bd = core.schema.t("attempts"), core.schema.t("blocked_domains")
    since = core.since()
    code = a.c.SMTPResponseCode
    stmt = (
        sa.select(a.c.MailStreamID, a.c.Domain, sa.func.count().label("n"))
        .where(a.c.AttemptTime >= since, sa.or_(code >= 400, code.is_(None)))
        .where(sa.exists().where(bd.c.MailStreamID == a.c.MailStreamID, bd.c.Domain == a.c.Domain))
        .group_by(a.c.MailStreamID, a.c.Domain)
        .order_by(sa.desc("n"))
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return int(row[0]), str(row[1])


# The drill-down's two statements as a person would write them (SQLite; PostgreSQL quotes the
# mixed-case names and casts the text before cutting it).
HAND_GROUPS = """
SELECT substr(SMTPResponseText, 1, 2000) AS reply, coalesce(MXHost, MXIP, '?') AS mx_host,
       count(*) AS n, min(AttemptTime) AS first_seen, max(AttemptTime) AS last_seen
FROM lyrDeliveryAttemptLog
WHERE AttemptTime >= :since AND MailStreamID = :stream AND Domain = :domain
  AND (SMTPResponseCode >= 400 OR SMTPResponseCode IS NULL)
GROUP BY reply, mx_host
"""
"""README "Where the numbers come from": every failed reply of the block by text and MX host."""
PG_NAMES = (
    "lyrDeliveryAttemptLog",
    "SMTPResponseText",
    "SMTPResponseCode",
    "AttemptTime",
    "MailStreamID",
    "MXHost",
    "MXIP",
    "Domain",
)


def hand_sql(text: str, backend: str) -> str:
    """The hand-written statement in the backend's spelling."""
    if backend != "postgresql":
        return text
    for name in PG_NAMES:
        text = text.replace(name, f'"{name}"')
    return text.replace('substr("SMTPResponseText"', 'substr(CAST("SMTPResponseText" AS TEXT)')


def best_of(fn, runs: int = 5) -> float:  # noqa: ANN001
    """Fastest of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def drill_down(db: BenchDb) -> Row:
    """The drill-down's exact reply groups (the streamed GROUP BY and every distinct text
    signed; signatures cached, as on a second visit) vs the same GROUP BY written by hand."""
    from tui.triage.block_advice import signature_groups

    core = open_bench_core(db)
    with core.engine.connect() as conn:
        stream, domain = busiest_domain_block(core, conn)
        since = core.since()
        scope = ReplyScope(stream_id=stream, domain=domain)
        params = {"stream": stream, "domain": domain}
        params["since"] = since.isoformat(sep=" ") + ".000000" if db.backend == "sqlite" else since
        groups_sql = sa.text(hand_sql(HAND_GROUPS, db.backend))

        def ours() -> None:
            signature_groups(core, conn, scope, since=since)

        def hand() -> None:
            conn.execute(groups_sql, params).fetchall()

        ours()
        hand()
        t_hand = best_of(hand)
        t_ours = best_of(ours)
        groups = signature_groups(core, conn, scope, since=since)
    core.close()
    ratio = t_ours / t_hand
    return Row(
        db.scale,
        db.label,
        f"drill-down into the busiest block ({domain}, {sum(g.count for g in groups):,} failed "
        f"attempts, {sum(g.variants for g in groups):,} distinct replies)",
        fmt_s(t_ours),
        f"hand-written SQL {fmt_s(t_hand)}",
        f"{ratio:.2f}×",
        "≤ 1.5× and ≤ 150 ms",
        verdict(ratio <= 1.5 and t_ours <= 0.150),
    )


def dashboard_step(db: BenchDb, runs: int = 3) -> list[Row]:
    """The dashboard for All streams: computed (median of ``runs``) vs counting the window's
    attempts, the least any exact per-domain figure needs; then the console's second look
    with nothing changed (the fingerprint of its tables, then the figures already shown)."""
    from tui.db.queries import dashboard_inputs

    core = open_bench_core(db)
    a = core.schema.t("attempts")
    now = core.now().replace(second=0, microsecond=0)
    since = now - core.config.window
    floor_stmt = sa.select(sa.func.count()).where(a.c.AttemptTime >= since, a.c.AttemptTime <= now)
    computed, floor, again = [], [], []
    with core.engine.connect() as conn:
        for _ in range(runs):
            started = time.perf_counter()
            dash = dashboard(core.schema, conn, None, now=now, window=core.config.window)
            computed.append(time.perf_counter() - started)
            conn.rollback()
            started = time.perf_counter()
            attempts = conn.execute(floor_stmt).scalar()
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            dashboard_inputs(core.schema, conn)
            again.append(time.perf_counter() - started)
    core.close()
    t, f, g = (statistics.median(x) for x in (computed, floor, again))
    top = dash.domains[0] if dash.domains else None
    what = (
        f"dashboard for All streams: top domains of {attempts:,} attempts in the window "
        f"({top.domain if top else '-'} first), blocks, volume chart (median of {runs})"
    )
    return [
        Row(
            db.scale,
            db.label,
            what,
            fmt_s(t),
            f"count(*) of the window {fmt_s(f)}",
            f"{t / f:.2f}×",
            "≤ 1 s",
            verdict(t <= 1.0),
        ),
        Row(
            db.scale,
            db.label,
            "dashboard shown again, nothing changed: fingerprint of the tables it reads",
            fmt_s(g),
            "—",
            "—",
            "≤ 1 s",
            verdict(g <= 1.0),
        ),
    ]


def run_probe(*args: str, timeout: float) -> dict:
    """Run ``python -m tests.benchmarks.probe ARGS`` in a fresh process; its last JSON line."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.probe", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=timeout,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def paging(db: BenchDb, pages: int = 40) -> list[Row]:
    """Page-down through the IP pane; peak RSS of that process."""
    data = run_probe("paging", db.url, str(pages), timeout=600)
    page = data["page_ms_median"] / 1000
    return [
        Row(
            db.scale,
            db.label,
            f"page-down through {data['rows']:,} IP blocks: rows on screen (median of {pages}; p95 "
            f"{data['page_ms_p95']:.0f} ms; evidence columns filled after {data['evidence_ms_median']:.0f} ms)",
            fmt_s(page),
            "—",
            "—",
            "≤ 50 ms a page",
            verdict(page <= 0.050),
        ),
        Row(
            db.scale,
            db.label,
            "peak RSS with the database open, after paging",
            f"{data['peak_rss_mb']:.0f} MB",
            "—",
            "—",
            "≤ 250 MB",
            verdict(data["peak_rss_mb"] <= 250),
        ),
    ]


def refresh_cycle(db: BenchDb, cycles: int = 20) -> Row:
    """One refresh of an idle console with nothing changed (fresh process)."""
    data = run_probe("refresh", db.url, str(cycles), timeout=600)
    cycle = data["cycle_ms_median"] / 1000
    return Row(
        db.scale,
        db.label,
        f"one refresh cycle, nothing changed: probe both panes' keys, re-read the rows on screen "
        f"and their evidence ({data['rows']:,} blocks; median of {cycles}, p95 "
        f"{data['cycle_ms_p95']:.0f} ms)",
        fmt_s(cycle),
        "—",
        "—",
        "≤ 150 ms",
        verdict(cycle <= 0.150),
    )


def release(db: BenchDb, count: int = 10_000, rounds: int = 5) -> Row:
    """release_blocks (audited) of ``count`` IP blocks vs a bare DELETE of the same rows.

    Median of ``rounds`` each. The database is left as it was: each release is undone from
    the audit, and the bare DELETE's rows are put back.
    """
    from tui.db.records import BlockIdentity, BlockKey

    core = open_bench_core(db)
    ours, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        core.__dict__["audit"] = AuditStore.at_path(Path(tmp) / "audit.sqlite")
        full = core.schema.full_tables["blocked_ips"]
        with core.engine.connect() as conn:
            result = conn.execute(sa.select(full).order_by(full.c.BlockID).limit(count))
            keys = list(result.keys())
            saved = [dict(zip(keys, row, strict=True)) for row in result]
        refs = [
            BlockRef(
                BlockKey("ip", r["BlockID"]),
                BlockIdentity(
                    r["MailStreamID"],
                    r["Domain"],
                    r["IPAddress"],
                    r["BlockingMX"],
                    r["BlockedSince"],
                ),
            )
            for r in saved
        ]
        ids = [r["BlockID"] for r in saved]
        for _ in range(rounds):
            started = time.perf_counter()
            done = release_blocks(
                core.schema,
                core.engine,
                core.audit,
                core.audit_context(),
                refs,
                mode="delete",
                now=core.now(),
            )
            ours.append(time.perf_counter() - started)
            assert len(done.released) == len(refs), done.summary()
            undo = undo_release(
                core.schema, core.engine, core.audit, core.audit_context(), done.event_id
            )
            assert undo.ok, undo.summary()
            started = time.perf_counter()
            with core.engine.begin() as conn:
                for i in range(0, len(ids), 1000):
                    conn.execute(sa.delete(full).where(full.c.BlockID.in_(ids[i : i + 1000])))
            bare.append(time.perf_counter() - started)
            with core.engine.begin() as conn:
                for i in range(0, len(saved), 500):
                    conn.execute(sa.insert(full), saved[i : i + 500])
    core.close()
    t_ours, t_bare = statistics.median(ours), statistics.median(bare)
    ratio = t_ours / t_bare
    return Row(
        db.scale,
        db.label,
        f"release {len(refs):,} marked blocks, audited (median of {rounds})",
        fmt_s(t_ours),
        f"bare DELETE {fmt_s(t_bare)}",
        f"{ratio:.2f}×",
        "≤ 3× and ≤ 2 s",
        verdict(ratio <= 3 and t_ours <= 2),
    )


def long_session(db: BenchDb, cycles: int = 1_000) -> list[Row]:
    """``cycles`` auto-refreshes of the console, in a fresh process: time and RSS growth."""
    data = run_probe("long-session", db.url, str(cycles), timeout=3600)
    growth = data["rss_growth_mb"]
    return [
        Row(
            db.scale,
            db.label,
            f"long session: {data['cycles']:,} auto-refreshes of {data['rows']:,} blocks "
            f"({data['seconds']:.0f} s, {data['ms_per_cycle']:.0f} ms a cycle, "
            f"{data['failed']} failed), RSS growth after a 50-cycle warm-up "
            f"({data['rss_start_mb']:.0f} → {data['rss_end_mb']:.0f} MB)",
            f"{growth:+.1f} MB",
            "—",
            "—",
            "< 20 MB",
            verdict(growth < 20 and not data["failed"]),
        )
    ]


def build_row(db: BenchDb) -> Row:
    """How long the database took to build (now, or when it was built)."""
    what = f"build the {db.scale} demo database ({db.size_bytes / 1e9:.2f} GB)"
    if not db.fresh:
        what += ", time of its build"
    return Row(db.scale, db.label, what, fmt_s(db.build_seconds), "—", "—", "minutes",
               verdict(db.build_seconds < 600))  # fmt: skip


def machine(backends: list[str], pg_url: str) -> str:
    """One line about the machine and the database servers."""
    cpus = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    text = (
        f"{platform.machine()}, {cpus} CPUs{mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}"
    )
    if "postgresql" in backends:
        engine = sa.create_engine(pg_url)
        with engine.connect() as conn:
            version = str(conn.exec_driver_sql("SHOW server_version").scalar()).split()[0]
        engine.dispose()
        text += f", PostgreSQL {version} on the same machine (127.0.0.1, default settings)"
    return text


# The per-database steps, in table order: (name, function).
STEPS = (
    ("cold start", cold_start),
    ("drill-down", drill_down),
    ("paging", paging),
    ("dashboard", dashboard_step),
    ("refresh cycle", refresh_cycle),
    ("release", release),
)


def _as_rows(value: Row | list[Row]) -> list[Row]:
    return value if isinstance(value, list) else [value]


def main(argv: list[str] | None = None) -> int:
    """Run everything and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", choices=("S", "L", "both"), default="both")
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--pg-url", default=PG_ADMIN, help=f"PostgreSQL admin URL ({PG_ADMIN})")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lmtriage-bench")
    parser.add_argument(
        "--skip-serial-dns",
        action="store_true",
        help="skip the one-at-a-time DNS reference (about a minute)",
    )
    parser.add_argument(
        "--long-session",
        action="store_true",
        help="run only the long-session step (1,000 auto-refreshes, RSS growth)",
    )
    parser.add_argument(
        "--cycles", type=int, default=1_000, help="refreshes of the long session (default 1000)"
    )
    args = parser.parse_args(argv)
    scales = list(SCALES) if args.scale == "both" else [args.scale]
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    command = "python -m tests.benchmarks.run " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    rows: list[Row] = []
    started = datetime.now()
    for scale in scales:
        dbs = [build_or_reuse(scale, backend, args.cache, args.pg_url) for backend in backends]
        if args.long_session:
            for db in dbs:
                print(f"{scale} {db.label}: long session …", file=sys.stderr, flush=True)
                rows += long_session(db, args.cycles)
            continue
        rows += [build_row(db) for db in dbs]
        for name, step in STEPS:
            for db in dbs:  # the backends side by side, step by step
                print(f"{scale} {db.label}: {name} …", file=sys.stderr, flush=True)
                rows += _as_rows(step(db))
    if not args.long_session:
        print("classification …", file=sys.stderr, flush=True)
        rows.append(classification())
        print("DNS checks …", file=sys.stderr, flush=True)
        rows.append(dns_checks(args.skip_serial_dns))
    print(
        f"Measured {started:%Y-%m-%d %H:%M} on {machine(backends, args.pg_url)}; "
        f"command: {command.strip()}\n"
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
