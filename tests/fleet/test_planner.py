"""The planner and a worker in one process, on each deployment (embedded with the in-process
queue, MariaDB with Redis Streams), against a local HTTP server: every due monitor is probed
once per slot, planning twice publishes nothing twice, a lost queue is re-planned, and a slot is
maintained once, done or failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import cast

import pytest

from service_monitor.compute.prober import open_probe_sessions
from service_monitor.due import SLOT_MS, SlotState, slot_of
from service_monitor.errors import QueueUnavailable
from service_monitor.fleet.local import LocalShardQueue
from service_monitor.fleet.planner import Planner
from service_monitor.fleet.queue import ShardQueue
from service_monitor.fleet.shards import Delivery, Shard
from service_monitor.fleet.worker import FleetWorker
from service_monitor.models import Cause, CycleOutcome
from service_monitor.services import Services
from service_monitor.storage.sql import SQLStorage
from tests.conftest import FakeClock
from tests.targets import target_server


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with target_server() as url:
        yield url


def _planner(services: Services, queue: ShardQueue, **overrides: object) -> Planner:
    settings = services.settings.model_copy(update={"SHARD_SIZE": 10, **overrides})
    return Planner(services.storage, queue, services.cache, settings, clock=services.clock)


async def _work_slot(
    services: Services, queue: ShardQueue, slot: int, **overrides: object
) -> FleetWorker:
    settings = services.settings.model_copy(
        update={"SHARD_SIZE": 10, "TIMEOUT": 2.0, "CONCURRENCY": 20, **overrides}
    )
    worker = FleetWorker(
        services.storage, queue, settings, clock=services.clock, wait_for_due=False
    )
    done = asyncio.Event()

    async def watch() -> None:
        for _ in range(600):  # 30 s at most, in steps of 50 ms
            if await queue.outstanding(slot) in (0, None):
                break
            await asyncio.sleep(0.05)
        done.set()

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(worker.run(until=done.is_set), 30)
    await watcher
    return worker


async def _monitors(services: Services, base_url: str, count: int) -> list[int]:
    rows = [(f"m{i}", f"{base_url}/ok?i={i}") for i in range(count)]
    await services.storage.import_monitors(rows, services.clock())
    return [m.id for m in (await services.storage.list_monitors(1000, 0))[0]]


async def test_every_due_monitor_is_probed_once_per_slot(
    services: Services, services_queue: ShardQueue, base_url: str, clock: FakeClock
) -> None:
    ids = await _monitors(services, base_url, 35)
    planner = _planner(services, services_queue)

    planned = await planner.tick()
    assert planned is not None
    assert (planned.monitors, planned.shards) == (35, 4)  # new monitors: all due at once
    await _work_slot(services, services_queue, planned.slot_ms)
    for monitor_id in ids:
        [check] = await services.storage.recent_checks(monitor_id, 10)
        assert check.region == "local"
        assert check.due_at_ms is not None

    again = await planner.tick()  # the same slot: nothing planned twice
    assert again is not None
    assert (again.monitors, again.shards) == (0, 0)
    assert again.finished == ((planned.slot_ms, SlotState.DONE),)

    # Ten minutes later (the default interval), each monitor was due once more, in one of the
    # ten slots: planned every minute, each is probed exactly once again.
    for _ in range(10):
        clock.advance(SLOT_MS / 1000)
        ticked = await planner.tick()
        assert ticked is not None
        await _work_slot(services, services_queue, ticked.slot_ms)
    for monitor_id in ids:
        checks = await services.storage.recent_checks(monitor_id, 10)
        assert len(checks) == 2, monitor_id
        dues = sorted(c.due_at_ms for c in checks if c.due_at_ms is not None)
        assert dues[1] - dues[0] == services.settings.CYCLE_INTERVAL * 1000


async def test_a_monitors_interval_and_regions_decide_its_shards(
    services: Services, services_queue: ShardQueue, base_url: str, clock: FakeClock
) -> None:
    [fast, everywhere] = await _monitors(services, base_url, 2)
    await services.storage.set_schedule(fast, interval=60, regions=["eu"])
    # No worker runs here: a deadline past the test's nine minutes keeps every slot open (a failed
    # slot would make its unprobed monitors due again).
    planner = _planner(services, services_queue, REGIONS=["local", "eu"], SHARD_DEADLINE=3600.0)
    planned = await planner.tick()
    assert planned is not None
    assert planned.monitors == 2
    assert planned.shards == 2  # eu: both; local: the one with every region
    seen = []
    for _ in range(9):  # within the ten-minute monitor's interval
        clock.advance(SLOT_MS / 1000)
        ticked = await planner.tick()
        assert ticked is not None
        seen.append([m.id for m in await services.storage.planned_in(ticked.slot_ms)])
    assert all(fast in ids for ids in seen)  # the one-minute monitor, every slot
    assert sum(everywhere in ids for ids in seen) <= 1  # the other at most once more


async def test_a_slot_the_queue_lost_is_published_again_and_completes(
    services: Services, base_url: str, clock: FakeClock
) -> None:
    ids = await _monitors(services, base_url, 12)
    lost = LocalShardQueue()
    planned = await _planner(services, lost).tick()
    assert planned is not None
    restarted = LocalShardQueue()  # the queue restarted empty: the slot's shards are gone
    replanned = await _planner(services, restarted).tick(plan=False)
    assert replanned is not None
    assert replanned.replanned == (planned.slot_ms,)
    await _work_slot(services, restarted, planned.slot_ms)
    finished = await _planner(services, restarted).tick(plan=False)
    assert finished is not None
    assert finished.finished == ((planned.slot_ms, SlotState.DONE),)
    for monitor_id in ids:
        assert len(await services.storage.recent_checks(monitor_id, 10)) == 1


async def test_a_slot_past_its_deadline_is_failed_and_maintained(
    services: Services, services_queue: ShardQueue, base_url: str, clock: FakeClock
) -> None:
    await _monitors(services, base_url, 3)
    planner = _planner(services, services_queue, SHARD_DEADLINE=5.0)
    planned = await planner.tick()
    assert planned is not None
    clock.advance(SLOT_MS / 1000 + 10.0)  # no worker ran: past the end plus 2 x 5 s
    ticked = await planner.tick(plan=False)
    assert ticked is not None
    assert ticked.finished == ((planned.slot_ms, SlotState.FAILED),)
    slot = await services.storage.get_plan_slot(planned.slot_ms)
    assert slot is not None
    assert slot.state is SlotState.FAILED
    [record] = await services.storage.recent_cycles(1)
    assert (record.outcome, record.probed) == (CycleOutcome.FAILED, 3)
    # The monitors no worker probed are due at once: the next slot plans them again.
    assert len(await services.storage.due_monitors(ticked.slot_ms + SLOT_MS)) == 3


async def test_only_the_monitors_a_failed_slot_did_not_check_are_planned_again(
    services: Services, services_queue: ShardQueue, base_url: str, clock: FakeClock
) -> None:
    ids = await _monitors(services, base_url, 20)
    planner = _planner(services, services_queue, SHARD_DEADLINE=5.0)
    planned = await planner.tick()
    assert planned is not None
    # One shard of two is worked, then every worker is gone past the deadline.
    [first] = await services_queue.take("local", "w1", 1, 0.5)
    worked = await _work_one(services, services_queue, first)
    clock.advance(SLOT_MS / 1000 + 10.0)
    ticked = await planner.tick(plan=False)
    assert ticked is not None
    assert ticked.finished == ((planned.slot_ms, SlotState.FAILED),)
    # Due at once (no due time): those no worker probed; the others keep their next due time.
    store = cast(SQLStorage, services.storage)
    due_again = {
        int(r[0]) for r in await store.fetch("SELECT id FROM monitors WHERE next_due_at IS NULL")
    }
    assert due_again == set(ids) - worked


async def _work_one(services: Services, queue: ShardQueue, delivery: Delivery) -> set[int]:
    """Probe and store one shard as a worker does, and acknowledge it; its monitors' ids."""
    settings = services.settings.model_copy(update={"TIMEOUT": 2.0})
    worker = FleetWorker(services.storage, queue, settings, wait_for_due=False)
    async with open_probe_sessions(settings) as sessions:
        await worker._work(sessions, delivery)
    return {monitor_id for monitor_id, _ in delivery.shard.items}


