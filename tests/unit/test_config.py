"""Configuration precedence, validation and the permission warning."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tui.config import load_config, parse_duration
from tui.errors import ConfigError


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_precedence_flag_env_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[database]\nurl = "sqlite:///file.db"\n')
    assert load_config(config=str(cfg), env={}).db_url == "sqlite:///file.db"
    assert (
        load_config(config=str(cfg), env={"LMTRIAGE_DB": "sqlite:///env.db"}).db_url
        == "sqlite:///env.db"
    )
    flag = load_config(
        db="sqlite:///flag.db", config=str(cfg), env={"LMTRIAGE_DB": "sqlite:///env.db"}
    )
    assert flag.db_url == "sqlite:///flag.db" and flag.db_source == "--db"
    via_env = load_config(env={"LMTRIAGE_CONFIG": str(cfg)})
    assert via_env.config_path == cfg and via_env.db_url == "sqlite:///file.db"
    assert load_config(env={}).is_demo


def test_default_file_in_xdg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "lmtriage").mkdir()
    write(
        tmp_path / "lmtriage" / "config.toml",
        '[release]\nmode = "retry-now"\n[ui]\nwindow = "3d"\nrefresh_seconds = 10\n',
    )
    cfg = load_config(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert (
        cfg.release_mode == "retry-now"
        and cfg.window == timedelta(days=3)
        and cfg.refresh_seconds == 10
    )


def test_world_readable_config_warns(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[database]\npassword = "hunter2"\n', mode=0o644)
    warnings = load_config(config=str(cfg), env={}).warnings
    assert warnings and "readable by other users" in warnings[0] and "hunter2" not in warnings[0]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[release]\nmode = "yolo"\n', "release.mode"),
        ('[ui]\nwindow = "forever"\n', "ui.window"),
        ("[ui]\nrefresh_seconds = -1\n", "ui.refresh_seconds"),
        ("[database]\nurl = 5\n", "database.url"),
        ("not toml [", "not valid TOML"),
        ('[keymap]\nrelease = ""\n', "keymap.release"),
        ('[schema.columns]\nblocked_ips = "x"\n', "schema.columns"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, needle: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(config=str(cfg), env={})
    assert needle in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(config=str(tmp_path / "nope.toml"), env={})


def test_durations() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration(90) == timedelta(seconds=90)
    with pytest.raises(ConfigError):
        parse_duration("7 days")
