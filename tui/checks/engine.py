"""Run checks concurrently and hand out each result as soon as it is known.

A *job* is a coroutine ``job(ctx, emit)`` that performs some lookups and calls ``emit(result)``
one or more times. :func:`stream_jobs` runs jobs as tasks and yields results in completion
order; closing or cancelling the generator cancels every job still running. A job that
crashes reports one ``not_tested`` result instead of ending the run.

Blocking library calls (pyspf, dkimpy) run in worker threads: they cannot be cancelled, but
each is bounded by its check's time budget, so a cancelled run leaves no thread behind for
longer than ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from tui.checks.resolver import Budget, Resolver, acquire_slot
from tui.checks.results import NOT_TESTED, CheckResult
from tui.checks.settings import CheckSettings

Emit = Callable[[CheckResult], None]
Job = Callable[["CheckContext", Emit], Awaitable[None]]
OnResult = Callable[[CheckResult], Any]
P = ParamSpec("P")
T = TypeVar("T")


def bind_job(fn: Callable[..., Awaitable[None]], *args: object) -> Job:
    """The job that runs ``fn(ctx, *args, emit)``."""

    async def job(ctx: CheckContext, emit: Emit) -> None:
        await fn(ctx, *args, emit)

    return job


def helo_from(helo: dict[str, str] | str | None, ip: str) -> str | None:
    """The HELO name a target knows for ``ip``: one name for every IP, or a mapping IP → name."""
    if isinstance(helo, str):
        return helo
    if isinstance(helo, dict):
        return helo.get(ip)
    return None


@dataclass
class CheckContext:
    """What jobs share during one run: settings, the two resolvers, the run deadline, and
    memoised lookups (a zone health probe or an MX lookup used by several checks)."""

    settings: CheckSettings
    resolver: Resolver
    dnsbl_resolver: Resolver
    deadline: float
    limiter: asyncio.Semaphore
    memo: dict[Any, asyncio.Task[Any]] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        settings: CheckSettings,
        *,
        resolver: Resolver | None = None,
        dnsbl_resolver: Resolver | None = None,
    ) -> CheckContext:
        """Build resolvers from ``settings`` (must run inside the event loop that uses them).

        Raises :class:`tui.errors.ConfigError` when no nameserver can be found.
        """
        limiter = asyncio.Semaphore(settings.concurrency)
        if resolver is None:
            resolver = Resolver(
                settings.resolved_nameservers(),
                timeout=settings.timeout,
                retries=settings.retries,
                limiter=limiter,
                label="records",
            )
        if dnsbl_resolver is None:
            dnsbl_resolver = Resolver(
                settings.resolved_dnsbl_nameservers(),
                timeout=settings.timeout,
                retries=settings.retries,
                limiter=limiter,
                label="blocklists",
            )
        return cls(
            settings=settings,
            resolver=resolver,
            dnsbl_resolver=dnsbl_resolver,
            deadline=time.monotonic() + settings.deadline,
            limiter=limiter,
        )

    def budget(self) -> Budget:
        """A fresh time budget for one check."""
        return Budget(self.settings.timeout, self.deadline)

    def remaining(self) -> float:
        """Seconds left before the run's deadline."""
        return self.deadline - time.monotonic()

    def shared(self, key: Any, factory: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        """One task per ``key`` for the whole run (e.g. the health probe of a zone)."""
        task = self.memo.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self.memo[key] = task
        return task


def _crash_result(name: str, exc: BaseException) -> CheckResult:
    return CheckResult(
        check="internal",
        subject=name,
        status=NOT_TESTED,
        reason=f"check crashed: {type(exc).__name__}: {exc}",
        details={"job": name},
    )


async def stream_jobs(
    ctx: CheckContext, jobs: Iterable[tuple[str, Job]]
) -> AsyncIterator[CheckResult]:
    """Run ``(name, job)`` pairs concurrently; yield each result as it is emitted.

    Use ``async with contextlib.aclosing(stream_jobs(...)) as results`` when you may stop
    early, so the jobs still running are cancelled at once rather than at garbage collection.
    """
    queue: asyncio.Queue[CheckResult | None] = asyncio.Queue()
    emit: Emit = queue.put_nowait

    async def guarded(name: str, job: Job) -> None:
        try:
            await job(ctx, emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken check must not end the run
            emit(_crash_result(name, exc))

    tasks = [asyncio.ensure_future(guarded(name, job)) for name, job in jobs]

    async def closer() -> None:
        await asyncio.gather(*tasks, return_exceptions=True)
        queue.put_nowait(None)

    done_task = asyncio.ensure_future(closer())
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            yield item
    finally:
        for task in tasks:
            task.cancel()
        done_task.cancel()
        for task in ctx.memo.values():
            task.cancel()
        await asyncio.gather(*tasks, done_task, *ctx.memo.values(), return_exceptions=True)


def job_results(
    settings: CheckSettings,
    jobs: Callable[[], Iterable[tuple[str, Job]]],
    ctx: CheckContext | None = None,
) -> AsyncIterator[CheckResult]:
    """The results of ``jobs()`` as they arrive, on ``ctx`` or a context of their own (an
    async generator: closing it cancels the jobs still running)."""

    async def gen() -> AsyncIterator[CheckResult]:
        context = ctx or CheckContext.create(settings)
        async with contextlib.aclosing(stream_jobs(context, jobs())) as it:
            async for result in it:
                yield result

    return gen()


async def collect(
    results: AsyncIterator[CheckResult], on_result: OnResult | None = None
) -> list[CheckResult]:
    """Drain ``results`` (calling ``on_result`` for each, awaiting it if it is a coroutine)
    and return them in listing order."""
    out: list[CheckResult] = []
    try:
        async for result in results:
            out.append(result)
            if on_result is not None:
                value = on_result(result)
                if asyncio.iscoroutine(value):
                    await value
    finally:
        aclose = getattr(results, "aclose", None)
        if aclose is not None:
            await aclose()
    out.sort(key=CheckResult.sort_key)
    return out


async def _in_thread(
    ctx: CheckContext, budget: Budget, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T | None:
    """Run a blocking library call in a thread, holding one concurrency slot, bounded by
    ``budget`` (the thread finishes on its own: its lookups share the same budget)."""
    if not await acquire_slot(ctx.limiter, budget):
        return None
    try:
        budget.start()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(fn, *args, **kwargs), budget.remaining() + 0.5
            )
        except TimeoutError:
            return None
    finally:
        ctx.limiter.release()
