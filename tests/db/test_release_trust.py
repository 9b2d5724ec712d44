"""What a release takes and what it re-checks, on SQLite and PostgreSQL, attacked for real.

- A domain release is defined once (:mod:`tui.db.release_plan`): the domain row and every IP pair
  of that stream and domain, or the domain row alone when asked. The CLI's ``--dry-run`` lists
  exactly those rows.
- Each row is re-checked against the identity the user saw (stream, domain, IP, MX and
  BlockedSince): a block released and blocked again, or a reused key, is "changed" and stays.
- Undo: the came-back check folds case (``GMail.COM`` is ``gmail.com``), an identity key on
  PostgreSQL is restored with OVERRIDING SYSTEM VALUE, a connection-limit change is undone.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import handmade
from tui.cli import main
from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditStore
from tui.db.connection_limits import get_limit, set_limit
from tui.db.queries import fetch_blocks
from tui.db.release import release_blocks
from tui.db.release_plan import BlockRef, plan_for_cli, plan_from_blocks
from tui.db.undo import undo_event


@pytest.fixture
def core(lm_db, tmp_path: Path):
    c = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    c.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    yield c
    c.close()


def table(db, kind: str) -> str:  # noqa: ANN001
    name = "lyrMailStreamBlockedDomains" if kind == "domain" else "lyrMailStreamBlockedIPs"
    return name.lower() if db.backend == "postgresql" else name


def ids(db, kind: str) -> set[int]:  # noqa: ANN001
    with db.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(f"select BlockID from {table(db, kind)}"))}


def add_ip_pairs(lm_db, *rows: tuple[int, int, str, str, str]) -> None:  # noqa: ANN001
    """Insert IP-pair block rows (BlockID, stream, IP, domain, blocking MX) with bound values."""
    mx = "blockingmxip" if lm_db.backend == "postgresql" else "BlockingMXIP"
    stmt = sa.text(
        f"insert into {table(lm_db, 'ip')} (BlockID, MailStreamID, IPAddress, Domain, {mx}) "
        "values (:id, :stream, :ip, :domain, :mx)"
    )
    with lm_db.engine.begin() as conn:
        for block_id, stream, ip, domain, mx_ip in rows:
            conn.execute(
                stmt, {"id": block_id, "stream": stream, "ip": ip, "domain": domain, "mx": mx_ip}
            )


def blocks(core, kind: str, block_ids: list[int]):  # noqa: ANN001
    with core.connect() as conn:
        return fetch_blocks(core.schema, conn, kind, block_ids, since=None)


def release(core, refs, **kw):  # noqa: ANN001
    return release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        refs,
        mode=kw.pop("mode", "delete"),
        now=core.now(),
        **kw,
    )


# --------------------------------------------------------------------------- one meaning


def test_a_domain_release_takes_its_ip_pairs_and_says_so(core, lm_db) -> None:
    with core.connect() as conn:
        plan = plan_from_blocks(core.schema, conn, blocks(core, "domain", [101]))
    assert [str(r.ref.key) for r in plan.rows] == ["domain:101", "ip:201", "ip:202"]
    assert [r.why for r in plan.rows] == ["chosen", "with its domain row", "with its domain row"]
    assert plan.domain_lines() == ["gmail.com (stream default): domain row + 2 IP pair(s)"]
    assert "1 domain row(s) + 2 IP pair(s)" in plan.headline()
    result = release(core, plan.refs)
    assert sorted(map(str, result.released)) == ["domain:101", "ip:201", "ip:202"]
    assert 101 not in ids(lm_db, "domain") and not {201, 202} & ids(lm_db, "ip")
    event = core.audit.event(result.event_id)
    assert event.touched.startswith("gmail.com (domain row, 2 IP pairs)")


def test_domain_row_only_leaves_the_pairs(core, lm_db) -> None:
    with core.connect() as conn:
        plan = plan_from_blocks(
            core.schema, conn, blocks(core, "domain", [101]), domain_rows_only=True
        )
    assert [str(r.ref.key) for r in plan.rows] == ["domain:101"]
    assert plan.domain_lines() == ["gmail.com (stream default): domain row only"]
    release(core, plan.refs)
    assert 101 not in ids(lm_db, "domain") and {201, 202} <= ids(lm_db, "ip")


def test_pairs_are_matched_case_insensitively_and_per_stream(core, lm_db) -> None:
    add_ip_pairs(
        lm_db,
        (301, 1, "192.0.2.12", "GMail.COM", "198.18.0.6"),
        (302, 2, "198.51.100.20", "gmail.com", "198.18.0.6"),
    )
    with core.connect() as conn:
        plan = plan_from_blocks(core.schema, conn, blocks(core, "domain", [101]))
    assert sorted(str(r.ref.key) for r in plan.rows) == [
        "domain:101",
        "ip:201",
        "ip:202",
        "ip:301",  # same stream, domain in other case: the same domain on SQL Server
    ]  # 302 is another stream's pair and stays


def test_cli_dry_run_lists_exactly_the_rows(lm_db, capsys) -> None:
    code = main(["release", *lm_db.args("--domain", "gmail.com", "--dry-run", "--format", "json")])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["dry_run"] is True
    assert sorted(data["would_release"]) == ["domain:101", "ip:201", "ip:202"]
    assert data["released"] == []  # a dry run releases nothing, and says so
    assert data["plan"] == {
        "scope": "gmail.com",
        "domain_rows_only": False,
        "domain_rows": 1,
        "ip_pairs": 2,
        "ip_pairs_with_domain_row": 2,
    }
    assert {r["stream"] for r in data["rows"]} == {"default"}
    code = main(["release", *lm_db.args("--domain", "gmail.com", "--domain-row-only", "--dry-run")])
    out = capsys.readouterr().out
    assert code == 0 and "would release 1," in out and "ip:201" not in out
    assert ids(lm_db, "domain") == {b[0] for b in handmade.DOMAIN_BLOCKS}


def test_cli_release_of_a_domain_with_pairs_only(core, lm_db) -> None:
    # evil.example has an IP pair but no domain row: its pair is what "the domain" means.
    with core.connect() as conn:
        plan = plan_for_cli(core.schema, conn, domains=["Evil.Example"])
    assert [str(r.ref.key) for r in plan.rows] == ["ip:206"]
    with core.connect() as conn, pytest.raises(Exception, match="no domain row for evil.example"):
        plan_for_cli(core.schema, conn, domains=["evil.example"], domain_rows_only=True)


def test_cli_domain_release_takes_its_pairs_in_every_stream(core, lm_db, capsys) -> None:
    """gmail.com has a domain row in stream 1 only; a pair in stream 2 (no domain row there)
    is gmail.com blocked too. ``--domain gmail.com`` without ``--stream`` once left it: what
    was released depended on whether a domain row existed somewhere."""
    add_ip_pairs(lm_db, (302, 2, "198.51.100.20", "GMAIL.com", "198.18.0.6"))
    with core.connect() as conn:
        plan = plan_for_cli(core.schema, conn, domains=["gmail.com"])
        in_stream_2 = plan_for_cli(core.schema, conn, domains=["gmail.com"], stream_id=2)
    assert sorted(str(r.ref.key) for r in plan.rows) == ["domain:101", "ip:201", "ip:202", "ip:302"]
    assert [str(r.ref.key) for r in in_stream_2.rows] == ["ip:302"]
    # The audit names the streams touched, not "all streams" for a release of one.
    assert plan.stream_label() == "2 streams" and in_stream_2.stream_label() == "marketing"
    code = main(["release", *lm_db.args("--domain", "gmail.com", "--yes")])
    assert code == 0, capsys.readouterr().err
    assert 101 not in ids(lm_db, "domain")
    assert ids(lm_db, "ip") & {201, 202, 302} == set()


def test_a_domain_typed_in_unicode_finds_its_a_label_rows(core, lm_db, capsys) -> None:
    """ListManager stores the ASCII form; `--domain Straße.de` once matched nothing (and
    `dcl` wrote xn--strae-oqa.de): every read and the release match both spellings."""
    with lm_db.engine.begin() as conn:
        conn.execute(
            sa.text(
                f"insert into {table(lm_db, 'domain')} (BlockID, MailStreamID, Domain) "
                "values (150, 1, 'xn--strae-oqa.de')"
            )
        )
    add_ip_pairs(lm_db, (350, 1, "192.0.2.10", "straße.de", "198.18.0.9"))
    code = main(["blocks", *lm_db.args("--domain", "Straße.de", "--format", "json")])
    shown = json.loads(capsys.readouterr().out)
    assert code == 0 and {(b["kind"], b["block_id"]) for b in shown} == {("domain", 150), ("ip", 350)}
    with core.connect() as conn:
        plan = plan_for_cli(core.schema, conn, domains=["Straße.de"])
    assert sorted(str(r.ref.key) for r in plan.rows) == ["domain:150", "ip:350"]
    code = main(["release", *lm_db.args("--domain", "STRASSE.de", "--dry-run")])
    assert code == 1  # strasse.de is another domain (IDNA 2003 would have mapped ß to ss)
    capsys.readouterr()


# --------------------------------------------------------------------------- what the user saw


def test_a_block_blocked_again_after_marking_is_left_alone(core, lm_db) -> None:
    seen = blocks(core, "ip", [201, 203])  # what the user marked
    # Meanwhile ListManager released 201 and blocked the pair again: a new BlockedSince.
    with lm_db.engine.begin() as conn:
        conn.execute(
            sa.text(f"update {table(lm_db, 'ip')} set BlockedSince = :t where BlockID = 201"),
            {"t": lm_db.now - timedelta(minutes=1)},
        )
    result = release(core, [BlockRef.of(b) for b in seen])
    assert [str(k) for k in result.changed] == ["ip:201"]
    assert [str(k) for k in result.released] == ["ip:203"]
    assert 201 in ids(lm_db, "ip") and 203 not in ids(lm_db, "ip")
    assert "changed since chosen 1 (left alone)" in result.summary()
    rows = {r.key: r.outcome for r in core.audit.event(result.event_id).rows}
    assert rows == {"ip:203": "released", "ip:201": "changed"}


def test_a_reused_key_is_changed_not_released(core, lm_db) -> None:
    seen = blocks(core, "ip", [204])
    with lm_db.engine.begin() as conn:
        conn.execute(sa.text(f"delete from {table(lm_db, 'ip')} where BlockID = 204"))
    add_ip_pairs(lm_db, (204, 2, "198.51.100.21", "outlook.com", "198.18.2.9"))
    for mode in ("delete", "retry-now"):
        result = release(core, [BlockRef.of(b) for b in seen], mode=mode)
        assert [str(k) for k in result.changed] == ["ip:204"] and result.released == []
    dry = release_blocks(
        core.schema,
        core.engine,
        None,
        core.audit_context(),
        [BlockRef.of(b) for b in seen],
        mode="delete",
        now=core.now(),
        dry_run=True,
    )
    assert [str(k) for k in dry.changed] == ["ip:204"]
    assert 204 in ids(lm_db, "ip")


# --------------------------------------------------------------------------- undo


def test_undo_refuses_when_the_block_came_back_in_another_case(core, lm_db) -> None:
    result = release(core, [BlockRef.of(b) for b in blocks(core, "ip", [201])])
    assert [str(k) for k in result.released] == ["ip:201"]
    add_ip_pairs(lm_db, (399, 1, "192.0.2.10", "GMail.COM", "198.18.0.5"))
    undo = undo_event(core.schema, core.engine, core.audit, core.audit_context(), result.event_id)
    assert undo.came_back == ["ip:201"] and not undo.ok
    assert 201 not in ids(lm_db, "ip")  # nothing put back over the block that came back


def test_undo_of_a_connection_limit_change(core, lm_db) -> None:
    change = set_limit(
        core.schema, core.engine, core.audit, core.audit_context(), "gmail.com", limit=3
    )
    assert change.before.is_default and change.after.connections == 3
    undo = undo_event(core.schema, core.engine, core.audit, core.audit_context(), change.event_id)
    assert undo.ok and undo.restored == ["gmail.com"]
    with core.connect() as conn:
        assert get_limit(core.schema, conn, "gmail.com").is_default
    # yahoo.com had a row: an update is undone to the old values, unless changed again.
    first = set_limit(
        core.schema, core.engine, core.audit, core.audit_context(), "yahoo.com", limit=2
    )
    second = set_limit(
        core.schema, core.engine, core.audit, core.audit_context(), "YAHOO.com", limit=4
    )
    refused = undo_event(core.schema, core.engine, core.audit, core.audit_context(), first.event_id)
    assert refused.came_back == ["yahoo.com"]
    assert undo_event(
        core.schema, core.engine, core.audit, core.audit_context(), second.event_id
    ).ok
    assert undo_event(core.schema, core.engine, core.audit, core.audit_context(), first.event_id).ok
    with core.connect() as conn:
        limit = get_limit(core.schema, conn, "yahoo.com")
    assert (limit.connection_limit, limit.per_hour, limit.per_connection) == (5, 500, 20)


@pytest.mark.pg
def test_undo_with_an_identity_key_on_postgresql(request, tmp_path: Path) -> None:
    from tests.conftest import _reset_pg, handmade_db

    url = request.getfixturevalue("pg_database")
    _reset_pg(url)
    with handmade_db("postgresql", url, tmp_path) as db:
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "ALTER TABLE lyrmailstreamblockeddomains ALTER COLUMN blockid DROP DEFAULT"
            )
            conn.exec_driver_sql(
                "ALTER TABLE lyrmailstreamblockeddomains ALTER COLUMN blockid "
                "ADD GENERATED ALWAYS AS IDENTITY (START WITH 1000)"
            )
        c = open_core(load_config(db=db.url, config=str(db.config)))
        c.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
        try:
            assert c.schema.discovery.tables["blocked_domains"].pk_is_identity
            with c.connect() as conn:
                plan = plan_from_blocks(
                    c.schema, conn, blocks(c, "domain", [101, 102]), domain_rows_only=True
                )
            result = release(c, plan.refs)
            assert len(result.released) == 2 and not {101, 102} & ids(db, "domain")
            undo = undo_event(c.schema, c.engine, c.audit, c.audit_context(), result.event_id)
            assert undo.ok, undo.summary()
            assert {101, 102} <= ids(db, "domain")
            # The identity still hands out new keys after the restore.
            with db.engine.begin() as conn:
                new = conn.exec_driver_sql(
                    "insert into lyrmailstreamblockeddomains (mailstreamid, domain) "
                    "values (1, 'new.example') returning blockid"
                ).scalar()
            assert new >= 1000
        finally:
            c.close()


def test_cli_block_releases_exactly_that_row(lm_db, capsys) -> None:
    code = main(["release", *lm_db.args("--block", "ip:204", "--yes")])
    out = capsys.readouterr().out
    assert code == 0 and "released 1," in out
    assert 204 not in ids(lm_db, "ip") and 205 in ids(lm_db, "ip") and 103 in ids(lm_db, "domain")
    code = main(["release", *lm_db.args("--block", "domain:103", "--domain-row-only", "--yes")])
    assert code == 0 and 103 not in ids(lm_db, "domain") and 205 in ids(lm_db, "ip")
    capsys.readouterr()
    for bad in ("ip:", "ip:x", "host:1", "ip:-3", "ip:２"):
        assert main(["release", *lm_db.args("--block", bad, "--yes")]) == 2
        assert "--block" in capsys.readouterr().err
    assert main(["release", *lm_db.args("--block", "ip:999", "--yes")]) == 1
    assert "no ip block ip:999" in capsys.readouterr().err


def test_advice_prints_a_command_that_releases_only_that_block(core, lm_db, capsys) -> None:
    from tui.triage.block_advice import advise_block

    pair = blocks(core, "ip", [201])[0]
    domain = blocks(core, "domain", [101])[0]
    with core.connect() as conn:
        pair_steps = " ".join(advise_block(core, conn, pair)[0].steps)
        domain_steps = " ".join(advise_block(core, conn, domain)[0].steps)
    if "lmtriage release" in pair_steps:
        assert "lmtriage release --block ip:201 (this pair only)" in pair_steps
        assert "--domain" not in pair_steps.split("lmtriage release", 1)[1][:60]
        # The printed command, run as it stands, releases that pair and nothing else.
        assert main(["release", *lm_db.args("--block", "ip:201", "--yes")]) == 0
        assert (
            201 not in ids(lm_db, "ip") and 202 in ids(lm_db, "ip") and 101 in ids(lm_db, "domain")
        )
    if "lmtriage release" in domain_steps:
        assert "--block domain:101 (the domain row with its IP pairs)" in domain_steps
