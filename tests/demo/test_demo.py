"""The demo database generator and ``lmtriage demo``: determinism, consistency, realism."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import sqlite3
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.cli import main
from tui.db.model import MODEL
from tui.demo import (
    DEMO_INFO_TABLE,
    GENERATOR_VERSION,
    build_demo_database,
    ensure_demo_database,
    read_demo_info,
)

NOW = datetime(2026, 11, 20, 12, 0, 0)
SMALL = {"attempts": 20_000, "blocks": 400, "domains": 300, "streams": 4}

# Words every reply behind a block at this provider carries.
PROVIDER_MARKS = {
    "gmail.com": r"gsmtp|google",
    "yahoo.com": r"yahoo",
    "aol.com": r"yahoo",
    "outlook.com": r"outlook\.com|microsoft|office\.com|live\.com|aka\.ms",
    "hotmail.com": r"outlook\.com|microsoft|office\.com|live\.com|aka\.ms",
    "live.com": r"outlook\.com|microsoft|office\.com|live\.com|aka\.ms",
    "msn.com": r"outlook\.com|microsoft|office\.com|live\.com|aka\.ms",
    "icloud.com": r"apple|proofpoint",
    "comcast.net": r"comcast",
    "orange.fr": r"OFR",
    "gmx.de": r"gmx",
    "web.de": r"web\.de|gmx",
}
BLOCK_STATUSES = (4002, 5001, 5002, 8002)


def digest(path: Path) -> str:
    """A hash of every table's rows in a fixed order, and of the index definitions."""
    h = hashlib.sha256()
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        for kind, name, sql in rows:
            h.update(repr((kind, name, sql)).encode())
            if kind != "table":
                continue
            ncols = len(conn.execute(f'SELECT * FROM "{name}" LIMIT 0').description)
            order = ", ".join(str(i + 1) for i in range(ncols))
            for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}'):
                h.update(repr(row).encode())
    finally:
        conn.close()
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    build_demo_database(path, seed=11, now=NOW, **SMALL)
    return path


