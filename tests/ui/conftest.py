"""Fixtures for driving the real console with Pilot against real databases."""

from __future__ import annotations

from datetime import datetime

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
