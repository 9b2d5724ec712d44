"""``lmtriage check`` through argparse against the loopback server: exit codes and JSON."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

import pytest

from tui.commands import check
from tui.commands.common import add_common_options
from tui.errors import LmError

if TYPE_CHECKING:
    from tests.checks.conftest import DnsEnv


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LMTRIAGE_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def run_cli(argv: list[str]) -> int:
    """What ``tui.cli.main`` does, with only the check command registered."""
    parser = argparse.ArgumentParser(prog="lmtriage")
    add_common_options(parser, top_level=True)
    check.register(parser.add_subparsers(dest="command"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.run(args) or 0)
    except LmError as err:
        return err.exit_code


def ns(env: DnsEnv) -> list[str]:
    server = f"127.0.0.1:{env.port}"
    return ["--nameserver", server, "--dnsbl-nameserver", server, "--dnsbl-zone", "zen.test"]


def test_clean_ip_exits_0_with_json(dns_env: DnsEnv, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(
        [
            "check",
            "--ip",
            dns_env.GOOD_IP,
            "--helo",
            "mta1.example.test",
            *ns(dns_env),
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"results", "summary"}
    assert set(out["summary"]) == {"pass", "warn", "fail", "not_tested"}
    assert out["summary"]["fail"] == 0
    first = out["results"][0]
    assert set(first) == {"check", "subject", "status", "reason", "evidence", "details"}
    checks = {(r["check"], r["status"]) for r in out["results"]}
    assert ("ptr", "pass") in checks and ("dnsbl", "pass") in checks and ("helo", "pass") in checks


def test_failure_exits_1_with_table(dns_env: DnsEnv, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(
        [
            "check",
            "--domain",
            "recv.test",
            "--ip",
            dns_env.LISTED_IP,
            dns_env.NO_PTR_IP,
            "--blocking-mx",
            "198.51.100.10",
            "--sender-domain",
            "example.test",
            "--dkim-selector",
            "good",
            *ns(dns_env),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["CHECK", "SUBJECT", "STATUS", "REASON"]
    assert any(line.startswith("dnsbl") and "fail" in line for line in lines)
    assert any(line.startswith("dkim-record") for line in lines)
    assert "fail," in lines[-1]


def test_dkim_key_file(dns_env: DnsEnv, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "good.pem"
    key.write_text(dns_env.keys.good)
    code = run_cli(
        [
            "check",
            "--sender-domain",
            "good.test",
            "--dkim-selector",
            "good",
            "--dkim-key",
            str(key),
            *ns(dns_env),
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    # good.test publishes no "good" selector: with a key that is a failure, not a guess.
    record = [r for r in out["results"] if r["check"] == "dkim-record"][0]
    assert record["status"] == "fail"
    assert code == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],  # nothing to check
        ["check", "--ip", "192.0.2.1", "--nameserver", "resolver.example"],
        ["check", "--ip", "192.0.2.1", "--nameserver", "127.0.0.1:99999"],
        ["check", "--ip", "not-an-ip", "--nameserver", "127.0.0.1"],
        ["check", "--ip", "192.0.2.1", "--timeout", "0", "--nameserver", "127.0.0.1"],
        [
            "check",
            "--sender-domain",
            "x.test",
            "--dkim-key",
            "/nonexistent.pem",
            "--dkim-selector",
            "s",
            "--nameserver",
            "127.0.0.1",
        ],
        ["check", "--ip", "192.0.2.1", "--format", "xml"],
        ["check", "--ip", "192.0.2.1", "--config", "/nonexistent/config.toml"],
    ],
)
def test_cannot_run_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(argv) == 2


def test_no_resolver_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.checks.settings.system_nameservers", lambda path="": [])
    assert run_cli(["check", "--ip", "192.0.2.1"]) == 2


def test_config_file_checks_table(
    dns_env: DnsEnv, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[checks]\nnameservers = ["127.0.0.1:{dns_env.port}"]\ndnsbl_zones = ["zen.test"]\n'
        'sender_domains = ["example.test"]\ntimeout = 2\n'
    )
    code = run_cli(["check", "--config", str(config), "--ip", dns_env.GOOD_IP, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert {r["check"] for r in out["results"]} >= {"ptr", "dnsbl", "spf", "dmarc"}
    assert code == 0  # p=none is a warning, SPF passes for the good IP
    config.write_text("[checks]\ntimeout = 'soon'\n")
    assert run_cli(["check", "--config", str(config), "--ip", dns_env.GOOD_IP]) == 2


def test_hostile_txt_is_escaped(dns_env: DnsEnv, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.checks.results import CheckResult

    result = CheckResult("dnsbl", "x", "fail", "listed \x1b[31mred", ("TXT \x1b]0;title\x07",))
    check.print_results([result], "table")
    check.print_results([result], "json")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out


def test_demo_dns(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(
        [
            "check",
            "--demo-dns",
            "--domain",
            "yahoo.com",
            "--ip",
            "198.51.100.21",
            "--blocking-mx",
            "198.51.100.112",
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    by_check = {(r["check"], r["subject"]): r["status"] for r in out["results"]}
    assert by_check[("dnsbl", "198.51.100.21 on zen.spamhaus.org")] == "fail"
    assert by_check[("blocking-mx", "yahoo.com MX 198.51.100.112")] == "warn"
    assert code == 1
