"""The schema model lmtriage works against, and its binding to live table and column names.

ListManager documents only part of its schema (see the reference notes), so lmtriage works
against a *named model*: each model table has a key (``blocked_ips``), a default physical name
(``lyrMailStreamBlockedIPs``), known alternative names, and columns with default names. The
config file may remap any table or column name. :func:`bind_tables` turns the model plus the
names actually found in the live database into SQLAlchemy Core ``Table`` objects whose columns
are addressed by their *model* name (``t.c.BlockingMX``) whatever they are called on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine


@dataclass(frozen=True, slots=True)
class ModelColumn:
    """One column of a model table."""

    name: str
    type_: Callable[[], TypeEngine] | TypeEngine
    primary_key: bool = False
    nullable: bool = True
    required: bool = False  # the table is unusable without it
    autoincrement: bool = False

    def sa_type(self) -> TypeEngine:
        """A fresh SQLAlchemy type instance."""
        return self.type_() if callable(self.type_) else self.type_


@dataclass(frozen=True, slots=True)
class ModelIndex:
    """An index the model expects, so queries stay fast on big tables."""

    name: str
    columns: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class ModelTable:
    """One table of the model."""

    key: str
    default_name: str
    columns: tuple[ModelColumn, ...]
    required: bool = False
    alternatives: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    description: str = ""
    indexes: tuple[ModelIndex, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """Model names of every column, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ModelColumn:
        """The column named ``name`` in the model."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.key} has no model column {name!r}")


def _int() -> TypeEngine:
    return sa.Integer()


def _bigint() -> TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _small() -> TypeEngine:
    return sa.SmallInteger()


def _str(n: int) -> Callable[[], TypeEngine]:
    return lambda: sa.String(n)


def _dt() -> TypeEngine:
    return sa.DateTime()


def _text() -> TypeEngine:
    return sa.Text()


C = ModelColumn

MODEL: tuple[ModelTable, ...] = (
    ModelTable(
        "mailstreams",
        "lyrMailStreams",
        (
            C("MailStreamID", _int, primary_key=True, nullable=False, required=True),
            C("Name", _str(100), nullable=False, required=True),
            C("Description", _str(255)),
        ),
        required=True,
        features=("streams",),
        description="MailStreams (name and id)",
    ),
    ModelTable(
        "node_addresses",
        "lyrNodeAddresses",
        (
            C("NodeAddressID", _int, primary_key=True, nullable=False, required=True),
            C("NodeID", _int),
            C("IPAddress", _str(45), nullable=False, required=True),
        ),
        features=("stream_ips",),
        description="sending IP addresses of the nodes",
    ),
    ModelTable(
        "stream_addresses",
        "lyrStreamHasAddress",
        (
            C("MailStreamID", _int, primary_key=True, nullable=False, required=True),
            C("NodeAddressID", _int, primary_key=True, nullable=False, required=True),
        ),
        features=("stream_ips",),
        description="which IPs belong to which stream",
    ),
    ModelTable(
        "blocked_domains",
        "lyrMailStreamBlockedDomains",
        (
            C("BlockID", _int, primary_key=True, nullable=False, required=True, autoincrement=True),
            C("MailStreamID", _int, nullable=False, required=True),
            C("Domain", _str(250), nullable=False, required=True),
            C("Description", _str(1000)),
            C("BlockedSince", _dt),
            C("NextRetry", _dt),
        ),
        required=True,
        features=("domain_blocks",),
        description="domains blocked for a stream (all its IP pairs blocked)",
        indexes=(
            ModelIndex(
                "IX_lmtriage_BlockedDomains_Stream_Domain",
                ("MailStreamID", "Domain"),
                "stream and domain filters of the block panes",
            ),
        ),
    ),
    ModelTable(
        "blocked_ips",
        "lyrMailStreamBlockedIPs",
        (
            C("BlockID", _int, primary_key=True, nullable=False, required=True, autoincrement=True),
            C("MailStreamID", _int, nullable=False, required=True),
            C("IPAddress", _str(45), nullable=False, required=True),
            C("Domain", _str(250), nullable=False, required=True),
            C("BlockingMX", _str(45), nullable=False, required=True),
            C("Description", _str(1000)),
            C("BlockedSince", _dt),
            C("NextRetry", _dt),
        ),
        required=True,
        features=("ip_blocks",),
        description="(stream IP, receiving MX IP) pairs blocked",
        indexes=(
            ModelIndex(
                "IX_lmtriage_BlockedIPs_Stream_Domain",
                ("MailStreamID", "Domain"),
                "stream and domain filters of the block panes",
            ),
        ),
    ),
    ModelTable(
        "attempts",
        "lyrDeliveryAttemptLog",
        (
            C(
                "AttemptID",
                _bigint,
                primary_key=True,
                nullable=False,
                required=True,
                autoincrement=True,
            ),
            C("AttemptTime", _dt, nullable=False, required=True),
            C("MailStreamID", _int, required=True),
            C("SourceIP", _str(45)),
            C("Domain", _str(250), required=True),
            C("MXHost", _str(250)),
            C("MXIP", _str(45)),
            C("SMTPResponseCode", _int),
            C("SMTPResponseText", _text, required=True),
            C("CompletionStatusID", _int),
            C("MailingID", _int),
            C("RecipientID", _bigint),
        ),
        alternatives=("lyrDeliverAttemptLog",),
        features=("attempt_counts", "latest_reply", "drill_down", "dashboard_domains", "evidence"),
        description="delivery attempts with the receiver's SMTP reply",
        indexes=(
            # The reply code rides along so failures are found in the index alone; the text
            # is read only for the rows shown.
            ModelIndex(
                "IX_lmtriage_Attempt_Domain_Stream_Time",
                ("Domain", "MailStreamID", "AttemptTime", "SMTPResponseCode"),
                "attempt counts, latest reply and drill-down of domain blocks",
            ),
            ModelIndex(
                "IX_lmtriage_Attempt_MXIP_Source_Time",
                ("MXIP", "SourceIP", "AttemptTime", "SMTPResponseCode"),
                "attempt counts, latest reply and drill-down of IP blocks",
            ),
            ModelIndex(
                "IX_lmtriage_Attempt_Stream_Time",
                ("MailStreamID", "AttemptTime", "Domain", "SMTPResponseCode"),
                "the per-stream dashboard's top domains (covering)",
            ),
        ),
    ),
    ModelTable(
        "stream_tracking",
        "lyrDAOMailStreamTracking",
        (
            C("MailStreamID", _int, nullable=False, required=True),
            C("CompletionStatusID", _int, nullable=False, required=True),
            C("Count", _int, nullable=False, required=True),
            C("IntervalStart", _dt, nullable=False, required=True),
            C("IntervalEnd", _dt),
        ),
        features=("volume_chart",),
        description="per-stream volume in 5-minute buckets",
    ),
    ModelTable(
        "dao_definitions",
        "lyrDAODefinitions",
        (
            C("Area", _small, nullable=False, required=True),
            C("PatternType", _small, nullable=False, required=True),
            C("SMTPResponseCode", _int),
            C("ClassificationCode", _int, nullable=False, required=True),
            C("Pattern", _str(255), nullable=False, required=True),
        ),
        features=("listmanager_classification",),
        description="ListManager's reply patterns",
    ),
    ModelTable(
        "completion_status",
        "lyrLookupCompletionStatus",
        (
            C("CompletionStatusID", _int, primary_key=True, nullable=False, required=True),
            C("Description", _str(255)),
        ),
        features=("status_labels",),
        description="labels of completion status codes",
    ),
    ModelTable(
        "connection_limits",
        "domainconnectionlimits_",
        (
            C("Domain_", _str(250), primary_key=True, nullable=False, required=True),
            C("ConnectionLimit_", _int),
            C("ConnPerHour_", _int),
            C("MaxMsgPerConn_", _int),
        ),
        features=("connection_limits",),
        description="Domain Connection Limits",
    ),
    ModelTable(
        "dk_selectors",
        "lyrDKSelectors",
        (
            C("SelectorID", _int, primary_key=True, nullable=False, required=True),
            C("Selector", _str(63), nullable=False, required=True),
            C("PrivateKey", _text),
        ),
        features=("dkim",),
        description="DKIM selectors and private keys",
    ),
    ModelTable(
        "dk_domains",
        "lyrSiteDKDomains",
        (
            C("Domain", _str(250), nullable=False, required=True),
            C("SelectorID", _int, nullable=False, required=True),
        ),
        features=("dkim",),
        description="DKIM signing domains",
    ),
)

MODEL_BY_KEY: dict[str, ModelTable] = {t.key: t for t in MODEL}

# What each feature needs, and the sentence shown when it is off.
FEATURE_NEEDS: dict[str, tuple[str, ...]] = {
    "streams": ("mailstreams",),
    "domain_blocks": ("blocked_domains",),
    "ip_blocks": ("blocked_ips",),
    "stream_ips": ("node_addresses", "stream_addresses"),
    "attempt_counts": ("attempts",),
    "latest_reply": ("attempts",),
    "drill_down": ("attempts",),
    "dashboard_domains": ("attempts",),
    "evidence": ("attempts",),
    "volume_chart": ("stream_tracking",),
    "listmanager_classification": ("dao_definitions", "completion_status"),
    "status_labels": ("completion_status",),
    "connection_limits": ("connection_limits",),
    "dkim": ("dk_selectors", "dk_domains"),
}

FEATURE_TITLES: dict[str, str] = {
    "streams": "stream names",
    "domain_blocks": "blocked domains",
    "ip_blocks": "blocked IP pairs",
    "stream_ips": "the stream's sending IPs",
    "attempt_counts": "attempt counts",
    "latest_reply": "the latest SMTP reply of each block",
    "drill_down": "the SMTP replies behind a block",
    "dashboard_domains": "the dashboard's per-domain figures",
    "evidence": "evidence in allowlist requests",
    "volume_chart": "the stream volume chart",
    "listmanager_classification": "ListManager's own reply classification",
    "status_labels": "completion status labels",
    "connection_limits": "Domain Connection Limits",
    "dkim": "DKIM selectors from the database",
}


@dataclass
class SchemaNames:
    """Physical names for model tables and columns (config remapping applied)."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def table_name(self, key: str) -> str:
        """The configured (or default) physical name of model table ``key``."""
        return self.tables.get(key, MODEL_BY_KEY[key].default_name)

    def column_name(self, key: str, column: str) -> str:
        """The configured (or default) physical name of a model column."""
        return self.columns.get(key, {}).get(column, column)

    def is_remapped(self, key: str) -> bool:
        """Whether the config names this table explicitly."""
        return key in self.tables

    @classmethod
    def from_config(
        cls, tables: Mapping[str, str] | None, columns: Mapping[str, Mapping[str, str]] | None
    ) -> SchemaNames:
        """Validate config remappings against the model and build the name map."""
        from tui.errors import ConfigError

        tables = dict(tables or {})
        columns = {k: dict(v) for k, v in (columns or {}).items()}
        for key, name in tables.items():
            if key not in MODEL_BY_KEY:
                raise ConfigError(
                    f"schema.tables: unknown model table {key!r} (known: {', '.join(MODEL_BY_KEY)})"
                )
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"schema.tables.{key}: must be a non-empty table name")
        for key, cols in columns.items():
            if key not in MODEL_BY_KEY:
                raise ConfigError(f"schema.columns: unknown model table {key!r}")
            known = MODEL_BY_KEY[key].column_names
            for col, name in cols.items():
                if col not in known:
                    raise ConfigError(
                        f"schema.columns.{key}: unknown model column {col!r} (known: {', '.join(known)})"
                    )
                if not isinstance(name, str) or not name.strip():
                    raise ConfigError(
                        f"schema.columns.{key}.{col}: must be a non-empty column name"
                    )
        return cls(tables=tables, columns=columns)


