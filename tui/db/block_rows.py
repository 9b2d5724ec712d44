"""The physical block tables as release, undo and reconciliation see them: every column of the
reflected table (the audit keeps full rows), the model's names mapped to the live ones, and
the identity of a row as the user saw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema
from tui.db.queries import table_key
from tui.db.records import BlockIdentity, BlockKind
from tui.db.sqlfuncs import chunks
from tui.textsafe import coerce_text


class PhysicalBlocks:
    """Physical names of one block table (the full reflected table has every column)."""

    def __init__(self, schema: BoundSchema, kind: BlockKind) -> None:
        key = table_key(kind)
        self.kind = kind
        self.report = schema.discovery.tables[key]
        self.table: sa.Table = schema.full_tables[key]
        self.names = self.report.column_names
        self.pk = self.table.c[self.names["BlockID"]]

    def col(self, model_name: str) -> sa.Column[Any]:
        """The live column of a model column."""
        return self.table.c[self.names[model_name]]

    def value(self, row: dict[str, Any], model_name: str) -> Any:
        """A model column's value in a full row."""
        return row.get(self.names.get(model_name, model_name))

    def identity_of(self, row: dict[str, Any]) -> BlockIdentity:
        """What a user would have seen of this row (see :class:`BlockIdentity`)."""
        ip = self.value(row, "IPAddress") if self.kind == "ip" else None
        mx = self.value(row, "BlockingMX") if self.kind == "ip" else None
        return BlockIdentity(
            int(self.value(row, "MailStreamID")),
            coerce_text(self.value(row, "Domain") or ""),
            None if ip is None else coerce_text(ip).strip(),
            None if mx is None else coerce_text(mx).strip(),
            self.value(row, "BlockedSince") if "BlockedSince" in self.names else None,
        )

    def block_id(self, row: dict[str, Any]) -> int:
        """The row's primary key."""
        return int(self.value(row, "BlockID"))

    def take_write_lock(self, conn: Connection) -> None:
        """SQLite: a write statement opens the write transaction, so a concurrent release
        waits here until ours commits and then sees the rows gone."""
        if conn.dialect.name == "sqlite":
            conn.execute(sa.delete(self.table).where(sa.false()))

    def read(
        self, conn: Connection, ids: Sequence[int], *, lock: bool
    ) -> dict[int, dict[str, Any]]:
        """Full rows by key; ``lock`` reads them ``FOR UPDATE`` (PostgreSQL) or with
        ``UPDLOCK`` (SQL Server). A dry run must not lock: a SELECT-only role may not."""
        found: dict[int, dict[str, Any]] = {}
        for part in chunks(list(ids)):
            stmt = sa.select(self.table).where(self.pk.in_(list(part)))
            if lock:
                stmt = stmt.with_for_update().with_hint(
                    self.table, "WITH (UPDLOCK, ROWLOCK)", "mssql"
                )
            result = conn.execute(stmt)
            keys = list(result.keys())
            for values in result:
                row = dict(zip(keys, values, strict=True))
                found[int(row[self.pk.name])] = row
        return found
