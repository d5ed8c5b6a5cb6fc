"""Statistics served from the cache or the store: concurrent misses share one query, within one
process (single flight) and across the API replicas sharing a cache (a lock in the cache)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from service_monitor.cache import CacheBackend, open_cache
from service_monitor.cache.redis import RedisCache
from service_monitor.config import load_settings
from service_monitor.errors import StorageUnavailable
from service_monitor.models import Cause, Check, Span, Status, TopEntry
from service_monitor.services import Services
from service_monitor.stats import Served, Stats, lock_name, top_key
from service_monitor.storage import StatsStore, Storage
from tests.conftest import FakeClock
from tests.targets import closed_port

# Seconds the store's answer is held back, so that every concurrent request has read the cache
# (a round trip of a millisecond or so) and found the miss before the first answer lands.
HOLD_S = 0.3


class SlowTopCounter:
    """The real store, with `top` counted and its answer held back by HOLD_S seconds (or failed)."""

    def __init__(self, storage: StatsStore, *, fail: bool = False) -> None:
        self._storage = storage
        self.fail = fail
        self.top_calls = 0

    async def top(self, status: Status, since: float, limit: int) -> list[TopEntry]:
        self.top_calls += 1
        await asyncio.sleep(HOLD_S)
        if self.fail:
            raise StorageUnavailable("database unavailable: test says so")
        return await self._storage.top(status, since, limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def stats_over(
    services: Services, storage: SlowTopCounter, *, cache: CacheBackend | None = None, **kw: Any
) -> Stats:
    """One replica's Stats over the store, on the services' cache or on another connection to it."""
    return Stats(storage, cache or services.cache, max_age=600, clock=services.clock, **kw)


@pytest.fixture
async def other_replica_cache(services: Services) -> AsyncIterator[CacheBackend]:
    """A second connection to the services' cache, as another API replica has: another
    LocalCache on the same file, or another Redis client under the same key prefix."""
    cache = await open_cache(services.settings)
    yield cache
    await cache.close()


async def _fail_once(services: Services, url: str) -> str:
    """A monitor with one failed check a second ago; returns the top fail list's JSON body."""
    now = services.clock()
    monitor = await services.storage.add_monitor(url, url, now)
    await services.storage.add_checks(
        [Check(monitor.id, now - 1, Status.FAIL, 500, 9, Cause.HTTP_STATUS)]
    )
    return f'[{{"name":"{url}","url":"{url}","count":1}}]'


async def test_concurrent_misses_for_one_statistic_query_the_store_once(
    services: Services,
) -> None:
    await services.storage.import_monitors([("a", "http://a.test/")], services.clock())
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    served = await asyncio.gather(*(stats.top(Status.FAIL, Span.HOUR) for _ in range(20)))
    assert store.top_calls == 1
    assert {s.body for s in served} == {"[]"}
    assert (await stats.top(Status.FAIL, Span.HOUR)).cached  # and the answer was cached


async def test_misses_for_different_statistics_each_run_their_query(services: Services) -> None:
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    await asyncio.gather(stats.top(Status.FAIL, Span.HOUR), stats.top(Status.FAIL, Span.WEEK))
    assert store.top_calls == 2


