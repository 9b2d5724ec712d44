"""``lmtriage check``: DNS, blocklist, SPF, DMARC and DKIM checks from the command line.

Exit status: 0 when no check fails (warnings and "not tested" included), 1 when at least one
check fails, 2 when the checks could not run (bad arguments, no resolver).

Targets are built by :func:`targets_from_args`, the one place to extend (e.g. with targets
read from the database for ``--stream``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tui.commands.common import add_common_options, add_format_option
from tui.commands.output import emit
from tui.errors import ConfigError

if TYPE_CHECKING:  # the check engine loads when a check runs, not with every command
    from tui.checks.block_checks import BlockTarget
    from tui.checks.results import CheckResult
    from tui.checks.sender_checks import SenderTarget
    from tui.checks.settings import CheckSettings

COLUMNS = ("check", "subject", "status", "reason")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``check`` subcommand."""
    p = subparsers.add_parser(
        "check",
        help="check MX, rDNS, blocklists, SPF, DMARC and DKIM for a blocked stream",
        description=(
            "Check why a receiving domain may block stream IPs: its MX hosts, the IPs' PTR, "
            "FCrDNS, HELO and blocklist listings, and the sender domains' SPF, DMARC and DKIM. "
            "Exit 0 when nothing fails, 1 when a check fails, 2 when the checks cannot run."
        ),
    )
    add_common_options(p)
    p.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="D",
        help="blocking receiving domain (repeatable)",
    )
    p.add_argument(
        "--ip", nargs="+", action="extend", default=[], metavar="IP", help="stream IPs to check"
    )
    p.add_argument(
        "--blocking-mx",
        nargs="+",
        action="extend",
        default=[],
        metavar="IP",
        help="MX IPs recorded as blocking (checked against the domain's current MX)",
    )
    p.add_argument(
        "--sender-domain",
        nargs="+",
        action="extend",
        default=[],
        metavar="S",
        help="header-From domains for SPF/DMARC/DKIM",
    )
    p.add_argument(
        "--dkim-selector",
        action="append",
        default=[],
        metavar="SEL",
        help="DKIM selector (repeatable)",
    )
    p.add_argument(
        "--dkim-key", metavar="FILE", help="private key (PEM) of the one --dkim-selector"
    )
    p.add_argument(
        "--nameserver",
        nargs="+",
        action="extend",
        default=[],
        metavar="HOST[:PORT]",
        help="resolver for ordinary records (default: config, then /etc/resolv.conf)",
    )
    p.add_argument(
        "--dnsbl-nameserver",
        nargs="+",
        action="extend",
        default=[],
        metavar="HOST[:PORT]",
        help="resolver for blocklists (public resolvers are refused by Spamhaus)",
    )
    p.add_argument(
        "--dnsbl-zone",
        nargs="+",
        action="extend",
        default=[],
        metavar="ZONE",
        help="blocklist zones (replace the default list)",
    )
    p.add_argument("--helo", metavar="NAME", help="HELO name the stream IPs use")
    p.add_argument(
        "--mail-from", metavar="ADDR", help="envelope sender; SPF is checked for its domain"
    )
    p.add_argument(
        "--timeout", type=float, metavar="S", help="seconds one check may take (default 5)"
    )
    p.add_argument(
        "--stream",
        metavar="NAME",
        help="take IPs, blocked domains and DKIM selectors from the database for this stream "
        "(ALL for every stream); implied by --db",
    )
    p.add_argument(
        "--demo-dns",
        action="store_true",
        help="answer from the bundled offline demo zones on loopback instead of real DNS",
    )
    add_format_option(p, choices=("table", "json"), why_not="no CSV: each result carries nested details")
    p.set_defaults(run=run)


def load_check_settings(args: argparse.Namespace) -> CheckSettings:
    """The ``[checks]`` table of the config file (``--config``, ``$LMTRIAGE_CONFIG``, or the
    default path), read through :func:`tui.config.load_config`."""
    from tui.checks.settings import CheckSettings
    from tui.config import load_config

    config = load_config(db=getattr(args, "db", None), config=getattr(args, "config", None))
    for warning in config.warnings:
        print(f"lmtriage: warning: {warning}", file=sys.stderr)
    return CheckSettings.from_mapping(config.checks)


def settings_from_args(
    args: argparse.Namespace, base: CheckSettings | None = None
) -> CheckSettings:
    """``base`` (default: the config file) with the command-line flags applied."""
    from tui.checks.settings import normalize_domain, parse_hostport

    settings = base if base is not None else load_check_settings(args)
    changes: dict[str, object] = {}
    if args.nameserver:
        changes["nameservers"] = [parse_hostport(n, key="--nameserver") for n in args.nameserver]
    if args.dnsbl_nameserver:
        changes["dnsbl_nameservers"] = [
            parse_hostport(n, key="--dnsbl-nameserver") for n in args.dnsbl_nameserver
        ]
    if args.dnsbl_zone:
        changes["dnsbl_zones"] = [normalize_domain(z, "--dnsbl-zone") for z in args.dnsbl_zone]
    if args.timeout is not None:
        if not args.timeout > 0:
            raise ConfigError("--timeout: must be a number of seconds > 0")
        changes["timeout"] = float(args.timeout)
    if args.helo:
        changes["helo_default"] = normalize_domain(args.helo, "--helo")
    if args.mail_from:
        if "@" not in args.mail_from:
            raise ConfigError("--mail-from: must be an address like bounce@example.com")
        changes["mail_from"] = args.mail_from
    return settings.copy(**changes)


