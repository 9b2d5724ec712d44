"""CLI output a spreadsheet or a terminal cannot be tricked by: CSV cells that would run as
formulas are neutralised; table columns line up with wide and emoji characters."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from tui.cli import main
from tui.commands.output import render_table


def test_csv_neutralises_formula_cells(sqlite_db, capsys) -> None:
    with sqlite_db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into lyrMailStreamBlockedDomains (BlockID, MailStreamID, Domain, Description) "
                "values (150, 1, :d, :desc)"
            ),
            {"d": '=HYPERLINK("http://evil.example","x")', "desc": "@SUM(1+1)*cmd|' /C calc'!A0"},
        )
    assert main(["blocks", *sqlite_db.args("--kind", "domain", "--format", "csv")]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    evil = next(r for r in rows if "HYPERLINK" in r["domain"])
    assert evil["domain"].startswith("'=HYPERLINK")
    assert all(not r["domain"].startswith(("=", "+", "-", "@")) for r in rows)
    assert all(v == "" or not v.startswith(("=", "+", "@")) for r in rows for v in r.values())


def test_table_columns_align_with_wide_characters() -> None:
    table = render_table(
        [{"d": "漢字.example", "n": 1}, {"d": "ab.example", "n": 22}, {"d": "🙂.example", "n": 3}],
        ["d", "n"],
    )
    lines = table.splitlines()
    from rich.cells import cell_len  # an independent measure of terminal width

    starts = {cell_len(line[: line.rindex(" ") + 1]) for line in lines}
    assert len(starts) == 1, table  # the second column starts at the same terminal column
    cut = render_table([{"d": "漢" * 30}], ["d"], max_width={"d": 9}).splitlines()[1]
    assert cell_len(cut) <= 9 and cut.endswith("…")


def test_blocks_csv_has_block_id_and_description(sqlite_db, capsys) -> None:
    assert main(["blocks", *sqlite_db.args("--format", "csv")]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"block_id", "description", "kind", "domain", "failed"} <= set(rows[0])
    gmail = next(r for r in rows if r["block_id"] == "101")
    assert gmail["description"] == "All MX blocked" and gmail["kind"] == "domain"


def test_one_window_option_and_formats_explained(capsys) -> None:
    from tui.cli import build_parser
    from tui.commands.validate import subparser_of

    parser = build_parser()
    for command in ("blocks", "responses", "explain"):
        text = subparser_of(parser, command).format_help()
        assert "--window DURATION, --since DURATION" in text, command
    for command in ("doctor", "explain", "dcl", "check", "classify", "demo"):
        text = " ".join(subparser_of(parser, command).format_help().split())
        assert "no CSV:" in text, command
    assert "There is no --format" in subparser_of(parser, "allowlist-request").format_help()
    for command in ("blocks", "responses", "release", "audit"):
        assert "{table,json,csv}" in subparser_of(parser, command).format_help(), command
