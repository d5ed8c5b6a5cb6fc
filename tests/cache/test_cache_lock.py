"""The lock contract of the cache, run against every backend: the replicas' guard on a cold cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from service_monitor.cache import CacheBackend
from service_monitor.cache.local import LocalCache
from service_monitor.cache.redis import RedisCache
from service_monitor.config import load_settings
from service_monitor.errors import CacheUnavailable
from tests.conftest import REDIS_HOST, REDIS_PORT, production_settings, redis_cleanup
from tests.targets import closed_port

# Seconds a lock lasts in the expiry tests: long enough to be held across a few calls, short
# enough to wait out; SHORT_TTL_PAST is a wait safely past it.
SHORT_TTL = 0.2
SHORT_TTL_PAST = 0.35


async def test_a_free_lock_is_taken_and_refused_to_the_next_caller(cache: CacheBackend) -> None:
    token = await cache.try_lock("stats:summary", 5)
    assert token
    assert await cache.try_lock("stats:summary", 5) is None


async def test_a_held_lock_is_refused_at_once(cache: CacheBackend) -> None:
    assert await cache.try_lock("stats:summary", 30)
    started = time.monotonic()
    assert await cache.try_lock("stats:summary", 30) is None
    assert time.monotonic() - started < 0.5  # seconds: refused, not waited for


async def test_an_unlocked_lock_can_be_taken_again(cache: CacheBackend) -> None:
    token = await cache.try_lock("stats:summary", 5)
    assert token
    await cache.unlock("stats:summary", token)
    again = await cache.try_lock("stats:summary", 5)
    assert again
    assert again != token  # each taking has its own token


async def test_locks_with_different_names_are_separate(cache: CacheBackend) -> None:
    assert await cache.try_lock("stats:top:fail:hour", 5)
    assert await cache.try_lock("stats:top:fail:week", 5)


async def test_a_lock_past_its_ttl_is_taken_by_the_next_caller(cache: CacheBackend) -> None:
    assert await cache.try_lock("stats:summary", SHORT_TTL)
    await asyncio.sleep(SHORT_TTL_PAST)  # the holder died without unlocking
    assert await cache.try_lock("stats:summary", 5)


async def test_unlocking_with_a_stale_token_leaves_the_new_owner_s_lock(
    cache: CacheBackend,
) -> None:
    stale = await cache.try_lock("stats:summary", SHORT_TTL)
    assert stale
    await asyncio.sleep(SHORT_TTL_PAST)
    owner = await cache.try_lock("stats:summary", 5)
    assert owner
    await cache.unlock("stats:summary", stale)  # the first holder, late, releases "its" lock
    await cache.unlock("stats:summary", "never-issued")
    assert await cache.try_lock("stats:summary", 5) is None  # still the new owner's
    await cache.unlock("stats:summary", owner)
    assert await cache.try_lock("stats:summary", 5)


async def test_unlocking_a_lock_nobody_holds_is_fine(cache: CacheBackend) -> None:
    await cache.unlock("stats:summary", "never-issued")
    assert await cache.try_lock("stats:summary", 5)


@pytest.fixture(params=["local", "redis"])
async def two_connections(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[CacheBackend, CacheBackend]]:
    """Two connections to one backend, standing for two processes (API replicas, or API and
    compute): two LocalCache objects on one file, or two Redis clients under one key prefix."""
    if request.param == "redis":
        request.getfixturevalue("require_redis")
        settings = production_settings()
        first: CacheBackend = await RedisCache.open(settings)
        second: CacheBackend = await RedisCache.open(settings)
    else:
        path = tmp_path / "shared.sqlite3"
        first, second = await LocalCache.open(path), await LocalCache.open(path)
    yield first, second
    await first.close()
    await second.close()
    if request.param == "redis":
        await redis_cleanup(settings.CACHE_KEY_PREFIX)


async def test_a_lock_taken_through_one_connection_is_refused_through_another(
    two_connections: tuple[CacheBackend, CacheBackend],
) -> None:
    first, second = two_connections
    token = await first.try_lock("stats:summary", 5)
    assert token
    assert await second.try_lock("stats:summary", 5) is None
    await second.unlock("stats:summary", token)  # the token owns the lock, not the connection
    assert await second.try_lock("stats:summary", 5)
    assert await first.try_lock("stats:summary", 5) is None


async def test_redis_locks_live_under_the_key_prefix_and_expire(require_redis: None) -> None:
    settings = production_settings()
    cache = await RedisCache.open(settings)
    client = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT, decode_responses=True)
    try:
        token = await cache.try_lock("stats:summary", 5)
        key = f"{settings.CACHE_KEY_PREFIX}lock:stats:summary"
        assert await client.get(key) == token
        assert 0 < await client.pttl(key) <= 5000  # ms: Redis expires it if nobody unlocks
    finally:
        await cache.close()
        await client.aclose()
        await redis_cleanup(settings.CACHE_KEY_PREFIX)


async def test_lock_calls_on_a_cache_that_is_down_raise_cache_unavailable() -> None:
    settings = load_settings(
        CACHE_ADDRESS="127.0.0.1", CACHE_PORT=closed_port(), CACHE_OP_TIMEOUT=0.5
    )
    client = aioredis.Redis(
        host="127.0.0.1", port=settings.CACHE_PORT, socket_connect_timeout=0.5, socket_timeout=0.5
    )
    cache = RedisCache(client, settings)
    try:
        with pytest.raises(CacheUnavailable):
            await cache.try_lock("stats:summary", 5)
        with pytest.raises(CacheUnavailable):
            await cache.unlock("stats:summary", "token")
    finally:
        await cache.close()
