"""The shard queue's contract, run on Redis Streams and on the in-process queue: each shard is
published once, taken by one worker, taken over after its worker went idle, counted per slot
until acknowledged, and dead-lettered when given up."""

from __future__ import annotations

import asyncio

from service_monitor.fleet.queue import Depth, ShardQueue
from service_monitor.fleet.shards import Shard, make_shards

SLOT = 1_800_000_000_000 - 1_800_000_000_000 % 60_000
DEADLINE = SLOT + 180_000


def _shards(count: int, region: str = "local", slot: int = SLOT) -> list[Shard]:
    due = [(n, slot + n, (region,)) for n in range(1, count * 10 + 1)]
    return make_shards(due, slot_ms=slot, deadline_ms=DEADLINE, size=10)


async def test_a_shard_published_twice_is_queued_once(shard_queue: ShardQueue) -> None:
    shards = _shards(3)
    assert await shard_queue.publish(shards) == 3
    assert await shard_queue.publish(shards) == 0  # a second planner of the same slot
    assert await shard_queue.outstanding(SLOT) == 3
    assert await shard_queue.depth("local") == Depth(length=3, lag=3, pending=0)


async def test_each_shard_goes_to_one_worker(shard_queue: ShardQueue) -> None:
    shards = _shards(5)
    await shard_queue.publish(shards)
    first = await shard_queue.take("local", "w1", 3, 0.1)
    second = await shard_queue.take("local", "w2", 3, 0.1)
    assert [d.shard for d in first + second] == shards
    assert all(d.deliveries == 1 for d in first + second)
    assert await shard_queue.take("local", "w3", 3, 0.1) == []
    assert await shard_queue.depth("local") == Depth(length=5, lag=0, pending=5)


async def test_a_worker_reads_only_its_regions_shards(shard_queue: ShardQueue) -> None:
    await shard_queue.publish(_shards(1, "eu") + _shards(1, "us"))
    [taken] = await shard_queue.take("eu", "w1", 10, 0.1)
    assert taken.shard.region == "eu"
    assert await shard_queue.take("eu", "w1", 10, 0.1) == []


async def test_acknowledging_counts_the_slot_down_once(shard_queue: ShardQueue) -> None:
    await shard_queue.publish(_shards(2))
    taken = await shard_queue.take("local", "w1", 2, 0.1)
    assert await shard_queue.ack(taken[0])
    assert not await shard_queue.ack(taken[0])  # a second ack (a takeover's) changes nothing
    assert await shard_queue.outstanding(SLOT) == 1
    assert await shard_queue.ack(taken[1])
    assert await shard_queue.outstanding(SLOT) == 0
    assert await shard_queue.depth("local") == Depth(length=0, lag=0, pending=0)
    await shard_queue.forget_slot(SLOT)
    assert await shard_queue.outstanding(SLOT) is None


async def test_an_idle_shard_is_taken_over_with_its_delivery_counted(
    shard_queue: ShardQueue,
) -> None:
    await shard_queue.publish(_shards(1))
    [first] = await shard_queue.take("local", "dead-worker", 1, 0.1)
    assert await shard_queue.take_over("local", "w2", 60, 10) == []  # not idle long enough
    await asyncio.sleep(0.05)
    [again] = await shard_queue.take_over("local", "w2", 0.02, 10)
    assert (again.shard, again.entry_id, again.deliveries) == (first.shard, first.entry_id, 2)
    assert await shard_queue.ack(again)
    assert not await shard_queue.ack(first)  # the dead worker's late ack is a no-op
    assert await shard_queue.outstanding(SLOT) == 0


async def test_a_renewed_shard_is_not_taken_over(shard_queue: ShardQueue) -> None:
    await shard_queue.publish(_shards(1))
    [held] = await shard_queue.take("local", "w1", 1, 0.1)
    for _ in range(3):
        await asyncio.sleep(0.03)
        await shard_queue.renew("local", "w1", [held.entry_id])
        assert await shard_queue.take_over("local", "w2", 0.05, 10) == []


async def test_a_dead_lettered_shard_leaves_the_slot_and_is_counted(
    shard_queue: ShardQueue,
) -> None:
    await shard_queue.publish(_shards(2))
    taken = await shard_queue.take("local", "w1", 2, 0.1)
    await shard_queue.dead_letter(taken[0], "delivered 6 times")
    assert await shard_queue.dead_letters() == 1
    assert await shard_queue.outstanding(SLOT) == 1
    assert not await shard_queue.ack(taken[0])


async def test_a_take_waits_for_a_shard_published_meanwhile(shard_queue: ShardQueue) -> None:
    waiting = asyncio.create_task(shard_queue.take("local", "w1", 1, 5.0))
    await asyncio.sleep(0.1)
    [shard] = _shards(1)
    await shard_queue.publish([shard])
    [taken] = await asyncio.wait_for(waiting, 5.0)
    assert taken.shard == shard


async def test_slots_are_counted_apart(shard_queue: ShardQueue) -> None:
    later = SLOT + 60_000
    await shard_queue.publish(_shards(2) + _shards(1, slot=later))
    assert (await shard_queue.outstanding(SLOT), await shard_queue.outstanding(later)) == (2, 1)
    assert await shard_queue.outstanding(SLOT - 60_000) is None


def test_a_shards_identity_is_its_slot_region_and_monitors() -> None:
    [one] = _shards(1)
    same = Shard(one.slot_ms, one.region, tuple(reversed(one.items)), one.deadline_ms + 1)
    assert same.id == one.id
    assert Shard(one.slot_ms + 60_000, one.region, one.items, one.deadline_ms).id != one.id
    assert Shard(one.slot_ms, "eu", one.items, one.deadline_ms).id != one.id
    assert Shard.decode(one.encode()) == one


def test_shards_hold_monitors_due_close_together_per_region() -> None:
    due = [(n, SLOT + (n * 7919) % 60_000, ("eu", "us")) for n in range(1, 26)]
    shards = make_shards(due, slot_ms=SLOT, deadline_ms=DEADLINE, size=10)
    assert [(s.region, len(s.items)) for s in shards] == [
        ("eu", 10),
        ("eu", 10),
        ("eu", 5),
        ("us", 10),
        ("us", 10),
        ("us", 5),
    ]
    for shard in shards:
        dues = [d for _, d in shard.items]
        assert dues == sorted(dues)
    assert sorted(m for s in shards if s.region == "eu" for m, _ in s.items) == list(range(1, 26))
