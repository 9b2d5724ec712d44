"""The audit's row encoding: every value a block row can hold comes back exactly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from tui.db.audit import decode_pairs, encode_pairs, encode_rows

T = datetime(2026, 11, 20, 1, 52, 47, 123456)


def rows(n: int) -> list[list[object]]:
    return [
        [
            f"ip:{i}",
            {
                "BlockID": i,
                "Domain": "gmail.com" if i % 2 else "[b]x[/b]\x1b[31m\x00.example",
                "Description": None if i % 3 else 'quote " back \\ 日本 \ud800',
                "BlockedSince": T + timedelta(seconds=i),
                "NextRetry": None if i % 2 else T,
                "Aware": T.replace(tzinfo=UTC)
                if i % 2
                else T.replace(tzinfo=timezone(timedelta(hours=-5))),
                "Mixed": T if i % 2 else "2026-11-20T01:52:47",  # a string that looks like a time
                "Day": date(2026, 11, i % 28 + 1),
                "Money": Decimal("1.10"),
                "Raw": b"\xff\x00",
                "Nothing": None,
            },
        ]
        for i in range(n)
    ]


def test_same_columns_are_written_once_and_come_back_exactly() -> None:
    pairs = rows(50)
    text = encode_pairs(pairs)
    data = json.loads(text)
    assert data["v"] == 2 and data["columns"][0] == "BlockID"
    assert data["types"][data["columns"].index("BlockedSince")] == "dt"
    assert data["types"][data["columns"].index("Mixed")] is None  # not every value a datetime
    assert text.isascii()
    back = decode_pairs(text)
    assert back == pairs
    assert type(back[1][1]["Mixed"]) is datetime and type(back[0][1]["Mixed"]) is str
    assert back[0][1]["Aware"].utcoffset() == timedelta(hours=-5)
    assert len(text) < len(encode_rows(pairs))


def test_rows_with_different_columns_and_the_older_form_still_decode() -> None:
    pairs = rows(3)
    pairs[1][1] = {"BlockID": 9, "Domain": "other"}
    assert decode_pairs(encode_pairs(pairs)) == pairs
    older = rows(4)
    assert decode_pairs(encode_rows(older)) == older  # audit files written before v2
    assert decode_pairs(encode_pairs([])) == []
