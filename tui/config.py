"""Configuration: flags > environment > TOML file > defaults.

The file is ``--config``, else ``$LMTRIAGE_CONFIG``, else ``$XDG_CONFIG_HOME/lmtriage/config.toml``
(``~/.config/lmtriage/config.toml``). The database is ``--db``, else ``$LMTRIAGE_DB``, else
``[database] url`` in the file, else the embedded demo database. Example::

    [database]
    url = "mssql+pymssql://lmtriage:secret@sqlhost:1433/ListManager"
    statement_timeout = 30          # seconds, per query
    # password = "..."              # or $LMTRIAGE_DB_PASSWORD, kept out of the URL

    [release]
    mode = "delete"                 # or "retry-now" (sets NextRetry to now)

    [audit]
    path = "/var/lib/lmtriage/audit.sqlite"   # default: $XDG_STATE_HOME/lmtriage/audit.sqlite
    # url = "postgresql+psycopg://..."         # any SQLAlchemy URL instead of a file
    # in_database = true                       # a table lmtriage_audit inside ListManager's DB

    [ui]
    refresh_seconds = 30
    window = "7d"

    [schema.tables]
    attempts = "lyrDeliverAttemptLog"
    [schema.columns.blocked_ips]
    BlockingMX = "BlockingMXIP"

    [keymap]
    release = "r"

    [sender]
    name = "Jane Admin"
    email = "postmaster@example.com"
    organization = "Example Corp"

    [checks]            # see tui.checks.settings

    [profiles.east]     # one per server: lmtriage -p east (see tui.ops.profiles)
    url = "mssql+pymssql://lmtriage@lm-east:1433/ListManager"
    password_env = "LMTRIAGE_EAST_PASSWORD"
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from tui.db.model import SchemaNames
from tui.errors import ConfigError
from tui.ops.profiles import Profile, parse_profiles, pick
from tui.textsafe import printable

RELEASE_MODES = ("delete", "retry-now")
ENV_DB = "LMTRIAGE_DB"
ENV_CONFIG = "LMTRIAGE_CONFIG"
ENV_PASSWORD = "LMTRIAGE_DB_PASSWORD"
ENV_AUDIT = "LMTRIAGE_AUDIT"


def xdg_dir(kind: str, app: str = "lmtriage") -> Path:
    """``$XDG_<KIND>_HOME/lmtriage`` with the XDG defaults (config, data, state, cache)."""
    defaults = {
        "CONFIG": Path.home() / ".config",
        "DATA": Path.home() / ".local" / "share",
        "STATE": Path.home() / ".local" / "state",
        "CACHE": Path.home() / ".cache",
    }
    base = os.environ.get(f"XDG_{kind}_HOME")
    root = Path(base) if base and os.path.isabs(base) else defaults[kind]
    return root / app


_DURATION = re.compile(r"^\s*([0-9]+)\s*([smhdw])\s*$")


def parse_duration(text: str | int | float, what: str = "duration") -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"2w"`` or a number of seconds; more than zero and
    at most what :class:`~datetime.timedelta` holds (about 2.7 million years)."""
    if isinstance(text, bool):
        raise ConfigError(f"{what}: expected a duration like 7d, 12h or 30m")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ConfigError(f"{what}: {text!r} is not a duration like 7d, 12h or 30m")
        value, unit = int(match.group(1)), match.group(2)
        seconds = float(value * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit])
    if not math.isfinite(seconds):
        raise ConfigError(f"{what}: {text!r} is not a duration like 7d, 12h or 30m")
    try:
        duration = timedelta(seconds=seconds)
    except OverflowError:
        raise ConfigError(f"{what}: {text!r} is too long a duration") from None
    if duration <= timedelta(0):  # also less than a microsecond
        raise ConfigError(f"{what}: {text!r} is not a duration of more than zero")
    return duration


# The longest evidence window that makes sense: ListManager keeps its attempt log for weeks,
# and "now minus a million years" overflows a datetime instead of meaning anything.
MAX_WINDOW = timedelta(days=3650)


def parse_window(text: str | int | float, what: str = "window") -> timedelta:
    """An evidence window: a duration (see :func:`parse_duration`) of at most ten years."""
    window = parse_duration(text, what)
    if window > MAX_WINDOW:
        raise ConfigError(f"{what}: {text!r} is longer than the limit of 3650d (ten years)")
    return window


@dataclass
class SenderContact:
    """Who signs allowlist requests."""

    name: str = ""
    email: str = ""
    organization: str = ""
    phone: str = ""
    website: str = ""

    def is_empty(self) -> bool:
        """True when nothing is configured."""
        return not any((self.name, self.email, self.organization, self.phone, self.website))


