"""``lmtriage status``: Nagios/Icinga exit codes, status line and perfdata; Prometheus text
parsed by prometheus_client; on the demo database (SQLite and PostgreSQL) and the hand-built
one. Every figure is checked against a SQL query of its own."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DEMO_NOW
from tui.cli import main
from tui.textsafe import printable

LINE = re.compile(r"^LMTRIAGE (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]*)(?: \| (.*))?$")
# Nagios plugin guidelines: 'label'=value[UOM];[warn];[crit];[min];[max]
PERF = re.compile(r"^('[^']+'|[^'= ][^= ]*)=(-?[0-9.]+)(s|%|B|KB|MB|TB|c)?;([0-9.]*);([0-9.]*);([0-9.]*);([0-9.]*)$")
BLOCK_TABLES = ("lyrMailStreamBlockedDomains", "lyrMailStreamBlockedIPs")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def perfdata(text: str) -> dict[str, tuple[float, str, str, str]]:
    out = {}
    for item in text.split():
        m = PERF.match(item)
        assert m, f"not Nagios perfdata: {item!r}"
        out[m.group(1).strip("'")] = (float(m.group(2)), m.group(4), m.group(5), m.group(6))
    return out


def counts(demo) -> tuple[int, int, datetime]:
    """Domain rows, IP pairs, smallest BlockedSince: straight from SQL."""
    with demo.engine.connect() as conn:
        n = [conn.execute(sa.select(sa.func.count()).select_from(demo.table(t))).scalar() for t in BLOCK_TABLES]
        oldest = min(
            conn.execute(sa.select(sa.func.min(demo.table(t).c.BlockedSince))).scalar()
            for t in BLOCK_TABLES
        )
    return n[0], n[1], oldest


def test_nagios_warns_on_any_block_by_default_with_perfdata(demo, capsys) -> None:
    domains, ips, oldest = counts(demo)
    code, out, _ = run(capsys, "status", *demo.args())
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 1
    m = LINE.match(lines[0])
    assert m and m.group(1) == "WARNING"
    assert f"{domains + ips} blocks ({domains} domain, {ips} IP pairs)" in m.group(2)
    perf = perfdata(m.group(3))
    assert perf["blocks"] == (domains + ips, "0", "", "0")
    assert perf["domain_blocks"][0] == domains and perf["ip_blocks"][0] == ips
    age = perf["oldest_block_age"][0]
    expected = (DEMO_NOW - oldest).total_seconds()  # the demo's clock is its anchor, ticking
    assert expected <= age <= expected + 120
    streams = {k: v[0] for k, v in perf.items() if k.startswith("stream_")}
    assert sum(streams.values()) == domains + ips


def test_nagios_thresholds_ok_warning_critical(demo, capsys) -> None:
    domains, ips, _ = counts(demo)
    total = domains + ips
    code, out, _ = run(
        capsys, "status", *demo.args("--warn", f"blocks={total}", "--crit", "age=3650d")
    )
    assert code == 0 and out.startswith("LMTRIAGE OK - ")
    code, out, _ = run(capsys, "status", *demo.args("--warn", f"blocks={total - 1}"))
    assert code == 1 and f"blocks {total} > {total - 1}" in out
    code, out, _ = run(
        capsys,
        "status",
        *demo.args("--warn", f"blocks={total - 1}", "--crit", f"ip_blocks={ips - 1},age=1d"),
    )
    assert code == 2 and out.startswith("LMTRIAGE CRITICAL - ")
    assert f"ip_blocks {ips} > {ips - 1}" in out and "oldest " in out
    perf = perfdata(LINE.match(out.strip()).group(3))
    assert perf["ip_blocks"][2] == str(ips - 1) and perf["oldest_block_age"][2] == "86400"


def test_nagios_ok_when_nothing_is_blocked(demo, capsys) -> None:
    with demo.engine.begin() as conn:
        for t in BLOCK_TABLES:
            conn.execute(sa.delete(demo.table(t)))
    code, out, _ = run(capsys, "status", *demo.args())
    assert code == 0
    assert out.startswith("LMTRIAGE OK - ") and "0 blocks" in out
    assert "oldest_block_age=0s;" in out


def test_unknown_when_the_database_is_unreachable(capsys) -> None:
    code, out, err = run(capsys, "status", "--db", "postgresql+psycopg://lm:secret@127.0.0.1:1/x")
    assert code == 3
    assert out.startswith("LMTRIAGE UNKNOWN - ") and len(out.splitlines()) == 1
    assert "secret" not in out + err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--warn", "blocks=many"],
        ["--warn", "blocks"],
        ["--crit", "files=3"],
        ["--warn", "age=-5m"],
        ["--warn", ""],
        ["--stream", ""],
    ],
)
def test_unknown_on_bad_options(sqlite_db, capsys, argv) -> None:
    code, out, _ = run(capsys, "status", *sqlite_db.args(*argv))
    assert code == 3 and out.startswith("LMTRIAGE UNKNOWN - ")


def test_usage_error_is_unknown_too(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["status", "--format", "xml"])
    assert exc.value.code == 3
    assert "LMTRIAGE UNKNOWN" in capsys.readouterr().out


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_prometheus_text_parses_and_adds_up(demo, capsys) -> None:
    domains, ips, oldest = counts(demo)
    code, out, _ = run(capsys, "status", *demo.args("--format", "prometheus"))
    assert code == 1  # the state is the Nagios state; the text is whole anyway
    families = _families(out)
    assert families["lmtriage_up"].samples[0].value == 1
    blocks = families["lmtriage_blocks"].samples
    assert sum(s.value for s in blocks) == domains + ips
    assert {s.labels["kind"] for s in blocks} == {"domain", "ip"}
    # Per stream and kind, as SQL counts them.
    with demo.engine.connect() as conn:
        streams = demo.table("lyrMailStreams")
        names = dict(conn.execute(sa.select(streams.c.MailStreamID, streams.c.Name)).all())
        for kind, t in zip(("domain", "ip"), BLOCK_TABLES, strict=True):
            table = demo.table(t)
            for sid, n in conn.execute(sa.select(table.c.MailStreamID, sa.func.count()).group_by(table.c.MailStreamID)):
                got = sum(s.value for s in blocks if s.labels["stream"] == names[sid] and s.labels["kind"] == kind)
                assert got == n
        attempts = demo.table("lyrDeliveryAttemptLog")
        code_col = attempts.c.SMTPResponseCode
        failed = conn.execute(
            sa.select(sa.func.count()).where(
                attempts.c.AttemptTime >= DEMO_NOW - timedelta(days=7),
                attempts.c.AttemptTime <= DEMO_NOW + timedelta(minutes=2),
                sa.or_(code_col >= 400, code_col.is_(None)),
            )
        ).scalar()
    by_category = families["lmtriage_attempts_failed"].samples
    assert sum(s.value for s in by_category) == failed
    assert {"rate_limit", "dnsbl_listing"} <= {s.labels["category"] for s in by_category}
    assert {s.labels["category"] for s in blocks} >= {"rate_limit", "dnsbl_listing"}
    age = families["lmtriage_oldest_block_age_seconds"].samples[0].value
    assert (DEMO_NOW - oldest).total_seconds() <= age <= (DEMO_NOW - oldest).total_seconds() + 120
    assert families["lmtriage_window_seconds"].samples[0].value == 7 * 86400


def test_prometheus_file_is_written_whole_and_says_down(sqlite_db, tmp_path: Path, capsys) -> None:
    target = tmp_path / "lmtriage.prom"
    code, out, _ = run(
        capsys, "status", *sqlite_db.args("--format", "prometheus", "-o", str(target))
    )
    assert code == 1 and out == ""
    assert _families(target.read_text())["lmtriage_blocks_by_kind"].samples
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    code, _, _ = run(
        capsys,
        "status",
        "--db",
        "postgresql+psycopg://lm@127.0.0.1:1/x",
        "--format",
        "prometheus",
        "-o",
        str(target),
    )
    families = _families(target.read_text())
    assert code == 3 and families["lmtriage_up"].samples[0].value == 0
    assert "lmtriage_blocks" not in families


def test_prometheus_labels_survive_hostile_stream_names(lm_db, capsys) -> None:
    hostile = 'tx "quoted" back\\slash \x1b[31mred\x1b[0m\nnext {x="y"} [bold]b[/bold]'
    table = "lyrMailStreams" if lm_db.backend == "sqlite" else "lyrmailstreams"
    name_col = "Name" if lm_db.backend == "sqlite" else "name"
    id_col = "MailStreamID" if lm_db.backend == "sqlite" else "mailstreamid"
    with lm_db.engine.begin() as conn:
        conn.execute(
            sa.text(f"update {table} set {name_col} = :n where {id_col} = 3"), {"n": hostile}
        )
    code, out, _ = run(capsys, "status", *lm_db.args("--format", "prometheus"))
    assert code == 1 and "\x1b" not in out
    streams = {s.labels["stream"] for s in _families(out)["lmtriage_blocks"].samples}
    assert printable(hostile, max_chars=200) in streams
    code, out, _ = run(capsys, "status", *lm_db.args())
    assert "\x1b" not in out and len(out.splitlines()) == 1
    assert LINE.match(out.strip())


def test_json_status(lm_db, capsys) -> None:
    code, out, _ = run(capsys, "status", *lm_db.args("--format", "json", "--crit", "blocks=5"))
    data = json.loads(out)
    assert code == 2 and data["state"] == "CRITICAL" and data["exit_code"] == 2
    assert data["blocks"] == 10 and data["domain_blocks"] == 4 and data["ip_blocks"] == 6
    assert data["oldest_block"]["domain"] == "hotmail.com"  # blocked 30 hours ago
    assert 30 * 3600 - 5 <= data["oldest_block"]["age_seconds"] <= 30 * 3600 + 120
    assert sum(r["blocks"] for r in data["blocks_by_category"]) == 10


def test_status_of_a_profile_names_it(sqlite_db, tmp_path: Path, capsys) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text(
        sqlite_db.config.read_text()
        + f'\n[profiles.east]\nurl = "{sqlite_db.url}"\n[profiles.west]\nurl = "sqlite:///{tmp_path}/none.sqlite"\n'
    )
    config.chmod(0o600)
    code, out, _ = run(capsys, "status", "--config", str(config), "-p", "east")
    assert code == 1 and out.startswith("LMTRIAGE WARNING - east: 10 blocks")
    code, out, _ = run(capsys, "status", "--config", str(config), "-p", "west")
    assert code == 3 and out.startswith("LMTRIAGE UNKNOWN - ")
