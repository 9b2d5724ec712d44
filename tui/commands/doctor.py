"""``lmtriage doctor``: what lmtriage found in the database, and what a DBA could add.

It also reports on a database without the ListManager tables (what is missing, exit status 1)
instead of refusing it like the other commands.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.common import add_common_options, add_format_option, open_core
from tui.commands.output import dumps
from tui.textsafe import printable


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``doctor`` parser."""
    p = sub.add_parser(
        "doctor",
        help="the schema discovery report",
        description="What lmtriage found in the database (tables, columns, indexes, the "
        "user's rights) and the CREATE INDEX a DBA could run. Exit status 1 when a required "
        "ListManager table is missing.",
    )
    add_common_options(p)
    add_format_option(p, ("table", "json"), why_not="no CSV: the report is nested (tables, indexes, privileges)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    core = open_core(args, strict=False, index_report=True)
    d = core.schema.discovery
    missing = [t.expected_name for t in d.tables.values() if t.required and not t.usable]
    has_blocks = any(d.tables[k].usable for k in ("blocked_domains", "blocked_ips"))
    cfg = core.config
    audit_location = (
        "table lmtriage_audit_event in the ListManager database"
        if cfg.audit_in_database
        else (cfg.audit_url or str(cfg.resolved_audit_path()))
    )
    info = {
        "database_url": core.display_url,
        "database_source": cfg.db_source,
        "config_file": str(cfg.config_path) if cfg.config_path else None,
        "release_mode": cfg.release_mode,
        "read_only": core.read_only,
        "read_only_reason": core.read_only_reason,
        "audit": audit_location,
        "clock": core.now().isoformat(sep=" ", timespec="seconds"),
        **d.to_json(),
        "listmanager": not missing,
        "missing_required_tables": missing,
    }
    status = 1 if missing else 0
    if args.format == "json":
        sys.stdout.write(dumps(info, indent=2) + "\n")
        return status
    out = []
    if missing:
        out.append(
            f"NOT A LISTMANAGER DATABASE: required table(s) {', '.join(missing)} missing; "
            "check the URL, or map the names in the config file's [schema.tables]"
        )
        out.append("")
    out.append(f"database      {core.display_url}  (from {cfg.db_source})")
    out.append(f"server        {d.server_version}")
    out.append(f"name / user   {d.database_name or '-'} / {d.db_user or '-'}")
    if not has_blocks:
        out.append("writes        - (no block tables)")
    else:
        out.append(
            f"writes        {'no: ' + core.read_only_reason if core.read_only else 'yes: ' + d.write_reason}"
        )
    out.append(f"release mode  {cfg.release_mode}")
    out.append(f"audit         {audit_location}")
    if d.is_demo:
        out.append(
            f"demo clock    {core.now():%Y-%m-%d %H:%M} (anchor {d.demo_info.get('anchor_time', '?')})"
        )
    out.append("")
    out.append("Tables")
    for t in d.tables.values():
        mark = {
            "found": "ok  ",
            "alternative": "alt ",
            "missing": "--  ",
            "unusable": "BAD ",
            "unreadable": "NO-R",
        }[t.status]
        need = "required" if t.required else "optional"
        mapped = " (mapped in config)" if t.remapped else ""
        out.append(f"  {mark} {t.key:18} {need:9} {t.summary()}{mapped}")
        renamed = {m: p for m, p in t.column_names.items() if m.lower() != p.lower()}
        if renamed:
            out.append(
                "         columns mapped: " + ", ".join(f"{m} -> {p}" for m, p in renamed.items())
            )
    out += _privilege_lines(d)
    off = d.disabled_features()
    if off:
        out.append("")
        out.append("Features off")
        for feature, reason in off:
            out.append(f"  {feature}: {reason}")
    out.append("")
    out.append("Indexes")
    for ix in d.indexes:
        cols = ", ".join(ix.index.columns)
        if ix.present:
            out.append(f"  ok   {ix.table_key} ({cols}) as {ix.existing_name}")
        else:
            out.append(
                f"  --   {ix.table_key} ({cols}) missing: {ix.index.why} will scan the table"
            )
            out.append(f"       a DBA could run: {ix.create_sql}")
    if not d.indexes:
        out.append("  (none: the tables they belong to are missing)")
    sys.stdout.write("\n".join(printable(line, max_chars=2000) for line in out) + "\n")
    return status


def _privilege_lines(d) -> list[str]:  # noqa: ANN001 - Discovery
    """The per-table privilege matrix and what each operation needs that is missing."""
    from tui.db.privileges import OPERATIONS, PRIVILEGES

    if not d.privileges:
        return []
    out = ["", f"Privileges ({d.privileges_how})"]
    out.append(f"  {'table':18} " + " ".join(f"{p:6}" for p in PRIVILEGES))
    for key, granted in d.privileges.items():
        cells = " ".join(
            f"{'yes' if granted.get(p) else ('?' if granted.get(p) is None else 'NO'):6}"
            for p in PRIVILEGES
        )
        out.append(f"  {key:18} {cells} {printable(d.tables[key].physical_name or '')}")
    out.append("")
    out.append("Operations")
    for op in OPERATIONS:
        out.append(f"  {op:18} {printable(d.privilege_gaps(op) or 'ok')}")
    return out
