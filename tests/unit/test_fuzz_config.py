"""Hypothesis against the config loader: any file is a Config or one clear ConfigError.

Documents are generated as nested dicts for the known sections ([database], [release],
[audit], [ui], [schema.tables], [schema.columns.*], [keymap], [sender], [checks]) and unknown
ones, with right and wrong types, written as TOML; raw bytes that are not TOML or not UTF-8
are tried too. ``load_config`` must return a :class:`Config` or raise :class:`ConfigError`
with a one-line message (no traceback, no other exception type), and the ``[checks]`` table
it hands on must give :class:`CheckSettings` or ConfigError in the same way.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.checks.settings import CheckSettings
from tui.config import Config, load_config
from tui.db.model import MODEL_BY_KEY
from tui.errors import ConfigError
from tui.textsafe import printable

FUZZ = settings(max_examples=200, deadline=None)


# -- a small TOML writer (tomllib only reads) --------------------------------------------------


def toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, Any]) -> str:
    """Scalars of the root first, then one ``[section]`` per table (nested tables inline)."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for name, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_key(name)}]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


# -- strategies --------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
ODD_TEXT = st.one_of(
    TEXT,
    st.sampled_from(
        ["", " ", "7d", "12h", "30m", "2w", "0s", "99999999999d", "-1d", "7 d", "7D", "1.5h",
         "~", "~/x.sqlite", "~nosuchuser-lmtriage/x", "/tmp/a\x00b", "a\nb", "\x1b[31m",
         "delete", "retry-now", "sqlite:///x.db", "127.0.0.1:5353", "[::1]:53", "zen.spamhaus.org",
         "bounce@example.com", "r", "ctrl+r", "²", "nan", "inf"]
    ),
)  # fmt: skip
INTS = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-5, 100))
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 1e-300, 1e300, 86400.0, 86400.5]),
)
SCALARS = st.one_of(ODD_TEXT, INTS, FLOATS, st.booleans())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)

NUMBERS = INTS | FLOATS
PATHS = st.one_of(
    TEXT,
    st.sampled_from(["~", "~/a.sqlite", "~nosuchuser-lmtriage/a.sqlite", "/tmp/a\x00b", "a/b"]),
)
HOSTPORTS = st.lists(
    st.sampled_from(["127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1%eth0", "1.2.3.4:²"]) | TEXT,
    max_size=3,
)
DOMAINS = st.lists(st.sampled_from(["zen.spamhaus.org", "example.com."]) | TEXT, max_size=3)


def usually(typed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right type (so later sections get read), sometimes anything."""
    return st.one_of(typed, typed, typed, VALUES)


TYPED_KEYS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "database": {
        "url": ODD_TEXT,
        "password": ODD_TEXT,
        "statement_timeout": NUMBERS,
        "read_only": st.booleans(),
    },
    "release": {"mode": st.sampled_from(["delete", "retry-now"]) | ODD_TEXT},
    "audit": {"path": PATHS, "url": ODD_TEXT, "in_database": st.booleans()},
    "ui": {"refresh_seconds": NUMBERS, "window": ODD_TEXT | NUMBERS, "demo_path": PATHS},
    "keymap": {k: ODD_TEXT for k in ("release", "retry", "quit", "a\nb", "\x1b[31m")},
    "sender": {k: ODD_TEXT for k in ("name", "email", "organization", "phone", "website")},
    "checks": {
        "nameservers": HOSTPORTS,
        "dnsbl_nameservers": HOSTPORTS | ODD_TEXT,
        "dnsbl_zones": DOMAINS,
        "timeout": NUMBERS,
        "retries": INTS,
        "concurrency": INTS,
        "deadline": NUMBERS,
        "helo": ODD_TEXT | st.dictionaries(st.sampled_from(["192.0.2.1", "::1"]) | TEXT, ODD_TEXT),
        "sender_domains": DOMAINS,
        "dkim_selectors": st.lists(ODD_TEXT, max_size=3),
        "dkim_keys": st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=3),
        "mail_from": ODD_TEXT,
        "stream_sender_domains": st.dictionaries(ODD_TEXT, DOMAINS, max_size=2),
    },
}


def section(typed: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Some known keys with (usually) typed values, and sometimes unknown keys."""
    known = st.fixed_dictionaries({}, optional={k: usually(v) for k, v in typed.items()})
    extra = st.one_of(st.just({}), st.just({}), st.dictionaries(TEXT, VALUES, max_size=2))
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


SCHEMA = st.fixed_dictionaries(
    {},
    optional={
        "tables": st.dictionaries(
            st.sampled_from(list(MODEL_BY_KEY)) | TEXT, SCALARS | VALUES, max_size=4
        ),
        "columns": st.dictionaries(
            st.sampled_from(list(MODEL_BY_KEY)) | TEXT,
            st.dictionaries(
                st.sampled_from(["BlockingMX", "IPAddress", "Domain", "Name"]) | TEXT,
                SCALARS,
                max_size=3,
            )
            | SCALARS,
            max_size=3,
        ),
    },
)

DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        **{name: usually(section(keys)) for name, keys in TYPED_KEYS.items()},
        "schema": usually(SCHEMA),
        "unknown": section({"x": VALUES}),
        "Database": section({"url": ODD_TEXT}),
    },
).flatmap(
    lambda doc: st.dictionaries(TEXT, VALUES, max_size=2).map(
        lambda extra: {**extra, **doc}  # unknown root keys and tables
    )
)


