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


def test_every_format_character_is_escaped_like_u200f() -> None:
    """Unicode category Cf (soft hyphen, U+061C, tag characters, …) and the other invisible
    characters never reach the terminal; the list matches this Python's Unicode data."""
    import re
    import sys
    import unicodedata

    from tui.textsafe import FORMAT_CHARS

    cf = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    listed = re.compile(f"[{FORMAT_CHARS}]")
    assert [c for c in cf if not listed.match(c)] == [], "Cf characters missing from the list"
    assert all(
        unicodedata.category(m) == "Cf"
        for m in re.findall(f"[{FORMAT_CHARS}]", "".join(map(chr, range(0x10000))))
    )
    for ch in [*cf, *"\u034f\u115f\u1160\u3164\uffa0\u2028"]:
        shown = printable(f"a{ch}b", one_line=False)
        assert ch not in shown and shown.startswith("a\\") and shown.endswith("b"), repr(ch)
    assert printable("a\u200fb") == "a\\u200fb"
    assert printable("a\u061cb") == "a\\u061cb" and printable("a\u00adb") == "a\\xadb"
    assert printable("x\U000e0041y") == "x\\U000e0041y"
    # Visible text is left alone: accents, CJK, emoji.
    assert printable("é 漢 🙂 مرحبا") == "é 漢 🙂 مرحبا"