async def test_a_shard_delivered_too_often_goes_to_the_dead_letters(
    services: Services, services_queue: ShardQueue, base_url: str
) -> None:
    await _monitors(services, base_url, 3)
    planned = await _planner(services, services_queue).tick()
    assert planned is not None
    # Three workers took it and died (never acknowledged): each takeover counts a delivery.
    await services_queue.take("local", "died-1", 1, 0.5)
    for n in range(2, 4):
        await asyncio.sleep(0.02)
        await services_queue.take_over("local", f"died-{n}", 0.01, 1)
    await asyncio.sleep(0.02)
    worker = await _work_slot(
        services, services_queue, planned.slot_ms, MAX_DELIVERIES=3, SHARD_DEADLINE=0.005
    )
    assert worker.counts.dead_lettered == 1
    assert await services_queue.dead_letters() == 1
    assert await services_queue.outstanding(planned.slot_ms) == 0


def test_a_slot_is_the_minute_a_time_falls_in() -> None:
    assert slot_of(1_800_000_059_999) == 1_800_000_000_000 - 1_800_000_000_000 % SLOT_MS + 0


class _DiesPublishing(LocalShardQueue):
    """A queue whose first publication never happens: the planner died after recording its plan."""

    async def publish(self, shards: Sequence[Shard]) -> int:
        raise QueueUnavailable("the planner was killed before it published")