# -- the property ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(b"")
        path.chmod(0o600)
        yield path


def assert_one_line(message: str) -> None:
    assert message
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    assert printable(message, max_chars=None) == message, message


def load(path: Path) -> Config | None:
    """``load_config`` on ``path``: the Config, or None after checking the ConfigError."""
    try:
        cfg = load_config(config=str(path), env={})
    except ConfigError as err:
        assert_one_line(str(err))
        return None
    assert isinstance(cfg, Config)
    assert math.isfinite(cfg.statement_timeout) and cfg.statement_timeout > 0
    assert math.isfinite(cfg.refresh_seconds) and cfg.refresh_seconds >= 0
    assert isinstance(cfg.window, timedelta) and cfg.window > timedelta(0)
    assert cfg.release_mode in ("delete", "retry-now")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in cfg.keymap.items())
    for audit_path in (cfg.audit_path, cfg.demo_path):
        assert audit_path is None or "\x00" not in str(audit_path)
    try:
        CheckSettings.from_mapping(cfg.checks)
    except ConfigError as err:
        assert_one_line(str(err))
    return cfg


@FUZZ
@given(DOCUMENTS)
def test_any_toml_document_is_a_config_or_one_config_error(
    config_file: Path, doc: dict[str, Any]
) -> None:
    config_file.write_text(toml_document(doc), encoding="utf-8")
    load(config_file)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        st.tuples(DOCUMENTS.map(toml_document), st.binary(min_size=1, max_size=4), st.integers(0, 400))
        .map(lambda t: t[0].encode("utf-8")[: t[2]] + t[1] + t[0].encode("utf-8")[t[2] :]),
        st.sampled_from(
            [b"\xef\xbb\xbf[ui]\nwindow = \"3d\"\n", b"\xff\xfe[\x00u\x00i\x00]\x00", b"a = \"\xc3\x28\"\n",
             b"[ui]\nwindow = \"3d\xe9\"\n", b"\x00", b"[[[", b"a = " + b"[" * 3000]
        ),
    )
)  # fmt: skip
def test_any_bytes_are_a_config_or_one_config_error(config_file: Path, data: bytes) -> None:
    config_file.write_bytes(data)
    load(config_file)


@FUZZ
@given(
    st.one_of(
        st.dictionaries(st.sampled_from(list(CheckSettings.KEYS)) | TEXT, VALUES, max_size=6),
        VALUES,
        st.none(),
    )
)
def test_check_settings_from_any_mapping(data: Any) -> None:
    try:
        result = CheckSettings.from_mapping(data)
    except ConfigError as err:
        assert_one_line(str(err))
        return
    assert isinstance(result, CheckSettings)
    assert math.isfinite(result.timeout) and result.timeout > 0
    assert math.isfinite(result.deadline) and result.deadline > 0
    assert all(isinstance(h, str) and isinstance(p, int) for h, p in result.nameservers)


# -- what the fuzzing found, pinned ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"a = " + b"[" * 5000, "nested too deeply"),
        (b'[ui]\nwindow = "3d\xe9"\n', "not UTF-8"),
        (b"[ui]\nwindow = 9223372036854775807\n", "ui.window"),
        (b'[ui]\nwindow = "99999999999d"\n', "ui.window"),
        (b"[ui]\nwindow = nan\n", "ui.window"),
        (b"[ui]\nwindow = -5\n", "ui.window"),
        (b"[ui]\nwindow = 1e-300\n", "ui.window"),
        (b"[ui]\nwindow = inf\n", "ui.window"),
        (b"[ui]\nrefresh_seconds = nan\n", "ui.refresh_seconds"),
        (b"[database]\nstatement_timeout = inf\n", "database.statement_timeout"),
        (b"[database]\nstatement_timeout = nan\n", "database.statement_timeout"),
        (b'[audit]\npath = "~nosuchuser-lmtriage/a.sqlite"\n', "audit.path"),
        (b'[audit]\npath = "/tmp/a\\u0000b"\n', "audit.path"),
        (b'[ui]\ndemo_path = "~nosuchuser-lmtriage/d.sqlite"\n', "ui.demo_path"),
        (b'[keymap]\n"a\\nb" = ""\n', "keymap.a b"),
    ],
    ids=lambda v: v[:40].decode("ascii", "replace") if isinstance(v, bytes) else None,
)
def test_odd_files_found_by_fuzzing(config_file: Path, data: bytes, needle: str) -> None:
    config_file.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        load_config(config=str(config_file), env={})
    assert needle in str(err.value)
    assert_one_line(str(err.value))


def test_a_byte_order_mark_is_allowed(config_file: Path) -> None:
    """Windows editors write one; TOML parsers choke on U+FEFF."""
    config_file.write_bytes(b'\xef\xbb\xbf[ui]\nwindow = "3d"\n')
    assert load_config(config=str(config_file), env={}).window == timedelta(days=3)