async def test_cache_false_runs_its_own_query_even_while_a_miss_is_answered(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    await asyncio.gather(
        stats.top(Status.SUCCESS, Span.HOUR),
        stats.top(Status.SUCCESS, Span.HOUR, use_cache=False),
    )
    assert store.top_calls == 2


async def test_an_error_of_the_shared_query_reaches_every_request_that_waited_for_it(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage, fail=True)
    stats = stats_over(services, store)
    results = await asyncio.gather(
        *(stats.top(Status.FAIL, Span.MONTH) for _ in range(5)), return_exceptions=True
    )
    assert store.top_calls == 1
    assert all(isinstance(r, StorageUnavailable) for r in results)
    store.fail = False
    assert (await stats.top(Status.FAIL, Span.MONTH)).body == "[]"  # nothing stuck in flight


async def test_a_waiting_request_answers_by_itself_when_the_one_it_waited_for_is_cancelled(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    first = asyncio.create_task(stats.top(Status.FAIL, Span.WEEK))
    await asyncio.sleep(HOLD_S / 3)  # the first one is now waiting for the store
    second = asyncio.create_task(stats.top(Status.FAIL, Span.WEEK))
    await asyncio.sleep(HOLD_S / 3)
    first.cancel()  # its client hung up
    served = await second
    assert served.body == "[]"
    assert store.top_calls == 2


async def test_the_requests_that_waited_for_a_cancelled_one_share_one_query_again(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    first = asyncio.create_task(stats.top(Status.FAIL, Span.WEEK))
    await asyncio.sleep(HOLD_S / 3)
    waiting = [asyncio.create_task(stats.top(Status.FAIL, Span.WEEK)) for _ in range(3)]
    await asyncio.sleep(HOLD_S / 3)
    first.cancel()
    served = await asyncio.gather(*waiting)
    assert {s.body for s in served} == {"[]"}
    assert store.top_calls == 2


async def test_two_replicas_missing_at_once_query_the_database_once(
    services: Services, other_replica_cache: CacheBackend
) -> None:
    body = await _fail_once(services, "http://a.test/")
    store = SlowTopCounter(services.storage)
    one = stats_over(services, store)
    two = stats_over(services, store, cache=other_replica_cache)
    served = await asyncio.gather(
        *(replica.top(Status.FAIL, Span.HOUR) for replica in (one, two) for _ in range(5))
    )
    assert store.top_calls == 1
    assert {s.body for s in served} == {body}
    by_replica = {frozenset(s.cached for s in served[:5]), frozenset(s.cached for s in served[5:])}
    # The replica that took the lock computed; the other answered from the cache it wrote.
    assert by_replica == {frozenset({False}), frozenset({True})}
    assert {s.age for s in served} == {0}


async def test_a_replica_waits_for_an_entry_newer_than_the_stale_one_it_missed(
    services: Services, other_replica_cache: CacheBackend, clock: FakeClock
) -> None:
    key = top_key(Status.FAIL, Span.HOUR)
    await services.cache.set(key, '"stale"', clock() - 700)  # past max_age (600 s)
    body = await _fail_once(services, "http://a.test/")
    store = SlowTopCounter(services.storage)
    one = stats_over(services, store)
    two = stats_over(services, store, cache=other_replica_cache)
    served = await asyncio.gather(one.top(Status.FAIL, Span.HOUR), two.top(Status.FAIL, Span.HOUR))
    assert store.top_calls == 1
    assert [s.body for s in served] == [body, body]
    assert sorted(s.cached for s in served) == [False, True]


async def test_a_lock_holder_that_died_delays_the_other_replica_at_most_the_ttl(
    services: Services,
) -> None:
    ttl = 0.5  # seconds
    key = top_key(Status.FAIL, Span.HOUR)
    # Another replica took the lock and crashed before writing the cache or unlocking.
    assert await services.cache.try_lock(lock_name(key), ttl)
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store, lock_ttl=ttl)
    loop = asyncio.get_running_loop()
    started = loop.time()
    served = await asyncio.gather(*(stats.top(Status.FAIL, Span.HOUR) for _ in range(3)))
    waited = loop.time() - started
    assert [s.cached for s in served] == [False] * 3  # it then computed by itself...
    assert store.top_calls == 1  # ...once for the whole process
    assert ttl + HOLD_S <= waited < ttl + HOLD_S + 1.0
    assert (await stats.top(Status.FAIL, Span.HOUR)).cached  # and wrote the cache


async def test_cache_false_does_not_wait_for_a_lock_held_by_another_replica(
    services: Services,
) -> None:
    key = top_key(Status.FAIL, Span.HOUR)
    assert await services.cache.try_lock(lock_name(key), 30)
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    loop = asyncio.get_running_loop()
    started = loop.time()
    served = await stats.top(Status.FAIL, Span.HOUR, use_cache=False)
    assert not served.cached
    assert loop.time() - started < HOLD_S + 1.0  # seconds: its own query, not the lock's 30


async def test_a_replica_whose_query_fails_releases_the_lock(services: Services) -> None:
    store = SlowTopCounter(services.storage, fail=True)
    stats = stats_over(services, store)
    with pytest.raises(StorageUnavailable):
        await stats.top(Status.FAIL, Span.MONTH)
    assert await services.cache.try_lock(lock_name(top_key(Status.FAIL, Span.MONTH)), 5)


async def test_a_replica_whose_request_is_cancelled_releases_the_lock(services: Services) -> None:
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    request = asyncio.create_task(stats.top(Status.FAIL, Span.MONTH))
    await asyncio.sleep(HOLD_S / 3)  # it holds the lock and waits for the store
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert await services.cache.try_lock(lock_name(top_key(Status.FAIL, Span.MONTH)), 5)


async def test_with_the_cache_down_requests_still_share_one_query_per_process(
    storage: Storage, clock: FakeClock
) -> None:
    settings = load_settings(
        CACHE_ADDRESS="127.0.0.1", CACHE_PORT=closed_port(), CACHE_OP_TIMEOUT=0.5
    )
    client = aioredis.Redis(
        host="127.0.0.1", port=settings.CACHE_PORT, socket_connect_timeout=0.5, socket_timeout=0.5
    )
    cache = RedisCache(client, settings)  # nothing listens there: every call fails
    store = SlowTopCounter(storage)
    stats = Stats(store, cache, max_age=600, clock=clock)
    try:
        served = await asyncio.gather(*(stats.top(Status.FAIL, Span.HOUR) for _ in range(3)))
    finally:
        await cache.close()
    assert served == [Served("[]", cached=False, age=0)] * 3
    assert store.top_calls == 1


class AnswerLandsBeforeTheLock:
    """The services' real cache, where another replica writes the answer and lets its lock go
    just before this replica takes the lock: the window between a miss and the lock."""

    def __init__(
        self, cache: CacheBackend, key: str, body: str, clock: Callable[[], float]
    ) -> None:
        self._cache = cache
        self._landing = (key, body, clock)

    async def try_lock(self, key: str, ttl: float) -> str | None:
        entry_key, body, clock = self._landing
        await self._cache.set(entry_key, body, clock())
        return await self._cache.try_lock(key, ttl)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


async def test_an_answer_that_lands_just_before_the_lock_is_served_without_a_query(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage)
    landing = AnswerLandsBeforeTheLock(
        services.cache,
        top_key(Status.FAIL, Span.HOUR),
        '["from the other replica"]',
        services.clock,
    )
    stats = Stats(store, landing, max_age=600, clock=services.clock)

    served = await stats.top(Status.FAIL, Span.HOUR)

    assert served == Served('["from the other replica"]', cached=True, age=0)
    assert store.top_calls == 0


class CountingCache:
    """The services' real cache, with its reads counted."""

    def __init__(self, cache: CacheBackend) -> None:
        self._cache = cache
        self.gets = 0

    async def get(self, key: str) -> Any:
        self.gets += 1
        return await self._cache.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


async def test_a_hit_is_reused_from_memory_and_another_process_write_seen_after_local_ttl(
    services: Services, other_replica_cache: CacheBackend
) -> None:
    body = await _fail_once(services, "http://first.test/")
    store = SlowTopCounter(services.storage)
    counting = CountingCache(services.cache)
    monotonic = FakeClock(100.0)
    stats = Stats(
        store, counting, max_age=600, clock=services.clock, local_ttl=1.0, monotonic=monotonic
    )
    assert (await stats.top(Status.FAIL, Span.HOUR)).body == body  # a miss: queried, stored
    gets = counting.gets

    for _ in range(5):
        served = await stats.top(Status.FAIL, Span.HOUR)
        assert (served.body, served.cached) == (body, True)
    assert counting.gets == gets  # from memory: no round trip to the shared cache
    assert store.top_calls == 1

    # Another replica recomputes after a new failure; this one sees it once local_ttl has passed.
    newer = await _fail_once(services, "http://second.test/")
    other = Stats(services.storage, other_replica_cache, max_age=600, clock=services.clock)
    await other.top(Status.FAIL, Span.HOUR, use_cache=False)
    assert (await stats.top(Status.FAIL, Span.HOUR)).body == body
    monotonic.advance(1.0)
    served = await stats.top(Status.FAIL, Span.HOUR)
    assert served.cached
    assert json.loads(served.body) == json.loads(body) + json.loads(newer)


async def test_cache_false_requests_arriving_during_a_query_share_the_next_one(
    services: Services,
) -> None:
    """Each cache=false answer comes from a query that started after its request arrived, and a
    burst of them costs two queries per statistic, not one each."""
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    first = asyncio.ensure_future(stats.top(Status.FAIL, Span.HOUR, use_cache=False))
    await asyncio.sleep(HOLD_S / 3)  # the first query is running and has read nothing yet...
    expected = await _fail_once(services, "http://late.test/")  # ...when a check is stored
    burst = [stats.top(Status.FAIL, Span.HOUR, use_cache=False) for _ in range(20)]
    served = await asyncio.gather(first, *burst)
    assert store.top_calls == 2
    assert {s.body for s in served[1:]} == {expected}  # the burst saw the check stored before it
    assert not any(s.cached for s in served)
    third = await stats.top(Status.FAIL, Span.HOUR, use_cache=False)  # nothing left running
    assert (store.top_calls, third.body) == (3, expected)


async def test_an_error_of_a_shared_cache_false_query_reaches_each_request_then_clears(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage, fail=True)
    stats = stats_over(services, store)
    results = await asyncio.gather(
        *(stats.top(Status.FAIL, Span.HOUR, use_cache=False) for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert store.top_calls == 1
    store.fail = False
    assert (await stats.top(Status.FAIL, Span.HOUR, use_cache=False)).body == "[]"


async def test_a_cancelled_cache_false_request_leaves_the_shared_query_to_the_others(
    services: Services,
) -> None:
    store = SlowTopCounter(services.storage)
    stats = stats_over(services, store)
    leaving = asyncio.ensure_future(stats.top(Status.FAIL, Span.HOUR, use_cache=False))
    staying = asyncio.ensure_future(stats.top(Status.FAIL, Span.HOUR, use_cache=False))
    await asyncio.sleep(HOLD_S / 3)
    leaving.cancel()
    assert (await staying).body == "[]"
    assert store.top_calls == 1
    with pytest.raises(asyncio.CancelledError):
        await leaving
