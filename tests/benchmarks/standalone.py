"""The figures that need no database: classification throughput and the DNS checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.benchmarks.table import Row, fmt_s, verdict

ROOT = Path(__file__).resolve().parents[2]


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
        "-",
        f"classification ({len(corpus):,} replies, {distinct:,} distinct), cold cache",
        f"{rate:,.0f} replies/s",
        "—",
        "—",
        "≥ 50,000 replies/s",
        verdict(rate >= 50_000),
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
        "-",
        "DNS checks: 200 domains + 20 IPs on 8 zones, 50 ms answers",
        fmt_s(conc),
        ref,
        ratio,
        "< 3 s",
        verdict(conc < 3),
    )
