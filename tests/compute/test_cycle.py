"""A compute cycle on each deployment (embedded, MariaDB + Redis) against a local HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service_monitor.api.deps import Services
from service_monitor.compute.cycle import CycleReport, run_cycle
from service_monitor.compute.prober import open_probe_session
from service_monitor.compute.runner import Compute
from service_monitor.config import Settings
from service_monitor.models import Cause, Status
from tests.targets import closed_port, target_server


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
    async with open_probe_session(settings) as session:
        return await run_cycle(
            services.storage, services.cache, session, settings, clock=services.clock
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
