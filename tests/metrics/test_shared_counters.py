"""The cache's shared counters, where compute processes add their cycle metrics: every increment
kept, whichever backend and however many callers add at once."""

from __future__ import annotations

import asyncio

from service_monitor.cache import CacheBackend


async def test_increments_add_up_and_unknown_counters_start_at_zero(cache: CacheBackend) -> None:
    assert await cache.read_counters() == {}
    await cache.add_counters({"probes|success|none": 2, "probe_latency_sum|success": 0.25})
    await cache.add_counters({"probes|success|none": 3, "checks_stored": 5})
    await cache.add_counters({})

    assert await cache.read_counters() == {
        "probes|success|none": 5.0,
        "probe_latency_sum|success": 0.25,
        "checks_stored": 5.0,
    }


async def test_increments_made_at_once_are_all_kept(cache: CacheBackend) -> None:
    await asyncio.gather(*(cache.add_counters({"a": 1, "b": 0.5}) for _ in range(50)))

    assert await cache.read_counters() == {"a": 50.0, "b": 25.0}
