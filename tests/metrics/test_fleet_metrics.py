"""The fleet's gauges at /metrics on each deployment: the planner's slots by state from the store,
and beside Redis each region's shard stream (length, lag, pending) and the dead letters."""

from __future__ import annotations

import httpx

from service_monitor.due import SLOT_MS, PlanSlot, SlotState
from service_monitor.fleet.redis_streams import RedisShardQueue
from service_monitor.fleet.shards import make_shards
from service_monitor.services import Services
from tests.metrics.scrape import scrape

SLOT = 1_800_000_000_000 - 1_800_000_000_000 % SLOT_MS


async def test_slots_and_shard_streams_show_in_the_gauges(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.storage.record_plan(
        PlanSlot(SLOT, 3, 30, SLOT, SLOT + 180_000, SlotState.PLANNED), {}
    )
    queue = None
    if services.settings.uses_redis:
        queue = await RedisShardQueue.open(services.settings)
        services.shard_queue = queue
        due = [(n, SLOT + n, ("local",)) for n in range(1, 31)]
        await queue.publish(make_shards(due, slot_ms=SLOT, deadline_ms=SLOT + 1, size=10))
        [taken] = await queue.take("local", "w1", 1, 0.1)
        await queue.dead_letter(taken, "for the test")
        await queue.take("local", "w1", 1, 0.1)
    try:
        scraped = await scrape(client)
    finally:
        if queue is not None:
            await queue.close()
    assert scraped.value("service_monitor_plan_slots", state="planned") == 1
    assert scraped.value("service_monitor_plan_slots", state="done") == 0
    if queue is None:  # the embedded default: no stream to read
        assert scraped.value("service_monitor_shard_stream_lag", region="local") is None
        return
    assert scraped.value("service_monitor_shard_stream_length", region="local") == 2
    assert scraped.value("service_monitor_shard_stream_lag", region="local") == 1
    assert scraped.value("service_monitor_shard_pending", region="local") == 1
    assert scraped.value("service_monitor_shard_dead_letters") == 1
