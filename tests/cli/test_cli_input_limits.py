"""Empty, blank, negative and absurd inputs: refused in one line with exit status 2, before the
database is touched; nothing is ever released on the strength of an empty filter.

Once, ``lmtriage release --domain ""`` treated the empty value as "no filter" and released every
block on the server. Each case here runs against a real database (SQLite and PostgreSQL) and
checks the block tables are untouched afterwards.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.support import handmade
from tui.cli import main

ALL_BLOCKS = (len(handmade.DOMAIN_BLOCKS), len(handmade.IP_BLOCKS))


def counts(db) -> tuple[int, int]:  # noqa: ANN001
    names = ("lyrMailStreamBlockedDomains", "lyrMailStreamBlockedIPs")
    if db.backend == "postgresql":
        names = tuple(n.lower() for n in names)
    with db.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.text(f"select count(*) from {n}")).scalar() for n in names
        )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


EMPTY_CASES = [
    ("release", "--domain", "", "--yes"),
    ("release", "--domain", "   ", "--yes"),
    ("release", "--ip", " ", "--yes"),
    ("release", "--ip", "", "--dry-run"),
    ("release", "--all", "--stream", "", "--yes"),
    ("release", "--domain", "gmail.com", "--domain", "", "--yes"),
    ("responses", "--domain", ""),
    ("responses", "--domain", "gmail.com", "--ip", " "),
    ("responses", "--domain", "gmail.com", "--mx", ""),
    ("blocks", "--domain", ""),
    ("blocks", "--filter", " "),
    ("blocks", "--stream", ""),
    ("explain", "--domain", " "),
    ("dcl", "--domain", ""),
    ("allowlist-request", "--domain", ""),
]


@pytest.mark.parametrize("argv", EMPTY_CASES, ids=lambda a: " ".join(repr(x) for x in a))
def test_an_empty_filter_is_refused_and_releases_nothing(lm_db, capsys, argv) -> None:
    command, *rest = argv
    code, out, err = run(capsys, command, *lm_db.args(*rest))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmtriage: error: --")
    assert "empty value" in lines[0] and out == ""
    assert counts(lm_db) == ALL_BLOCKS


def test_empty_database_urls_are_errors_not_the_demo(
    sqlite_db, capsys, monkeypatch, tmp_path
) -> None:
    code, _, err = run(capsys, "--db", "", "blocks")
    assert code == 2 and err.count("\n") == 1 and "--db was given an empty" in err
    code, _, err = run(capsys, "blocks", "--db", " ")
    assert code == 2 and err.count("\n") == 1
    monkeypatch.setenv("LMTRIAGE_DB", "")
    code, _, err = run(capsys, "blocks")
    assert code == 2 and "$LMTRIAGE_DB is set but empty" in err and err.count("\n") == 1
    monkeypatch.delenv("LMTRIAGE_DB")
    config = tmp_path / "empty-url.toml"
    config.write_text('[database]\nurl = ""\n')
    config.chmod(0o600)
    code, _, err = run(capsys, "blocks", "--config", str(config))
    assert code == 2 and "[database] url is empty" in err and err.count("\n") == 1
    code, _, err = run(capsys, "blocks", "--config", "")
    assert code == 2 and "--config was given an empty" in err and err.count("\n") == 1
    monkeypatch.setenv("LMTRIAGE_CONFIG", " ")
    code, _, err = run(capsys, "blocks")
    assert code == 2 and "$LMTRIAGE_CONFIG is set but empty" in err and err.count("\n") == 1
    monkeypatch.delenv("LMTRIAGE_CONFIG")
    # The demo database was never built: no empty value fell back to it.
    assert not list(tmp_path.glob("home/data/lmtriage/demo.sqlite"))


def test_empty_audit_settings_are_errors_not_the_default_file(
    sqlite_db, capsys, monkeypatch, tmp_path
) -> None:
    """An empty audit location once fell back to the default audit file: a write audited where
    the admin did not ask."""
    for key in ("path", "url"):
        config = tmp_path / f"empty-audit-{key}.toml"
        config.write_text(f'[audit]\n{key} = ""\n')
        config.chmod(0o600)
        code, _, err = run(capsys, "doctor", "--config", str(config))
        assert code == 2 and f"[audit] {key} is empty" in err and err.count("\n") == 1
    monkeypatch.setenv("LMTRIAGE_AUDIT", "")
    code, _, err = run(capsys, "audit")
    assert code == 2 and "$LMTRIAGE_AUDIT is set but empty" in err and err.count("\n") == 1


LIMIT_CASES = [
    (("blocks", "--limit", "-1"), "--limit -1"),
    (("blocks", "--limit", "0"), "--limit 0"),
    (("blocks", "--limit", "99999999999"), "--limit 99999999999"),
    (("blocks", "--window", "100000d"), "longer than the limit of 3650d"),
    (("blocks", "--window=-5d"), "is not a duration"),
    (("blocks", "--window", "0d"), "more than zero"),
    (("responses", "--domain", "gmail.com", "--since", "99999999w"), "longer than the limit"),
    (("responses", "--domain", "gmail.com", "--limit", "-4"), "--limit -4"),
    (("explain", "--domain", "gmail.com", "--limit", "0"), "--limit 0"),
    (("audit", "--limit", "-3"), "--limit -3"),
    (("audit", "--limit", "0"), "--limit 0"),
    (("audit", "--event", "-1"), "--event -1"),
    (
        ("release", "--block", "domain:99999999999999999999999", "--dry-run"),
        "a block id is a number from 0 to",
    ),
    (("dcl", "--domain", "gmail.com", "--limit", "-2", "--yes"), "--limit -2"),
    (("dcl", "--domain", "gmail.com", "--limit", "5", "--per-hour", "0", "--yes"), "--per-hour 0"),
]


@pytest.mark.parametrize("argv, said", LIMIT_CASES, ids=lambda a: str(a))
def test_absurd_numbers_get_one_line(sqlite_db, capsys, argv, said) -> None:
    command, *rest = argv
    code, out, err = run(capsys, command, *sqlite_db.args(*rest))
    assert code == 2, err
    assert err.count("\n") == 1 and said in err and "Traceback" not in err
    assert out == ""


def test_limit_means_rows_in_all(lm_db, capsys) -> None:
    code, out, _ = run(capsys, "blocks", *lm_db.args("--limit", "3", "--format", "json"))
    assert code == 0 and len(json.loads(out)) == 3
    code, out, _ = run(capsys, "blocks", *lm_db.args("--limit", "5", "--format", "json"))
    data = json.loads(out)
    assert len(data) == 5 and {b["kind"] for b in data} == {"domain", "ip"}


BAD_DOMAINS = [
    "*",
    "%",
    "../x",
    "a" * 300,
    "gmail",
    "1.2.3.4",
    "x y.com",
    "_dmarc%.com",
    "*.gmail.com",
]


@pytest.mark.parametrize("domain", BAD_DOMAINS, ids=lambda d: repr(d[:12]))
def test_dcl_refuses_what_is_not_a_domain(lm_db, capsys, domain) -> None:
    code, _, err = run(capsys, "dcl", *lm_db.args("--domain", domain, "--limit", "3", "--yes"))
    assert code == 2 and err.count("\n") == 1 and "--domain" in err
    with lm_db.engine.connect() as conn:
        table = "domainconnectionlimits_"
        rows = conn.execute(sa.text(f"select count(*) from {table}")).scalar()
    assert rows == 1  # yahoo.com only, as built


def test_dcl_takes_an_idn_in_idna_2008_form(sqlite_db, capsys) -> None:
    code, out, err = run(
        capsys, "dcl", *sqlite_db.args("--domain", "Straße.de", "--limit", "3", "--yes")
    )
    assert code == 0, err
    assert out.startswith("xn--strae-oqa.de:")
    with sqlite_db.engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.text("select Domain_ from domainconnectionlimits_"))]
    assert "xn--strae-oqa.de" in names and "strasse.de" not in names


def test_a_bad_flag_prints_the_subcommands_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["blocks", "--bogus"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("usage: lmtriage blocks ") and "unrecognized arguments: --bogus" in err


def test_help_has_no_rest_markup(capsys) -> None:
    from tui.cli import build_parser
    from tui.commands.validate import subparser_of

    parser = build_parser()
    for command in ("blocks", "responses", "release", "audit", "doctor", "explain", "dcl"):
        text = subparser_of(parser, command).format_help()
        assert "``" not in text, command
