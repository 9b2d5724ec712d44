"""Discovery against the hand-built database: alternative names, remapped columns, gaps."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.config import load_config
from tui.core import open_core
from tui.db.discover import ALTERNATIVE, FOUND, MISSING, discover
from tui.db.model import SchemaNames
from tui.errors import ConfigError, DatabaseError


def test_alternative_name_remapped_column_and_missing_table(lm_db) -> None:
    cfg = load_config(db=lm_db.url, config=str(lm_db.config))
    core = open_core(cfg)
    d = core.schema.discovery
    assert d.tables["attempts"].status == ALTERNATIVE
    assert d.tables["attempts"].physical_name.lower() == "lyrdeliverattemptlog"
    assert d.tables["blocked_ips"].status == FOUND
    assert d.tables["blocked_ips"].column_names["BlockingMX"].lower() == "blockingmxip"
    assert d.tables["stream_tracking"].status == MISSING
    assert not d.feature_enabled("volume_chart")
    assert d.feature_enabled("drill_down")
    off = dict(d.disabled_features())
    assert (
        "the stream volume chart" in off
        and "lyrDAOMailStreamTracking" in off["the stream volume chart"]
    )
    # The extra NodeID column is known to the full reflected table used by release and undo.
    assert "nodeid" in {c.name.lower() for c in core.schema.full_tables["blocked_ips"].c}
    assert d.can_write
    core.close()


def test_without_the_column_mapping_the_ip_table_is_unusable(lm_db) -> None:
    engine = sa.create_engine(lm_db.url)
    with pytest.raises(DatabaseError) as err:
        discover(engine)
    assert "BlockingMX" in str(err.value) and "does not look like a ListManager database" in str(
        err.value
    )
    engine.dispose()


def test_expected_indexes_reported_with_create_statement(lm_db) -> None:
    engine = sa.create_engine(lm_db.url)
    schema = discover(engine, SchemaNames(columns={"blocked_ips": {"BlockingMX": "BlockingMXIP"}}))
    by_cols = {(i.table_key, i.index.columns): i for i in schema.discovery.indexes}
    domain_time = by_cols[
        ("attempts", ("Domain", "MailStreamID", "AttemptTime", "SMTPResponseCode"))
    ]
    assert not domain_time.present and "ix_att_domain_time" in domain_time.partial
    mx_time = by_cols[("attempts", ("MXIP", "SourceIP", "AttemptTime", "SMTPResponseCode"))]
    assert not mx_time.present and mx_time.partial is None
    assert mx_time.create_sql.upper().startswith("CREATE INDEX")
    assert "lyrdeliverattemptlog" in mx_time.create_sql.lower()
    # The statement a DBA is told to run is valid on this very database.
    with engine.begin() as conn:
        conn.exec_driver_sql(mx_time.create_sql.rstrip(";"))
    again = discover(engine, SchemaNames(columns={"blocked_ips": {"BlockingMX": "BlockingMXIP"}}))
    assert all(
        i.present
        for i in again.discovery.indexes
        if i.index.columns == ("MXIP", "SourceIP", "AttemptTime", "SMTPResponseCode")
    )
    engine.dispose()


def test_a_database_that_is_not_listmanager(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("create table customers (id integer primary key)")
    engine.dispose()
    with pytest.raises(DatabaseError) as err:
        open_core(load_config(db=f"sqlite:///{path}"))
    assert "does not look like a ListManager database" in str(err.value)
    assert "lyrMailStreams" in str(err.value)


def test_config_remap_names_unknown_table_or_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[schema.columns.blocked_ips]\nNoSuchColumn = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_config(config=str(bad))
    assert "NoSuchColumn" in str(err.value)
    bad.write_text('[schema.tables]\nnope = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_config(config=str(bad))
    assert "nope" in str(err.value)


def test_explicit_table_remap_is_used_and_missing_reported(sqlite_db, tmp_path: Path) -> None:
    cfg_path = tmp_path / "remap.toml"
    cfg_path.write_text(
        '[schema.tables]\nattempts = "lyrDeliverAttemptLog"\nconnection_limits = "nosuchtable"\n'
        '[schema.columns.blocked_ips]\nBlockingMX = "BlockingMXIP"\n'
    )
    cfg_path.chmod(0o600)
    core = open_core(load_config(db=sqlite_db.url, config=str(cfg_path)))
    d = core.schema.discovery
    assert d.tables["attempts"].status == FOUND and d.tables["attempts"].remapped
    assert d.tables["connection_limits"].status == MISSING
    assert d.tables["connection_limits"].expected_name == "nosuchtable"
    core.close()
