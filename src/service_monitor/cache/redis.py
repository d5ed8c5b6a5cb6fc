"""The production cache and queue on Redis, through redis.asyncio, every call bounded in time."""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..config import Settings
from ..errors import CacheUnavailable
from . import CacheEntry

T = TypeVar("T")

# Moves up to ARGV[1] ids, oldest first, from the queue (LPUSHed) to the end of the in-flight list
# in one round trip and returns the whole in-flight list in claim order, so ids left there by a
# compute that died are handed out again. LMOVE needs Redis 6.2 or newer.
_CLAIM = """
for i = 1, tonumber(ARGV[1]) do
  if not redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'RIGHT') then break end
end
return redis.call('LRANGE', KEYS[2], 0, -1)
"""

# Deletes the lock only while it still holds the caller's token, in one step: a holder whose lock
# expired and was taken by another process must not release the new owner's lock.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisCache:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._redis = client
        self._prefix = settings.CACHE_KEY_PREFIX
        self._queue = f"{self._prefix}queue:new"
        self._inflight = f"{self._prefix}queue:inflight"
        self._timeout = settings.CACHE_OP_TIMEOUT
        # Entries live a little past the freshness rule so `Age` can still be read near the edge;
        # the stats layer decides what is fresh.
        self._ttl = max(settings.CACHE_MAX_AGE * 2, 1)
        self._where = f"{settings.CACHE_ADDRESS}:{settings.CACHE_PORT}"
        self._claim = self._redis.register_script(_CLAIM)
        self._unlock = self._redis.register_script(_UNLOCK)

    @classmethod
    async def open(cls, settings: Settings) -> RedisCache:
        client = aioredis.Redis(
            host=settings.CACHE_ADDRESS or "localhost",
            port=settings.CACHE_PORT,
            socket_timeout=settings.CACHE_OP_TIMEOUT,
            socket_connect_timeout=settings.CACHE_OP_TIMEOUT,
            decode_responses=True,
        )
        cache = cls(client, settings)
        try:
            await cache.ping()
        except CacheUnavailable:
            await client.aclose()
            raise
        return cache

    async def _call(self, what: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await what
        except (RedisError, OSError, TimeoutError) as exc:
            raise CacheUnavailable(f"cache {self._where} failed: {exc!r}") from exc

    def _key(self, key: str) -> str:
        return f"{self._prefix}stats:{key}"

    async def get(self, key: str) -> CacheEntry | None:
        raw = await self._call(self._redis.get(self._key(key)))
        if raw is None:
            return None
        entry = json.loads(raw)
        return CacheEntry(value=entry["v"], stored_at=float(entry["t"]))

    async def set(self, key: str, value: str, stored_at: float) -> None:
        payload = json.dumps({"v": value, "t": stored_at})
        await self._call(self._redis.set(self._key(key), payload, ex=self._ttl))

    async def delete(self, key: str) -> None:
        await self._call(self._redis.delete(self._key(key)))

    async def try_lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        # PX counts whole milliseconds and refuses 0: round up, so the lock never lasts less.
        ttl_ms = max(1, math.ceil(ttl * 1000))
        taken = await self._call(
            self._redis.set(f"{self._prefix}lock:{key}", token, nx=True, px=ttl_ms)
        )
        return token if taken else None

    async def unlock(self, key: str, token: str) -> None:
        await self._call(self._unlock(keys=[f"{self._prefix}lock:{key}"], args=[token]))

    async def push(self, monitor_id: int) -> None:
        await self._call(self._redis.lpush(self._queue, str(monitor_id)))

    async def claim(self, limit: int) -> list[int]:
        ids: Any = await self._call(self._claim(keys=[self._queue, self._inflight], args=[limit]))
        return [int(i) for i in ids]

    async def ack(self, monitor_ids: Sequence[int]) -> None:
        if not monitor_ids:
            return
        pipe = self._redis.pipeline(transaction=False)
        for monitor_id in monitor_ids:
            pipe.lrem(self._inflight, 0, str(monitor_id))
        await self._call(pipe.execute())

    async def depth(self) -> int:
        pipe = self._redis.pipeline(transaction=False)
        pipe.llen(self._queue)
        pipe.llen(self._inflight)
        queued, inflight = await self._call(pipe.execute())
        return int(queued) + int(inflight)

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
