"""One entry point for a UI: block checks and sender-domain checks in a single run.

Progressive results::

    async with contextlib.aclosing(iter_checks(blocks, senders, settings)) as results:
        async for result in results:
            panel.add(result)          # cancel the task running this to stop the run

or, collecting everything with an optional callback::

    results = await run_checks(blocks, senders, settings, on_result=panel.add)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from tui.checks.block_checks import BlockTarget, block_jobs
from tui.checks.engine import CheckContext, OnResult, collect, stream_jobs
from tui.checks.results import CheckResult
from tui.checks.sender_checks import SenderTarget, sender_jobs
from tui.checks.settings import CheckSettings


def iter_checks(
    block_targets: Sequence[BlockTarget],
    sender_targets: Sequence[SenderTarget],
    settings: CheckSettings,
    ctx: CheckContext | None = None,
) -> AsyncIterator[CheckResult]:
    """Every check for the targets, results yielded as each lookup returns.

    Raises :class:`tui.errors.ConfigError` on the first ``__anext__`` when no nameserver can
    be found. The receiving domains of ``block_targets`` are passed to the DMARC check so a
    missing record is judged against the receivers actually blocking.
    """

    async def gen() -> AsyncIterator[CheckResult]:
        context = ctx or CheckContext.create(settings)
        receivers = [t.domain.lower() for t in block_targets if t.domain]
        jobs = block_jobs(block_targets, settings) + sender_jobs(
            sender_targets, settings, blocked_by=receivers
        )
        async with contextlib.aclosing(stream_jobs(context, jobs)) as results:
            async for result in results:
                yield result

    return gen()


async def run_checks(
    block_targets: Sequence[BlockTarget],
    sender_targets: Sequence[SenderTarget],
    settings: CheckSettings,
    on_result: OnResult | None = None,
) -> list[CheckResult]:
    """Run every check; ``on_result`` is called (or awaited) for each result as it arrives.
    Returns all results in listing order."""
    return await collect(iter_checks(block_targets, sender_targets, settings), on_result)
