"""What only the Redis Streams queue has: each shard's publication marker lives until its slot's
deadline and ten minutes more, not a day, so a million monitors do not leave 60 MB of markers."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from service_monitor.fleet.redis_streams import MARKER_MARGIN_S, RedisShardQueue
from service_monitor.fleet.shards import Shard
from tests.conftest import REDIS_HOST, REDIS_PORT, production_settings, redis_cleanup


async def test_a_markers_life_ends_ten_minutes_after_its_slots_deadline(
    require_redis: None,
) -> None:
    settings = production_settings()
    queue = await RedisShardQueue.open(settings)
    client = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        now_ms = round(time.time() * 1000)
        shard = Shard(now_ms - now_ms % 60_000, "local", ((1, now_ms),), now_ms + 180_000)
        assert await queue.publish([shard]) == 1
        ttl = await client.ttl(f"{settings.CACHE_KEY_PREFIX}{{fleet}}:shard:{shard.id}")
        assert 180 + MARKER_MARGIN_S - 5 <= ttl <= 180 + MARKER_MARGIN_S
    finally:
        await client.aclose()
        await queue.close()
        await redis_cleanup(settings.CACHE_KEY_PREFIX)
