"""Benchmark: block checks for 200 domains and 20 stream IPs on 8 blocklist zones.

The loopback DNS server runs as a subprocess and adds 50 ms to every answer. The same checks
run twice: with the concurrent engine (default concurrency) and one lookup at a time
(concurrency 1). Run::

    python tests/benchmarks/bench_checks.py [--domains 200] [--ips 20] [--delay-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tui.checks.block_checks import BlockTarget, dnsbl_query_name  # noqa: E402
from tui.checks.results import summarize  # noqa: E402
from tui.checks.runner import run_checks  # noqa: E402
from tui.checks.settings import CheckSettings  # noqa: E402

SOA = "@ SOA ns.bench.test. h.bench.test. 1 3600 600 86400 60\n@ NS ns.bench.test.\n"
ZONES = [f"bl{i}.bench" for i in range(8)]


def write_zones(directory: Path, domains: int, ips: int) -> tuple[list[str], list[str]]:
    """Receiving domains with two MX hosts each, IPs with PTR + A, and 8 blocklists."""
    names = [f"dom{i}.test" for i in range(domains)]
    stream_ips = [f"192.0.2.{i + 1}" for i in range(ips)]
    for i, name in enumerate(names):
        a, b = f"198.51.100.{i % 250 + 1}", f"203.0.113.{i % 250 + 1}"
        (directory / f"{name}.zone").write_text(
            f"$TTL 300\n{SOA}@ MX 10 mx1\n@ MX 20 mx2\nmx1 A {a}\nmx2 A {b}\n"
        )
    ptrs = "".join(
        f"{ip.split('.')[-1]} PTR mta{ip.split('.')[-1]}.bench.test.\n" for ip in stream_ips
    )
    (directory / "2.0.192.in-addr.arpa.zone").write_text(f"$TTL 300\n{SOA}{ptrs}")
    forwards = "".join(f"mta{ip.split('.')[-1]} A {ip}\n" for ip in stream_ips)
    (directory / "bench.test.zone").write_text(f"$TTL 300\n{SOA}ns A 127.0.0.1\n{forwards}")
    for n, zone in enumerate(ZONES):
        listed = stream_ips[n % len(stream_ips)]
        name = dnsbl_query_name(listed, zone)
        (directory / f"{zone}.zone").write_text(
            f'$TTL 300\n{SOA}2.0.0.127 A 127.0.0.2\n{name}. A 127.0.0.2\n{name}. TXT "listed"\n'
        )
    return names, stream_ips


def start_server(zone_dir: Path, delay_ms: float) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.checks.dns_server",
            "--port",
            "0",
            "--zone-dir",
            str(zone_dir),
            "--delay-ms",
            str(delay_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on"):
        proc.kill()
        raise SystemExit(f"DNS server did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


async def timed_run(
    targets: list[BlockTarget], settings: CheckSettings
) -> tuple[float, dict[str, int], int]:
    started = time.perf_counter()
    results = await run_checks(targets, [], settings)
    return time.perf_counter() - started, summarize(results), len(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=200)
    parser.add_argument("--ips", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--skip-serial", action="store_true", help="only the concurrent run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        domains, ips = write_zones(Path(tmp), args.domains, args.ips)
        proc, port = start_server(Path(tmp), args.delay_ms)
        try:
            server = [("127.0.0.1", port)]
            base = CheckSettings(
                nameservers=server,
                dnsbl_nameservers=server,
                dnsbl_zones=list(ZONES),
                timeout=10.0,
                retries=0,
                deadline=900.0,
            )
            helo = {ip: f"mta{ip.split('.')[-1]}.bench.test" for ip in ips}
            targets = [BlockTarget(d, ips, [], helo) for d in domains]
            # MX + A/AAAA of 2 hosts; PTR, FCrDNS, HELO and one lookup per zone; probes; TXT.
            lookups = args.domains * 5 + args.ips * (3 + len(ZONES)) + 2 * len(ZONES)
            print(
                f"{args.domains} domains, {args.ips} stream IPs, {len(ZONES)} blocklist zones, "
                f"{args.delay_ms:g} ms per answer, about {lookups} lookups"
            )
            conc = base.copy(concurrency=args.concurrency)
            t_conc, summary, count = asyncio.run(timed_run(targets, conc))
            print(
                f"concurrent (concurrency {args.concurrency}): {t_conc:.2f} s  {count} results {summary}"
            )
            if summary["not_tested"]:
                print("warning: some checks were not tested (timeouts?)")
            if not args.skip_serial:
                t_serial, summary, count = asyncio.run(timed_run(targets, base.copy(concurrency=1)))
                print(f"one lookup at a time:        {t_serial:.2f} s  {count} results {summary}")
                print(f"speed-up: {t_serial / t_conc:.1f}x")
            print(f"target < 3 s for the concurrent run: {'met' if t_conc < 3 else 'MISSED'}")
        finally:
            proc.terminate()
            proc.wait(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
