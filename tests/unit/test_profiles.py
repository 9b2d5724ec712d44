"""Server profiles in the config file: ``[profiles.NAME]``, ``-p NAME``; the password only
from the environment variable a profile names; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import main
from tui.config import load_config
from tui.errors import ConfigError

BASE = """
[database]
url = "sqlite:///base.db"
password = "base-secret"
[audit]
path = "/var/lib/lmtriage/base-audit.sqlite"

[profiles.east]
url = "postgresql+psycopg://lm@east.example/ListManager"
password_env = "EAST_PW"
description = "the east server"

[profiles.west]
url = "mssql+pymssql://lm@west.example:1433/ListManager"
read_only = true
audit_path = "~/west-audit.sqlite"
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_a_profile_takes_the_database_password_and_audit(tmp_path: Path) -> None:
    config = write(tmp_path, BASE)
    env = {"EAST_PW": "east-secret", "LMTRIAGE_DB_PASSWORD": "env-secret", "LMTRIAGE_DB": "sqlite:///env.db"}
    east = load_config(config=config, profile="east", env=env)
    assert east.profile == "east" and list(east.profiles) == ["east", "west"]
    assert east.db_url == "postgresql+psycopg://lm@east.example/ListManager"
    assert east.db_source.endswith("[profiles.east]")
    assert east.db_password == "east-secret"  # never the file's or $LMTRIAGE_DB_PASSWORD
    assert not east.read_only
    assert east.resolved_audit_path() == Path("/var/lib/lmtriage/base-audit.sqlite")
    west = load_config(config=config, profile="west", env={})
    assert west.db_password is None and west.read_only
    # The reason names what made it read-only (it once blamed a --read-only never given).
    assert west.read_only_source == "profile west has read_only = true"
    flagged = load_config(config=config, profile="west", env={}, read_only=True)
    assert flagged.read_only_source == "--read-only"
    assert west.resolved_audit_path() == Path("~/west-audit.sqlite").expanduser()
    plain = load_config(config=config, env={})
    assert plain.profile is None and plain.db_url == "sqlite:///base.db"
    assert plain.profiles["east"].description == "the east server"


@pytest.mark.parametrize(
    ("text", "profile", "env", "message"),
    [
        (BASE, "east", {}, "$EAST_PW is not set"),
        (BASE, "east", {"EAST_PW": ""}, "$EAST_PW is set but empty"),
        (BASE, "north", {}, "no profile 'north' in"),
        ("", "east", {}, "defines no [profiles.NAME]"),
        ('[profiles.a]\nurl = "sqlite:///x"\npassword = "s3cr3t"\n', "a", {}, "never kept in the file"),
        ('[profiles.a]\nurl = "sqlite:///x"\npasword_env = "X"\n', "a", {}, "unknown key(s) pasword_env"),
        ('[profiles.a]\nurl = ""\n', "a", {}, "is empty"),
        ("[profiles.a]\nread_only = true\n", "a", {}, "url is missing"),
        ('[profiles.a]\nurl = "sqlite:///x"\npassword_env = "hunter2!"\n', "a", {}, "not an environment variable name"),
        ('[profiles.a]\nurl = "sqlite:///x"\nread_only = "yes"\n', "a", {}, "must be true or false"),
        ('[profiles."bad name"]\nurl = "sqlite:///x"\n', "a", {}, "is not a profile name"),
        ('profiles = "east"\n', "a", {}, "[profiles] must be a table"),
        ('[profiles]\na = 3\n', "a", {}, "profiles.a must be a table"),
    ],
)
def test_profile_errors_are_one_line(tmp_path: Path, text, profile, env, message) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(config=write(tmp_path, text), profile=profile, env=env)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert "s3cr3t" not in str(err.value)


def test_db_and_profile_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--db and --profile"):
        load_config(db="sqlite:///x.db", config=write(tmp_path, BASE), profile="west", env={})


def test_a_broken_profile_does_not_stop_a_plain_run(tmp_path: Path) -> None:
    """Profiles are checked when the file is read: a typo is found on any command."""
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(config=write(tmp_path, '[profiles.a]\nurl = "x"\nurll = "y"\n'), env={})


def test_cli_profile_option(tmp_path: Path, capsys) -> None:
    config = write(tmp_path, BASE)
    assert main(["status", "--config", config, "-p", ""]) == 3  # blank: refused centrally
    assert "--profile was given an empty value" in capsys.readouterr().err
    assert main(["blocks", "--config", config, "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lmtriage: error: no profile 'nope'") and len(err.splitlines()) == 1
    assert main(["blocks", "--config", config, "-p", "west", "--db", "sqlite:///x"]) == 2
    assert "--db and --profile" in capsys.readouterr().err
