"""``lmtriage explain`` and ``lmtriage allowlist-request`` on the hand-built database."""

from __future__ import annotations

import json

from tui.cli import main


def test_explain_json(sqlite_db, capsys) -> None:
    code = main(
        [
            "explain",
            *sqlite_db.args("--domain", "hotmail.com", "--stream", "marketing", "--format", "json"),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out) == 3  # the domain block and its two IP pairs
    advice = out[0]["advice"]
    assert advice["category"] == "ip_reputation_block" and advice["provider"] == "microsoft"
    assert "S3140" in advice["headline"] or advice["provider_code"] == "S3140"
    assert advice["release"]["when"] in ("wait", "after-fix")


def test_explain_table_and_unknown_domain(sqlite_db, capsys) -> None:
    assert main(["explain", *sqlite_db.args("--domain", "yahoo.com")]) == 0
    out = capsys.readouterr().out
    assert "rate_limit" in out or "ip_reputation_block" in out
    assert main(["explain", *sqlite_db.args("--domain", "nowhere.example")]) == 1
    assert "no blocks for nowhere.example" in capsys.readouterr().err


def test_allowlist_request(sqlite_db, capsys, tmp_path) -> None:
    assert (
        main(
            ["allowlist-request", *sqlite_db.args("--domain", "yahoo.com", "--stream", "marketing")]
        )
        == 0
    )
    text = capsys.readouterr().out
    for ip in ("198.51.100.20", "198.51.100.21", "198.51.100.22"):
        assert ip in text
    assert "TSS04" in text and "<your name>" in text
    target = tmp_path / "req.txt"
    assert (
        main(["allowlist-request", *sqlite_db.args("--domain", "evil.example", "-o", str(target))])
        == 0
    )
    written = target.read_text()
    assert "\x1b" not in written and "[bold]boom[/bold]" in written
