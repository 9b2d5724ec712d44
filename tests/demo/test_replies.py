"""The demo's data files and reply-text placeholders: every text renders, draws are ordered."""

from __future__ import annotations

import random
import re
from importlib import resources

import pytest

from tui.demo import replies, tables
from tui.demo.replies import BLOCK_TEMPLATES, FAILURES, Ctx, Template, compile_text, success

CTX = Ctx(
    "192.0.2.10",
    "mx1.example.net",
    "198.18.1.2",
    "web.de",
    "mail.example.com",
    "2026-11-20 10:11:12",
)
STYLES = sorted(BLOCK_TEMPLATES) + ["unknown-style"]


def test_data_files_ship_as_package_data() -> None:
    files = {p.name for p in resources.files("tui.demo.data").iterdir()}
    assert {"names.toml", "world.toml", "listmanager.toml", "replies.toml"} <= files
    for stream in tables.STREAMS:  # every sender domain has DKIM and its keys are there
        dk = tables.DKIM[stream.sender]
        assert "PRIVATE KEY" in tables.dkim_pem(dk.key)
        if dk.dns_key:
            assert "PRIVATE KEY" in tables.dkim_pem(dk.dns_key)


def test_every_block_reply_renders_without_leftover_placeholders() -> None:
    seen = 0
    for style, causes in BLOCK_TEMPLATES.items():
        assert set(causes) <= set(tables.CAUSES), style
        for cause, uses in causes.items():
            for template, permanent in uses:
                assert 0.0 <= permanent <= 1.0
                for seed in range(5):
                    code, text = template(random.Random(seed), CTX)
                    assert code is None or 200 <= code < 600
                    assert "{" not in text and "}" not in text, (style, cause, template.name)
                    assert text.strip() == text and text
                    seen += 1
    assert seen > 300


@pytest.mark.parametrize("style", STYLES)
def test_background_replies_for_every_style(style: str) -> None:
    for kind in FAILURES.values():
        for seed in range(10):
            code, text = kind.replies.render(style, random.Random(seed), CTX)
            assert "{" not in text and text, (style, kind.name)
    for seed in range(5):
        text = success(style, random.Random(seed), "mail.example.com", 1_790_000_000)
        assert text.startswith("250") and "{" not in text


def test_placeholders_draw_left_to_right() -> None:
    parts = compile_text("a {int:0:1000} b {hex:4|upper} c {choice:x,y,z} {ip}")
    r1, r2 = random.Random(3), random.Random(3)
    text = "".join(p if isinstance(p, str) else str(p(r1, CTX)) for p in parts)
    expected = f"a {r2.randrange(0, 1000)} b {replies.hex_digits(r2, 4).upper()} c {r2.choice(('x', 'y', 'z'))} 192.0.2.10"
    assert text == expected


def test_vars_are_drawn_first_and_reused() -> None:
    t = Template.from_table(
        "t", {"code": 250, "vars": {"n": "int:10:99"}, "text": "{n}-{int:0:9}-{n|03d}"}
    )
    code, text = t(random.Random(1), CTX)
    first, _, last = text.split("-")
    assert code == 250 and int(last) == int(first)


def test_gmail_wrapping_adds_continuation_lines_and_an_id() -> None:
    t = Template.from_table("g", {"code": 550, "wrap": "550 5.7.1", "text": "word " * 40 + "end"})
    _, text = t(random.Random(1), CTX)
    assert text.startswith("550-5.7.1 word") and re.search(r" 550 5\.7\.1 .* - gsmtp$", text)


@pytest.mark.parametrize(
    "text", ["{nosuch}", "{int:1}", "{choice}", "{alnum:3:klingon}", "a {ip b"]
)
def test_bad_placeholders_are_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError, IndexError)):
        compile_text(text)