async def test_the_next_planner_carries_on_a_plan_its_predecessor_did_not_publish(
    services: Services, base_url: str, clock: FakeClock
) -> None:
    ids = await _monitors(services, base_url, 25)
    with pytest.raises(QueueUnavailable):
        await _planner(services, _DiesPublishing()).tick()
    queue = LocalShardQueue()
    clock.advance(SLOT_MS / 1000)  # the next planner, a minute later
    carried = await _planner(services, queue).tick()
    assert carried is not None
    [slot] = carried.replanned
    await _work_slot(services, queue, slot)
    await _work_slot(services, queue, carried.slot_ms)  # those due in the new minute
    due_in = {m.id for m in await services.storage.planned_in(carried.slot_ms)}
    assert len(due_in) == carried.monitors
    for monitor_id in ids:
        checks = await services.storage.recent_checks(monitor_id, 10)
        # Once for the slot carried on, and once more only when due again in the new one.
        assert len(checks) == (2 if monitor_id in due_in else 1), monitor_id
        assert len({c.due_at_ms for c in checks}) == len(checks)


async def _outstanding_reaches(queue: ShardQueue, slot: int, count: int) -> None:
    for _ in range(500):  # 10 s at most, in steps of 20 ms
        if await queue.outstanding(slot) == count:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"slot {slot}: {await queue.outstanding(slot)} shards outstanding, not {count}")


async def test_a_hung_target_does_not_hold_its_lane(services: Services, base_url: str) -> None:
    """A lane takes its next shard once every probe of the one in hand has started: the shards
    after one with a hung target are done while it still waits for its timeout."""
    rows = [(f"m{i}", f"{base_url}/ok?i={i}") for i in range(20)]
    await services.storage.import_monitors([("hung", f"{base_url}/hang"), *rows], services.clock())
    monitors = (await services.storage.list_monitors(1000, 0))[0]
    hung = next(m.id for m in monitors if m.url.endswith("/hang"))
    ok = sorted(m.id for m in monitors if m.id != hung)
    slot = slot_of(round(services.clock() * 1000))
    queue = LocalShardQueue()

    def shard(ids: Sequence[int]) -> Shard:
        return Shard(slot, "local", tuple((i, slot) for i in ids), slot + 10 * SLOT_MS)

    await queue.publish([shard([hung, *ok[:9]]), shard(ok[9:19]), shard(ok[19:])])
    settings = services.settings.model_copy(
        update={"SHARD_SIZE": 10, "TIMEOUT": 3.0, "CONCURRENCY": 20}
    )
    worker = FleetWorker(
        services.storage, queue, settings, clock=services.clock, wait_for_due=False, lanes=1
    )
    done = asyncio.Event()
    running = asyncio.create_task(worker.run(until=done.is_set))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _outstanding_reaches(queue, slot, 1)  # only the hung target's shard left
    others_done = loop.time() - started
    await _outstanding_reaches(queue, slot, 0)
    done.set()
    await asyncio.wait_for(running, 10)
    assert others_done < 2.5  # before the hung probe's 3 s timeout ends its shard
    assert worker.counts.checks == 21
    [check] = await services.storage.recent_checks(hung, 10)
    assert check.cause is Cause.TIMEOUT
