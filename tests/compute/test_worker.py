"""Cycles as a process runs them: never two at once, here or in another process; an overrun is
reported and recorded, and every outcome is kept in the store."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest

from service_monitor.compute.worker import Compute
from service_monitor.models import Cause, Check, Counts, CycleOutcome, Span, Status
from service_monitor.services import Services
from service_monitor.stats import Stats
from service_monitor.storage.sql import SQLStorage
from tests.targets import target_server


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with target_server() as url:
        yield url


# Two workers that stay stuck on hung probes (a 30 s timeout) until a stop's 0.5 s grace ends.
STUCK_ON_HUNG_PROBES: dict[str, object] = {
    "TIMEOUT": 30.0,
    "CONCURRENCY": 2,
    "RAMP_UP_SECONDS": 0,
    "PER_HOST_LIMIT": 0,
    "SHUTDOWN_GRACE_SECONDS": 0.5,
}


def compute_for(services: Services, stats: Stats | None = None, **overrides: object) -> Compute:
    settings = services.settings.model_copy(update={"TIMEOUT": 1.0, **overrides})
    return Compute(services.storage, services.cache, settings, clock=time.time, stats=stats)


async def test_a_cycle_within_its_interval_is_recorded_as_done(
    services: Services, base_url: str
) -> None:
    await services.storage.import_monitors([("ok", f"{base_url}/ok")], services.clock())
    compute = compute_for(services)
    report = await compute.cycle()
    assert report is not None
    assert report.stored == 1
    totals = await services.storage.cycle_totals()
    assert totals.by_outcome[CycleOutcome.DONE] == 1
    assert totals.last is not None
    assert (totals.last.probed, totals.last.stored) == (1, 1)
    assert totals.last_success_at == totals.last.finished_at


async def test_a_cycle_longer_than_its_interval_is_reported_and_recorded_as_overrun(
    services: Services, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await services.storage.import_monitors([("hung", f"{base_url}/hang")], services.clock())
    compute = compute_for(services, TIMEOUT=1.5, CYCLE_INTERVAL=1)
    report = await compute.cycle()
    assert report is not None
    assert report.duration_s > 1
    assert compute.outcomes == {CycleOutcome.OVERRAN: 1}
    totals = await services.storage.cycle_totals()
    assert totals.by_outcome[CycleOutcome.OVERRAN] == 1
    assert totals.last_success_at is not None  # it finished: monitoring did not stop
    assert any(
        r.levelno == logging.WARNING and "cycle overran its 1 s interval" in r.getMessage()
        for r in caplog.records
    )


async def test_a_cycle_is_skipped_while_another_process_holds_the_cycle_lock(
    services: Services, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await services.storage.import_monitors([("ok", f"{base_url}/ok")], services.clock())
    compute = compute_for(services)
    # The lock taken here is a separate lock session (a connection of its own on MySQL, an open
    # file of its own on SQLite): to the compute it is another process holding it.
    async with services.storage.cycle_lock() as held:
        assert held
        assert await compute.cycle() is None
    [target] = await services.storage.targets()
    assert await services.storage.recent_checks(target.monitor_id, 5) == []  # nothing probed
    totals = await services.storage.cycle_totals()
    assert totals.by_outcome[CycleOutcome.SKIPPED] == 1
    assert any(
        "another compute process is running a cycle" in r.getMessage() for r in caplog.records
    )
    assert await compute.cycle() is not None  # the lock is free again: the next cycle runs


async def test_after_a_cycle_every_statistic_is_a_fresh_cache_hit_with_its_results(
    services: Services, base_url: str
) -> None:
    await services.storage.import_monitors([("ok", f"{base_url}/ok")], services.clock())
    await services.stats.summary()  # cached before the cycle: zero checks
    compute = compute_for(services, stats=services.stats)
    await compute.cycle()
    for status in Status:
        for span in Span:
            served = await services.stats.top(status, span)
            assert served.cached, (status, span)
            expected = [{"name": "ok", "url": f"{base_url}/ok", "count": 1}]
            assert json.loads(served.body) == (expected if status is Status.SUCCESS else [])
    summary = await services.stats.summary()
    assert summary.cached
    assert json.loads(summary.body)[0] == {"status": "success", "count": 1}


async def test_a_cycle_rolls_up_the_hours_before_it_and_prunes_what_retention_drops(
    services: Services, base_url: str
) -> None:
    monitor = await services.storage.add_monitor("ok", f"{base_url}/ok", services.clock())
    await services.storage.activate()
    now = time.time()
    old = [Check(monitor.id, now - 40 * 86400, Status.SUCCESS, 200, 5)]  # beyond 30 days + 1 h
    hour_ago = [Check(monitor.id, now - 3600, Status.FAIL, 500, 5, Cause.HTTP_STATUS)]
    await services.storage.add_checks(old + hour_ago)

    await compute_for(services).cycle()

    storage = services.storage
    assert isinstance(storage, SQLStorage)
    hours = [int(r[0]) for r in await storage.fetch("SELECT hour FROM rollup_hours")]
    # Rolled up to this hour: the rollup at its start counts the check made an hour ago.
    assert int(now // 3600) in hours
    assert await storage.fetch(
        "SELECT COUNT(*) FROM checks WHERE checked_at < ?", (now * 1000 - 31 * 86400_000,)
    ) == [(0,)]
    assert await storage.monitor_counts(monitor.id, [now - 7200]) == [Counts(success=1, fail=1)]


async def test_a_stopped_cycle_starts_no_new_probe_abandons_the_hung_ones_and_is_recorded(
    services: Services, base_url: str
) -> None:
    rows = [(f"ok{i}", f"{base_url}/ok?i={i}") for i in range(3)]
    rows += [(f"hung{i}", f"{base_url}/hang?i={i}") for i in range(2)]
    rows += [(f"later{i}", f"{base_url}/ok?later={i}") for i in range(20)]
    await services.storage.import_monitors(rows, services.clock())
    # 2 workers, in this order: the 3 quick probes, then both workers hang, with 20 URLs to go.
    compute = compute_for(services, None, **STUCK_ON_HUNG_PROBES)
    running = asyncio.create_task(compute.cycle())
    await asyncio.sleep(0.5)  # both workers are now stuck on the hung probes
    started = time.monotonic()
    await compute.stop()
    assert time.monotonic() - started < 2.0  # the grace (0.5 s), not the probe timeout (30 s)
    report = await running
    assert report is not None
    assert report.stopped
    assert (report.abandoned, report.planned) == (2, 25)
    assert report.probed == report.stored == 3  # none of the 20 later URLs was started
    totals = await services.storage.cycle_totals()
    assert totals.by_outcome[CycleOutcome.STOPPED] == 1
    assert totals.last is not None
    assert (totals.last.probed, totals.last.stored) == (report.probed, report.stored)
    assert await compute.cycle() is None  # a stopping compute starts no new cycle


async def test_probes_in_flight_finish_within_the_grace_period_and_their_checks_are_stored(
    services: Services, base_url: str
) -> None:
    rows = [(f"slow{i}", f"{base_url}/slow?i={i}") for i in range(40)]  # 0.3 s each
    await services.storage.import_monitors(rows, services.clock())
    compute = compute_for(
        services, CONCURRENCY=4, RAMP_UP_SECONDS=0, PER_HOST_LIMIT=0, SHUTDOWN_GRACE_SECONDS=5
    )
    running = asyncio.create_task(compute.cycle())
    await asyncio.sleep(0.45)  # 4 probes done, 4 in flight
    await compute.stop()
    report = await running
    assert report is not None
    assert report.stopped
    assert report.abandoned == 0  # they had the time to finish
    assert report.probed == report.stored == 8  # the 4 in flight finished; no new one started
