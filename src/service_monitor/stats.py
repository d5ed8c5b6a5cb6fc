"""Top lists and the summary: the cache first, the database on a miss, and the rules for both in one place."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .cache import Cache, CacheEntry
from .errors import CacheUnavailable
from .models import Span, Status
from .storage import StatsStore

log = logging.getLogger(__name__)

TOP_LIMIT = 10
SUMMARY_SPAN = Span.MONTH

# Seconds the lock shared by the API replicas holds one statistic: longer than a slow query, so the
# holder normally writes the cache before it expires, and short enough that a holder that crashed
# without releasing it delays the other replicas' requests for that statistic by little.
LOCK_TTL_S = 10.0

# Seconds between two WARNING lines about the cache failing; the lines in between go to DEBUG.
CACHE_WARNING_EVERY_S = 60

# Seconds between two reads of the cache while another replica computes a statistic: a read costs
# about a millisecond, and the wait outlasts the holder's write by at most this much.
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True, slots=True)
class Served:
    body: str  # JSON text of the response body
    cached: bool  # True when it came from the cache
    age: int  # whole seconds since it was computed


def top_key(status: Status, span: Span) -> str:
    return f"top:{status.value}:{span.value}"


SUMMARY_KEY = "summary"


def lock_name(key: str) -> str:
    """The name of the lock the replicas share while one of them computes statistic `key`."""
    return f"stats:{key}"


def _retrieve(task: asyncio.Task[Served]) -> None:
    """Mark a shared query's error as seen: every request that waited for it has it already."""
    if not task.cancelled():
        task.exception()


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Stats:
    """Serves statistics under the seed's rule: a cached result younger than `max_age` seconds is
    served as it is; otherwise the database is asked and the cache updated. `use_cache=False`
    skips and overwrites the entry. A cache that fails is logged and bypassed, never fatal.

    Concurrent misses for one key in this process share one database query (single flight). Across
    processes sharing the cache (API replicas), the process that takes the statistic's lock in the
    cache runs the query; the others read the cache until its answer lands there, or compute it
    themselves after `lock_ttl` seconds. A cold cache under load so costs the database about one
    query per statistic, not one per request or per replica.

    With `local_ttl` > 0, an entry read from (or written to) the shared cache is reused from this
    process's memory for that many seconds: under load nearly every hit then costs no round trip,
    and an entry another process writes (the compute's refresh, a replica's miss) is seen here
    within `local_ttl` seconds. The freshness rule is the same for both copies.
    """

    def __init__(
        self,
        storage: StatsStore,
        cache: Cache,
        *,
        max_age: float,
        clock: Callable[[], float],
        lock_ttl: float = LOCK_TTL_S,
        local_ttl: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._max_age = max_age
        self._clock = clock
        self._lock_ttl = lock_ttl
        # key -> (the entry last read from or written to the shared cache, when, monotonic s):
        # reused for `local_ttl` seconds without a round trip to the shared cache.
        self._near: dict[str, tuple[CacheEntry, float]] = {}
        self._local_ttl = local_ttl
        self._monotonic = monotonic
        # key -> the answer being worked out for it by this process's first request that missed
        self._in_flight: dict[str, asyncio.Future[Served]] = {}
        # cache=false: key -> the query running for it, and the one that runs next (see _newest)
        self._newest_running: dict[str, asyncio.Task[Served]] = {}
        self._newest_next: dict[str, asyncio.Task[Served]] = {}
        self._cache_warned_at = -math.inf  # monotonic s of the last cache WARNING

    def _cache_failed(self, message: str, *args: object) -> None:
        """Log a cache failure: a WARNING at most every CACHE_WARNING_EVERY_S seconds, the rest at
        DEBUG. While Redis is down every request meets it up to three times; the outage itself is
        logged by the cache (cache/redis.py), and requests are answered from the database."""
        now = self._monotonic()
        if now - self._cache_warned_at >= CACHE_WARNING_EVERY_S:
            self._cache_warned_at = now
            log.warning(
                message + " (more such lines at DEBUG for %d s)", *args, CACHE_WARNING_EVERY_S
            )
        else:
            log.debug(message, *args)

    async def refresh(self) -> None:
        """Recompute every statistic and overwrite its cache entry: the compute calls this after
        each cycle, so API requests find fresh entries instead of missing."""
        for status in Status:
            for span in Span:
                await self.top(status, span, use_cache=False)
        await self.summary(use_cache=False)

    async def top(self, status: Status, span: Span, *, use_cache: bool = True) -> Served:
        async def compute(now: float) -> str:
            entries = await self._storage.top(status, now - span.seconds, TOP_LIMIT)
            return _json([{"name": e.name, "url": e.url, "count": e.count} for e in entries])

        return await self._serve(top_key(status, span), compute, use_cache)

    async def summary(self, *, use_cache: bool = True) -> Served:
        async def compute(now: float) -> str:
            counts = await self._storage.summary(now - SUMMARY_SPAN.seconds)
            return _json(
                [
                    {"status": Status.SUCCESS.value, "count": counts.success},
                    {"status": Status.FAIL.value, "count": counts.fail},
                ]
            )

        return await self._serve(SUMMARY_KEY, compute, use_cache)

    def _fresh(self, entry: CacheEntry, now: float) -> bool:
        return 0 <= now - entry.stored_at < self._max_age

    async def _serve(
        self, key: str, compute: Callable[[float], Awaitable[str]], use_cache: bool
    ) -> Served:
        if not use_cache:
            return await self._newest(key, compute)
        now = self._clock()
        near = self._near.get(key)
        if near is not None and self._monotonic() - near[1] < self._local_ttl:
            entry: CacheEntry | None = near[0]
        else:
            try:
                entry = await self._cache.get(key)
            except CacheUnavailable as exc:
                self._cache_failed("cache read of %s skipped: %s", key, exc)
                entry = None
            if entry is not None:
                self._near[key] = (entry, self._monotonic())
        if entry is not None and self._fresh(entry, now):
            return Served(entry.value, cached=True, age=int(now - entry.stored_at))
        while (running := self._in_flight.get(key)) is not None:
            # The same miss is being answered in this process: share its answer.
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this request was cancelled, not the one it waited for
                # The request answering it went away (its client hung up): the first of those
                # waiting answers in its place, and the others wait for that one.
        answer: asyncio.Future[Served] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = answer
        try:
            return await self._answer_miss(key, entry, compute, now, answer)
        except asyncio.CancelledError:
            answer.cancel()  # those waiting answer by themselves (no-op once they have the answer)
            raise
        except Exception as exc:
            if not answer.done():
                answer.set_exception(exc)  # those waiting get the same error (a 503, say)
                answer.exception()  # marked as seen: there may be nobody waiting
            raise
        finally:
            if self._in_flight.get(key) is answer:
                del self._in_flight[key]

    async def _newest(self, key: str, compute: Callable[[float], Awaitable[str]]) -> Served:
        """cache=false: an answer from a query that started after this request arrived, never
        from the cache, another replica or a query already running.

        Requests for one statistic arriving while its query runs share the next query, which
        starts as soon as the running one ends. So each statistic has at most one query running
        and one waiting per process however many such requests come in: under load (wrk, 10% of
        requests with cache=false at 10,000 URLs) one query each would take the database's whole
        CPU, and the writes waiting behind them time out. The query runs in a task of its own, so
        a request that goes away (its client hung up) takes nobody's answer with it.
        """
        waiting = self._newest_next.get(key)
        if waiting is None:
            after = self._newest_running.get(key)
            waiting = asyncio.get_running_loop().create_task(
                self._newest_query(key, compute, after)
            )
            waiting.add_done_callback(_retrieve)  # nobody may be left to read its error
            self._newest_next[key] = waiting
        return await asyncio.shield(waiting)

    async def _newest_query(
        self,
        key: str,
        compute: Callable[[float], Awaitable[str]],
        after: asyncio.Task[Served] | None,
    ) -> Served:
        if after is not None:
            # That query's answer belongs to the requests that came before ours; wait it out.
            await asyncio.wait([after])
        me = asyncio.current_task()
        assert me is not None
        del self._newest_next[key]  # from now on, newcomers wait for the query after this one
        self._newest_running[key] = me
        try:
            return await self._compute_and_store(key, compute, self._clock(), None)
        finally:
            if self._newest_running.get(key) is me:
                del self._newest_running[key]

    async def _answer_miss(
        self,
        key: str,
        seen: CacheEntry | None,
        compute: Callable[[float], Awaitable[str]],
        now: float,
        answer: asyncio.Future[Served],
    ) -> Served:
        """This process's answer to a miss: computed here under the lock shared by the replicas,
        or read from the cache once the replica holding that lock has written it."""
        lock = lock_name(key)
        try:
            token = await self._cache.try_lock(lock, self._lock_ttl)
        except CacheUnavailable as exc:
            self._cache_failed("cache lock of %s skipped: %s", key, exc)
            return await self._compute_and_store(key, compute, now, answer)
        if token is not None:
            try:
                # Another replica may have written the entry and let the lock go between our
                # read and our lock: one more read (a millisecond) saves a query.
                try:
                    landed = await self._newer_fresh_entry(key, seen)
                except CacheUnavailable:
                    landed = None  # computed here, as without the read
                if landed is not None:
                    answer.set_result(landed)
                    return landed
                return await self._compute_and_store(key, compute, now, answer)
            finally:
                try:
                    await self._cache.unlock(lock, token)
                except CacheUnavailable as exc:
                    self._cache_failed(
                        "cache unlock of %s failed, it expires within %s s: %s",
                        key,
                        self._lock_ttl,
                        exc,
                    )
        try:
            served = await self._wait_for_other_replica(key, seen)
        except CacheUnavailable as exc:
            self._cache_failed("waiting for another replica's %s stopped: %s", key, exc)
            served = None
        if served is not None:
            answer.set_result(served)
            return served
        # Time has passed while waiting: the windows and the entry's time start from now.
        return await self._compute_and_store(key, compute, self._clock(), answer)

    async def _wait_for_other_replica(self, key: str, seen: CacheEntry | None) -> Served | None:
        """Read the cache until an entry newer than `seen` (the stale one, or none) and fresh
        appears; None when `lock_ttl` seconds pass first, the longest the holder may take."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_ttl  # the loop's monotonic clock: real waiting time
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(POLL_INTERVAL_S, left))
            landed = await self._newer_fresh_entry(key, seen)
            if landed is not None:
                return landed
        log.warning(
            "another replica held %s for %s s without writing it: querying here",
            key,
            self._lock_ttl,
        )
        return None

    async def _newer_fresh_entry(self, key: str, seen: CacheEntry | None) -> Served | None:
        """The cached entry, if it is fresh and newer than `seen` (the stale one, or none).

        Raises CacheUnavailable."""
        entry = await self._cache.get(key)
        now = self._clock()
        if entry is None or (seen is not None and entry.stored_at <= seen.stored_at):
            return None  # still nothing, or still the entry that missed
        if not self._fresh(entry, now):
            return None
        return Served(entry.value, cached=True, age=int(now - entry.stored_at))

    async def _compute_and_store(
        self,
        key: str,
        compute: Callable[[float], Awaitable[str]],
        now: float,
        answer: asyncio.Future[Served] | None,
    ) -> Served:
        """Run the query, hand its answer to those waiting in this process, then write the cache."""
        body = await compute(now)
        served = Served(body, cached=False, age=0)
        if answer is not None:
            answer.set_result(served)  # they need not wait for the write
        try:
            await self._cache.set(key, body, now)
        except CacheUnavailable as exc:
            self._cache_failed("cache write of %s skipped: %s", key, exc)
        else:
            self._near[key] = (CacheEntry(body, now), self._monotonic())
        return served
