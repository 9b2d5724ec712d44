"""Server profiles: ``[profiles.NAME]`` tables of the config file, one per ListManager server.

A profile names a database URL, the *name* of the environment variable that holds its
password (never the password: a secret in a file that is copied between servers, or on a
command line that ``ps`` shows, is a secret lost), whether it is read-only, and optionally its
own audit store. ``lmtriage -p NAME …`` uses one; ``blocks --all-profiles`` walks them all.

Example::

    [profiles.east]
    url = "mssql+pymssql://lmtriage@lm-east:1433/ListManager"
    password_env = "LMTRIAGE_EAST_PASSWORD"

    [profiles.west]
    url = "mssql+pymssql://lmtriage@lm-west:1433/ListManager"
    password_env = "LMTRIAGE_WEST_PASSWORD"
    read_only = true
    audit_path = "/var/lib/lmtriage/west-audit.sqlite"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.errors import ConfigError
from tui.textsafe import printable

# Profile names end up in the header, metric labels and state file names: keep them plain.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
KEYS = ("url", "password_env", "read_only", "audit_path", "audit_url", "description")


@dataclass(frozen=True, slots=True)
class Profile:
    """One server as the config file describes it."""

    name: str
    url: str
    password_env: str | None = None
    read_only: bool = False
    audit_path: Path | None = None
    audit_url: str | None = None
    description: str = ""

    def password(self, env: Mapping[str, str]) -> str | None:
        """The password from the environment variable the profile names (None: no variable
        named). A named variable that is unset or empty is an error: the connection would
        fail later with a less helpful message, or silently try no password at all."""
        if not self.password_env:
            return None
        value = env.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"profile {self.name}: ${self.password_env} is not set; export the password "
                f"in it (profiles.{self.name}.password_env names it)"
            )
        if not value:
            raise ConfigError(f"profile {self.name}: ${self.password_env} is set but empty")
        return value


def _where(name: str, key: str | None = None) -> str:
    return f"profiles.{printable(name, max_chars=64)}" + (f".{key}" if key else "")


def _text(table: Mapping[str, Any], name: str, key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{_where(name, key)}: must be a string")
    if not value.strip():
        raise ConfigError(f"{_where(name, key)}: is empty; give a value or remove the key")
    if "\x00" in value:
        raise ConfigError(f"{_where(name, key)}: cannot contain a NUL character")
    return value


def parse_profile(name: str, table: Any) -> Profile:
    """One ``[profiles.NAME]`` table, checked: one-line :class:`ConfigError` on anything odd."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ConfigError(
            f"profiles: {printable(name, max_chars=64)!r} is not a profile name (letters, "
            "digits, '.', '_' and '-', at most 64)"
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(name)} must be a table")
    if "password" in table:
        raise ConfigError(
            f"{_where(name, 'password')}: a profile's password is never kept in the file; "
            "put it in an environment variable and name that with password_env"
        )
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{_where(name)}: unknown key(s) {', '.join(printable(k, max_chars=40) for k in unknown[:5])} "
            f"(known: {', '.join(KEYS)})"
        )
    url = _text(table, name, "url")
    if url is None:
        raise ConfigError(f"{_where(name)}: url is missing; give the database URL")
    env_name = _text(table, name, "password_env")
    if env_name is not None and not ENV_NAME_RE.match(env_name):
        raise ConfigError(
            f"{_where(name, 'password_env')}: {printable(env_name, max_chars=60)!r} is not an "
            "environment variable name (it names the variable, it is not the password)"
        )
    read_only = table.get("read_only", False)
    if not isinstance(read_only, bool):
        raise ConfigError(f"{_where(name, 'read_only')}: must be true or false")
    audit_path = _text(table, name, "audit_path")
    path: Path | None = None
    if audit_path is not None:
        try:
            path = Path(audit_path).expanduser()
        except RuntimeError:
            raise ConfigError(
                f"{_where(name, 'audit_path')}: cannot expand {audit_path!r}: no such home"
            ) from None
    return Profile(
        name=name,
        url=url,
        password_env=env_name,
        read_only=read_only,
        audit_path=path,
        audit_url=_text(table, name, "audit_url"),
        description=_text(table, name, "description") or "",
    )


def parse_profiles(data: Mapping[str, Any]) -> dict[str, Profile]:
    """Every ``[profiles.NAME]`` of a parsed config file, in file order."""
    section = data.get("profiles", {})
    if not isinstance(section, dict):
        raise ConfigError("[profiles] must be a table of [profiles.NAME] tables")
    return {name: parse_profile(name, table) for name, table in section.items()}


def pick(profiles: Mapping[str, Profile], name: str, config_path: Path | None) -> Profile:
    """The profile called ``name``, or a one-line error listing those there are."""
    found = profiles.get(name)
    if found is not None:
        return found
    if not profiles:
        where = f"config file {config_path}" if config_path else "no config file"
        raise ConfigError(
            f"no profile {printable(name, max_chars=64)!r}: {where} defines no [profiles.NAME]"
        )
    raise ConfigError(
        f"no profile {printable(name, max_chars=64)!r} in {config_path} "
        f"(profiles: {', '.join(profiles)})"
    )
