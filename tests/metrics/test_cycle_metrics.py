"""The compute's metrics: each cycle adds its probes (by status and cause), their latencies and its
duration to counters in the cache, so an API scrape shows them though another process ran the
cycle (degraded successes too, counted apart); cycles by outcome and the last successful one come
from the store."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.cache import open_cache
from service_monitor.cache.redis import RedisCache
from service_monitor.compute.sinks import TallySink
from service_monitor.compute.worker import Compute
from service_monitor.metrics.compute import cycle_increments, publish_cycle
from service_monitor.models import Cause, Check, CycleOutcome, Status
from service_monitor.services import Services
from service_monitor.storage import open_storage
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import REDIS_HOST, REDIS_PORT, embedded_settings, redis_cleanup
from tests.faults import Mode, tcp_proxy
from tests.metrics.scrape import Scrape, scrape
from tests.targets import closed_port, target_server

PROBES = "service_monitor_probes_total"
LATENCY = "service_monitor_probe_latency_seconds"


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with target_server() as url:
        yield url


async def monitor_targets(services: Services, base_url: str) -> None:
    """Two that answer 200, and one each failing on status, timeout and a refused connection."""
    rows = [
        ("ok", f"{base_url}/ok"),
        ("redirect", f"{base_url}/redirect"),
        ("error", f"{base_url}/status/500"),
        ("hang", f"{base_url}/hang"),
        ("refused", f"http://127.0.0.1:{closed_port()}/"),
    ]
    await services.storage.import_monitors(rows, services.clock())


def compute_for(services: Services) -> Compute:
    settings = services.settings.model_copy(update={"TIMEOUT": 1.0, "RAMP_UP_SECONDS": 0.0})
    return Compute(
        services.storage, services.cache, settings, clock=time.time, counters=services.cache
    )


async def scrape_from_another_process(services: Services) -> Scrape:
    """A scrape of an API that shares only the store and the cache with the compute, as the ECS
    task and the API service do: backends of its own, opened from the same settings."""
    storage = await open_storage(services.settings)
    cache = await open_cache(services.settings)
    try:
        app = create_app(services=Services(services.settings, storage, cache))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await scrape(client)
    finally:
        await cache.close()
        await storage.close()


async def test_a_cycle_s_probes_by_status_and_cause_show_in_another_api_s_scrape(
    services: Services, base_url: str
) -> None:
    await monitor_targets(services, base_url)
    before = time.time()
    report = await compute_for(services).cycle()
    assert report is not None
    assert (report.success, report.fail) == (2, 3)

    scraped = await scrape_from_another_process(services)

    assert scraped.value(PROBES, status="success", cause="none") == 2
    assert scraped.value(PROBES, status="fail", cause="http_status") == 1
    assert scraped.value(PROBES, status="fail", cause="timeout") == 1
    assert scraped.value(PROBES, status="fail", cause="connect") == 1
    assert scraped.label_values(PROBES, "cause") == {"none", "http_status", "timeout", "connect"}
    assert scraped.value(f"{LATENCY}_count", status="success") == 2
    assert scraped.value(f"{LATENCY}_count", status="fail") == 3
    assert scraped.value(f"{LATENCY}_bucket", status="fail", le="+Inf") == 3
    # The timeout took the whole 1 s TIMEOUT: above 0.5 s, within 2.5 s.
    assert scraped.value(f"{LATENCY}_bucket", status="fail", le="0.5") == 2
    assert scraped.value(f"{LATENCY}_bucket", status="fail", le="2.5") == 3
    assert (scraped.value(f"{LATENCY}_sum", status="fail") or 0) >= 1.0
    assert scraped.value("service_monitor_checks_stored_total") == 5
    assert scraped.value("service_monitor_checks_lost_total") == 0
    assert scraped.value("service_monitor_cycle_duration_seconds_count", outcome="done") == 1
    assert scraped.value("service_monitor_cycles_total", outcome="done") == 1
    last_success = scraped.value("service_monitor_last_successful_cycle_timestamp_seconds")
    assert last_success is not None
    assert before <= last_success <= time.time()


async def test_each_cycle_adds_to_the_counters_of_the_cycles_before(
    services: Services, base_url: str
) -> None:
    await monitor_targets(services, base_url)
    compute = compute_for(services)
    await compute.cycle()
    await compute.cycle()

    scraped = await scrape_from_another_process(services)

    assert scraped.value(PROBES, status="success", cause="none") == 4
    assert scraped.value(PROBES, status="fail", cause="timeout") == 2
    assert scraped.value(f"{LATENCY}_count", status="fail") == 6
    assert scraped.value("service_monitor_cycle_duration_seconds_count", outcome="done") == 2
    assert scraped.value("service_monitor_cycles_total", outcome="done") == 2


async def test_a_skipped_cycle_is_counted_by_outcome_and_probes_nothing(
    services: Services, base_url: str
) -> None:
    await monitor_targets(services, base_url)
    async with services.storage.cycle_lock() as held:  # another compute is running a cycle
        assert held
        assert await compute_for(services).cycle() is None

    scraped = await scrape_from_another_process(services)

    assert scraped.value("service_monitor_cycles_total", outcome="skipped") == 1
    assert scraped.value("service_monitor_cycles_total", outcome="done") == 0
    assert scraped.value("service_monitor_last_successful_cycle_timestamp_seconds") is None
    assert scraped.total(PROBES) == 0


async def test_the_queue_depth_counts_the_urls_no_cycle_has_taken_in(
    services: Services,
) -> None:
    for monitor_id in (1, 2, 3):
        await services.cache.push(monitor_id)

    scraped = await scrape_from_another_process(services)

    assert scraped.value("service_monitor_queue_depth") == 3


async def test_a_cycle_whose_metrics_cannot_be_written_still_succeeds(
    tmp_path: Path, base_url: str, require_redis: None, caplog: pytest.LogCaptureFixture
) -> None:
    async with tcp_proxy(REDIS_HOST, REDIS_PORT) as proxy:
        settings = embedded_settings(
            tmp_path, CACHE_ADDRESS="127.0.0.1", CACHE_PORT=proxy.port, TIMEOUT=1.0
        )
        storage = await SQLiteStorage.open(settings.SQLITE_PATH)
        cache = await RedisCache.open(settings)
        try:
            await storage.import_monitors([("ok", f"{base_url}/ok")], time.time())
            await proxy.set_mode(Mode.CUT)
            compute = Compute(storage, cache, settings, counters=cache)
            with caplog.at_level(logging.WARNING):
                report = await compute.cycle()
            totals = await storage.cycle_totals()
        finally:
            await cache.close()
            await storage.close()
            await redis_cleanup(settings.CACHE_KEY_PREFIX)

    assert report is not None
    assert report.stored == 1
    assert totals.by_outcome[CycleOutcome.DONE] == 1
    assert any("cycle metrics not recorded" in r.getMessage() for r in caplog.records)


async def test_degraded_successes_are_counted_beside_the_probes_by_status(
    services: Services,
) -> None:
    # The cycle's own tally, as the probe loop feeds it: degraded successes among the others.
    for degraded_in_cycle in (2, 1):
        tally = TallySink()
        for index in range(3):
            tally.add(Check(1, 0.0, Status.SUCCESS, 200, 900, degraded=index < degraded_in_cycle))
        tally.add(Check(2, 0.0, Status.FAIL, 503, 9, Cause.ASSERTION, "status 503"))
        increments = cycle_increments(
            tally, outcome=CycleOutcome.DONE, duration_s=1.0, stored=4, lost=0
        )
        assert await publish_cycle(services.cache, increments)

    scraped = await scrape_from_another_process(services)

    assert scraped.value("service_monitor_probes_degraded_total") == 3
    assert scraped.value(PROBES, status="success", cause="none") == 6  # degraded ones included
    assert scraped.value(PROBES, status="fail", cause="assertion") == 2


async def test_no_degraded_probe_yet_is_a_zero_not_a_missing_series(
    services: Services, base_url: str
) -> None:
    await monitor_targets(services, base_url)
    await compute_for(services).cycle()

    scraped = await scrape_from_another_process(services)

    assert scraped.value("service_monitor_probes_degraded_total") == 0
