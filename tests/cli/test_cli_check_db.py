"""``lmtriage check --db --stream``: targets from the database, answers from the demo DNS."""

from __future__ import annotations

import json

from tui.cli import main


def results_of(capsys, *argv: str) -> tuple[int, list[dict]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out)["results"] if out.strip() else []


def test_stream_checks_find_the_demo_listing(demo_db_path, capsys) -> None:
    code, results = results_of(
        capsys,
        "check",
        "--db",
        f"sqlite:///{demo_db_path}",
        "--stream",
        "marketing",
        "--format",
        "json",
    )
    assert code == 1  # the listing fails
    listed = [r for r in results if r["check"] == "dnsbl" and r["status"] == "fail"]
    assert {r["details"]["ip"] for r in listed} == {"198.51.100.13"}
    assert {r["details"]["zone"] for r in listed} == {"zen.spamhaus.org", "bl.spamcop.net"}
    spf = [r for r in results if r["check"] == "spf"]
    assert spf and all(r["status"] == "pass" for r in spf)  # only the stream's own From domain
    assert {r["check"] for r in results} >= {
        "mx",
        "blocking-mx",
        "ptr",
        "fcrdns",
        "helo",
        "dnsbl",
        "spf",
        "dmarc",
        "dkim-record",
    }


def test_stream_checks_find_the_mismatched_dkim_key(demo_db_path, capsys) -> None:
    code, results = results_of(
        capsys,
        "check",
        "--db",
        f"sqlite:///{demo_db_path}",
        "--stream",
        "transactional",
        "--format",
        "json",
    )
    mismatch = [r for r in results if r["check"] == "dkim-key-match"]
    assert code == 1 and [r["status"] for r in mismatch] == ["fail"]
    assert "UNSIGNED" in mismatch[0]["reason"]


def test_unknown_stream_is_one_line(demo_db_path, capsys) -> None:
    code = main(["check", "--db", f"sqlite:///{demo_db_path}", "--stream", "nope"])
    _, err = capsys.readouterr()
    assert code == 2 and "no MailStream named 'nope'" in err
