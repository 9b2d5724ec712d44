"""The few SQL constructs that differ between SQLite, PostgreSQL and Microsoft SQL Server.

Everything else is plain SQLAlchemy Core. These exist because ListManager stores reply text as
``text``/``varchar(max)`` on MSSQL, which cannot be grouped or compared without a cast, and
because substring functions are spelt differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

# MSSQL refuses statements with more than 2,100 parameters; stay well below it.
MAX_PARAMS_PER_STATEMENT = 1000


class text_prefix(FunctionElement):  # noqa: N801 - reads like the SQL function it renders
    """The first ``n`` characters of a text column, as a groupable, comparable string."""

    type = sa.String()
    inherit_cache = True
    name = "text_prefix"


@compiles(text_prefix)
def _prefix_default(element: text_prefix, compiler: Any, **kw: Any) -> str:
    col, n = list(element.clauses)
    return f"substr({compiler.process(col, **kw)}, 1, {compiler.process(n, **kw)})"


@compiles(text_prefix, "postgresql")
def _prefix_pg(element: text_prefix, compiler: Any, **kw: Any) -> str:
    col, n = list(element.clauses)
    return f"substr(CAST({compiler.process(col, **kw)} AS TEXT), 1, {compiler.process(n, **kw)})"


@compiles(text_prefix, "mssql")
def _prefix_mssql(element: text_prefix, compiler: Any, **kw: Any) -> str:
    col, n = list(element.clauses)
    # CAST first: SUBSTRING of a legacy `text` column yields varchar(8000) at most anyway,
    # and NVARCHAR(4000) keeps non-Latin replies intact and groupable.
    return (
        f"CAST(SUBSTRING({compiler.process(col, **kw)}, 1, {compiler.process(n, **kw)}) "
        f"AS NVARCHAR(4000))"
    )


def prefix(column: ColumnElement[Any], n: int) -> text_prefix:
    """``text_prefix(column, n)`` with ``n`` inlined (it is ours, never user input)."""
    return text_prefix(column, sa.literal_column(str(int(n))))


def chunks(items: Sequence[Any], size: int = MAX_PARAMS_PER_STATEMENT) -> list[Sequence[Any]]:
    """Split ``items`` so no statement carries more than ``size`` bound values."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def keyset_after(
    columns: Sequence[ColumnElement[Any]], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``(c1, c2, …) > (v1, v2, …)`` spelt out, since MSSQL has no row-value comparison."""
    clauses = []
    for i, col in enumerate(columns):
        equal = [columns[j] == values[j] for j in range(i)]
        clauses.append(sa.and_(*equal, col > values[i]))
    return sa.or_(*clauses)


def keyset_before(
    columns: Sequence[ColumnElement[Any]], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``(c1, c2, …) < (v1, v2, …)`` spelt out."""
    clauses = []
    for i, col in enumerate(columns):
        equal = [columns[j] == values[j] for j in range(i)]
        clauses.append(sa.and_(*equal, col < values[i]))
    return sa.or_(*clauses)


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so a user's ``%`` or ``_`` matches itself (escape char ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("[", "\\[")


def bindable(text: str) -> bool:
    """Whether ``text`` can be bound as a text parameter at all.

    PostgreSQL rejects NUL in text ("cannot contain NUL (0x00) bytes"), SQLite cuts a LIKE
    pattern at it (so ``%<NUL>%`` matched every row), and no driver can encode a lone
    surrogate (undecodable bytes on a command line). No stored value can hold either, so a
    filter carrying one matches nothing rather than failing or matching everything.
    """
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_equals(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """``column = :value``, or false for a value no text column can hold (see :func:`bindable`)."""
    return column == value if bindable(value) else sa.false()


def one_column_function(
    name: str, templates: dict[str, str], type_: Any = None
) -> type[FunctionElement[Any]]:
    """A SQL construct of one expression spelt per dialect: ``templates`` maps a dialect name
    (or ``"default"``, else the expression itself) to text with ``{}`` where the compiled
    expression goes."""
    cls = type(name, (FunctionElement,), {"inherit_cache": True, "name": name})
    if type_ is not None:
        cls.type = type_

    def render(dialect: str | None) -> Any:
        template = templates.get(dialect or "default", "{}")

        def compile_it(element: Any, compiler: Any, **kw: Any) -> str:
            return template.format(compiler.process(next(iter(element.clauses)), **kw))

        return compile_it

    compiles(cls)(render(None))
    for dialect in templates:
        if dialect != "default":
            compiles(cls, dialect)(render(dialect))
    return cls


# A text expression LIKE can match: on PostgreSQL under the deterministic "C" collation. A
# column with a nondeterministic collation (case-insensitive ICU, the PostgreSQL mirror of SQL
# Server's _CI_ collations) makes PostgreSQL refuse LIKE outright ("nondeterministic collations
# are not supported for LIKE"); the lowered text matched byte for byte under "C" finds the same
# rows as before everywhere else.
likeable = one_column_function("likeable", {"postgresql": '({}) COLLATE "C"'}, sa.String())

# A column SQLite must not pick an index for (``+col`` is a no-op there); itself elsewhere.
unindexed = one_column_function("unindexed", {"sqlite": "+{}"})

# Whole seconds of a timestamp since a fixed instant, as a BIGINT (NULL stays NULL).
epoch_seconds = one_column_function(
    "epoch_seconds",
    {
        "default": "CAST(strftime('%s', {}) AS INTEGER)",
        "postgresql": "CAST(EXTRACT(EPOCH FROM {}) AS BIGINT)",
        "mssql": "CAST(DATEDIFF(SECOND, '2000-01-01', {}) AS BIGINT)",
    },
    sa.BigInteger(),
)


def contains(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with the user's text bound as a parameter."""
    if not bindable(text):
        return sa.false()
    return likeable(sa.func.lower(column)).like(f"%{like_escape(text.lower())}%", escape="\\")
