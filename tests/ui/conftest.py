"""Fixtures for driving the real console with Pilot against real databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from tui.config import load_config
from tui.core import Core, open_core
from tui.db.audit import AuditStore
from tui.ui.app import LmTriageApp, build_app

FROZEN = datetime(2026, 11, 29, 12, 0, 0)


async def settle(pilot, rounds: int = 3) -> None:
    """Wait until workers are done and their messages handled (never a sleep).

    A worker's message can start another worker (keys → rows → evidence), so this goes on
    until a round starts nothing new (at least ``rounds`` rounds, at most 30).
    """
    app = pilot.app
    quiet = 0
    for i in range(30):
        await app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(not w.is_finished for w in app.workers)
        quiet = 0 if busy else quiet + 1
        if i + 1 >= rounds and quiet >= 2:
            break


@pytest.fixture
def make_core(tmp_path: Path) -> Callable[..., Core]:
    """A core on a database, with its audit store in the test's directory."""
    made: list[Core] = []

    def make(url: str, config: Path | None = None, *, read_only: bool = False) -> Core:
        core = open_core(
            load_config(db=url, config=str(config) if config else None, read_only=read_only)
        )
        core.__dict__["audit"] = AuditStore.at_path(tmp_path / "audit.sqlite")
        made.append(core)
        return core

    yield make
    for core in made:
        core.close()


@pytest.fixture
def make_app(make_core) -> Callable[..., LmTriageApp]:
    """The console on a database, with a frozen clock for the header."""

    def make(db, *, read_only: bool = False) -> LmTriageApp:
        core = make_core(db.url, db.config, read_only=read_only)
        return build_app(core, clock=lambda: FROZEN)

    return make
