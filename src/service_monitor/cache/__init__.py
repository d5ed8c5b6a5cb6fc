"""The cache of computed statistics and the queue of new URLs: Redis in production, SQLite embedded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import Settings


@dataclass(frozen=True, slots=True)
class CacheEntry:
    value: str  # the JSON text of a response body, served as it is
    stored_at: float  # seconds since the epoch, UTC


class Cache(Protocol):
    """Key/value store for computed statistics, and short locks shared by every process using it;
    every call raises CacheUnavailable on failure."""

    async def get(self, key: str) -> CacheEntry | None: ...

    async def set(self, key: str, value: str, stored_at: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def try_lock(self, key: str, ttl: float) -> str | None:
        """Take the lock named `key` for at most `ttl` seconds and return its owner token, or
        return None at once when another holds it and it has not expired. Never waits."""

    async def unlock(self, key: str, token: str) -> None:
        """Release the lock if `token` still owns it; a lock that expired and was taken by another
        since is left to its new owner."""


class URLQueue(Protocol):
    """New monitor ids from the API to the compute, delivered at least once.

    `claim` hands out queued ids and keeps them until `ack`: ids claimed by a compute that died
    before acknowledging them are handed out again by the next `claim`.
    """

    async def push(self, monitor_id: int) -> None: ...

    async def claim(self, limit: int) -> list[int]: ...

    async def ack(self, monitor_ids: Sequence[int]) -> None: ...

    async def depth(self) -> int:
        """How many ids wait, claimed or not."""


class SharedCounters(Protocol):
    """Cumulative counters every process using the cache adds to: the compute's metrics, which the
    API exposes (service_monitor.metrics)."""

    async def add_counters(self, increments: Mapping[str, float]) -> None:
        """Add each increment to its counter (a missing counter starts at 0), all in one step."""

    async def read_counters(self) -> dict[str, float]:
        """Every counter and its value."""


class CacheBackend(Cache, URLQueue, SharedCounters, Protocol):
    async def ping(self) -> None:
        """Return when the cache answers; raise CacheUnavailable otherwise."""

    async def close(self) -> None: ...


async def open_cache(settings: Settings) -> CacheBackend:
    """Redis when CACHE_ADDRESS is set, else tables in the embedded SQLite file."""
    if settings.uses_redis:
        from .redis import RedisCache

        return await RedisCache.open(settings)
    from .local import LocalCache

    return await LocalCache.open(settings.SQLITE_PATH)


__all__ = ["Cache", "CacheBackend", "CacheEntry", "SharedCounters", "URLQueue", "open_cache"]
