"""The benchmark harness: every figure measured beside its reference, in one run.

    python -m tests.benchmarks.run [--scale S|L|both] [--cache DIR] [--skip-serial-dns]
    python -m tests.benchmarks.run --long-session [--scale S|L|both] [--cycles N]

Builds (or reuses, from ``--cache``, default ``~/.cache/lmtriage-bench``) the demo databases
at two scales — S, the default demo, and L: 10,000,000 attempts, 100,000 IP blocks, 20,000
domain blocks, 50,000 receiving domains, 8 streams — then measures:

1. console cold start to the first block rows painted vs a bare Textual app's start;
2. drill-down into the busiest block: lmtriage's query vs hand-written SQL, same connection;
3. page-down through the IP pane: time per page, and the process's peak RSS with the DB open;
4. release of 10,000 marked blocks with the audit vs a bare DELETE of the same rows;
5. classification throughput;
6. the DNS-check scenario (200 domains, 20 IPs, 8 zones, 50 ms answers) vs one at a time;
7. time to build each scale.

``--long-session`` runs only the long-session step: the console auto-refreshing 1,000
times (after 50 to warm up) on each scale's database, with the growth of its resident set
beside the 20 MB target (the test suite does the same on the hand-built database).

Not part of the test suite: it takes minutes (the L build alone about 3–4 minutes, 3.5 GB).
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tui.config import load_config  # noqa: E402
from tui.core import open_core  # noqa: E402
from tui.db.audit import AuditStore  # noqa: E402
from tui.db.queries import ReplyScope, reply_groups  # noqa: E402
from tui.db.release import BlockRef, release_blocks, undo_release  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, 0)
SCALES = {
    "S": {"attempts": 200_000, "blocks": 400, "domains": 300, "streams": 4},
    "L": {"attempts": 10_000_000, "blocks": 100_000, "domains": 50_000, "streams": 8},
}


@dataclass
class Row:
    """One line of the results table."""

    scale: str
    what: str
    measured: str
    reference: str
    ratio: str
    target: str
    verdict: str


def fmt_s(seconds: float) -> str:
    """Seconds or milliseconds, whichever reads better."""
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def build_or_reuse(scale: str, cache: Path) -> tuple[Path, float, bool]:
    """The scale's database, with the seconds its build took (now or when it was built)."""
    from tui.demo import build_demo_database

    path = cache / f"{scale}.sqlite"
    meta = cache / f"{scale}.build.json"
    if path.exists() and meta.exists():
        try:
            return path, float(json.loads(meta.read_text())["seconds"]), False
        except (ValueError, KeyError):
            pass
    cache.mkdir(parents=True, exist_ok=True)
    print(f"building {scale} ({SCALES[scale]}) …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    build_demo_database(path, seed=7, now=NOW, **SCALES[scale])
    seconds = time.perf_counter() - started
    meta.write_text(json.dumps({"seconds": seconds, "scale": SCALES[scale]}))
    return path, seconds, True


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


def cold_start(scale: str, db: Path, runs: int = 5) -> Row:
    """Console start to first rows painted vs a bare Textual app.

    Both as installed: byte code cached. PYTHONDONTWRITEBYTECODE (set on some machines) is
    cleared for the probes and each runs once first, so neither side compiles source in the
    timed runs (pip has already compiled Textual's; lmtriage's own, installed editable,
    would otherwise be compiled on every start).
    """
    probe = [sys.executable, "-m", "tests.benchmarks.probe"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    time_to_line([*probe, "bare"], env=env)  # byte code and the OS file cache, both sides
    time_to_line([*probe, "start", str(db)], env=env)
    ours = statistics.median(time_to_line([*probe, "start", str(db)], env=env) for _ in range(runs))
    bare = statistics.median(time_to_line([*probe, "bare"], env=env) for _ in range(runs))
    ratio = ours / bare
    ok = ratio <= 2 and ours <= 1.5
    return Row(
        scale,
        "cold start to first block rows",
        fmt_s(ours),
        f"bare Textual app {fmt_s(bare)}",
        f"{ratio:.2f}×",
        "≤ 2× and ≤ 1.5 s",
        "met" if ok else "missed",
    )


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


HAND_GROUPS = """
SELECT substr(SMTPResponseText, 1, 2000) AS t, max(SMTPResponseCode), count(*), min(AttemptTime), max(AttemptTime)
FROM lyrDeliveryAttemptLog
WHERE AttemptTime >= :since AND (SMTPResponseCode >= 400 OR SMTPResponseCode IS NULL)
  AND SMTPResponseText IS NOT NULL AND MailStreamID = :stream AND Domain = :domain
GROUP BY t ORDER BY count(*) DESC, max(AttemptTime) DESC LIMIT 200
"""
HAND_HOSTS = """
SELECT substr(SMTPResponseText, 1, 2000) AS t, coalesce(MXHost, MXIP, '?') AS h, count(*)
FROM lyrDeliveryAttemptLog
WHERE AttemptTime >= :since AND (SMTPResponseCode >= 400 OR SMTPResponseCode IS NULL)
  AND SMTPResponseText IS NOT NULL AND MailStreamID = :stream AND Domain = :domain
GROUP BY t, h ORDER BY count(*) DESC LIMIT 4000
"""


def best_of(fn, runs: int = 5) -> float:  # noqa: ANN001
    """Fastest of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def drill_down(scale: str, db: Path) -> Row:
    """reply_groups for the busiest block vs the same two statements written by hand."""
    core = open_core(load_config(db=f"sqlite:///{db}", env={}))
    with core.engine.connect() as conn:
        stream, domain = busiest_domain_block(core, conn)
        since = core.since()
        scope = ReplyScope(stream_id=stream, domain=domain)
        params = {"since": since.isoformat(sep=" ") + ".000000", "stream": stream, "domain": domain}

        def ours() -> None:
            reply_groups(core.schema, conn, scope, since=since)

        def hand() -> None:
            conn.execute(sa.text(HAND_GROUPS), params).fetchall()
            conn.execute(sa.text(HAND_HOSTS), params).fetchall()

        ours()
        hand()
        t_hand = best_of(hand)
        t_ours = best_of(ours)
        groups = reply_groups(core.schema, conn, scope, since=since)
    core.close()
    ratio = t_ours / t_hand
    ok = ratio <= 1.5 and t_ours <= 0.150
    what = f"drill-down into the busiest block ({domain}, {sum(g.count for g in groups):,} failed attempts)"
    return Row(
        scale,
        what,
        fmt_s(t_ours),
        f"hand-written SQL {fmt_s(t_hand)}",
        f"{ratio:.2f}×",
        "≤ 1.5× and ≤ 150 ms",
        "met" if ok else "missed",
    )


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


def paging(scale: str, db: Path, pages: int = 40) -> list[Row]:
    """Page-down through the IP pane; peak RSS of that process."""
    data = run_probe("paging", str(db), str(pages), timeout=600)
    page = data["page_ms_median"] / 1000
    rows = [
        Row(
            scale,
            f"page-down through {data['rows']:,} IP blocks: rows on screen (median of {pages}; p95 "
            f"{data['page_ms_p95']:.0f} ms; evidence columns filled after {data['evidence_ms_median']:.0f} ms)",
            fmt_s(page),
            "—",
            "—",
            "≤ 50 ms a page",
            "met" if page <= 0.050 else "missed",
        ),
        Row(
            scale,
            "peak RSS with the database open, after paging",
            f"{data['peak_rss_mb']:.0f} MB",
            "—",
            "—",
            "≤ 250 MB",
            "met" if data["peak_rss_mb"] <= 250 else "missed",
        ),
    ]
    return rows


def release(scale: str, db: Path, count: int = 10_000, rounds: int = 5) -> Row:
    """release_blocks (audited) of ``count`` IP blocks vs a bare DELETE of the same rows.

    Median of ``rounds`` each. The database is left as it was: each release is undone from
    the audit, and the bare DELETE's rows are put back.
    """
    from tui.db.records import BlockIdentity, BlockKey

    core = open_core(load_config(db=f"sqlite:///{db}", env={}))
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
                BlockIdentity(r["MailStreamID"], r["Domain"], r["IPAddress"], r["BlockingMX"]),
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
    ok = ratio <= 3 and t_ours <= 2
    return Row(
        scale,
        f"release {len(refs):,} marked blocks, audited (median of {rounds})",
        fmt_s(t_ours),
        f"bare DELETE {fmt_s(t_bare)}",
        f"{ratio:.2f}×",
        "≤ 3× and ≤ 2 s",
        "met" if ok else "missed",
    )


def long_session(scale: str, db: Path, cycles: int = 1_000) -> list[Row]:
    """``cycles`` auto-refreshes of the console, in a fresh process: time and RSS growth."""
    data = run_probe("long-session", str(db), str(cycles), timeout=3600)
    growth = data["rss_growth_mb"]
    return [
        Row(
            scale,
            f"long session: {data['cycles']:,} auto-refreshes of {data['rows']:,} blocks "
            f"({data['seconds']:.0f} s, {data['ms_per_cycle']:.0f} ms a cycle, "
            f"{data['failed']} failed), RSS growth after a 50-cycle warm-up "
            f"({data['rss_start_mb']:.0f} → {data['rss_end_mb']:.0f} MB)",
            f"{growth:+.1f} MB",
            "—",
            "—",
            "< 20 MB",
            "met" if growth < 20 and not data["failed"] else "missed",
        )
    ]


def classification() -> Row:
    """Replies per second, cold cache, over a realistic corpus with repeats."""
    from tests.benchmarks import bench_classify
    from tui.diagnose import classify as classify_module

    corpus, distinct = bench_classify.build_corpus(200_000, 0.05, 1)
    times = []
    for _ in range(5):
        classify_module.clear_cache()
        times.append(bench_classify.run(corpus))
    rate = len(corpus) / min(times)
    return Row(
        "-",
        f"classification ({len(corpus):,} replies, {distinct:,} distinct), cold cache",
        f"{rate:,.0f} replies/s",
        "—",
        "—",
        "≥ 50,000 replies/s",
        "met" if rate >= 50_000 else "missed",
    )


def dns_checks(skip_serial: bool) -> Row:
    """The checks issue's scenario, concurrent vs one lookup at a time."""
    out = subprocess.run(
        [
            sys.executable,
            "tests/benchmarks/bench_checks.py",
            *(["--skip-serial"] if skip_serial else []),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=900,
    )
    conc = serial = None
    for line in out.stdout.splitlines():
        if line.startswith("concurrent"):
            conc = float(line.split(":")[1].split(" s")[0])
        elif line.startswith("one lookup at a time"):
            serial = float(line.split(":")[1].split(" s")[0])
    assert conc is not None, out.stdout
    ref = f"one at a time {fmt_s(serial)}" if serial else "one at a time: skipped"
    ratio = f"{conc / serial:.3f}× ({serial / conc:.0f}× faster)" if serial else "—"
    return Row(
        "-",
        "DNS checks: 200 domains + 20 IPs on 8 zones, 50 ms answers",
        fmt_s(conc),
        ref,
        ratio,
        "< 3 s",
        "met" if conc < 3 else "missed",
    )


def print_table(rows: list[Row]) -> None:
    """The results as a Markdown table (README's Performance section takes it as is)."""
    head = ["scale", "what", "measured", "reference (same run)", "ratio", "target", "verdict"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(
            f"| {r.scale} | {r.what} | {r.measured} | {r.reference} | {r.ratio} | {r.target} | {r.verdict} |"
        )


def machine() -> str:
    """One line about the machine."""
    cpus = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{platform.machine()}, {cpus} CPUs{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}"


def main(argv: list[str] | None = None) -> int:
    """Run everything and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", choices=("S", "L", "both"), default="both")
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
    scales = ["S", "L"] if args.scale == "both" else [args.scale]
    rows: list[Row] = []
    started = datetime.now()
    if args.long_session:
        for scale in scales:
            db, _built, _fresh = build_or_reuse(scale, args.cache)
            print(f"{scale}: long session …", file=sys.stderr, flush=True)
            rows += long_session(scale, db, args.cycles)
        print(
            f"Measured {started:%Y-%m-%d %H:%M} on {machine()}; command: "
            f"python -m tests.benchmarks.run --long-session --scale {args.scale}\n"
        )
        print_table(rows)
        return 0
    for scale in scales:
        db, built, fresh = build_or_reuse(scale, args.cache)
        rows.append(
            Row(
                scale,
                f"build the {scale} demo database ({db.stat().st_size / 1e9:.2f} GB)",
                fmt_s(built),
                "—",
                "—",
                "minutes",
                "met" if built < 600 else "missed",
            )
        )
        if not fresh:
            rows[-1].what += ", time of its build"
        for step in (cold_start, drill_down):
            print(f"{scale}: {step.__name__} …", file=sys.stderr, flush=True)
            rows.append(step(scale, db))
        print(f"{scale}: paging …", file=sys.stderr, flush=True)
        rows += paging(scale, db)
        print(f"{scale}: release …", file=sys.stderr, flush=True)
        rows.append(release(scale, db))
    print("classification …", file=sys.stderr, flush=True)
    rows.append(classification())
    print("DNS checks …", file=sys.stderr, flush=True)
    rows.append(dns_checks(args.skip_serial_dns))
    print(
        f"Measured {started:%Y-%m-%d %H:%M} on {machine()}; command: python -m tests.benchmarks.run\n"
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
