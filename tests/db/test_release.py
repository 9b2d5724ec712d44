"""Release and undo on SQLite and PostgreSQL: exactly the asked rows, always audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.config import load_config
from tui.core import open_core
from tui.db.audit import AuditStore
from tui.db.queries import BlockFilter, block_keys, fetch_blocks
from tui.db.records import BlockIdentity, BlockKey
from tui.db.release import BlockRef, release_blocks, undo_release
from tui.db.release_plan import refs_for_stream
from tui.errors import ReadOnlyError


@pytest.fixture
def core(lm_db, tmp_path: Path):
    c = open_core(load_config(db=lm_db.url, config=str(lm_db.config)))
    c.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    yield c
    c.close()


def refs(core, kind: str, ids: list[int]) -> list[BlockRef]:
    with core.connect() as conn:
        return [
            BlockRef(b.key, b.identity)
            for b in fetch_blocks(core.schema, conn, kind, ids, since=None)
        ]


def raw_rows(core, kind: str) -> dict[int, dict]:
    table = core.schema.full_tables["blocked_domains" if kind == "domain" else "blocked_ips"]
    pk = core.schema.discovery.tables[
        "blocked_domains" if kind == "domain" else "blocked_ips"
    ].column_names["BlockID"]
    with core.engine.connect() as conn:
        return {int(r._mapping[pk]): dict(r._mapping) for r in conn.execute(sa.select(table))}


def release(core, chosen, **kw):
    return release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        chosen,
        mode=kw.pop("mode", "delete"),
        now=core.now(),
        **kw,
    )


def test_release_exactly_the_marked_rows_and_audit_them(core) -> None:
    before = raw_rows(core, "ip")
    chosen = refs(core, "ip", [201, 203, 205])
    result = release(core, chosen, stream_label="all streams")
    assert sorted(k.block_id for k in result.released) == [201, 203, 205]
    assert not result.gone and not result.failed and result.error is None
    after = raw_rows(core, "ip")
    assert set(after) == set(before) - {201, 203, 205}
    assert all(after[k] == before[k] for k in after)
    event = core.audit.event(result.event_id)
    assert event.status == "committed" and event.released == 3 and event.mode == "delete"
    assert event.os_user and event.client_host and event.database == core.display_url
    audited = {int(r.key.split(":")[1]): r.row for r in event.rows if r.outcome == "released"}
    assert audited == {k: before[k] for k in (201, 203, 205)}  # full copy, NodeID included


def test_release_twice_reports_already_gone(core) -> None:
    chosen = refs(core, "domain", [101, 102])
    assert len(release(core, chosen).released) == 2
    second = release(core, chosen)
    assert second.released == [] and sorted(k.block_id for k in second.gone) == [101, 102]
    assert second.error is None


def test_reused_block_id_is_not_released(core) -> None:
    wrong = BlockRef(BlockKey("domain", 101), BlockIdentity(1, "yahoo.com"))
    result = release(core, [wrong])
    assert result.changed == [BlockKey("domain", 101)] and result.gone == []
    assert 101 in raw_rows(core, "domain")


def test_dry_run_changes_nothing(core) -> None:
    before = raw_rows(core, "domain")
    result = release_blocks(
        core.schema,
        core.engine,
        None,
        core.audit_context(),
        refs(core, "domain", [101]),
        mode="delete",
        now=core.now(),
        dry_run=True,
    )
    assert [k.block_id for k in result.released] == [101]
    assert raw_rows(core, "domain") == before and core.audit.events_list() == []


def test_undo_restores_the_rows_exactly(core) -> None:
    before_ip, before_domain = raw_rows(core, "ip"), raw_rows(core, "domain")
    result = release(core, refs(core, "ip", [201, 202]) + refs(core, "domain", [101]))
    assert len(result.released) == 3
    undo = undo_release(core.schema, core.engine, core.audit, core.audit_context(), result.event_id)
    assert undo.ok, undo.summary()
    assert sorted(undo.restored) == ["domain:101", "ip:201", "ip:202"]
    assert raw_rows(core, "ip") == before_ip and raw_rows(core, "domain") == before_domain
    assert core.audit.event(result.event_id).undone_by == undo.undo_event_id
    again = undo_release(
        core.schema, core.engine, core.audit, core.audit_context(), result.event_id
    )
    assert not again.ok and "already undone" in again.error


def test_undo_refused_when_a_block_came_back(core) -> None:
    result = release(core, refs(core, "domain", [101, 103]))
    table = core.schema.tables["blocked_domains"]
    with core.engine.begin() as conn:
        conn.execute(
            table.insert().values(
                BlockID=900, MailStreamID=1, Domain="gmail.com", Description="back"
            )
        )
    undo = undo_release(core.schema, core.engine, core.audit, core.audit_context(), result.event_id)
    assert not undo.ok and undo.came_back == ["domain:101"]
    rows = raw_rows(core, "domain")
    assert 103 not in rows and 900 in rows  # nothing restored, the newcomer untouched


def test_retry_now_mode_and_its_undo(core) -> None:
    before = raw_rows(core, "ip")
    now = core.now().replace(microsecond=0)
    result = release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        refs(core, "ip", [203]),
        mode="retry-now",
        now=now,
    )
    assert [k.block_id for k in result.released] == [203]
    after = raw_rows(core, "ip")
    next_retry = core.schema.discovery.tables["blocked_ips"].column_names["NextRetry"]
    assert after[203][next_retry] == now and before[203][next_retry] is None
    undo = undo_release(core.schema, core.engine, core.audit, core.audit_context(), result.event_id)
    assert undo.ok and raw_rows(core, "ip") == before
    # The rows never left: the undo speaks of retry times, not of blocks that came back.
    assert undo.summary() == f"restored 1 retry time(s) from audit event {result.event_id}"


def test_failure_inside_the_transaction_releases_nothing(core, lm_db) -> None:
    table = core.schema.discovery.tables["blocked_domains"].physical_name
    with core.engine.begin() as conn:
        if lm_db.backend == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER boom BEFORE DELETE ON \"{table}\" WHEN old.Domain = 'hotmail.com' "
                "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF OLD.domain = 'hotmail.com' THEN "
                "RAISE EXCEPTION 'refused by trigger'; END IF; RETURN OLD; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                f'CREATE TRIGGER boom BEFORE DELETE ON "{table}" FOR EACH ROW EXECUTE FUNCTION boom()'
            )
    before = raw_rows(core, "domain")
    result = release(core, refs(core, "domain", [101, 102, 103]))
    assert result.released == [] and len(result.failed) == 3
    assert "refused by trigger" in result.error
    assert raw_rows(core, "domain") == before
    event = core.audit.event(result.event_id)
    assert event.status == "failed" and "refused by trigger" in event.error
    assert {r.outcome for r in event.rows} == {"failed"}


def test_release_all_for_a_stream(core) -> None:
    with core.connect() as conn:
        chosen = refs_for_stream(core.schema, conn, 2)
    assert sorted(str(r.key) for r in chosen) == [
        "domain:102",
        "domain:103",
        "ip:203",
        "ip:204",
        "ip:205",
    ]
    result = release(core, chosen, action="release-all", stream_label="marketing")
    assert len(result.released) == 5
    with core.connect() as conn:
        assert block_keys(core.schema, conn, BlockFilter("ip", stream_id=2)) == []
        assert len(block_keys(core.schema, conn, BlockFilter("ip"))) == 3
    assert core.audit.event(result.event_id).action == "release-all"


def test_read_only_refuses(core) -> None:
    with pytest.raises(ReadOnlyError):
        release_blocks(
            core.schema,
            core.engine,
            core.audit,
            core.audit_context(),
            refs(core, "domain", [101]),
            mode="delete",
            now=core.now(),
            read_only=True,
        )


def test_large_release_is_chunked(sqlite_db, tmp_path: Path) -> None:
    core = open_core(load_config(db=sqlite_db.url, config=str(sqlite_db.config)))
    core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
    table = core.schema.tables["blocked_ips"]
    now = core.now()
    with core.engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {
                    "BlockID": 10_000 + i,
                    "MailStreamID": 1,
                    "IPAddress": "192.0.2.10",
                    "Domain": f"d{i}.example",
                    "BlockingMX": "198.18.5.5",
                    "NextRetry": now + timedelta(hours=1),
                }
                for i in range(2500)
            ],
        )
    chosen = refs(core, "ip", [10_000 + i for i in range(2500)])
    seen = []
    result = release_blocks(
        core.schema,
        core.engine,
        core.audit,
        core.audit_context(),
        chosen,
        mode="delete",
        now=now,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert len(result.released) == 2500 and seen[-1] == (2500, 2500) and len(seen) == 3
    assert len(raw_rows(core, "ip")) == 6
    core.close()