@dataclass
class Config:
    """Everything lmtriage reads from flags, environment and the config file."""

    db_url: str | None = None
    db_source: str = "demo"
    db_password: str | None = None
    config_path: Path | None = None
    read_only: bool = False
    read_only_source: str = ""  # what made it read-only, in the words the user wrote it
    statement_timeout: float = 30.0
    schema: SchemaNames = field(default_factory=SchemaNames)
    release_mode: str = "delete"
    window: timedelta = timedelta(days=7)
    refresh_seconds: float = 30.0
    audit_path: Path | None = None
    audit_url: str | None = None
    audit_in_database: bool = False
    audit_lock_timeout: float = 30.0  # seconds to wait for a busy audit file
    keymap: dict[str, str] = field(default_factory=dict)
    sender: SenderContact = field(default_factory=SenderContact)
    checks: dict[str, Any] = field(default_factory=dict)
    demo_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    profile: str | None = None  # the [profiles.NAME] in use (-p NAME)
    profiles: dict[str, Profile] = field(default_factory=dict)

    @property
    def is_demo(self) -> bool:
        """True when no database was configured and the embedded demo is used."""
        return self.db_url is None

    def resolved_audit_path(self) -> Path:
        """Where the audit SQLite file lives."""
        return self.audit_path or (xdg_dir("STATE") / "audit.sqlite")

    def resolved_demo_path(self) -> Path:
        """Where the embedded demo database lives."""
        return self.demo_path or (xdg_dir("DATA") / "demo.sqlite")


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value


def _user_path(text: str, where: str) -> Path:
    """``text`` as a path with ``~`` expanded; :class:`ConfigError` when it cannot be one."""
    if "\x00" in text:
        raise ConfigError(f"{where}: a path cannot contain a NUL character")
    try:
        return Path(text).expanduser()
    except RuntimeError:  # "~someone" with no such user (or no home directory)
        raise ConfigError(f"{where}: cannot expand {text!r}: no such home directory") from None


