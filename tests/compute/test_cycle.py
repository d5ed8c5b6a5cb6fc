"""A compute cycle on each deployment (embedded, MariaDB + Redis) against a local HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service_monitor.compute.cycle import run_cycle
from service_monitor.compute.prober import open_probe_sessions
from service_monitor.compute.report import CycleReport
from service_monitor.compute.worker import Compute
from service_monitor.config import Settings
from service_monitor.models import Cause, CycleOutcome, Status
from service_monitor.services import Services
from tests.targets import closed_port, counting_server, target_server


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with target_server() as url:
        yield url


def fast(services: Services, **overrides: object) -> Settings:
    """The services' settings with a short probe timeout and small write batches."""
    values = {"TIMEOUT": 1.0, "WRITE_BATCH_SIZE": 3, **overrides}
    return services.settings.model_copy(update=values)


async def cycle(services: Services, **overrides: object) -> CycleReport:
    settings = fast(services, **overrides)
    async with open_probe_sessions(settings) as sessions:
        return await run_cycle(
            services.storage, services.cache, sessions, settings, clock=services.clock
        )


async def test_every_active_monitor_is_probed_once_and_every_result_stored(
    services: Services, base_url: str
) -> None:
    refused = f"http://127.0.0.1:{closed_port()}/"
    rows = [(f"ok{i}", f"{base_url}/ok?i={i}") for i in range(6)]
    rows += [("error", f"{base_url}/status/500"), ("missing", f"{base_url}/status/404")]
    rows += [("refused", refused), ("moved", f"{base_url}/redirect")]
    await services.storage.import_monitors(rows, services.clock())

    report = await cycle(services)

    assert (report.probed, report.stored, report.success, report.fail) == (10, 10, 7, 3)
    for monitor in (await services.storage.list_monitors(100, 0))[0]:
        checks = await services.storage.recent_checks(monitor.id, 10)
        assert len(checks) == 1, monitor.name  # exactly one check per URL per cycle
        check = checks[0]
        if monitor.name == "error":
            assert (check.status, check.http_status, check.cause) == (
                Status.FAIL,
                500,
                Cause.HTTP_STATUS,
            )
        elif monitor.name == "refused":
            assert (check.status, check.cause) == (Status.FAIL, Cause.CONNECT)
        elif monitor.name != "missing":
            assert (check.status, check.http_status) == (Status.SUCCESS, 200)


async def test_checks_are_written_in_batches_with_none_lost(
    services: Services, base_url: str
) -> None:
    rows = [(f"m{i}", f"{base_url}/ok?i={i}") for i in range(23)]
    await services.storage.import_monitors(rows, services.clock())
    report = await cycle(services, WRITE_BATCH_SIZE=5, CONCURRENCY=4)
    assert report.stored == 23
    counts = await services.storage.summary(services.clock() - 60)
    assert counts.success == 23


async def test_every_url_of_a_long_list_is_stored_exactly_once(services: Services) -> None:
    async with counting_server(delay=0.0) as (base, traffic):
        rows = [(f"m{i}", f"{base}/page/{i}") for i in range(300)]
        await services.storage.import_monitors(rows, services.clock())
        report = await cycle(services, WRITE_BATCH_SIZE=7, CONCURRENCY=40, PER_HOST_LIMIT=0)
    assert (report.probed, report.stored, traffic.requests) == (300, 300, 300)
    monitors, _ = await services.storage.list_monitors(1000, 0)
    per_monitor = [len(await services.storage.recent_checks(m.id, 5)) for m in monitors]
    assert per_monitor == [1] * 300  # 300 rows, one per URL: none lost, none written twice


async def test_checks_are_stored_while_probing_goes_on(services: Services, base_url: str) -> None:
    rows = [(f"fast{i}", f"{base_url}/ok?i={i}") for i in range(6)] + [("hung", f"{base_url}/hang")]
    await services.storage.import_monitors(rows, services.clock())
    running = asyncio.create_task(cycle(services, TIMEOUT=3.0, WRITE_BATCH_SIZE=3))
    for _ in range(100):  # up to 2 s, well inside the hung probe's 3 s
        stored = await services.storage.summary(services.clock() - 60)
        if stored.success == 6:
            break
        await asyncio.sleep(0.02)
    assert stored.success == 6
    assert not running.done()
    report = await running
    assert (report.stored, report.fail) == (7, 1)


