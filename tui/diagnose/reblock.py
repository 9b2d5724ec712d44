"""A step after :func:`tui.diagnose.advice.advise`: what the block's history says.

A block that came back soon after lmtriage released it tells more than any reply: the release
did not hold, so releasing it again without a fix only blocks it again (and a release by
policy would loop). When that is so, the advice says it in its explanation and first step,
and a "release now" becomes "after-fix". Pure: the glue (:mod:`tui.triage.block_advice`) reads the
history and passes it in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from tui.db.history import REBLOCK_SOON
from tui.diagnose.advice import Advice, ReleaseAdvice, fmt_time

if TYPE_CHECKING:
    from tui.db.history import BlockHistory


def span_text(delta: timedelta) -> str:
    """``2 d 3 h``, ``7 d``, ``5 h 12 min``, ``14 min``, ``under a minute`` (status lines,
    reports and the advice all say durations this way)."""
    minutes = int(max(delta.total_seconds(), 0) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    if mins:
        return f"{mins} min"
    return "under a minute"


def note_reblock(
    advice: Advice, history: BlockHistory | None, *, within: timedelta = REBLOCK_SOON
) -> Advice:
    """``advice`` as it is, or amended when the block came back within ``within`` of its last
    release."""
    if history is None or not history.reblocked_soon(within):
        return advice
    last = history.last_release
    assert last is not None and history.reblocked_after is not None
    after = span_text(history.reblocked_after)
    how = (
        "its BlockedSince"
        if history.reblock_evidence == "BlockedSince"
        else "the first blocking reply in the attempt log"
    )
    sentence = (
        f"This block came back {after} after it was last released ({fmt_time(last.released_at)}, "
        f"audit event {last.event_id}, by {last.action}; {how}): released "
        f"{history.times_released} time(s), blocked {history.times_blocked} time(s). A release "
        "alone did not hold."
    )
    step = (
        f"Re-blocked {after} after the last release: fix the cause first (the steps below); "
        "releasing again as it is will block it again."
    )
    release = advice.release
    steps = [step, *advice.steps]
    if release.when == "now":
        # The advice's own "release now" steps no longer hold: say when instead.
        steps = [step, *(s for s in advice.steps if "release now" not in s.lower())]
        steps.append(
            "After the fix, release it again and check that it holds: its history (the detail "
            "panel, lmtriage explain) shows how soon it comes back."
        )
        release = ReleaseAdvice(
            when="after-fix",
            reason=f"it was blocked again {after} after the last release: fix the cause before "
            "releasing again",
            not_before=release.not_before,
        )
    else:
        release = replace(
            release, reason=f"{release.reason}; it also came back {after} after the last release"
        )
    return replace(
        advice,
        explanation=f"{advice.explanation} {sentence}".strip(),
        steps=tuple(steps),
        release=release,
    )


def history_line(history: BlockHistory) -> str | None:
    """``Blocked 3 times, released 2 times by lmtriage (last 2026-11-23 08:10, autorelease,
    event 12); blocked again 40 min after it.`` — None when the audit knows no release."""
    if not history.has_history:
        return None
    last = history.last_release
    undone = len(history.releases) - history.times_released
    text = (
        f"Blocked {history.times_blocked} time(s), released {history.times_released} time(s) "
        "by lmtriage"
    )
    if undone:
        text += f" ({undone} more undone)"
    if last is not None:
        text += f"; last release {fmt_time(last.released_at)} ({last.action}, audit event {last.event_id})"
        if history.reblocked_after is not None:
            text += f"; blocked again {span_text(history.reblocked_after)} after it"
            if history.reblock_evidence == "attempt log":
                text += " (first blocking reply)"
        if history.failed_since_release is not None:
            text += (
                f"; since then {history.failed_since_release:,} failed and "
                f"{history.delivered_since_release or 0:,} delivered attempt(s)"
            )
    if not history.complete:
        text += " (older audit events not read)"
    return text + "."
