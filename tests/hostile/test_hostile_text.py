"""Hostile text in replies, domains, descriptions and stream names is shown literally
everywhere: console, table/CSV/JSON output and the allowlist request. Never executed, never
a crash, never a control sequence on the terminal."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support import hostile
from tests.ui.conftest import settle
from tui.cli import main
from tui.ui.screens.replies import RepliesScreen
from tui.ui.widgets.block_table import BlockTable


@pytest.fixture
def db(lm_db):
    hostile.inject(lm_db.engine, lm_db.now)
    return lm_db


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_blocks_output_is_inert(db, capsys, fmt: str) -> None:
    code, out, err = run(capsys, "blocks", *db.args("--format", fmt))
    assert code == 0 and "Traceback" not in err
    assert hostile.clean(out) == []
    if fmt == "json":
        data = json.loads(out)
        domains = {b["domain"] for b in data}
        assert "[b]x[/b]\x1b[31m.example" in domains  # JSON keeps the value, escaped
        assert any(b["stream"].startswith("tx [bold]") for b in data)
    elif fmt == "csv":
        csv.field_size_limit(8 * 1024 * 1024)  # CSV carries the 1 MB description whole
        rows = list(csv.DictReader(io.StringIO(out)))
        assert any(r["domain"] == "[b]x[/b]\\x1b[31m.example" for r in rows)
        assert max(len(r["description"]) for r in rows) >= 1000  # not cut (PostgreSQL: varchar(1000))
    else:
        assert "[b]x[/b]\\x1b[31m.example" in out
        assert max(len(line) for line in out.splitlines()) < 2000  # the 1 MB description is cut


def test_responses_and_explain_are_inert(db, capsys) -> None:
    code, out, _ = run(
        capsys, "responses", *db.args("--domain", "evil.example", "--format", "json")
    )
    groups = json.loads(out)
    assert code == 0 and hostile.clean(out) == [] and len(groups) >= 3
    texts = [t["text"] for g in groups for t in g["texts"]]
    assert hostile.MARKUP in texts
    code, out, _ = run(
        capsys, "responses", *db.args("--domain", "evil.example", "--raw", "--format", "json")
    )
    raw = json.loads(out)
    assert code == 0 and hostile.clean(out) == [] and len(raw) >= 6
    assert sum(g["count"] for g in raw) == sum(g["count"] for g in groups)
    if db.backend == "sqlite":  # only SQLite can hold bytes that are not UTF-8
        assert any("\ufffd" in t for t in texts)
    code, out, _ = run(capsys, "responses", *db.args("--domain", "evil.example"))
    assert code == 0 and hostile.clean(out) == [] and "[@click=app.quit]q[/]" in out
    code, out, _ = run(capsys, "explain", *db.args("--domain", "evil.example"))
    assert code == 0 and hostile.clean(out) == []


def test_allowlist_request_is_inert(db, capsys) -> None:
    code, out, _ = run(capsys, "allowlist-request", *db.args("--domain", "evil.example"))
    assert code == 0 and hostile.clean(out) == []
    assert "\nBcc:" not in out and "[bold]b[/bold]" in out
    assert "x@evil" not in out  # an address in a hostile reply is masked like any other
    assert len(out) < 100_000  # the megabyte reply is cut


def test_classify_is_inert(capsys, monkeypatch) -> None:
    payload = (
        "\n".join([hostile.MARKUP, hostile.ANSI, hostile.BIDI, hostile.HUGE]).encode()
        + b"\n\xff\xfe bad\n"
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(payload)))
    code, out, err = run(capsys, "classify", "--format", "json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) >= 5 and hostile.clean(out) == []
    code, out, err = run(capsys, "classify", "--file", "/dev/null")
    assert code == 0


async def test_console_shows_everything_literally(db, make_app) -> None:
    if db.backend != "sqlite":
        pytest.skip("the console part runs once, on SQLite")
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for pane in ("1", "2"):
            await pilot.press(pane)
            await settle(pilot)
            table = app.active_table
            assert isinstance(table, BlockTable)
            for row in range(len(table.keys)):
                table.move_cursor(row)
                await settle(pilot)
                line = "".join(
                    seg.text for seg in table.render_line(row - table.scroll_offset.y + 1)
                )
                assert hostile.clean(line) == []
                detail = str(app.query_one("#detail-text").render())
                assert hostile.clean(detail) == []
        # The evil.example IP block's replies, drilled into.
        table = app.table_of("ips")
        table.move_cursor(table.keys.index(206))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RepliesScreen)
        shown = [str(c) for g in app.screen.groups for c in (g.sample_text, g.signature)]
        assert hostile.MARKUP in shown
        await pilot.press("escape")
        await pilot.press("m")  # the stream picker lists the hostile stream name
        await pilot.pause()
        await pilot.press("escape")
        header = "".join(s.text for s in app.query_one("#header").render_line(0))
        assert hostile.clean(header) == []
        assert app.is_running  # [@click=app.quit] did nothing
