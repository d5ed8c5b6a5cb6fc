"""The production cache and queue on Redis, through redis.asyncio: every call bounded in time, and
a Redis that failed is skipped for a while, so an outage costs one timeout, not one per request."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..config import Settings
from ..errors import CacheUnavailable
from . import CacheEntry

log = logging.getLogger(__name__)

T = TypeVar("T")

# What says "Redis is not there or not answering", as opposed to an answer we did not expect (a
# ResponseError: Redis is up, so it is no reason to skip it).
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)

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


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%SZ")


class Breaker:
    """Remembers that Redis failed, so it is skipped for `retry_after` seconds instead of costing
    every request a timeout; then one call (the trial) tries it again while the others still skip.

    A circuit breaker of three states: closed (Redis answers; every call goes through), open (it
    failed less than `retry_after` seconds ago; calls fail at once) and trial (one call is finding
    out whether it is back). Times: `clock` is monotonic seconds, `wall` seconds since the epoch.
    """

    def __init__(
        self,
        where: str,
        retry_after: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._where = where
        self._retry_after = retry_after
        self._clock = clock
        self._wall = wall
        self.down_since: float | None = None  # wall clock of the first failure of this outage
        self._reason = ""
        self._retry_at = 0.0  # monotonic: when the next trial may run
        self._trial = False  # a trial call is in flight
        # Outages are logged once Redis has answered: before that, whoever opens the cache
        # reports it (start-up says it is waiting), and a second line would only repeat it.
        self.answered_once = False

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    def admit(self) -> bool:
        """Whether a call may go to Redis now; True for a trial. Raises CacheUnavailable when
        Redis is being skipped."""
        if self.down_since is None:
            return False
        now = self._clock()
        if now >= self._retry_at and not self._trial:
            self._trial = True
            return True
        raise CacheUnavailable(self.skipped_message(now))

    def skipped_message(self, now: float | None = None) -> str:
        assert self.down_since is not None
        now = self._clock() if now is None else now
        if self._trial:
            retry = "being retried now"
        else:
            left = max(0.0, self._retry_at - now)
            retry = f"retried at {_utc(self._wall() + left)} (in {left:.1f} s)"
        return (
            f"cache {self._where} down since {_utc(self.down_since)} ({self._reason});"
            f" skipped for CACHE_RETRY_AFTER={self._retry_after:g} s, {retry}"
        )

    def failed(self, exc: BaseException, trial: bool) -> None:
        first = self.down_since is None
        if first:
            self.down_since = self._wall()
        self._reason = _describe(exc)
        self._retry_at = self._clock() + self._retry_after
        if trial:
            self._trial = False
        if first and self.answered_once:
            log.warning(
                "cache %s failed (%s): skipping it for %g s (CACHE_RETRY_AFTER)",
                self._where,
                self._reason,
                self._retry_after,
            )
        else:
            log.debug("cache %s still down (%s)", self._where, self._reason)

    def answered(self, trial: bool) -> None:
        self.answered_once = True
        if trial:
            self._trial = False
        if self.down_since is not None:
            log.info(
                "cache %s answers again after %.0f s down",
                self._where,
                self._wall() - self.down_since,
            )
            self.down_since = None

    def abandoned(self, trial: bool) -> None:
        """The call was cancelled before it knew: the next call may try again."""
        if trial:
            self._trial = False


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RedisCache:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self._redis = client
        self._prefix = settings.CACHE_KEY_PREFIX
        self._queue = f"{self._prefix}queue:new"
        self._inflight = f"{self._prefix}queue:inflight"
        self._counters = f"{self._prefix}counters"
        self._timeout = settings.CACHE_OP_TIMEOUT
        # Entries live a little past the freshness rule so `Age` can still be read near the edge;
        # the stats layer decides what is fresh.
        self._ttl = max(settings.CACHE_MAX_AGE * 2, 1)
        self._where = f"{settings.CACHE_ADDRESS}:{settings.CACHE_PORT}"
        self._claim = self._redis.register_script(_CLAIM)
        self._unlock = self._redis.register_script(_UNLOCK)
        self.breaker = Breaker(self._where, settings.CACHE_RETRY_AFTER)
        # The deadlines of the calls in flight: when one call finds Redis down, the others waiting
        # on the same dead server give up with it instead of each waiting out its own timeout.
        self._deadlines: set[asyncio.Timeout] = set()

    @classmethod
    async def open(cls, settings: Settings) -> RedisCache:
        client = aioredis.Redis(
            host=settings.CACHE_ADDRESS or "localhost",
            port=settings.CACHE_PORT,
            socket_timeout=settings.CACHE_OP_TIMEOUT,
            socket_connect_timeout=settings.CACHE_OP_TIMEOUT,
            decode_responses=True,
            # ElastiCache with in-transit encryption speaks TLS only; its certificate is checked
            # against the system's CAs. The AUTH token, when set, comes from a secret.
            ssl=settings.CACHE_TLS,
            password=(
                settings.CACHE_PASSWORD.get_secret_value() if settings.CACHE_PASSWORD else None
            ),
            # One immediate retry on a fresh connection: after a Redis restart the pooled
            # connection is dead, and the retry reconnects. No backoff: the call's whole time is
            # bounded by CACHE_OP_TIMEOUT anyway.
            retry=Retry(NoBackoff(), 1),
        )
        cache = cls(client, settings)
        try:
            await cache.ping()
        except CacheUnavailable:
            await client.aclose()
            raise
        return cache

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis operation within CACHE_OP_TIMEOUT, or fail at once (CacheUnavailable)
        while the breaker says Redis is down; the operation is only made when it will be run."""
        trial = self.breaker.admit()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout) as deadline:
                self._deadlines.add(deadline)
                try:
                    result = await operation()
                finally:
                    self._deadlines.discard(deadline)
        except _DOWN as exc:
            if self.breaker.is_open and not trial:
                # Failed with another call that found Redis down first: say so, not "timeout".
                raise CacheUnavailable(self.breaker.skipped_message()) from exc
            self.breaker.failed(exc, trial)
            for other in self._deadlines:
                if not other.expired():  # they wait on the same dead server: stop them now
                    other.reschedule(loop.time())
            raise CacheUnavailable(f"cache {self._where} failed: {_describe(exc)}") from exc
        except RedisError as exc:  # Redis answered, with an error: not a reason to skip it
            self.breaker.answered(trial)
            raise CacheUnavailable(f"cache {self._where} failed: {_describe(exc)}") from exc
        except BaseException:
            self.breaker.abandoned(trial)
            raise
        self.breaker.answered(trial)
        return result

    def _key(self, key: str) -> str:
        return f"{self._prefix}stats:{key}"

    async def get(self, key: str) -> CacheEntry | None:
        raw = await self._call(lambda: self._redis.get(self._key(key)))
        if raw is None:
            return None
        entry = json.loads(raw)
        return CacheEntry(value=entry["v"], stored_at=float(entry["t"]))

    async def set(self, key: str, value: str, stored_at: float) -> None:
        payload = json.dumps({"v": value, "t": stored_at})
        await self._call(lambda: self._redis.set(self._key(key), payload, ex=self._ttl))

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._redis.delete(self._key(key)))

    async def try_lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        # PX counts whole milliseconds and refuses 0: round up, so the lock never lasts less.
        ttl_ms = max(1, math.ceil(ttl * 1000))
        taken = await self._call(
            lambda: self._redis.set(f"{self._prefix}lock:{key}", token, nx=True, px=ttl_ms)
        )
        return token if taken else None

    async def unlock(self, key: str, token: str) -> None:
        await self._call(lambda: self._unlock(keys=[f"{self._prefix}lock:{key}"], args=[token]))

    async def push(self, monitor_id: int) -> None:
        await self._call(lambda: self._redis.lpush(self._queue, str(monitor_id)))

    async def claim(self, limit: int) -> list[int]:
        ids: Any = await self._call(
            lambda: self._claim(keys=[self._queue, self._inflight], args=[limit])
        )
        return [int(i) for i in ids]

    async def ack(self, monitor_ids: Sequence[int]) -> None:
        if not monitor_ids:
            return
        pipe = self._redis.pipeline(transaction=False)
        for monitor_id in monitor_ids:
            pipe.lrem(self._inflight, 0, str(monitor_id))
        await self._call(pipe.execute)

    async def depth(self) -> int:
        pipe = self._redis.pipeline(transaction=False)
        pipe.llen(self._queue)
        pipe.llen(self._inflight)
        queued, inflight = await self._call(pipe.execute)
        return int(queued) + int(inflight)

    async def add_counters(self, increments: Mapping[str, float]) -> None:
        if not increments:
            return
        # MULTI/EXEC: the increments of one call are applied together, and HINCRBYFLOAT adds on the
        # server, so several processes adding at once lose nothing. The hash has no TTL.
        pipe = self._redis.pipeline(transaction=True)
        for name, value in increments.items():
            pipe.hincrbyfloat(self._counters, name, value)
        await self._call(pipe.execute)

    async def read_counters(self) -> dict[str, float]:
        values: Any = await self._call(lambda: self._redis.hgetall(self._counters))
        return {str(name): float(value) for name, value in values.items()}

    async def ping(self) -> None:
        await self._call(self._redis.ping)

    async def close(self) -> None:
        await self._redis.aclose()