def _typed(section: dict[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ConfigError(f"{where}.{key}: wrong type")
    if not isinstance(value, kinds):
        raise ConfigError(f"{where}.{key}: wrong type ({type(value).__name__})")
    return value


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/lmtriage/config.toml``."""
    return xdg_dir("CONFIG") / "config.toml"


def read_config_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Parse the TOML file; warn when other users may read it (it may hold a password)."""
    warnings: list[str] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is fine
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"config file {path} is not UTF-8 (byte {err.start}): save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"config file {path} is not valid TOML: {printable(str(err), max_chars=300)}"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"config file {path} is not valid TOML: arrays or tables nested too deeply"
        ) from None
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warnings.append(
                f"config file {path} is readable by other users; it may hold a password "
                f"(chmod 600 {path})"
            )
    except OSError:
        pass
    return data, warnings


def load_config(
    *,
    db: str | None = None,
    config: str | None = None,
    read_only: bool = False,
    env: dict[str, str] | None = None,
    profile: str | None = None,
) -> Config:
    """Build the effective configuration from flags, environment and file; ``profile``
    (``-p NAME``) takes the database, its password and its audit store from
    ``[profiles.NAME]``."""
    env = dict(os.environ if env is None else env)
    cfg = Config(read_only=read_only, read_only_source="--read-only" if read_only else "")
    path: Path | None
    if config is not None and not config.strip():
        raise ConfigError("--config was given an empty path; give a file, or leave --config out")
    if config is None and ENV_CONFIG in env and not env[ENV_CONFIG].strip():
        raise ConfigError(
            f"${ENV_CONFIG} is set but empty; give a config file, or unset it "
            f"(unset {ENV_CONFIG}) for the default one"
        )
    explicit = config or env.get(ENV_CONFIG)
    if explicit:
        path = Path(explicit).expanduser()
        data, cfg.warnings = read_config_file(path)
    else:
        path = default_config_path()
        if path.is_file():
            data, cfg.warnings = read_config_file(path)
        else:
            path, data = None, {}
    cfg.config_path = path
    where = str(path) if path else "config"

    database = _table(data, "database", path or Path(where))
    if db is not None:
        if not db.strip():
            raise ConfigError("--db was given an empty URL; give a database URL, or leave --db out")
        cfg.db_url, cfg.db_source = db, "--db"
    elif ENV_DB in env:
        if not env[ENV_DB].strip():
            raise ConfigError(
                f"${ENV_DB} is set but empty; give a database URL, or unset it "
                f"(unset {ENV_DB}) for the config file or the demo"
            )
        cfg.db_url, cfg.db_source = env[ENV_DB], ENV_DB
    elif "url" in database:
        cfg.db_url = _typed(database, "url", str, "database")
        if cfg.db_url is None or not cfg.db_url.strip():
            raise ConfigError(
                f"{where}: [database] url is empty; give a database URL or remove the key"
            )
        cfg.db_source = f"{where} [database] url"
    cfg.db_password = env.get(ENV_PASSWORD) or _typed(database, "password", str, "database")
    timeout = _typed(database, "statement_timeout", (int, float), "database")
    if timeout is not None:
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError("database.statement_timeout: must be a positive number of seconds")
        cfg.statement_timeout = float(timeout)
    if _typed(database, "read_only", bool, "database"):
        if not cfg.read_only:
            cfg.read_only_source = f"read_only = true in {where} [database]"
        cfg.read_only = True

    release = _table(data, "release", path or Path(where))
    mode = _typed(release, "mode", str, "release")
    if mode is not None:
        if mode not in RELEASE_MODES:
            raise ConfigError(f"release.mode: {mode!r} is not one of {', '.join(RELEASE_MODES)}")
        cfg.release_mode = mode

    audit = _table(data, "audit", path or Path(where))
    if ENV_AUDIT in env and not env[ENV_AUDIT].strip():
        raise ConfigError(
            f"${ENV_AUDIT} is set but empty; give the audit file's path, or unset it "
            f"(unset {ENV_AUDIT}) for the default one"
        )
    for key in ("path", "url"):
        value = _typed(audit, key, str, "audit")
        if value is not None and not value.strip():
            raise ConfigError(
                f"{where}: [audit] {key} is empty; give one or remove the key for the default"
            )
    audit_path = env.get(ENV_AUDIT) or _typed(audit, "path", str, "audit")
    if audit_path:
        cfg.audit_path = _user_path(audit_path, ENV_AUDIT if env.get(ENV_AUDIT) else "audit.path")
    cfg.audit_url = _typed(audit, "url", str, "audit")
    cfg.audit_in_database = bool(_typed(audit, "in_database", bool, "audit") or False)
    lock_timeout = _typed(audit, "lock_timeout", (int, float), "audit")
    if lock_timeout is not None:
        if not math.isfinite(lock_timeout) or not 0 < lock_timeout <= 3600:
            raise ConfigError("audit.lock_timeout: must be a number of seconds from 0 to 3600")
        cfg.audit_lock_timeout = float(lock_timeout)

    ui = _table(data, "ui", path or Path(where))
    refresh = _typed(ui, "refresh_seconds", (int, float), "ui")
    if refresh is not None:
        if not math.isfinite(refresh) or refresh < 0:
            raise ConfigError("ui.refresh_seconds: must be 0 (off) or a positive number")
        cfg.refresh_seconds = float(refresh)
    if ui.get("window") is not None:
        cfg.window = parse_window(ui["window"], "ui.window")
    demo_path = _typed(ui, "demo_path", str, "ui")
    if demo_path:
        cfg.demo_path = _user_path(demo_path, "ui.demo_path")

    schema = _table(data, "schema", path or Path(where))
    tables = schema.get("tables", {})
    columns = schema.get("columns", {})
    if not isinstance(tables, dict) or not isinstance(columns, dict):
        raise ConfigError("schema.tables and schema.columns must be tables")
    if any(not isinstance(v, dict) for v in columns.values()):
        raise ConfigError("schema.columns.<table> must be tables of model column = physical name")
    cfg.schema = SchemaNames.from_config(tables, columns)

    keymap = _table(data, "keymap", path or Path(where))
    for key, value in keymap.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f'keymap.{printable(key, max_chars=80)}: must be a key name such as "r" or "ctrl+r"'
            )
    cfg.keymap = dict(keymap)

    sender = _table(data, "sender", path or Path(where))
    cfg.sender = SenderContact(
        **{
            k: str(_typed(sender, k, str, "sender") or "")
            for k in SenderContact.__dataclass_fields__
        }
    )
    cfg.checks = _table(data, "checks", path or Path(where))
    cfg.profiles = parse_profiles(data)
    if profile is not None:
        if db is not None:
            raise ConfigError("--db and --profile both name a database; give one of them")
        _use_profile(cfg, pick(cfg.profiles, profile, path), env, where)
    return cfg


def _use_profile(cfg: Config, profile: Profile, env: dict[str, str], where: str) -> None:
    """The profile's database, password (from the variable it names, nothing else),
    read-only flag and audit store replace the file's [database] and [audit] ones."""
    cfg.profile = profile.name
    cfg.db_url, cfg.db_source = profile.url, f"{where} [profiles.{profile.name}]"
    cfg.db_password = profile.password(env)
    if profile.read_only and not cfg.read_only:
        cfg.read_only_source = f"profile {profile.name} has read_only = true"
    cfg.read_only = cfg.read_only or profile.read_only
    if profile.audit_path is not None or profile.audit_url is not None:
        cfg.audit_path, cfg.audit_url = profile.audit_path, profile.audit_url
        cfg.audit_in_database = False
