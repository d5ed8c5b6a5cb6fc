"""What only the Redis backend does: connect the way ElastiCache asks (an AUTH token)."""

from __future__ import annotations

import pytest

from service_monitor.cache import CacheEntry
from service_monitor.cache.redis import RedisCache
from service_monitor.config import load_settings
from service_monitor.errors import CacheUnavailable
from tests.faults import PrivateRedis
from tests.targets import closed_port


async def test_redis_with_an_auth_token_is_reached_with_cache_password() -> None:
    """ElastiCache's AUTH token: CACHE_PASSWORD is sent; without it the cache is unavailable."""
    server = PrivateRedis(closed_port(), "--requirepass", "t0ken-for-test")
    await server.start()
    try:
        base = {"CACHE_ADDRESS": "127.0.0.1", "CACHE_PORT": server.port, "CACHE_OP_TIMEOUT": 1}
        cache = await RedisCache.open(load_settings(**base, CACHE_PASSWORD="t0ken-for-test"))
        try:
            await cache.set("k", "v", 1.0)
            assert (await cache.get("k")) == CacheEntry("v", 1.0)
        finally:
            await cache.close()
        with pytest.raises(CacheUnavailable) as refused:
            await RedisCache.open(load_settings(**base))
        assert "t0ken" not in str(refused.value)
    finally:
        await server.stop()
