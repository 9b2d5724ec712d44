"""``lmtriage classify``: replies one a line from a file or stdin, JSON Lines or a table."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tui.cli
import tui.commands
from tui.commands import classify as command
from tui.diagnose.listmanager_view import PATTERN_SUBSTRING, DaoDefinition, DaoMatcher

ROOT = Path(__file__).resolve().parents[2]
REPLIES = [
    "554 5.7.1 Service unavailable; Client host [46.255.225.252] blocked using zen.spamhaus.org",
    "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown",
    "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume",
]


class FakeStdin:
    """sys.stdin with a binary buffer, as a pipe gives it."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tui.cli.main`` with only this command registered (whatever the registry holds today)."""
    monkeypatch.setattr(tui.cli, "COMMAND_MODULES", ["tui.commands.classify"])


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = tui.cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lines_from_stdin(cli: None, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    data = ("\n".join(REPLIES) + "\n\n   \n").encode()
    monkeypatch.setattr(sys, "stdin", FakeStdin(data))
    code, out, err = main(capsys, "classify", "--format", "json")
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["category"] for r in records] == ["dnsbl_listing", "user_unknown", "rate_limit"]
    assert set(records[0]) == set(command.JSON_FIELDS)
    assert records[0]["blocklist"] == "zen.spamhaus.org"
    assert records[0]["ips"] == ["46.255.225.252"]
    assert records[2]["provider_code"] == "TSS04" and records[2]["provider"] == "yahoo"
    assert "<ip>" in records[0]["signature"]


def test_invalid_utf8_and_control_characters_do_not_crash(cli: None, monkeypatch, capsys) -> None:
    data = b"550 5.1.1 user unknown \xff\xfe\xfd\r\n\x1b]0;title\x07554 \x1b[31mspam\x1b[0m detected\x00\n"
    monkeypatch.setattr(sys, "stdin", FakeStdin(data))
    code, out, _ = main(capsys, "classify", "--format", "json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 2
    assert "\ufffd" in records[0]["text"] and records[0]["category"] == "user_unknown"
    assert records[1]["category"] == "content_spam"
    assert out.isascii()  # JSON escapes everything odd


def test_table_from_a_file(cli: None, tmp_path: Path, capsys) -> None:
    path = tmp_path / "replies.txt"
    long_reply = "550 5.7.1 Message rejected as spam " + "x" * 500
    path.write_text("\n".join([*REPLIES, long_reply, "\x1b[2Jevil"]) + "\n", encoding="utf-8")
    code, out, _ = main(capsys, "classify", "--file", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CATEGORY", "PROVIDER", "CODES", "BLOCKLIST", "REPLY"]
    assert len(lines) == 1 + 5
    assert (
        "dnsbl_listing" in lines[1] and "zen.spamhaus.org" in lines[1] and "554 5.7.1" in lines[1]
    )
    assert "TSS04" in lines[3]
    assert "…" in lines[4] and len(lines[4]) < 300  # long text cut
    assert "\x1b" not in out  # escapes shown, not executed


def test_empty_input_says_so(cli: None, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"\n \n"))
    code, out, _ = main(capsys, "classify")
    assert code == 0 and "no replies" in out


def test_dash_means_stdin(cli: None, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin(REPLIES[1].encode()))
    code, out, _ = main(capsys, "classify", "--file", "-", "--format", "json")
    assert code == 0 and json.loads(out)["category"] == "user_unknown"


def test_a_missing_file_is_one_line_and_exit_2(cli: None, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.txt"
    code, out, err = main(capsys, "classify", "--file", str(missing))
    assert code == 2 and out == ""
    assert err.strip() == f"lmtriage: error: cannot read {missing}: No such file or directory"
    code, _, err = main(capsys, "classify", "--file", str(tmp_path))
    assert code == 2 and err.startswith(f"lmtriage: error: cannot read {tmp_path}:")


def test_register_and_run_through_argparse(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    path = tmp_path / "r.txt"
    path.write_bytes(REPLIES[0].encode())
    args = parser.parse_args(["classify", "--file", str(path), "--format", "json"])
    assert args.run(args) == 0
    assert json.loads(capsys.readouterr().out)["category"] == "dnsbl_listing"


def test_classify_lines_adds_listmanager_status_with_a_matcher() -> None:
    matcher = DaoMatcher(
        [DaoDefinition(1, PATTERN_SUBSTRING, None, 2001, "user unknown")], {2001: "Invalid user"}
    )
    records = list(command.classify_lines(["", *REPLIES], matcher))
    assert len(records) == 3
    assert records[1]["listmanager_status"] == {"code": 2001, "label": "Invalid user"}
    assert records[0]["listmanager_status"] is None
    assert "listmanager_status" not in next(command.classify_lines(REPLIES))


def test_table_shows_listmanager_status_with_a_matcher(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    path = tmp_path / "r.txt"
    path.write_text("\n".join(REPLIES), encoding="utf-8")
    args = parser.parse_args(["classify", "--file", str(path)])
    matcher = DaoMatcher(
        [DaoDefinition(1, PATTERN_SUBSTRING, None, 2001, "user unknown")], {2001: "Invalid user"}
    )
    assert command.run(args, matcher=matcher) == 0
    out = capsys.readouterr().out
    assert "LISTMANAGER" in out.splitlines()[0] and "2001 Invalid user" in out


@pytest.mark.skipif(
    "tui.commands.classify" not in tui.commands.COMMAND_MODULES,
    reason="tui.commands.classify is not in COMMAND_MODULES yet",
)
def test_python_dash_m_tui_classify() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "classify", "--format", "json"],
        input="\n".join(REPLIES).encode() + b"\n\xff\n",
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert [json.loads(line)["category"] for line in lines[:3]] == [
        "dnsbl_listing",
        "user_unknown",
        "rate_limit",
    ]
