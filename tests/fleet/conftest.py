"""The shard queue fixture: every queue contract test runs on Redis Streams and in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service_monitor.fleet.local import LocalShardQueue
from service_monitor.fleet.queue import ShardQueue
from service_monitor.fleet.redis_streams import RedisShardQueue
from service_monitor.services import Services
from tests.conftest import FakeClock, production_settings, redis_cleanup


@pytest.fixture(params=["local", "redis"])
async def shard_queue(request: pytest.FixtureRequest) -> AsyncIterator[ShardQueue]:
    if request.param == "redis":
        request.getfixturevalue("require_redis")
        settings = production_settings()
        opened: ShardQueue = await RedisShardQueue.open(settings)
        yield opened
        await opened.close()
        await redis_cleanup(settings.CACHE_KEY_PREFIX)
    else:
        yield LocalShardQueue()


__all__ = ["FakeClock", "services_queue", "shard_queue"]


@pytest.fixture
async def services_queue(services: Services) -> AsyncIterator[ShardQueue]:
    """The shard queue each deployment uses: Redis Streams beside Redis, else in process."""
    if services.settings.uses_redis:
        opened: ShardQueue = await RedisShardQueue.open(services.settings)
        yield opened
        await opened.close()
    else:
        yield LocalShardQueue()
