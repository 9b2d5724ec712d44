"""``lmtriage explain`` and ``lmtriage allowlist-request`` on the hand-built database."""

from __future__ import annotations

import json
import re
import sqlite3

from tui.cli import main
from tui.diagnose.allowlist import ROLE_ACCOUNTS


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


# --------------------------------------------------------------------------- issue 12

_ADDRESS = re.compile(r"([^\s<>(),;:\"@]+)@([A-Za-z0-9.-]+)")


def demo_recipient_locals(path) -> dict[str, set[str]]:  # noqa: ANN001
    """Receiving domain → every local part of an address quoted in a reply to it."""
    out: dict[str, set[str]] = {}
    db = sqlite3.connect(path)
    for domain, text in db.execute(
        "SELECT DISTINCT Domain, SMTPResponseText FROM lyrDeliveryAttemptLog "
        "WHERE SMTPResponseText LIKE '%@%'"
    ):
        for local, _host in _ADDRESS.findall(text or ""):
            local = local.strip("<[")
            if len(local) > 1 and local.lower() not in ROLE_ACCOUNTS:
                out.setdefault(domain.lower(), set()).add(local)
    db.close()
    return out


def test_allowlist_letters_of_the_demo_quote_no_recipient(demo_db, capsys) -> None:
    locals_by_domain = demo_recipient_locals(demo_db)
    assert sum(len(v) for v in locals_by_domain.values()) > 100
    db = sqlite3.connect(demo_db)
    domains = [r[0] for r in db.execute("SELECT DISTINCT Domain FROM lyrMailStreamBlockedDomains")]
    db.close()
    checked = 0
    for domain in domains:
        locals_ = locals_by_domain.get(domain.lower(), set())
        assert main(["allowlist-request", "--db", f"sqlite:///{demo_db}", "--domain", domain]) == 0
        text = capsys.readouterr().out
        for local in locals_:
            assert f"{local}@" not in text and f"<{local}" not in text, (domain, local)
        for local, _host in _ADDRESS.findall(text.split("Our request:")[0]):
            assert local.endswith("…") or local.lower() in ROLE_ACCOUNTS, (domain, local)
        assert "User unknown" not in text and "Greylist" not in text
        checked += bool(locals_)
    assert checked >= 5


def test_allowlist_is_about_one_stream(demo_db, capsys) -> None:
    url = f"sqlite:///{demo_db}"
    assert main(["allowlist-request", "--db", url, "--domain", "alpineconsulting.com"]) == 0
    text = capsys.readouterr().out
    ips = re.findall(r"^  (\d+\.\d+\.\d+\.\d+)", text, re.M)
    db = sqlite3.connect(demo_db)
    stream, since = db.execute(
        "SELECT b.MailStreamID, min(b.BlockedSince) FROM lyrMailStreamBlockedDomains b "
        "WHERE b.Domain = 'alpineconsulting.com'"
    ).fetchone()
    stream_ips = {
        r[0]
        for r in db.execute(
            "SELECT n.IPAddress FROM lyrNodeAddresses n JOIN lyrStreamHasAddress h "
            "ON h.NodeAddressID = n.NodeAddressID WHERE h.MailStreamID = ?",
            (stream,),
        )
    }
    first_ip = db.execute(
        "SELECT min(BlockedSince) FROM lyrMailStreamBlockedIPs WHERE Domain = "
        "'alpineconsulting.com' AND MailStreamID = ?",
        (stream,),
    ).fetchone()[0]
    db.close()
    assert set(ips) == stream_ips and len(ips) == 2
    start = min(since, first_ip)[:16]
    assert f"Since {start} your servers" in text
    assert "cannot find your hostname" in text


def test_allowlist_letter_weighs_every_ip_of_the_stream(demo_db, capsys) -> None:
    """comcast.net in stream default has no domain row; one IP gets PTR refusals, another a
    rate limit. The letter quotes both, so its "send it once this is fixed" must name the
    fixable PTR cause (it named the busiest pair's throttle)."""
    url = f"sqlite:///{demo_db}"
    code = main(["allowlist-request", "--db", url, "--domain", "comcast.net", "--stream", "default"])
    out = capsys.readouterr().out
    assert code == 0
    fixed = next(line for line in out.splitlines() if line.startswith("Note: send it once"))
    assert "PTR" in fixed and "rate limit" not in fixed
    assert "must have a PTR record" in out and "RL000001" in out


def test_blocks_show_failed_split_and_delivered(sqlite_db, capsys) -> None:
    assert main(["blocks", *sqlite_db.args("--kind", "domain", "--format", "json")]) == 0
    rows = {r["domain"]: r for r in json.loads(capsys.readouterr().out)}
    gmail = rows["gmail.com"]
    assert gmail["attempts"] == 9 and gmail["delivered"] == 3
    assert gmail["failed"] == gmail["deferred"] + gmail["rejected"] + gmail["no_code"] == 6
    assert main(["blocks", *sqlite_db.args("--kind", "domain")]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[header.index("FAILED") : header.index("FAILED") + 5] == [
        "FAILED", "4XX", "5XX", "NO", "CODE",
    ]  # fmt: skip


def test_explain_shows_the_split_and_the_reply_groups(sqlite_db, capsys) -> None:
    args = sqlite_db.args("--domain", "gmail.com", "--stream", "default", "--format", "json")
    assert main(["explain", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    first = out[0]
    assert first["block"]["failed"] == 6 and first["block"]["delivered"] == 3
    assert sum(g["count"] for g in first["replies"]) == first["block"]["failed"]
    assert all("texts" not in g and g["category"] for g in first["replies"])
    assert "of the 6 failed attempts in the window" in first["advice"]["explanation"]
    assert main(["explain", *sqlite_db.args("--domain", "gmail.com", "--stream", "default")]) == 0
    table = capsys.readouterr().out
    assert "in the window: 6 failed (" in table and ", 3 delivered" in table


def test_responses_group_by_signature_or_raw(sqlite_db, capsys) -> None:
    args = sqlite_db.args("--domain", "gmail.com", "--stream", "default")
    assert main(["responses", *args, "--format", "json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert main(["responses", *args, "--raw", "--format", "json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert sum(g["count"] for g in groups) == sum(r["count"] for r in raw) == 6
    assert {g["category"] for g in groups} and all(g["variants"] >= 1 for g in groups)
    assert main(["responses", *args]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split()[:3] == ["COUNT", "VARIANTS", "FIRST"] and "CATEGORY" in header
