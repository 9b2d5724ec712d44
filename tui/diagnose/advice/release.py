"""When to release: the stricter of the primary and secondary release rules, set against
ListManager's own next retry, and the command that releases exactly this block."""

from __future__ import annotations

import shlex
from datetime import datetime

from tui.diagnose import playbook as PB
from tui.diagnose.advice.categories import _Part
from tui.diagnose.advice.records import BlockFacts, ReleaseAdvice
from tui.diagnose.advice.text import _after, fmt_time

_WHEN_ORDER = {PB.WHEN_NOW: 0, PB.WHEN_WAIT: 1, PB.WHEN_AFTER_FIX: 2}


def release_command(facts: BlockFacts, stream: str, domain: str) -> str:
    """How to release exactly what this advice is about: an IP pair alone, or a domain with
    its IP pairs (what releasing a domain means, see tui.db.release_plan)."""
    key = PB.CONSOLE_RELEASE_KEY
    if facts.block_id is not None:
        if facts.kind == "ip":
            return f"{key} in the console, or lmtriage release --block ip:{facts.block_id} (this pair only)"
        return (
            f"{key} in the console, or lmtriage release --block domain:{facts.block_id} "
            "(the domain row with its IP pairs)"
        )
    if facts.kind == "ip":
        return f"{key} on the pair in the console (this pair only)"
    return (
        f"{key} in the console, or lmtriage release --stream {shlex.quote(stream)} --domain "
        f"{shlex.quote(domain)} (the domain row with its IP pairs)"
    )


def _release(
    facts: BlockFacts,
    part: _Part,
    second: _Part | None,
    stream: str,
    domain: str,
    steps: list[str],
) -> ReleaseAdvice:
    """The release advice (the stricter of primary and secondary); appends the release steps."""
    when, reason, not_before = part.when, part.reason, part.not_before
    steps += part.release_steps
    if second is not None and _WHEN_ORDER[second.when] > _WHEN_ORDER[when]:
        reason = f"{reason}; and {second.reason}"
        when = second.when
        not_before = not_before or second.not_before
        steps += second.release_steps
    cmd = release_command(facts, stream, domain)
    retry = facts.next_retry
    overdue = retry is not None and _after(facts.now, retry) is True
    if retry is not None and overdue:
        due = f"ListManager's retry was due at {fmt_time(retry)} and is overdue"
        if when == PB.WHEN_NOW:
            steps.append(f"Release now ({cmd}): {due}.")
        elif when == PB.WHEN_WAIT and not_before is not None:
            steps.append(
                f"{due}; a retry before {fmt_time(not_before)} will probably be deferred again "
                "(harmless); do not release by hand before then."
            )
        else:
            steps.append(
                f"After the fix, release ({cmd}); {due}, and until the fix its retries only "
                "collect more refusals."
            )
    elif retry is None:
        tail = {
            PB.WHEN_AFTER_FIX: " once the fix is in.",
            PB.WHEN_WAIT: f" after {fmt_time(not_before)}.",
            PB.WHEN_NOW: ": release now.",
        }[when]
        steps.append(
            "Next Retry is Permanent: ListManager will not retry on its own, so the block "
            f"needs a release ({cmd}){tail}"
        )
        reason += "; ListManager will not retry by itself (Permanent)"
    elif when == PB.WHEN_WAIT and not_before is not None:
        if _within_a_minute(retry, not_before):
            steps.append(
                f"ListManager retries by itself at {fmt_time(retry)}, as the cool-down ends: "
                f"no release is needed ({cmd} only to be sure)."
            )
        elif _after(not_before, retry):
            steps.append(
                f"ListManager's own retry at {fmt_time(retry)} comes before the cool-down ends "
                f"and will probably be deferred again (harmless); do not release by hand before "
                f"{fmt_time(not_before)}."
            )
        else:
            steps.append(
                f"ListManager retries by itself at {fmt_time(retry)}, after the cool-down: no "
                f"release is needed unless you want it sooner ({cmd})."
            )
    elif when == PB.WHEN_NOW:
        steps.append(
            f"Release now ({cmd}) rather than wait for ListManager's own retry at "
            f"{fmt_time(retry)}."
        )
    else:
        steps.append(
            f"After the fix, release ({cmd}) rather than wait for ListManager's next retry at "
            f"{fmt_time(retry)}; until then its retries only collect more refusals."
        )
    return ReleaseAdvice(when=when, reason=reason, not_before=not_before)  # type: ignore[arg-type]


def _within_a_minute(a: datetime | None, b: datetime | None) -> bool:
    """Two times a minute or less apart (naive and aware never are)."""
    try:
        return a is not None and b is not None and abs((a - b).total_seconds()) <= 60
    except TypeError:
        return False
