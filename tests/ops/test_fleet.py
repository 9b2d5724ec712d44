"""``lmtriage blocks --all-profiles``: every server of the config file in one list; a server
that cannot be read is named and the others are still listed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui.cli import main


def test_blocks_of_every_profile(
    demo, demo_db_path: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    west = tmp_path / "west.sqlite"
    shutil.copyfile(demo_db_path, west)
    with west_engine(west):
        password = 'password_env = "EAST_PW"\n' if demo.backend == "postgresql" else ""
        config = tmp_path / "servers.toml"
        config.write_text(
            f'[profiles.east]\nurl = "{demo.url}"\n{password}'
            f'[profiles.west]\nurl = "sqlite:///{west}"\n'
            '[profiles.north]\nurl = "postgresql+psycopg://lm@127.0.0.1:1/nowhere"\n'
            '[profiles.south]\nurl = "sqlite:///unused.db"\npassword_env = "SOUTH_PW"\n'
        )
        config.chmod(0o600)
        monkeypatch.setenv("EAST_PW", "not-needed-but-read")
        argv = ["blocks", "--config", str(config), "--all-profiles", "--kind", "domain"]
        code = main([*argv, "--format", "json"])
        out, err = capsys.readouterr()
        data = json.loads(out)
        assert code == 1
        by_profile: dict[str, int] = {}
        for record in data:
            by_profile[record["profile"]] = by_profile.get(record["profile"], 0) + 1
        assert by_profile == {"east": 80, "west": 79}
        assert "profile north:" in err and "profile south: $SOUTH_PW is not set" in err
        assert "not-needed-but-read" not in out + err
        code = main([*argv, "--limit", "1"])
        lines = capsys.readouterr().out.splitlines()
        assert code == 1 and lines[0].split()[0] == "PROFILE"
        assert [ln.split()[0] for ln in lines[1:]] == ["east", "west"]


@contextmanager
def west_engine(path: Path) -> Iterator[None]:
    """The second server differs from the first: one domain block fewer."""
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM lyrMailStreamBlockedDomains WHERE BlockID = "
            "(SELECT MIN(BlockID) FROM lyrMailStreamBlockedDomains)"
        )
    engine.dispose()
    yield


@pytest.mark.parametrize(
    "argv",
    [["--db", "sqlite:///x.db"], ["-p", "east"]],
)
def test_all_profiles_with_one_database_is_refused(tmp_path: Path, capsys, argv) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[profiles.east]\nurl = "sqlite:///x.db"\n')
    config.chmod(0o600)
    assert main(["blocks", "--config", str(config), "--all-profiles", *argv]) == 2
    assert "leave out --db and --profile" in capsys.readouterr().err


def test_all_profiles_without_profiles(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    config.chmod(0o600)
    assert main(["blocks", "--config", str(config), "--all-profiles"]) == 2
    assert "defines no [profiles.NAME]" in capsys.readouterr().err
