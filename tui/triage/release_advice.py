"""Whether chosen blocks should be released now, from their advice (console and CLI alike).

A release into an active rate limit just re-blocks, and a block whose cause is unfixed comes
back: the release dialog warns how many chosen blocks the advice says to wait for (and until
when), and "mark release-now" marks only the blocks whose advice says *now*. Advice reads
the replies behind each block, so the number of blocks judged in one go is bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.records import Block, BlockKey

if TYPE_CHECKING:
    from tui.diagnose.advice import Advice

# Blocks whose advice one dialog (or one "mark release-now") reads at most.
MAX_JUDGED = 500


@dataclass(slots=True)
class ReleaseJudgement:
    """The advice's "when" for each judged block, and what was left unjudged."""

    when: dict[BlockKey, str] = field(default_factory=dict)  # now / wait / after-fix
    not_before: dict[BlockKey, datetime | None] = field(default_factory=dict)
    unjudged: int = 0  # chosen blocks beyond MAX_JUDGED
    failed: int = 0  # blocks whose advice could not be read

    def keys(self, when: str) -> list[BlockKey]:
        """Judged blocks whose advice says ``when``."""
        return [k for k, w in self.when.items() if w == when]

    def warning(self, now: datetime) -> str | None:
        """``3 of the chosen blocks should wait (until 14:30); 1 needs a fix first``."""
        wait, fix = self.keys("wait"), self.keys("after-fix")
        parts = []
        if wait:
            until = [t for k in wait if (t := self.not_before.get(k)) is not None]
            latest = max(until) if until else None
            when = ""
            if latest is not None:
                when = (
                    f" (the last until {latest:%Y-%m-%d %H:%M})"
                    if latest > now
                    else " (their wait is over by now)"
                )
            parts.append(f"{len(wait):,} should wait{when}: a release now may re-block at once")
        if fix:
            verb = "needs" if len(fix) == 1 else "need"
            parts.append(f"{len(fix):,} {verb} a fix first (the cause would block again)")
        if self.unjudged:
            parts.append(f"{self.unjudged:,} more were not judged (over {MAX_JUDGED:,})")
        if self.failed:
            parts.append(f"advice unreadable for {self.failed:,}")
        if not parts:
            return None
        return "Advice: " + "; ".join(parts) + "."


def judge_blocks(
    core: Core,
    conn: Connection,
    blocks: Sequence[Block],
    *,
    cached: Callable[[BlockKey], Advice | None] = lambda _key: None,
    progress: Callable[[int, int], None] | None = None,
) -> ReleaseJudgement:
    """The advice's release decision for up to :data:`MAX_JUDGED` of ``blocks``."""
    from tui.triage.block_advice import advise_block

    out = ReleaseJudgement(unjudged=max(0, len(blocks) - MAX_JUDGED))
    todo = list(blocks[:MAX_JUDGED])
    need_evidence: dict[str, list[Block]] = {"domain": [], "ip": []}
    for block in todo:
        if block.attempts is None and cached(block.key) is None:
            need_evidence[block.kind].append(block)
    for kind, kind_blocks in need_evidence.items():
        if kind_blocks and core.schema.has("attempts"):
            queries.fetch_evidence(core.schema, conn, kind, kind_blocks, since=core.since())  # type: ignore[arg-type]
    for i, block in enumerate(todo, 1):
        advice: Any = cached(block.key)
        if advice is None:
            try:
                advice, _facts = advise_block(core, conn, block)
            except Exception:  # noqa: BLE001 - one unreadable block must not stop the rest
                out.failed += 1
                continue
        out.when[block.key] = advice.release.when
        out.not_before[block.key] = advice.release.not_before
        if progress is not None:
            progress(i, len(todo))
    return out
