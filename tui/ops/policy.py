"""Release policies for ``lmtriage autorelease``: which blocks may be released unattended.

A policy is a TOML file of rules. A block is released only when a rule matches its stream,
kind, age, advice category and provider, *and* the block's advice says "release now" (this is
not a rule option: a policy cannot turn it off), within the per-rule and per-run caps::

    max_blocks = 20                 # block rows released per run, in all (default 10)
    # mode = "delete"               # or "retry-now" (default: the config's [release] mode)

    [[rule]]
    name = "throttles"
    category = ["rate_limit"]       # advice categories (see lmtriage classify)
    provider = ["yahoo", "microsoft"]   # optional: advice providers
    streams = ["marketing"]         # optional: stream names (default every stream)
    kind = "ip"                     # "ip", "domain" or "any" (default any)
    min_age = "1h"                  # blocked at least this long (default 1h)
    advice = "release now"          # optional; the only value there is
    max_blocks = 10                 # optional: rows this rule may release per run
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tui.config import RELEASE_MODES, parse_duration
from tui.diagnose.patterns import CATEGORIES
from tui.errors import ConfigError
from tui.textsafe import printable

MAX_RULES = 100
MAX_PER_RUN = 10_000
DEFAULT_MAX_BLOCKS = 10
DEFAULT_MIN_AGE = timedelta(hours=1)
RULE_KEYS = ("name", "category", "provider", "streams", "kind", "min_age", "advice", "max_blocks")
TOP_KEYS = ("max_blocks", "mode", "rule")
ADVICE_NOW = ("now", "release now", "release-now")


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a policy."""

    name: str
    categories: frozenset[str]
    providers: frozenset[str] | None  # None: any provider
    streams: tuple[str, ...] | None  # lower-case names; None: every stream
    kinds: tuple[str, ...]  # ("domain", "ip") or one of them
    min_age: timedelta
    max_blocks: int | None

    def describe(self) -> str:
        """``throttles: rate_limit, ip, ≥ 1:00:00, streams marketing``."""
        parts = [", ".join(sorted(self.categories)), "/".join(self.kinds), f"at least {self.min_age}"]
        if self.providers:
            parts.append("providers " + ", ".join(sorted(self.providers)))
        if self.streams:
            parts.append("streams " + ", ".join(self.streams))
        if self.max_blocks is not None:
            parts.append(f"at most {self.max_blocks} a run")
        return f"{self.name}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy file."""

    path: Path
    sha256: str
    rules: tuple[Rule, ...]
    max_blocks: int
    mode: str | None

    def to_json(self) -> dict[str, Any]:
        """What the audit keeps of the policy."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "max_blocks": self.max_blocks,
            "mode": self.mode,
            "rules": [r.describe() for r in self.rules],
        }


def _err(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}", exit_code=2)


def _strings(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise _err(where, "give a string or a non-empty list of strings")
    out = [v.strip() for v in items]
    if any(not v for v in out):
        raise _err(where, "an empty value never means 'any': leave the key out instead")
    return out


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_RUN:
        raise _err(where, f"must be a whole number from 1 to {MAX_PER_RUN:,}")
    return value


def _rule(table: Any, index: int, path: Path) -> Rule:
    where = f"{path} [[rule]] #{index}"
    if not isinstance(table, dict):
        raise _err(where, "must be a table")
    unknown = sorted(set(table) - set(RULE_KEYS))
    if unknown:
        raise _err(
            where,
            f"unknown key(s) {', '.join(printable(k, max_chars=30) for k in unknown[:5])} "
            f"(known: {', '.join(RULE_KEYS)})",
        )
    name = table.get("name", f"rule {index}")
    if not isinstance(name, str) or not name.strip():
        raise _err(where, "name must be a non-empty string")
    where = f"{path} rule {printable(name, max_chars=60)!r}"
    if "category" not in table:
        raise _err(where, f"category is required (one or more of {', '.join(CATEGORIES)})")
    categories = [c.lower() for c in _strings(table["category"], f"{where} category")]
    bad = [c for c in categories if c not in CATEGORIES]
    if bad:
        raise _err(
            where,
            f"category {printable(bad[0], max_chars=40)!r} is not one of {', '.join(CATEGORIES)}",
        )
    providers = None
    if "provider" in table:
        providers = frozenset(p.lower() for p in _strings(table["provider"], f"{where} provider"))
    streams = None
    if "streams" in table:
        streams = tuple(s.lower() for s in _strings(table["streams"], f"{where} streams"))
    kind = table.get("kind", "any")
    if kind not in ("ip", "domain", "any"):
        raise _err(where, 'kind must be "ip", "domain" or "any"')
    kinds = ("domain", "ip") if kind == "any" else (kind,)
    min_age = DEFAULT_MIN_AGE
    if "min_age" in table:
        min_age = parse_duration(table["min_age"], f"{where} min_age")
    if "advice" in table:
        advice = table["advice"]
        if not isinstance(advice, str) or advice.strip().lower() not in ADVICE_NOW:
            raise _err(
                where,
                'advice can only be "release now": a block whose advice says wait or fix '
                "first is never released by a policy",
            )
    max_blocks = _count(table["max_blocks"], f"{where} max_blocks") if "max_blocks" in table else None
    return Rule(
        name=name.strip(),
        categories=frozenset(categories),
        providers=providers,
        streams=streams,
        kinds=kinds,
        min_age=min_age,
        max_blocks=max_blocks,
    )


def load_policy(path_text: str) -> Policy:
    """Read and check a policy file; every problem is one :class:`ConfigError` line."""
    path = Path(path_text).expanduser()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"policy file {path} does not exist", exit_code=2) from None
    except OSError as err:
        raise ConfigError(f"cannot read policy file {path}: {err.strerror or err}", exit_code=2) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"policy file {path} is not UTF-8", exit_code=2) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"policy file {path} is not valid TOML: {printable(str(err), max_chars=200)}",
            exit_code=2,
        ) from None
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise _err(
            str(path),
            f"unknown key(s) {', '.join(printable(k, max_chars=30) for k in unknown[:5])} "
            f"(known: {', '.join(TOP_KEYS)}; rules are [[rule]] tables)",
        )
    tables = data.get("rule")
    if not isinstance(tables, list) or not tables:
        raise _err(str(path), "no [[rule]] tables: a policy without rules releases nothing")
    if len(tables) > MAX_RULES:
        raise _err(str(path), f"more than {MAX_RULES} rules")
    rules = tuple(_rule(t, i, path) for i, t in enumerate(tables, 1))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise _err(str(path), "two rules have the same name")
    max_blocks = _count(data.get("max_blocks", DEFAULT_MAX_BLOCKS), f"{path} max_blocks")
    mode = data.get("mode")
    if mode is not None and mode not in RELEASE_MODES:
        raise _err(str(path), f"mode must be one of {', '.join(RELEASE_MODES)}")
    return Policy(
        path=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(),
        rules=rules,
        max_blocks=max_blocks,
        mode=mode,
    )
