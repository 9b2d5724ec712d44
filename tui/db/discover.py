"""Reflect the live database at connect and bind the schema model to what is really there.

For every model table the report says: found, found under a known alternative name (the vendor
index spells the attempt log ``lyrDeliverAttemptLog``), or missing; which columns are missing;
which of the indexes the model expects exist (with the ``CREATE INDEX`` a DBA could run when
not); and whether the database user may write the block tables. A missing optional table turns
off the features that need it instead of crashing; a missing required table is an error that
says the database does not look like ListManager.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateIndex

from tui.db.model import (
    FEATURE_NEEDS,
    FEATURE_TITLES,
    MODEL,
    MODEL_BY_KEY,
    ModelIndex,
    SchemaNames,
    model_table,
)
from tui.errors import DatabaseError

FOUND = "found"
ALTERNATIVE = "alternative"
MISSING = "missing"
UNUSABLE = "unusable"
UNREADABLE = "unreadable"  # found, but the database user may not SELECT from it

DEMO_INFO_TABLE = "lmtriage_demo_info"


@dataclass
class TableReport:
    """What discovery learned about one model table."""

    key: str
    expected_name: str
    status: str
    physical_name: str | None = None
    required: bool = False
    remapped: bool = False
    missing_columns: list[str] = field(default_factory=list)
    missing_required_columns: list[str] = field(default_factory=list)
    column_names: dict[str, str] = field(default_factory=dict)  # model name -> physical name
    extra_columns: list[str] = field(default_factory=list)
    pk_is_identity: bool = False

    @property
    def usable(self) -> bool:
        """Found (under any name) with every required column."""
        return self.status in (FOUND, ALTERNATIVE)

    def summary(self) -> str:
        """One line for doctor and the console's status bar."""
        if self.status == FOUND:
            text = f"found as {self.physical_name}"
        elif self.status == ALTERNATIVE:
            text = f"found under the alternative name {self.physical_name}"
        elif self.status == UNREADABLE:
            text = (
                f"found as {self.physical_name}, but the database user may not read it (no SELECT)"
            )
        elif self.status == UNUSABLE:
            text = (
                f"{self.physical_name} lacks required column(s) "
                f"{', '.join(self.missing_required_columns)}"
            )
        else:
            text = f"missing (looked for {self.expected_name})"
        if self.usable and self.missing_columns:
            text += f"; missing column(s): {', '.join(self.missing_columns)}"
        return text


@dataclass
class IndexReport:
    """An index the model expects on a found table."""

    table_key: str
    index: ModelIndex
    present: bool
    existing_name: str | None
    create_sql: str
    partial: str | None = None  # an existing index on the same leading column


