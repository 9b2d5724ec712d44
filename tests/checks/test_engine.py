"""Progressive results, cancellation, and one broken check not ending a run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from tui.checks import BlockTarget, SenderTarget, iter_checks, run_checks
from tui.checks.dns_server import Behaviour
from tui.checks.engine import CheckContext, stream_jobs
from tui.checks.results import CheckResult

if TYPE_CHECKING:
    from tests.checks.conftest import DnsEnv


async def test_results_arrive_progressively(dns_env: DnsEnv) -> None:
    env = dns_env
    # One zone answers slowly: fast results must arrive before the slow ones.
    env.server.set_behaviour("one.test", Behaviour(delay_ms=400))
    try:
        started = time.monotonic()
        arrivals: list[tuple[float, CheckResult]] = []
        settings = env.settings(dnsbl_zones=["zen.test", "one.test"])
        async with contextlib.aclosing(
            iter_checks([BlockTarget(None, [env.GOOD_IP])], [], settings)
        ) as results:
            async for result in results:
                arrivals.append((time.monotonic() - started, result))
        first_ptr = next(t for t, r in arrivals if r.check == "ptr")
        slow = next(t for t, r in arrivals if r.subject == f"{env.GOOD_IP} on one.test")
        assert first_ptr < 0.3 < slow
    finally:
        env.server.set_behaviour("one.test", None)


async def test_on_result_callback_sync_and_async(dns_env: DnsEnv) -> None:
    env = dns_env
    seen: list[str] = []
    awaited: list[str] = []

    async def record(result: CheckResult) -> None:
        awaited.append(result.check)

    targets = [BlockTarget("recv.test", [env.GOOD_IP])]
    collected = await run_checks(
        targets, [], env.settings(), on_result=lambda r: seen.append(r.check)
    )
    assert len(seen) == len(collected) > 0
    collected = await run_checks(
        targets, [SenderTarget("example.test", [env.GOOD_IP])], env.settings(), on_result=record
    )
    assert len(awaited) == len(collected)
    # Listing order: by kind of check.
    kinds = [r.check for r in collected]
    assert kinds.index("mx") < kinds.index("ptr") < kinds.index("spf-record") < kinds.index("dmarc")


async def test_cancelling_the_consumer_cancels_the_checks(dns_env: DnsEnv) -> None:
    env = dns_env
    settings = env.settings(dnsbl_zones=["drop.test"], timeout=10.0, retries=0)
    got: list[CheckResult] = []

    async def consume() -> None:
        async for result in iter_checks([BlockTarget(None, [env.GOOD_IP])], [], settings):
            got.append(result)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    started = time.monotonic()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 0.5
    assert any(r.check == "ptr" for r in got)  # fast results came before the cancel
    assert not any(r.check == "dnsbl" for r in got)  # the 10 s lookups never finished


async def test_breaking_out_early_closes_the_run(dns_env: DnsEnv) -> None:
    env = dns_env
    settings = env.settings(dnsbl_zones=["drop.test"], timeout=10.0, retries=0)
    started = time.monotonic()
    async with contextlib.aclosing(
        iter_checks([BlockTarget(None, [env.GOOD_IP])], [], settings)
    ) as results:
        async for _result in results:
            break
    assert time.monotonic() - started < 1.0


async def test_a_crashing_job_reports_not_tested(dns_env: DnsEnv) -> None:
    async def broken(ctx: CheckContext, emit) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    async def fine(ctx: CheckContext, emit) -> None:  # type: ignore[no-untyped-def]
        emit(CheckResult("mx", "x", "pass", "ok"))

    ctx = CheckContext.create(dns_env.settings())
    results = [r async for r in stream_jobs(ctx, [("broken", broken), ("fine", fine)])]
    statuses = {r.check: (r.status, r.reason) for r in results}
    assert statuses["mx"][0] == "pass"
    assert statuses["internal"] == ("not_tested", "check crashed: RuntimeError: boom")


async def test_overall_deadline(dns_env: DnsEnv) -> None:
    env = dns_env
    settings = env.settings(dnsbl_zones=["drop.test"], timeout=5.0, deadline=0.5, retries=0)
    started = time.monotonic()
    results = await run_checks([BlockTarget(None, [env.GOOD_IP])], [], settings)
    assert time.monotonic() - started < 0.5 + 0.3
    zone = [r for r in results if r.check == "dnsbl-zone"][0]
    assert zone.status == "not_tested"


def test_result_model() -> None:
    result = CheckResult("ptr", "192.0.2.1", "fail", "two\nlines", ["a"], {"ip": "192.0.2.1"})
    assert result.reason == "two lines"
    assert result.evidence == ("a",)
    assert result.to_json() == {
        "check": "ptr",
        "subject": "192.0.2.1",
        "status": "fail",
        "reason": "two lines",
        "evidence": ["a"],
        "details": {"ip": "192.0.2.1"},
    }
