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
from collections.abc import AsyncIterator, Callable, Sequence

from tui.checks.block_checks import BlockTarget, block_jobs
from tui.checks.engine import CheckContext, Emit, Job, OnResult, collect, stream_jobs
from tui.checks.results import CheckResult
from tui.checks.sender_checks import SenderTarget, sender_jobs
from tui.checks.settings import CheckSettings


def planned_jobs(
    block_targets: Sequence[BlockTarget],
    sender_targets: Sequence[SenderTarget],
    settings: CheckSettings,
) -> list[tuple[str, Job]]:
    """Every ``(name, job)`` a run will start, known before it starts (a UI lists them).

    The receiving domains of ``block_targets`` are passed to the DMARC check so a missing
    record is judged against the receivers actually blocking.
    """
    receivers = [t.domain.lower() for t in block_targets if t.domain]
    return block_jobs(block_targets, settings) + sender_jobs(
        sender_targets, settings, blocked_by=receivers
    )


def iter_jobs(
    jobs: Sequence[tuple[str, Job]],
    settings: CheckSettings,
    *,
    on_done: Callable[[str], None] | None = None,
    ctx: CheckContext | None = None,
) -> AsyncIterator[CheckResult]:
    """Run ``jobs``; yield results as they arrive; call ``on_done(name)`` as each job ends.

    Raises :class:`tui.errors.ConfigError` on the first ``__anext__`` when no nameserver can
    be found.
    """

    def tracked(name: str, job: Job) -> Job:
        async def run(context: CheckContext, emit: Emit) -> None:
            try:
                await job(context, emit)
            finally:
                if on_done is not None:
                    on_done(name)

        return run

    async def gen() -> AsyncIterator[CheckResult]:
        context = ctx or CheckContext.create(settings)
        wrapped = [(name, tracked(name, job)) for name, job in jobs]
        async with contextlib.aclosing(stream_jobs(context, wrapped)) as results:
            async for result in results:
                yield result

    return gen()


def iter_checks(
    block_targets: Sequence[BlockTarget],
    sender_targets: Sequence[SenderTarget],
    settings: CheckSettings,
    ctx: CheckContext | None = None,
) -> AsyncIterator[CheckResult]:
    """Every check for the targets, results yielded as each lookup returns (see
    :func:`planned_jobs` and :func:`iter_jobs`)."""
    return iter_jobs(planned_jobs(block_targets, sender_targets, settings), settings, ctx=ctx)


async def run_checks(
    block_targets: Sequence[BlockTarget],
    sender_targets: Sequence[SenderTarget],
    settings: CheckSettings,
    on_result: OnResult | None = None,
) -> list[CheckResult]:
    """Run every check; ``on_result`` is called (or awaited) for each result as it arrives.
    Returns all results in listing order."""
    return await collect(iter_checks(block_targets, sender_targets, settings), on_result)