def _read_key(path: str, flag: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from None


def targets_from_args(
    args: argparse.Namespace, settings: CheckSettings | None = None
) -> tuple[list[BlockTarget], list[SenderTarget]]:
    """Block and sender targets from the flags (and the config's sender domains, selectors
    and keys). Raises :class:`ConfigError` when there is nothing to check."""
    from tui.checks.block_checks import BlockTarget
    from tui.checks.sender_checks import DkimSelector, SenderTarget
    from tui.checks.settings import CheckSettings, normalize_domain, normalize_ip

    settings = settings or CheckSettings()
    ips = list(dict.fromkeys(normalize_ip(ip, "--ip") for ip in args.ip))
    mx_ips = [normalize_ip(ip, "--blocking-mx") for ip in args.blocking_mx]
    domains = list(dict.fromkeys(normalize_domain(d, "--domain") for d in args.domain))
    helo = args.helo or None

    blocks = [BlockTarget(d, ips, mx_ips, helo) for d in domains]
    if ips and not domains:
        blocks.append(BlockTarget(None, ips, [], helo))
    if mx_ips and not domains:
        raise ConfigError("--blocking-mx: needs --domain")

    sender_domains = [normalize_domain(d, "--sender-domain") for d in args.sender_domain]
    sender_domains = list(dict.fromkeys(sender_domains or settings.sender_domains))
    selector_names = list(dict.fromkeys(args.dkim_selector or settings.dkim_selectors))
    if args.dkim_key and len(args.dkim_selector) != 1:
        raise ConfigError("--dkim-key: give exactly one --dkim-selector for the key")
    if selector_names and not sender_domains:
        raise ConfigError("--dkim-selector: needs --sender-domain (or checks.sender_domains)")
    senders = []
    for domain in sender_domains:
        selectors = []
        for name in selector_names:
            path = args.dkim_key if args.dkim_key else settings.dkim_key_path(name, domain)
            pem = (
                _read_key(path, "--dkim-key" if args.dkim_key else "checks.dkim_keys")
                if path
                else None
            )
            selectors.append(DkimSelector(name, pem, "config" if pem else "user"))
        senders.append(
            SenderTarget(domain, ips, selectors, settings.mail_from, helo, blocked_by=domains)
        )
    if not blocks and not senders:
        raise ConfigError("nothing to check: give --domain, --ip or --sender-domain")
    return blocks, senders


def _start_demo() -> tuple[list[tuple[str, int]], Callable[[], None]]:
    from tui.checks.demo_zone import start_demo_dns

    host, port, stop = start_demo_dns()
    return [(host, port)], stop


def targets_from_database(
    args: argparse.Namespace,
) -> tuple[CheckSettings, list[BlockTarget], list[SenderTarget]]:
    """``--db``/``--stream``: the stream's IPs, its blocked domains (or ``--domain``) with the
    blocking MX IPs recorded for them, and ListManager's DKIM domains and selectors; flags
    given explicitly still win. On the demo database the demo DNS server answers."""
    from tui.checks.block_checks import BlockTarget
    from tui.checks.settings import normalize_domain, normalize_ip
    from tui.commands.common import open_core
    from tui.db.queries import find_stream, stream_ips
    from tui.triage import check_sources

    core = open_core(args)
    try:
        settings = settings_from_args(args, check_sources.check_settings(core))
        with core.connect() as conn:
            stream = None
            if args.stream and args.stream.upper() != "ALL":
                stream = find_stream(core.schema, conn, args.stream)
            sid = stream.id if stream else None
            ips = [normalize_ip(ip, "--ip") for ip in args.ip] or stream_ips(core.schema, conn, sid)
            domains = [normalize_domain(d, "--domain") for d in args.domain]
            domains = domains or check_sources.blocked_domains_of_stream(core, conn, sid)
            blocks = [
                BlockTarget(
                    d, ips, check_sources.blocking_mx_ips(core, conn, sid, d), args.helo or None
                )
                for d in domains
            ]
            if args.sender_domain or args.dkim_selector:
                _, senders = targets_from_args(args, settings)
            else:
                senders = check_sources.sender_targets(
                    core, conn, stream, settings, blocked_by=domains
                )
    finally:
        core.close()
    if not blocks and not senders:
        raise ConfigError("nothing to check: the stream has no blocks and no sending domains")
    return settings, blocks, senders


def run(args: argparse.Namespace) -> int:
    """Run the checks and print them; see the module doc for the exit status."""
    from tui.checks.results import FAIL
    from tui.checks.runner import run_checks

    if args.stream or getattr(args, "db", None):
        settings, blocks, senders = targets_from_database(args)
    else:
        settings = settings_from_args(args)
        blocks, senders = targets_from_args(args, settings)
    stop: Callable[[], None] | None = None
    if getattr(args, "demo_dns", False):
        servers, stop = _start_demo()
        settings = settings.copy(nameservers=servers, dnsbl_nameservers=servers)
    try:
        settings.resolved_nameservers()  # ConfigError (exit 2) when there is no resolver
        results = asyncio.run(run_checks(blocks, senders, settings))
    finally:
        if stop is not None:
            stop()
    print_results(results, args.format)
    return 1 if any(r.status == FAIL for r in results) else 0


def print_results(results: list[CheckResult], fmt: str) -> None:
    """Table (check, subject, status, reason, then a summary line) or JSON."""
    from tui.checks.results import summarize

    summary = summarize(results)
    rows = [
        {"check": r.check, "subject": r.subject, "status": r.status, "reason": r.reason}
        for r in results
    ]
    if fmt == "json":
        emit(
            rows,
            "json",
            COLUMNS,
            json_value={"results": [r.to_json() for r in results], "summary": summary},
        )
        return
    emit(rows, "table", COLUMNS, max_width={"subject": 50}, empty_message="no checks ran")
    print(
        f"{summary['pass']} pass, {summary['warn']} warn, {summary['fail']} fail, "
        f"{summary['not_tested']} not tested"
    )