def model_table(
    key: str,
    metadata: sa.MetaData,
    *,
    table_name: str | None = None,
    column_names: Mapping[str, str] | None = None,
    present: Iterable[str] | None = None,
    schema: str | None = None,
    with_indexes: bool = False,
) -> sa.Table:
    """A Core ``Table`` for model table ``key``.

    ``column_names`` maps model column names to physical names; ``present`` limits the table to
    the model columns that exist on disk (missing optional columns are then absent and queries
    use NULL in their place). Every column's ``key`` is its model name.
    """
    spec = MODEL_BY_KEY[key]
    names = dict(column_names or {})
    keep = set(present) if present is not None else set(spec.column_names)
    cols = [
        sa.Column(
            names.get(c.name, c.name),
            c.sa_type(),
            key=c.name,
            primary_key=c.primary_key,
            nullable=c.nullable and not c.primary_key,
            autoincrement=c.autoincrement if c.primary_key else False,
        )
        for c in spec.columns
        if c.name in keep
    ]
    table = sa.Table(table_name or spec.default_name, metadata, *cols, schema=schema)
    if with_indexes:
        for index in spec.indexes:
            sa.Index(index.name, *(table.c[c] for c in index.columns))
    return table


def create_model_metadata(
    names: SchemaNames | None = None, *, skip: Iterable[str] = ()
) -> sa.MetaData:
    """Metadata holding every model table (for the demo database and test fixtures)."""
    names = names or SchemaNames()
    metadata = sa.MetaData()
    skipped = set(skip)
    for spec in MODEL:
        if spec.key in skipped:
            continue
        model_table(
            spec.key,
            metadata,
            table_name=names.table_name(spec.key),
            column_names={c: names.column_name(spec.key, c) for c in spec.column_names},
            with_indexes=True,
        )
    return metadata
