"""Commands over every server of the config file (``--all-profiles``).

Each ``[profiles.NAME]`` is opened in turn with its own password variable and audit store; a
server that cannot be read is named on stderr and the others are still listed (exit 1 then).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.commands.output import emit
from tui.errors import LmError


def profile_names(args: argparse.Namespace) -> list[str]:
    """Every profile of the config file; ``--db``/``--profile`` make no sense with them."""
    from tui.config import load_config

    if getattr(args, "db", None) or getattr(args, "profile", None):
        raise LmError(
            "--all-profiles reads every [profiles.NAME]: leave out --db and --profile",
            exit_code=2,
        )
    base = load_config(config=getattr(args, "config", None))
    for warning in base.warnings:
        print(f"lmtriage: warning: {warning}", file=sys.stderr)
    if not base.profiles:
        where = base.config_path or "the config file"
        raise LmError(f"--all-profiles: {where} defines no [profiles.NAME]", exit_code=2)
    return list(base.profiles)


def blocks_of_all_profiles(
    args: argparse.Namespace,
    records_of: Callable[[Any, argparse.Namespace], list[dict[str, Any]]],
    columns: Sequence[str],
    headers: Sequence[str],
    max_width: Mapping[str, int],
) -> int:
    """``blocks --all-profiles``: the records of every profile, each with its name."""
    from tui.config import load_config
    from tui.core import open_core

    records: list[dict[str, Any]] = []
    failed = 0
    for name in profile_names(args):
        try:
            config = load_config(
                config=getattr(args, "config", None),
                read_only=bool(getattr(args, "read_only", False)),
                profile=name,
            )
            core = open_core(config)
            try:
                found = records_of(core, args)
            finally:
                core.close()
        except LmError as err:
            text = str(err)
            if not text.startswith(f"profile {name}:"):
                text = f"profile {name}: {text}"
            print(f"lmtriage: error: {text}", file=sys.stderr)
            failed += 1
            continue
        records += [{"profile": name, **record} for record in found]
    emit(
        records,
        args.format,
        ["profile", *columns],
        headers=["PROFILE", *headers],
        max_width={"profile": 20, **max_width},
        empty_message="no blocks on any profile",
    )
    return 1 if failed else 0