@pytest.fixture(scope="module")
def db(demo: Path):  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(demo)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def manifest(db: sqlite3.Connection) -> dict:  # type: ignore[type-arg]
    (text,) = db.execute(f"SELECT value FROM {DEMO_INFO_TABLE} WHERE key = 'manifest'").fetchone()
    return json.loads(text)


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_database_and_other_seed_differs(demo: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.sqlite"
    other = tmp_path / "other.sqlite"
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"  # the local time zone must not matter
    time.tzset()
    try:
        summary = build_demo_database(again, seed=11, now=NOW, **SMALL)
    finally:
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
    build_demo_database(other, seed=12, now=NOW, **SMALL)
    assert digest(again) == digest(demo)
    assert digest(other) != digest(demo)
    assert summary.counts["lyrDeliveryAttemptLog"] == SMALL["attempts"]
    assert summary.counts["lyrMailStreamBlockedIPs"] == SMALL["blocks"]
    assert summary.anchor_time == NOW
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, nothing left behind


def test_info_table(db: sqlite3.Connection) -> None:
    info = dict(db.execute(f"SELECT key, value FROM {DEMO_INFO_TABLE}").fetchall())
    assert datetime.fromisoformat(info["anchor_time"]) == NOW
    assert info["seed"] == "11"
    assert info["version"] == GENERATOR_VERSION
    assert json.loads(info["scale"]) == SMALL


# --------------------------------------------------------------------------- blocks and evidence


def test_every_block_has_failing_attempts_behind_it(db: sqlite3.Connection) -> None:
    since = _ts(NOW - timedelta(days=7))
    missing_ip = db.execute(
        """SELECT b.BlockID FROM lyrMailStreamBlockedIPs b WHERE NOT EXISTS (
             SELECT 1 FROM lyrDeliveryAttemptLog a
             WHERE a.MailStreamID = b.MailStreamID AND a.SourceIP = b.IPAddress
               AND a.MXIP = b.BlockingMX AND a.AttemptTime >= ?
               AND (a.SMTPResponseCode >= 400 OR a.SMTPResponseCode IS NULL))""",
        (since,),
    ).fetchall()
    missing_domain = db.execute(
        """SELECT b.BlockID FROM lyrMailStreamBlockedDomains b WHERE NOT EXISTS (
             SELECT 1 FROM lyrDeliveryAttemptLog a
             WHERE a.MailStreamID = b.MailStreamID AND a.Domain = b.Domain AND a.AttemptTime >= ?
               AND (a.SMTPResponseCode >= 400 OR a.SMTPResponseCode IS NULL))""",
        (since,),
    ).fetchall()
    assert missing_ip == [] and missing_domain == []


def test_block_replies_read_like_the_provider_and_keep_one_cause(db: sqlite3.Connection) -> None:
    rows = db.execute(
        """SELECT b.BlockID, b.Domain, a.SMTPResponseText, a.CompletionStatusID, a.AttemptTime,
                  b.BlockedSince, a.MXHost
           FROM lyrMailStreamBlockedIPs b JOIN lyrDeliveryAttemptLog a
             ON a.MailStreamID = b.MailStreamID AND a.SourceIP = b.IPAddress
            AND a.MXIP = b.BlockingMX
           WHERE a.SMTPResponseCode >= 400 OR a.SMTPResponseCode IS NULL"""
    ).fetchall()
    statuses: dict[int, set[int]] = defaultdict(set)
    checked = 0
    for block_id, domain, text, status, _when, _since, mx_host in rows:
        if status in BLOCK_STATUSES:
            statuses[block_id].add(status)
        mark = PROVIDER_MARKS.get(domain)
        if mark and status in BLOCK_STATUSES:
            assert re.search(mark, text, re.IGNORECASE), (domain, text[:200])
            checked += 1
        if domain == "gmail.com":
            assert mx_host.endswith("gmail-smtp-in.l.google.com")
    assert checked > 20
    assert all(len(s) == 1 for s in statuses.values()), "a block mixes causes"
    # Replies come before BlockedSince and after it (re-probes), not only at one time.
    before = sum(1 for r in rows if r[3] in BLOCK_STATUSES and r[4] < r[5])
    after = sum(1 for r in rows if r[3] in BLOCK_STATUSES and r[4] > r[5])
    assert before > 100 and after > 100


def test_ip_block_pairs_are_stream_ips_and_domain_mx_ips(
    db: sqlite3.Connection,
    manifest: dict,  # type: ignore[type-arg]
) -> None:
    stream_ips: dict[int, set[str]] = defaultdict(set)
    for stream_id, ip in db.execute(
        "SELECT s.MailStreamID, n.IPAddress FROM lyrStreamHasAddress s "
        "JOIN lyrNodeAddresses n ON n.NodeAddressID = s.NodeAddressID"
    ):
        stream_ips[stream_id].add(ip)
    rows = db.execute(
        "SELECT MailStreamID, IPAddress, Domain, BlockingMX FROM lyrMailStreamBlockedIPs"
    ).fetchall()
    assert len(set(rows)) == len(rows)
    for stream_id, ip, domain, mx in rows:
        assert ip in stream_ips[stream_id]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("192.0.0.0/3")  # doc ranges
        assert any(ip.startswith(p) for p in ("192.0.2.", "198.51.100.", "203.0.113."))
        mx_ips = {m[2] for m in manifest["receiving_domains"][domain]["mx"]}
        assert mx in mx_ips
        assert ipaddress.ip_address(mx) in ipaddress.ip_network("198.18.0.0/15")
    domains = {r[2] for r in rows}
    assert {"gmail.com", "yahoo.com"} <= domains
    assert any(not d.endswith(tuple(PROVIDER_MARKS)) for d in domains)  # business domains too


def test_domain_blocks_match_fully_blocked_pairs(
    db: sqlite3.Connection,
    manifest: dict,  # type: ignore[type-arg]
) -> None:
    streams = {
        row[0]: set(manifest["streams"][row[1]])
        for row in db.execute("SELECT MailStreamID, Name FROM lyrMailStreams")
    }
    pairs: dict[tuple[int, str], set[tuple[str, str]]] = defaultdict(set)
    since: dict[tuple[int, str], list[str]] = defaultdict(list)
    for stream_id, ip, domain, mx, blocked_since in db.execute(
        "SELECT MailStreamID, IPAddress, Domain, BlockingMX, BlockedSince FROM lyrMailStreamBlockedIPs"
    ):
        pairs[(stream_id, domain)].add((ip, mx))
        since[(stream_id, domain)].append(blocked_since)
    full = {
        key
        for key, got in pairs.items()
        if got
        == {
            (ip, m[2])
            for ip in streams[key[0]]
            for m in manifest["receiving_domains"][key[1]]["mx"]
        }
    }
    domain_rows = db.execute(
        "SELECT BlockID, MailStreamID, Domain, BlockedSince FROM lyrMailStreamBlockedDomains"
    ).fetchall()
    listed = {(r[1], r[2]) for r in domain_rows}
    assert full <= listed, "a fully blocked domain has no domain block"
    only = [r for r in domain_rows if (r[1], r[2]) not in full]
    info_only = json.loads(
        db.execute(
            f"SELECT value FROM {DEMO_INFO_TABLE} WHERE key = 'domain_only_blocks'"
        ).fetchone()[0]
    )
    assert sorted(r[0] for r in only) == sorted(info_only)
    assert 1 <= len(only) <= max(3, len(domain_rows) // 10)
    for block_id, stream_id, domain, blocked_since in domain_rows:
        if (stream_id, domain) in full:
            assert blocked_since == max(since[(stream_id, domain)])
        else:
            assert (stream_id, domain) not in pairs, block_id  # domain-only: not on the IP page
    n_ip = len(db.execute("SELECT 1 FROM lyrMailStreamBlockedIPs").fetchall())
    assert abs(len(domain_rows) - n_ip / 5) <= n_ip / 10


def test_block_times_and_retries(db: sqlite3.Connection) -> None:
    for table in ("lyrMailStreamBlockedIPs", "lyrMailStreamBlockedDomains"):
        rows = db.execute(f"SELECT BlockedSince, NextRetry, Description FROM {table}").fetchall()
        permanent = 0
        for blocked_since, next_retry, description in rows:
            assert _ts(NOW - timedelta(days=7)) < blocked_since < _ts(NOW)
            assert description and len(description) <= 1000
            if next_retry is None:
                permanent += 1
            else:
                assert _ts(NOW) < next_retry <= _ts(NOW + timedelta(hours=1))
        assert permanent < len(rows) / 2
    assert db.execute(
        "SELECT count(*) FROM lyrMailStreamBlockedIPs WHERE NextRetry IS NULL"
    ).fetchone()[0]


def test_no_successes_over_a_blocked_pair_after_it_was_blocked(db: sqlite3.Connection) -> None:
    (n,) = db.execute(
        """SELECT count(*) FROM lyrMailStreamBlockedIPs b JOIN lyrDeliveryAttemptLog a
             ON a.MailStreamID = b.MailStreamID AND a.SourceIP = b.IPAddress
            AND a.MXIP = b.BlockingMX
           WHERE a.AttemptTime > b.BlockedSince AND a.SMTPResponseCode < 400"""
    ).fetchone()
    assert n == 0


# --------------------------------------------------------------------------- attempts


def test_attempts_cover_the_week_in_time_order(db: sqlite3.Connection) -> None:
    first, last, n = db.execute(
        "SELECT min(AttemptTime), max(AttemptTime), count(*) FROM lyrDeliveryAttemptLog"
    ).fetchone()
    assert n == SMALL["attempts"]
    assert _ts(NOW - timedelta(days=7)) <= first and last < _ts(NOW)
    (disorder,) = db.execute(
        "SELECT count(*) FROM lyrDeliveryAttemptLog a JOIN lyrDeliveryAttemptLog b "
        "ON b.AttemptID = a.AttemptID + 1 WHERE b.AttemptTime < a.AttemptTime"
    ).fetchone()
    assert disorder == 0
    codes = dict(
        db.execute(
            "SELECT SMTPResponseCode / 100, count(*) FROM lyrDeliveryAttemptLog GROUP BY 1"
        ).fetchall()
    )
    assert codes[2] > 0.8 * n and codes[4] > 0 and codes[5] > 0
    top = db.execute(
        "SELECT Domain FROM lyrDeliveryAttemptLog GROUP BY Domain ORDER BY count(*) DESC LIMIT 3"
    ).fetchall()
    assert top[0][0] == "gmail.com"
    # Office hours beat the small hours.
    hours = dict(
        db.execute(
            "SELECT CAST(substr(AttemptTime, 12, 2) AS INTEGER), count(*) "
            "FROM lyrDeliveryAttemptLog GROUP BY 1"
        ).fetchall()
    )
    assert hours.get(10, 0) > 2 * hours.get(3, 0)


def test_per_recipient_failures_are_there(db: sqlite3.Connection) -> None:
    texts = [r[0] for r in db.execute("SELECT SMTPResponseText FROM lyrDeliveryAttemptLog")]
    joined = "\n".join(texts)
    for needle in (
        r"5\.1\.1",
        r"[45]\.2\.2|quota",
        "reylist",
        "gsmtp",
        "250 ok dirdel",
        "STARTTLS|TLS",
    ):
        assert re.search(needle, joined), needle


def test_hostile_replies_are_there(db: sqlite3.Connection) -> None:
    texts = [r[0] for r in db.execute("SELECT SMTPResponseText FROM lyrDeliveryAttemptLog")]
    assert any("[bold]" in t for t in texts)
    assert any("\x1b[31m" in t for t in texts)
    assert any(len(t) >= 50_000 for t in texts)
    assert any("[TSS04]" in t or "[rbl]" in t for t in texts)


def test_tracking_matches_attempts(db: sqlite3.Connection) -> None:
    (total,) = db.execute("SELECT sum(Count) FROM lyrDAOMailStreamTracking").fetchone()
    assert total == SMALL["attempts"]
    per_stream_tracking = dict(
        db.execute(
            "SELECT MailStreamID, sum(Count) FROM lyrDAOMailStreamTracking GROUP BY 1"
        ).fetchall()
    )
    per_stream_attempts = dict(
        db.execute("SELECT MailStreamID, count(*) FROM lyrDeliveryAttemptLog GROUP BY 1").fetchall()
    )
    assert per_stream_tracking == per_stream_attempts
    assert db.execute("SELECT min(Count) FROM lyrDAOMailStreamTracking").fetchone()[0] >= 0
    for start, end in db.execute(
        "SELECT IntervalStart, IntervalEnd FROM lyrDAOMailStreamTracking LIMIT 50"
    ):
        a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
        assert b - a == timedelta(minutes=5) and a.minute % 5 == 0


# --------------------------------------------------------------------------- other tables


def test_expected_indexes_exist(demo: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{demo}")
    try:
        inspector = sa.inspect(engine)
        for spec in MODEL:
            found = {
                ix["name"]: tuple(ix["column_names"])
                for ix in inspector.get_indexes(spec.default_name)
            }
            for index in spec.indexes:
                assert found.get(index.name) == index.columns, (spec.default_name, index.name)
            columns = [c["name"] for c in inspector.get_columns(spec.default_name)]
            assert columns == list(spec.column_names)
    finally:
        engine.dispose()


def test_dao_definitions_and_labels(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT Area, PatternType, ClassificationCode, Pattern FROM lyrDAODefinitions"
    ).fetchall()
    assert len(rows) >= 15
    labels = dict(
        db.execute("SELECT CompletionStatusID, Description FROM lyrLookupCompletionStatus")
    )
    assert labels[300] == "Success"
    invalid = []
    for _area, kind, code, pattern in rows:
        assert code in labels
        if kind == 2:
            try:
                re.compile(pattern)
            except re.error:
                invalid.append(pattern)
    assert len(invalid) >= 1
    statuses = {
        r[0] for r in db.execute("SELECT DISTINCT CompletionStatusID FROM lyrDeliveryAttemptLog")
    }
    assert statuses <= set(labels)


def test_connection_limits_and_dkim(db: sqlite3.Connection, manifest: dict) -> None:  # type: ignore[type-arg]
    limits = dict(db.execute("SELECT Domain_, ConnectionLimit_ FROM domainconnectionlimits_"))
    assert limits["yahoo.com"] == 5 and limits["comcast.net"] == 2
    selectors = db.execute(
        "SELECT d.Domain, s.Selector, s.PrivateKey FROM lyrSiteDKDomains d "
        "JOIN lyrDKSelectors s ON s.SelectorID = d.SelectorID"
    ).fetchall()
    assert len(selectors) == SMALL["streams"]
    by_pair = {(e["domain"], e["selector"]): e for e in manifest["dkim"]}
    for domain, selector, pem in selectors:
        assert domain.endswith(("example.com", "example.net", "example.org"))
        assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert by_pair[(domain, selector)]["private_key_pem"] == pem


def test_manifest(manifest: dict, db: sqlite3.Connection) -> None:  # type: ignore[type-arg]
    import base64

    from cryptography.hazmat.primitives import serialization

    for key in (
        "streams",
        "sender_domains",
        "dkim",
        "receiving_domains",
        "ptr",
        "listed_ips",
        "helo",
        "faults",
        "spf",
        "dmarc",
    ):
        assert key in manifest, key
    names = [r[0] for r in db.execute("SELECT Name FROM lyrMailStreams ORDER BY MailStreamID")]
    assert list(manifest["streams"]) == names
    ips = [ip for v in manifest["streams"].values() for ip in v]
    assert set(manifest["ptr"]) == set(ips) == set(manifest["helo"])
    assert list(manifest["ptr"].values()).count(None) == 1
    assert list(manifest["ptr"].values()).count("mismatch") == 1
    assert len(manifest["listed_ips"]) == 1 and manifest["listed_ips"][0] in ips
    kinds = {f["kind"] for f in manifest["faults"]}
    assert {
        "ptr_missing",
        "ptr_mismatch",
        "dnsbl_listed",
        "dkim_key_mismatch",
        "dmarc_none",
    } <= kinds
    assert any("p=none" in v for v in manifest["dmarc"].values())
    assert "gmail.com" in manifest["receiving_domains"]
    gmail = manifest["receiving_domains"]["gmail.com"]["mx"]
    assert gmail[0][:2] == [5, "gmail-smtp-in.l.google.com"]
    blocked = {r[0] for r in db.execute("SELECT Domain FROM lyrMailStreamBlockedIPs")}
    blocked |= {r[0] for r in db.execute("SELECT Domain FROM lyrMailStreamBlockedDomains")}
    assert blocked <= set(manifest["receiving_domains"])
    results = []
    for entry in manifest["dkim"]:
        key = serialization.load_pem_private_key(entry["private_key_pem"].encode(), None)
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        own = base64.b64encode(der).decode()
        results.append(entry["dns_key"])
        assert (own == entry["dns_public_key"]) == (entry["dns_key"] == "match")
    assert results.count("mismatch") == 1


def test_read_by_discovery(demo: Path) -> None:
    from tui.db.discover import discover

    engine = sa.create_engine(f"sqlite:///{demo}")
    try:
        schema = discover(engine)
        assert schema.discovery.is_demo
        assert schema.discovery.demo_info["seed"] == "11"
        assert all(r.present for r in schema.discovery.indexes)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- ensure and CLI


def test_ensure_builds_once_and_rebuilds_another_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "demo.sqlite"
    kwargs = {"attempts": 3000, "blocks": 50, "domains": 80, "now": NOW}
    assert ensure_demo_database(path, **kwargs) == path
    mtime = path.stat().st_mtime_ns
    ensure_demo_database(path, **kwargs)
    assert path.stat().st_mtime_ns == mtime  # existing: left alone
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE {DEMO_INFO_TABLE} SET value = 'old' WHERE key = 'version'")
    conn.commit()
    conn.close()
    ensure_demo_database(path, **kwargs)
    assert (read_demo_info(path) or {})["version"] == GENERATOR_VERSION
    other = tmp_path / "mine.sqlite"
    other.write_text("not a database")
    with pytest.raises(Exception, match="not an lmtriage demo database"):
        ensure_demo_database(other)
    assert other.read_text() == "not a database"


def test_cli_writes_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cli.sqlite"
    args = ["demo", "--path", str(path), "--attempts", "5000", "--seed", "3"]
    assert main([*args, "--now", "2026-11-20T12:00:00"]) == 0
    out = capsys.readouterr().out
    assert "lyrDeliveryAttemptLog" in out and str(path) in out
    assert (read_demo_info(path) or {})["anchor_time"] == "2026-11-20T12:00:00"
    assert main(args) != 0  # exists, no --force
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--format", "json", "--now", "2026-11-20T12:00:00"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["lyrDeliveryAttemptLog"] == 5000
    assert summary["seed"] == 3

    foreign = tmp_path / "listmanager.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE lyrMailStreams (MailStreamID int, Name text)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    assert main(["demo", "--path", str(foreign), "--force", "--attempts", "100"]) != 0
    assert "not an lmtriage demo database" in capsys.readouterr().err
    assert foreign.read_bytes() == before

    assert main(["demo", "--path", str(tmp_path / "x.sqlite"), "--now", "yesterday"]) != 0
    assert "--now" in capsys.readouterr().err


def test_cli_default_path_comes_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "configured.sqlite"
    config = tmp_path / "config.toml"
    config.write_text(f'[ui]\ndemo_path = "{target}"\n')
    assert main(["demo", "--config", str(config), "--attempts", "2000", "--blocks", "20"]) == 0
    assert read_demo_info(target) is not None
    capsys.readouterr()
