"""ListManager's lookup tables as they are: CompletionStatus labels and the DAO reply
definitions (``lyrDAODefinitions``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tui.db.discover import BoundSchema


def _status_labels(schema: BoundSchema, conn: Connection) -> dict[int, str]:
    if not schema.has("completion_status"):
        return {}
    t = schema.t("completion_status")
    stmt = sa.select(t.c.CompletionStatusID, schema.col("completion_status", "Description")).limit(
        10_000
    )
    return {int(r[0]): str(r[1] or "") for r in conn.execute(stmt)}


def status_labels(schema: BoundSchema, conn: Connection) -> dict[int, str]:
    """CompletionStatusID → label, read from the database (never hard-coded)."""
    return _status_labels(schema, conn)


def dao_definitions(
    schema: BoundSchema, conn: Connection, limit: int = 10_000
) -> list[dict[str, Any]]:
    """ListManager's reply patterns (``lyrDAODefinitions``), keyed by model column names."""
    if not schema.has("dao_definitions"):
        return []
    t = schema.t("dao_definitions")
    stmt = sa.select(
        t.c.Area,
        t.c.PatternType,
        schema.col("dao_definitions", "SMTPResponseCode").label("SMTPResponseCode"),
        t.c.ClassificationCode,
        t.c.Pattern,
    ).limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]