async def test_a_host_gets_at_most_its_limit_of_probes_at_once_and_waiting_is_no_timeout(
    services: Services,
) -> None:
    async with counting_server(delay=0.3) as (base, traffic):
        rows = [(f"m{i}", f"{base}/health/{i}") for i in range(12)]
        await services.storage.import_monitors(rows, services.clock())
        # 12 probes of 0.3 s, 2 at a time: the last starts about 1.5 s in, past TIMEOUT (1 s).
        report = await cycle(services, PER_HOST_LIMIT=2, CONCURRENCY=12, TIMEOUT=1.0)
    assert (report.success, report.fail) == (12, 0)
    assert list(traffic.most_in_flight.values()) == [2]


async def test_urls_of_one_host_share_its_connections_within_a_cycle(services: Services) -> None:
    async with counting_server(delay=0.0) as (base, traffic):
        rows = [(f"m{i}", f"{base}/health/{i}") for i in range(8)]
        await services.storage.import_monitors(rows, services.clock())
        report = await cycle(services, PER_HOST_LIMIT=1, CONCURRENCY=4)
    assert report.success == 8
    assert len(traffic.client_ports) == 1  # one connection, reused for the host's next URL


async def test_queued_url_is_taken_in_and_probed_from_the_next_cycle(
    services: Services, base_url: str
) -> None:
    monitor = await services.storage.add_monitor("new", f"{base_url}/ok", services.clock())
    await services.cache.push(monitor.id)
    assert await services.storage.targets() == []  # pending until a cycle takes it in

    first = await cycle(services)
    assert (first.activated, first.probed) == (1, 1)
    assert await services.cache.depth() == 0
    second = await cycle(services)
    assert (second.activated, second.probed) == (0, 1)
    assert len(await services.storage.recent_checks(monitor.id, 10)) == 2


async def test_url_whose_queue_entry_was_lost_is_still_probed(
    services: Services, base_url: str
) -> None:
    # Accepted by the API, but the queue lost it (a Redis restart): the database still has it.
    monitor = await services.storage.add_monitor("lost", f"{base_url}/ok", services.clock())
    report = await cycle(services)
    assert (report.activated, report.probed) == (1, 1)
    assert (await services.storage.get_monitor(monitor.id)).state.name == "ACTIVE"


async def test_ids_claimed_by_a_compute_killed_mid_drain_are_taken_in_next_cycle(
    services: Services, base_url: str
) -> None:
    monitor = await services.storage.add_monitor("a", f"{base_url}/ok", services.clock())
    await services.cache.push(monitor.id)
    assert await services.cache.claim(100) == [monitor.id]  # ...and then kill -9: no ack
    report = await cycle(services)
    assert (report.activated, report.probed) == (1, 1)
    assert await services.cache.depth() == 0


async def test_same_id_queued_twice_is_taken_in_once(services: Services, base_url: str) -> None:
    monitor = await services.storage.add_monitor("a", f"{base_url}/ok", services.clock())
    await services.cache.push(monitor.id)
    await services.cache.push(monitor.id)
    report = await cycle(services)
    assert (report.activated, report.probed, report.stored) == (1, 1, 1)
    assert await services.cache.depth() == 0


async def test_deleted_monitor_is_not_probed(services: Services, base_url: str) -> None:
    await services.storage.import_monitors([("a", f"{base_url}/ok")], services.clock())
    [target] = await services.storage.targets()
    await services.storage.delete_monitor(target.monitor_id)
    report = await cycle(services)
    assert report.probed == 0


async def test_cycle_with_nothing_to_probe_stores_nothing(services: Services) -> None:
    report = await cycle(services)
    assert (report.probed, report.stored) == (0, 0)


async def test_a_second_cycle_is_skipped_while_one_runs(services: Services, base_url: str) -> None:
    await services.storage.import_monitors([("slow", f"{base_url}/hang")], services.clock())
    compute = Compute(
        services.storage, services.cache, fast(services, TIMEOUT=1.0), clock=services.clock
    )
    await asyncio.gather(compute.scheduled_cycle(), compute.scheduled_cycle())
    [target] = await services.storage.targets()
    checks = await services.storage.recent_checks(target.monitor_id, 10)
    assert [c.cause for c in checks] == [Cause.TIMEOUT]  # one cycle ran, the other was skipped
    assert compute.outcomes[CycleOutcome.SKIPPED] == 1
    totals = await services.storage.cycle_totals()
    assert totals.by_outcome[CycleOutcome.SKIPPED] == 1
