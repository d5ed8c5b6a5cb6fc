"""Statistics served from the cache or the store: concurrent misses share one query (single flight)."""

from __future__ import annotations

import asyncio
from typing import Any

from service_monitor.api.deps import Services
from service_monitor.errors import StorageUnavailable
from service_monitor.models import Span, Status, TopEntry
from service_monitor.stats import Stats
from service_monitor.storage import Storage

# Seconds the store's answer is held back, so that every concurrent request has read the cache
# (a round trip of a millisecond or so) and found the miss before the first answer lands.
HOLD_S = 0.3


class SlowTopCounter:
    """The real store, with `top` counted and its answer held back by HOLD_S seconds (or failed)."""

    def __init__(self, storage: Storage, *, fail: bool = False) -> None:
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


def stats_over(services: Services, storage: SlowTopCounter) -> Stats:
    return Stats(storage, services.cache, max_age=600, clock=services.clock)


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
