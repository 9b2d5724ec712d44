"""The binding table: unique ids, no key bound twice, every id documented in the README."""

from __future__ import annotations

from pathlib import Path

from tui.ui.bindings import KEYS, TABLE_KEYS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_ids_unique_and_keys_not_shared() -> None:
    ids = [k.id for k in (*KEYS, *TABLE_KEYS)]
    assert len(ids) == len(set(ids))
    seen: dict[str, str] = {}
    for key in (*KEYS, *TABLE_KEYS):
        for name in key.keys.split(","):
            assert name not in seen, f"{name} is bound to both {seen[name]} and {key.id}"
            seen[name] = key.id


def test_readme_documents_every_binding() -> None:
    text = README.read_text()
    missing = [k.id for k in (*KEYS, *TABLE_KEYS) if f"`{k.id}`" not in text and k.id != "quit"]
    assert not missing, f"README's key table lacks: {missing}"
