"""The fleet's storage contract, run against every backend: intervals and regions, the monitors
due in a planner slot, their next due times, the planner's slots, and checks keyed by
(monitor, due time, region) so a redelivered shard stores nothing twice."""

from __future__ import annotations

import pytest

from service_monitor.due import (
    SLOT_MS,
    DueMonitor,
    PlanSlot,
    SlotState,
    due_in_slot,
    next_due,
)
from service_monitor.errors import MonitorNotFound
from service_monitor.models import Check, Counts, Status
from service_monitor.storage import Storage

NOW = 1_800_000_000.0
SLOT = 1_800_000_000_000 - 1_800_000_000_000 % SLOT_MS
END = SLOT + SLOT_MS
TEN_MINUTES_MS = 600_000


async def _active(storage: Storage, count: int) -> list[int]:
    ids = [
        (await storage.add_monitor(f"m{n}", f"http://m{n}.example", NOW)).id for n in range(count)
    ]
    await storage.activate()
    return ids


def _slot() -> PlanSlot:
    return PlanSlot(SLOT, 1, 1, SLOT, END + 120_000, SlotState.PLANNED)


def _check(monitor_id: int, due: int | None, region: str = "local", ok: bool = True) -> Check:
    return Check(
        monitor_id=monitor_id,
        checked_at=NOW,
        status=Status.SUCCESS if ok else Status.FAIL,
        http_status=200 if ok else 503,
        latency_ms=5,
        detail=None if ok else "status 503",
        region=region,
        due_at_ms=due,
    )


async def test_a_new_monitor_is_due_at_once_with_the_default_schedule(storage: Storage) -> None:
    [first] = await _active(storage, 1)
    assert await storage.due_monitors(END) == [DueMonitor(first, None, None)]
    monitor = await storage.get_monitor(first)
    assert (monitor.interval, monitor.regions) == (None, None)


async def test_a_pending_or_deleted_monitor_is_never_due(storage: Storage) -> None:
    [gone] = await _active(storage, 1)
    await storage.delete_monitor(gone)
    await storage.add_monitor("waiting", "http://waiting.example", NOW)  # pending
    assert await storage.due_monitors(END) == []


async def test_a_planned_monitor_is_next_due_on_its_own_phase(storage: Storage) -> None:
    ids = await _active(storage, 3)
    await storage.record_plan(_slot(), {TEN_MINUTES_MS: ids})
    assert await storage.planned_in(SLOT) == [DueMonitor(i, None, None) for i in ids]
    for monitor_id in ids:
        due = next_due(monitor_id, TEN_MINUTES_MS, END)
        assert END <= due < END + TEN_MINUTES_MS
        # Due again in the slot that holds its due time, and not in the one before.
        due_slot_end = due - due % SLOT_MS + SLOT_MS
        assert monitor_id not in [m.id for m in await storage.due_monitors(due_slot_end - SLOT_MS)]
        assert monitor_id in [m.id for m in await storage.due_monitors(due_slot_end)]
        assert due_in_slot(monitor_id, TEN_MINUTES_MS, due_slot_end) == due


async def test_a_schedule_is_kept_and_makes_the_monitor_due_at_once(storage: Storage) -> None:
    [first] = await _active(storage, 1)
    await storage.record_plan(_slot(), {TEN_MINUTES_MS: [first]})
    await storage.set_schedule(first, interval=60, regions=["eu", "us"])
    monitor = await storage.get_monitor(first)
    assert (monitor.interval, monitor.regions) == (60, ("eu", "us"))
    assert await storage.due_monitors(END) == [DueMonitor(first, 60, ("eu", "us"))]
    await storage.set_schedule(first, interval=None, regions=None)
    monitor = await storage.get_monitor(first)
    assert (monitor.interval, monitor.regions) == (None, None)


@pytest.mark.parametrize("interval", [59, 86_401, 0])
async def test_an_interval_outside_a_minute_to_a_day_is_refused(
    storage: Storage, interval: int
) -> None:
    [first] = await _active(storage, 1)
    with pytest.raises(ValueError, match=f"interval {interval} s"):
        await storage.set_schedule(first, interval=interval, regions=None)


async def test_the_schedule_of_an_unknown_monitor_is_not_found(storage: Storage) -> None:
    with pytest.raises(MonitorNotFound):
        await storage.set_schedule(999, interval=60, regions=None)


async def test_a_shard_stored_twice_stores_each_check_once(storage: Storage) -> None:
    ids = await _active(storage, 3)
    shard = [_check(i, SLOT + i) for i in ids]
    await storage.add_checks(shard)
    await storage.add_checks(shard)  # redelivered after a takeover
    await storage.add_checks([*shard[:1], _check(ids[0], SLOT + ids[0])])  # and repeated within
    for monitor_id in ids:
        assert len(await storage.recent_checks(monitor_id, 10)) == 1
    counts = await storage.monitor_counts(ids[0], [NOW - 60])
    assert counts == [Counts(1, 0)]


async def test_checks_of_one_due_time_from_two_regions_are_both_kept(storage: Storage) -> None:
    [first] = await _active(storage, 1)
    await storage.add_checks([_check(first, SLOT, "eu"), _check(first, SLOT, "us", ok=False)])
    stored = await storage.recent_checks(first, 10)
    assert sorted((c.region, c.status) for c in stored) == [
        ("eu", Status.SUCCESS),
        ("us", Status.FAIL),
    ]


async def test_checks_of_the_whole_list_cycle_are_never_taken_for_repeats(
    storage: Storage,
) -> None:
    [first] = await _active(storage, 1)
    await storage.add_checks([_check(first, None)])
    await storage.add_checks([_check(first, None)])
    assert len(await storage.recent_checks(first, 10)) == 2


async def test_a_batch_mixing_new_and_stored_checks_stores_the_new_ones(
    storage: Storage,
) -> None:
    ids = await _active(storage, 2)
    await storage.add_checks([_check(ids[0], SLOT)])
    await storage.add_checks([_check(ids[0], SLOT), _check(ids[1], SLOT), _check(ids[0], END)])
    assert len(await storage.recent_checks(ids[0], 10)) == 2
    assert len(await storage.recent_checks(ids[1], 10)) == 1


async def test_a_slot_is_recorded_once_and_finished_once(storage: Storage) -> None:
    planned = PlanSlot(SLOT, 4, 1000, SLOT + 1, END + 120_000, SlotState.PLANNED)
    [first] = await _active(storage, 1)
    assert await storage.record_plan(planned, {TEN_MINUTES_MS: [first]})
    due = next_due(first, TEN_MINUTES_MS, END)
    # A second planner of the same slot changes nothing, not even a due time.
    assert not await storage.record_plan(planned, {60_000: [first]})
    assert [m.id for m in await storage.due_monitors(due)] == []
    assert [m.id for m in await storage.due_monitors(due + 1)] == [first]
    assert await storage.open_plan_slots() == [planned]
    await storage.finish_plan_slot(SLOT, SlotState.DONE, END)
    await storage.finish_plan_slot(SLOT, SlotState.FAILED, END + 1)  # already finished: kept
    assert await storage.get_plan_slot(SLOT) == PlanSlot(
        SLOT, 4, 1000, SLOT + 1, END + 120_000, SlotState.DONE, END
    )
    assert await storage.open_plan_slots() == []
    counts = await storage.plan_slot_counts()
    assert counts == {SlotState.PLANNED: 0, SlotState.DONE: 1, SlotState.FAILED: 0}