@dataclass
class Discovery:
    """The whole discovery report."""

    dialect: str
    server_version: str
    database_name: str
    db_user: str
    schema: str | None
    tables: dict[str, TableReport]
    indexes: list[IndexReport]
    can_write: bool
    write_reason: str
    is_demo: bool = False
    demo_info: dict[str, str] = field(default_factory=dict)
    # model table -> privilege -> granted (None: could not tell); see tui.db.privileges
    privileges: dict[str, dict[str, bool | None]] = field(default_factory=dict)
    privileges_how: str = ""

    def privilege_gaps(self, operation: str) -> str | None:
        """``the database user lacks UPDATE on X`` when ``operation`` (a key of
        :data:`tui.db.privileges.OPERATIONS`) cannot work, else None."""
        from tui.db.privileges import OPERATIONS, gaps

        names = {k: t.physical_name or t.expected_name for k, t in self.tables.items()}
        missing = gaps(self.privileges, OPERATIONS[operation], names)
        if not missing:
            return None
        return "the database user lacks " + ", ".join(missing)

    def feature_enabled(self, feature: str) -> bool:
        """True when every table the feature needs is usable."""
        return all(self.tables[k].usable for k in FEATURE_NEEDS[feature])

    def disabled_features(self) -> list[tuple[str, str]]:
        """(feature title, reason) for every feature that is off."""
        out = []
        for feature, needs in FEATURE_NEEDS.items():
            missing = [self.tables[k] for k in needs if not self.tables[k].usable]
            if missing:
                names = ", ".join(t.expected_name for t in missing)
                out.append((FEATURE_TITLES[feature], f"needs {names}"))
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as plain data (for ``doctor --format json``)."""
        return {
            "dialect": self.dialect,
            "server_version": self.server_version,
            "database": self.database_name,
            "db_user": self.db_user,
            "schema": self.schema,
            "demo": self.is_demo,
            "can_write": self.can_write,
            "write_reason": self.write_reason,
            "privileges": [
                {"model_table": key, "name": self.tables[key].physical_name, **granted}
                for key, granted in self.privileges.items()
            ],
            "operations": {op: self.privilege_gaps(op) or "ok" for op in _operations()},
            "tables": [
                {
                    "model_table": t.key,
                    "expected_name": t.expected_name,
                    "status": t.status,
                    "name": t.physical_name,
                    "required": t.required,
                    "remapped": t.remapped,
                    "missing_columns": t.missing_columns,
                    "columns": t.column_names,
                }
                for t in self.tables.values()
            ],
            "indexes": [
                {
                    "model_table": i.table_key,
                    "columns": list(i.index.columns),
                    "present": i.present,
                    "existing_name": i.existing_name,
                    "why": i.index.why,
                    "create_sql": None if i.present else i.create_sql,
                    "partially_covered_by": None if i.present else i.partial,
                }
                for i in self.indexes
            ],
            "disabled_features": [{"feature": f, "reason": r} for f, r in self.disabled_features()],
        }


class BoundSchema:
    """The model bound to live names: Core tables addressed by model column names."""

    def __init__(
        self, discovery: Discovery, tables: dict[str, sa.Table], full_tables: dict[str, sa.Table]
    ):
        self.discovery = discovery
        self.tables = tables
        self.full_tables = full_tables  # reflected with every physical column (release, undo)

    def has(self, key: str) -> bool:
        """True when model table ``key`` is usable."""
        return key in self.tables

    def feature(self, name: str) -> bool:
        """True when ``name`` (a key of FEATURE_NEEDS) is available."""
        return self.discovery.feature_enabled(name)

    def t(self, key: str) -> sa.Table:
        """The bound table, or a clear error when it is missing."""
        try:
            return self.tables[key]
        except KeyError:
            from tui.errors import FeatureUnavailable

            report = self.discovery.tables[key]
            raise FeatureUnavailable(
                f"table {report.expected_name} is {report.summary()}; the features that need it are off"
            ) from None

    def col(self, key: str, name: str) -> sa.ColumnElement[Any]:
        """Column ``name`` of model table ``key``, or a typed NULL when the column is missing."""
        table = self.t(key)
        if name in table.c:
            return table.c[name]
        return sa.null().cast(MODEL_BY_KEY[key].column(name).sa_type())

    def has_col(self, key: str, name: str) -> bool:
        """True when the bound table has that column."""
        return key in self.tables and name in self.tables[key].c


def _lookup(names: list[str], wanted: str) -> str | None:
    lower = wanted.lower()
    for name in names:
        if name.lower() == lower:
            return name
    return None


def _server_version(conn: Connection) -> str:
    dialect = conn.dialect.name
    try:
        if dialect == "sqlite":
            return "SQLite " + str(conn.exec_driver_sql("select sqlite_version()").scalar())
        if dialect == "postgresql":
            return str(conn.exec_driver_sql("select version()").scalar()).split(" on ")[0]
        if dialect == "mssql":
            return str(conn.exec_driver_sql("select @@VERSION").scalar()).splitlines()[0]
    except sa.exc.DBAPIError:
        pass
    info = conn.dialect.server_version_info
    return f"{dialect} {'.'.join(map(str, info or ()))}".strip()


def _db_user(conn: Connection, engine: Engine) -> str:
    dialect = conn.dialect.name
    try:
        if dialect == "postgresql":
            return str(conn.exec_driver_sql("select current_user").scalar())
        if dialect == "mssql":
            return str(conn.exec_driver_sql("select SUSER_SNAME()").scalar())
    except sa.exc.DBAPIError:
        pass
    return engine.url.username or ""


def _database_name(conn: Connection, engine: Engine) -> str:
    dialect = conn.dialect.name
    try:
        if dialect == "postgresql":
            return str(conn.exec_driver_sql("select current_database()").scalar())
        if dialect == "mssql":
            return str(conn.exec_driver_sql("select DB_NAME()").scalar())
    except sa.exc.DBAPIError:
        pass
    return engine.url.database or ""


def _operations() -> list[str]:
    from tui.db.privileges import OPERATIONS

    return list(OPERATIONS)


def _write_privilege(
    discovery_privileges: dict[str, dict[str, bool | None]],
    how: str,
    tables: dict[str, TableReport],
    mode: str,
) -> tuple[bool, str]:
    """Whether the user may release blocks in ``mode`` and undo it (DELETE and INSERT, or
    UPDATE), from the privilege matrix."""
    from tui.db.privileges import OPERATIONS, gaps

    if how.startswith(("the SQLite", "could not")):
        ok = how == "the SQLite file is writable"
        return ok, how
    needs = (*OPERATIONS[f"release_{mode}"], *OPERATIONS[f"undo_{mode}"])
    names = {k: t.physical_name or t.expected_name for k, t in tables.items()}
    missing = gaps(discovery_privileges, needs, names)
    if missing:
        return False, f"the database user lacks {missing[0]}"
    if how.startswith("privileges not checked"):
        return True, how
    wanted = " and ".join(sorted({p for _k, p in needs}))
    return True, f"the database user has {wanted} on the block tables"


def _identity_columns(columns: list[dict[str, Any]]) -> set[str]:
    out = set()
    for col in columns:
        if col.get("identity") or (col.get("autoincrement") is True):
            out.add(col["name"])
    return out


def discover(
    engine: Engine,
    names: SchemaNames | None = None,
    *,
    schema: str | None = None,
    release_mode: str = "delete",
    strict: bool = True,
    index_report: bool = True,
) -> BoundSchema:
    """Reflect the database behind ``engine`` and bind the model to it.

    ``strict`` (the default) refuses a database without the required tables; ``doctor``
    passes False to report what is missing instead. ``index_report`` False skips the index
    report (only ``doctor`` shows it; the console starts faster without it). Columns and the
    tables a release copies are reflected in batches: one catalog query for all tables on
    PostgreSQL, not one per table.
    """
    names = names or SchemaNames()
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        try:
            live = list(inspector.get_table_names(schema=schema))
            with contextlib.suppress(NotImplementedError, sa.exc.DBAPIError):
                live += list(inspector.get_view_names(schema=schema))
        except sa.exc.DBAPIError as err:
            raise DatabaseError(
                f"cannot list the database's tables: {type(err.orig).__name__}"
            ) from None

        reports: dict[str, TableReport] = {}
        metadata = sa.MetaData()
        full_metadata = sa.MetaData()
        bound: dict[str, sa.Table] = {}
        full: dict[str, sa.Table] = {}
        live_columns: dict[str, list[dict[str, Any]]] = {}
        columns_of = _columns_of(inspector, live, names, schema)
        full_keys: dict[str, str] = {}
        for spec in MODEL:
            expected = names.table_name(spec.key)
            remapped = names.is_remapped(spec.key)
            candidates = [expected] if remapped else [expected, *spec.alternatives]
            found_name, status = None, MISSING
            for i, candidate in enumerate(candidates):
                hit = _lookup(live, candidate)
                if hit:
                    found_name, status = hit, FOUND if i == 0 else ALTERNATIVE
                    break
            report = TableReport(
                key=spec.key,
                expected_name=expected,
                status=status,
                physical_name=found_name,
                required=spec.required,
                remapped=remapped,
            )
            reports[spec.key] = report
            if not found_name:
                continue
            columns = columns_of(found_name)
            live_columns[spec.key] = columns
            physical = [c["name"] for c in columns]
            present = []
            for col in spec.columns:
                hit = _lookup(physical, names.column_name(spec.key, col.name))
                if hit:
                    report.column_names[col.name] = hit
                    present.append(col.name)
                else:
                    report.missing_columns.append(names.column_name(spec.key, col.name))
                    if col.required:
                        report.missing_required_columns.append(
                            names.column_name(spec.key, col.name)
                        )
            known = {v.lower() for v in report.column_names.values()}
            report.extra_columns = [c for c in physical if c.lower() not in known]
            pk = [c.name for c in spec.columns if c.primary_key]
            identity = _identity_columns(columns)
            report.pk_is_identity = bool(pk) and report.column_names.get(pk[0]) in identity
            if report.missing_required_columns:
                report.status = UNUSABLE
                continue
            bound[spec.key] = model_table(
                spec.key,
                metadata,
                table_name=found_name,
                column_names=report.column_names,
                present=present,
                schema=schema,
            )
            if spec.key in ("blocked_domains", "blocked_ips", "connection_limits"):
                full_keys[spec.key] = found_name
        if full_keys:
            full_metadata.reflect(
                bind=conn, schema=schema, only=list(full_keys.values()), views=True
            )
            for key, found_name in full_keys.items():
                qualified = f"{schema}.{found_name}" if schema else found_name
                full[key] = full_metadata.tables[qualified]

        missing_required = [r for r in reports.values() if r.required and not r.usable]
        if missing_required and strict:
            what = "; ".join(f"{r.expected_name}: {r.summary()}" for r in missing_required)
            raise DatabaseError(
                f"this does not look like a ListManager database ({what}); "
                "check the URL, or map the table names in the config file's [schema.tables]"
            )

        from tui.db.privileges import CHECKED_TABLES, check_privileges

        physical = {
            k: r.physical_name
            for k, r in reports.items()
            if k in CHECKED_TABLES and r.physical_name and r.status != UNUSABLE
        }
        privileges, how = check_privileges(conn, physical, schema)
        attempts = reports["attempts"]
        if attempts.usable and privileges.get("attempts", {}).get("SELECT") is False:
            # Blocks stay readable; every feature built on the attempt log is off, and says why.
            attempts.status = UNREADABLE
            bound.pop("attempts", None)
        index_reports = (
            _index_reports(inspector, conn, reports, bound, schema) if index_report else []
        )
        can_write, reason = _write_privilege(privileges, how, reports, release_mode)
        demo_name = _lookup(live, DEMO_INFO_TABLE)
        demo_info: dict[str, str] = {}
        if demo_name:
            rows = conn.execute(sa.text(f'select "key", "value" from {demo_name}')).fetchall()
            demo_info = {str(k): str(v) for k, v in rows}
        discovery = Discovery(
            dialect=conn.dialect.name,
            server_version=_server_version(conn),
            database_name=_database_name(conn, engine),
            db_user=_db_user(conn, engine),
            schema=schema,
            tables=reports,
            indexes=index_reports,
            can_write=can_write,
            write_reason=reason,
            is_demo=bool(demo_name),
            demo_info=demo_info,
            privileges=privileges,
            privileges_how=how,
        )
    return BoundSchema(discovery, bound, full)


def _columns_of(inspector: Any, live: list[str], names: SchemaNames, schema: str | None) -> Any:
    """A lookup of live columns by table name, reflected at once for every table the model
    might bind (one query on PostgreSQL and SQL Server; SQLite asks per table anyway)."""
    wanted = set()
    for spec in MODEL:
        for candidate in (names.table_name(spec.key), *spec.alternatives):
            hit = _lookup(live, candidate)
            if hit:
                wanted.add(hit)
    try:
        batch = inspector.get_multi_columns(schema=schema, filter_names=sorted(wanted))
        by_name = {key[1]: cols for key, cols in batch.items()}
    except NotImplementedError:  # a database error goes up: the transaction is spoilt
        by_name = {}

    def columns(name: str) -> list[dict[str, Any]]:
        if name in by_name:
            return by_name[name]
        return inspector.get_columns(name, schema=schema)

    return columns


def _index_reports(
    inspector: Any,
    conn: Connection,
    reports: dict[str, TableReport],
    bound: dict[str, sa.Table],
    schema: str | None,
) -> list[IndexReport]:
    out: list[IndexReport] = []
    for spec in MODEL:
        if spec.key not in bound or not spec.indexes:
            continue
        report = reports[spec.key]
        try:
            existing = inspector.get_indexes(report.physical_name, schema=schema)
        except (NotImplementedError, sa.exc.DBAPIError):
            existing = []
        try:
            pk = inspector.get_pk_constraint(report.physical_name, schema=schema)
            if pk and pk.get("constrained_columns"):
                existing = [
                    *existing,
                    {
                        "name": pk.get("name") or "PRIMARY KEY",
                        "column_names": pk["constrained_columns"],
                    },
                ]
        except (NotImplementedError, sa.exc.DBAPIError):
            pass
        table = bound[spec.key]
        for index in spec.indexes:
            wanted = [report.column_names.get(c, c).lower() for c in index.columns]
            hit = partial = None
            for ix in existing:
                cols = [str(c).lower() for c in (ix.get("column_names") or []) if c is not None]
                if cols[: len(wanted)] == wanted:
                    hit = ix.get("name") or "unnamed"
                    break
                if cols and cols[0] == wanted[0] and partial is None:
                    partial = (
                        f"{ix.get('name') or 'unnamed'} ({', '.join(ix.get('column_names') or [])})"
                    )
            if all(c in table.c for c in index.columns):
                ddl = CreateIndex(sa.Index(index.name, *(table.c[c] for c in index.columns)))
                create_sql = str(ddl.compile(dialect=conn.dialect)).strip() + ";"
            else:
                create_sql = ""
            # Bound tables are shared; drop the throwaway Index again.
            for ix in list(table.indexes):
                if ix.name == index.name:
                    table.indexes.discard(ix)
            out.append(IndexReport(spec.key, index, hit is not None, hit, create_sql, partial))
    return out
