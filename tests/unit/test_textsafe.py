"""Hostile text is made printable: no control sequence survives, nothing is lost silently."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.textsafe import coerce_text, printable


def test_escapes_and_controls_become_visible() -> None:
    text = "a\x1b[31mred\x1b]0;title\x07\x00nul\u202eevil\r\nnext"
    out = printable(text)
    assert "\x1b" not in out and "\x00" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b[31mred" in out and "\\x00nul" in out and "\\u202eevil" in out
    assert "\n" not in out
    assert printable("line1\nline2", one_line=False) == "line1\nline2"


def test_markup_is_left_as_text() -> None:
    assert printable("[bold]x[/bold] [@click=app.quit]") == "[bold]x[/bold] [@click=app.quit]"


def test_long_text_is_cut_with_a_note() -> None:
    out = printable("x" * 1_000_000, max_chars=100)
    assert out.startswith("x" * 100) and "999,900 more characters" in out and len(out) < 200


def test_bytes_and_invalid_utf8() -> None:
    assert coerce_text(b"ok \xff\xfe") == "ok \ufffd\ufffd"
    assert coerce_text(None) == "" and coerce_text(42) == "42"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_leaves_a_control_character(text: str) -> None:
    out = printable(text, max_chars=None)
    assert all(not (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F) for c in out)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out)
