"""The cache and queue contract, run against every backend (SQLite file and Redis)."""

from __future__ import annotations

from pathlib import Path

from service_monitor.cache import CacheBackend, CacheEntry
from service_monitor.cache.local import LocalCache


async def test_missing_key_is_none(cache: CacheBackend) -> None:
    assert await cache.get("top:fail:hour") is None


async def test_set_then_get_returns_value_and_time(cache: CacheBackend) -> None:
    await cache.set("summary", '[{"status": "success", "count": 2}]', 1_800_000_000.5)
    assert await cache.get("summary") == CacheEntry(
        '[{"status": "success", "count": 2}]', 1_800_000_000.5
    )


async def test_set_overwrites_and_delete_removes(cache: CacheBackend) -> None:
    await cache.set("k", "1", 1.0)
    await cache.set("k", "2", 2.0)
    assert await cache.get("k") == CacheEntry("2", 2.0)
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.delete("k")  # deleting what is not there is fine


async def test_queue_hands_out_ids_in_order_until_acked(cache: CacheBackend) -> None:
    for monitor_id in (1, 2, 3):
        await cache.push(monitor_id)
    assert await cache.depth() == 3
    assert await cache.claim(2) == [1, 2]
    assert await cache.claim(10) == [1, 2, 3]  # unacknowledged ids come back with the new ones
    await cache.ack([1, 2, 3])
    assert await cache.claim(10) == []
    assert await cache.depth() == 0


async def test_ids_claimed_by_a_compute_that_died_are_claimed_again(cache: CacheBackend) -> None:
    await cache.push(7)
    assert await cache.claim(10) == [7]
    # The claimer dies here without ack (kill -9); the next claim gets the id again.
    assert await cache.claim(10) == [7]
    await cache.ack([7])
    assert await cache.claim(10) == []


async def test_ack_only_removes_what_was_acked(cache: CacheBackend) -> None:
    await cache.push(1)
    await cache.push(2)
    assert await cache.claim(10) == [1, 2]
    await cache.ack([1])
    assert await cache.claim(10) == [2]


async def test_ping_answers(cache: CacheBackend) -> None:
    await cache.ping()


async def test_local_cache_is_shared_by_two_processes_through_its_file(tmp_path: Path) -> None:
    # Two LocalCache objects on one file stand for the API and the compute processes.
    path = tmp_path / "shared.sqlite3"
    api, compute = await LocalCache.open(path), await LocalCache.open(path)
    try:
        await api.push(42)
        await api.set("summary", "[]", 5.0)
        assert await compute.claim(10) == [42]
        assert await compute.get("summary") == CacheEntry("[]", 5.0)
    finally:
        await api.close()
        await compute.close()
