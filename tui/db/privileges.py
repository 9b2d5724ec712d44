"""What the database user may do to each table lmtriage uses, and so which operations work.

Checked once at connect, per table and privilege (SELECT, INSERT, UPDATE, DELETE):
``has_table_privilege`` on PostgreSQL, ``HAS_PERMS_BY_NAME`` on SQL Server, the file's
permissions on SQLite. Each operation names the privileges it needs, so a role without UPDATE
is told before ``retry-now`` or a connection-limit change is tried, and a role that may not read
the attempt log still sees the blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

# The model tables each privilege matters for (doctor prints this matrix).
CHECKED_TABLES = (
    "mailstreams",
    "blocked_domains",
    "blocked_ips",
    "attempts",
    "connection_limits",
)

# operation -> (model table, privilege) pairs it needs.
OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "read_blocks": (
        ("mailstreams", "SELECT"),
        ("blocked_domains", "SELECT"),
        ("blocked_ips", "SELECT"),
    ),
    "read_replies": (("attempts", "SELECT"),),
    "release_delete": (
        ("blocked_domains", "SELECT"),
        ("blocked_ips", "SELECT"),
        ("blocked_domains", "DELETE"),
        ("blocked_ips", "DELETE"),
    ),
    "release_retry-now": (
        ("blocked_domains", "SELECT"),
        ("blocked_ips", "SELECT"),
        ("blocked_domains", "UPDATE"),
        ("blocked_ips", "UPDATE"),
    ),
    "undo_delete": (("blocked_domains", "INSERT"), ("blocked_ips", "INSERT")),
    "undo_retry-now": (("blocked_domains", "UPDATE"), ("blocked_ips", "UPDATE")),
    "dcl": (
        ("connection_limits", "SELECT"),
        ("connection_limits", "INSERT"),
        ("connection_limits", "UPDATE"),
        ("connection_limits", "DELETE"),  # undo of a change that added the domain's row
    ),
}

Matrix = dict[str, dict[str, bool | None]]  # model table -> privilege -> granted (None: unknown)


def check_privileges(
    conn: Connection, physical: dict[str, str], schema: str | None
) -> tuple[Matrix, str]:
    """The matrix for the found tables (model key -> physical name) and how it was learned."""
    dialect = conn.dialect.name
    matrix: Matrix = {}
    if dialect == "sqlite":
        writable, how = _sqlite_writable(conn)
        for key in physical:
            matrix[key] = {p: (True if p == "SELECT" else writable) for p in PRIVILEGES}
        return matrix, how
    try:
        for key, name in physical.items():
            qualified = f"{schema}.{name}" if schema else name
            matrix[key] = {}
            for privilege in PRIVILEGES:
                if dialect == "postgresql":
                    ok = conn.execute(
                        sa.text("select has_table_privilege(:t, :p)"),
                        {"t": _pg_ident(qualified), "p": privilege},
                    ).scalar()
                elif dialect == "mssql":
                    ok = conn.execute(
                        sa.text("select HAS_PERMS_BY_NAME(:t, 'OBJECT', :p)"),
                        {"t": qualified, "p": privilege},
                    ).scalar()
                else:
                    ok = None
                matrix[key][privilege] = None if ok is None else bool(ok)
    except sa.exc.DBAPIError as err:
        conn.rollback()
        unknown = {key: dict.fromkeys(PRIVILEGES) for key in physical}
        return unknown, f"could not check privileges ({type(err.orig).__name__})"
    how = f"privileges read from the server ({dialect})"
    if dialect not in ("postgresql", "mssql"):
        how = f"privileges not checked on {dialect}"
    return matrix, how


def _sqlite_writable(conn: Connection) -> tuple[bool, str]:
    if conn.exec_driver_sql("pragma query_only").scalar():
        return False, "the SQLite connection is query-only"
    for row in conn.exec_driver_sql("pragma database_list").fetchall():
        if row[1] == "main" and row[2] and not os.access(row[2], os.W_OK):
            return False, f"the SQLite file {row[2]} is not writable"
    return True, "the SQLite file is writable"


def _pg_ident(qualified: str) -> str:
    # has_table_privilege parses its argument as an identifier: quote each part so
    # mixed-case ListManager names are found as they are.
    return ".".join('"' + part.replace('"', '""') + '"' for part in qualified.split("."))


def gaps(matrix: Matrix, needs: Iterable[tuple[str, str]], names: dict[str, str]) -> list[str]:
    """``UPDATE on domainconnectionlimits_`` for every needed privilege known to be missing.

    A table that was not found is not a privilege gap (the feature is off for another reason);
    a privilege that could not be checked (None) is let through: the statement will say.
    """
    out = []
    for key, privilege in needs:
        granted = matrix.get(key, {}).get(privilege)
        if key in matrix and granted is False:
            out.append(f"{privilege} on {names.get(key, key)}")
    return out
